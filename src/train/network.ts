/**
 * The fovea network, built as a TensorFlow.js LayersModel from a model's metadata.
 *
 *   input [N, H, W, 3]
 *   -> for each f in architecture.convFilters: conv kxk (f filters) -> ReLU -> 2x2 max-pool
 *   -> flatten -> for each d in architecture.dense: dropout (training) -> dense d -> ReLU
 *   -> dropout (training) -> grid head:
 *        `classes` [N, rows*cols, C+1]  softmax over the classes + background (background LAST)
 *        `boxes`   [N, rows*cols, 4]    sigmoid (cx, cy offset within the cell, w, h of the image)
 *
 * The ONNX exporter (src/train/onnx/) walks the layers by the names given here.
 */
import * as tf from "@tensorflow/tfjs";
import { DEFAULT_CLASSES } from "../core/detection.js";
import { describeHeatmapNetwork } from "./heatmap-widths.js";
import { NETWORK_PRESETS, type NetworkPreset } from "./network-presets.js";
import { ModelMetadataSchema, type GridHead, type ModelMetadata, type ModelMetadataInput } from "../core/model-metadata.js";
import { buildHeatmapNetwork } from "../heads/heatmap/network.js";

/** The grid head of `meta`, or a TypeError naming the head it has. */
export function gridHead(meta: ModelMetadata): GridHead {
  if (meta.head.kind !== "grid") throw new TypeError(`meta.head.kind: expected 'grid', got '${meta.head.kind}'`);
  return meta.head;
}

/** Layer names the exporter relies on. */
export const LAYER_NAMES = {
  conv: (i: number) => `conv${i + 1}`,
  pool: (i: number) => `pool${i + 1}`,
  dense: (i: number) => `dense${i + 1}`,
  classesLogits: "classes_logits",
  classesReshape: "classes_reshape",
  boxesDense: "boxes_dense",
  /** 3x3 `same` conv widening each cell's view (convolutional head). */
  context: "context_conv",
} as const;

/**
 * The layer whose output is the "conv features" fine-tuning caches: everything after it is
 * retrained, everything up to it is kept.
 */
export function featureLayerName(meta: ModelMetadata): string {
  return gridHead(meta).connection === "convolutional" ? LAYER_NAMES.pool(meta.architecture.convFilters.length - 1) : "flatten";
}

/**
 * Per-cell head on the conv feature map [N, rows, cols, C]: optional 3x3 context conv, then the
 * dense layers as 1x1 convolutions (one dense layer shared by all cells), then per-cell class
 * logits and boxes. Cells come out row-major, the same layout as the dense head's.
 */
function convolutionalHead(
  features: tf.SymbolicTensor,
  meta: ModelMetadata,
  init: () => ReturnType<typeof tf.initializers.glorotUniform> | "glorotUniform",
): { cls: tf.SymbolicTensor; box: tf.SymbolicTensor } {
  const arch = meta.architecture;
  const head = gridHead(meta);
  const cells = head.rows * head.cols;
  const classes = meta.classes.length + 1;
  let x = features;
  if (head.contextFilters > 0) {
    x = tf.layers
      .conv2d({
        filters: head.contextFilters,
        kernelSize: 3,
        padding: "same",
        activation: "relu",
        kernelInitializer: init(),
        name: LAYER_NAMES.context,
      })
      .apply(x) as tf.SymbolicTensor;
  }
  arch.dense.forEach((units, i) => {
    if (arch.dropout > 0) x = tf.layers.dropout({ rate: arch.dropout, name: `dropout${i + 1}` }).apply(x) as tf.SymbolicTensor;
    x = tf.layers
      .conv2d({ filters: units, kernelSize: 1, activation: "relu", kernelInitializer: init(), name: LAYER_NAMES.dense(i) })
      .apply(x) as tf.SymbolicTensor;
  });
  if (arch.dropout > 0) x = tf.layers.dropout({ rate: arch.dropout, name: "dropout_head" }).apply(x) as tf.SymbolicTensor;
  let cls = tf.layers
    .conv2d({ filters: classes, kernelSize: 1, kernelInitializer: init(), name: LAYER_NAMES.classesLogits })
    .apply(x) as tf.SymbolicTensor;
  cls = tf.layers.reshape({ targetShape: [cells, classes], name: LAYER_NAMES.classesReshape }).apply(cls) as tf.SymbolicTensor;
  cls = tf.layers.softmax({ axis: -1, name: head.classesOutput }).apply(cls) as tf.SymbolicTensor;
  let box = tf.layers
    .conv2d({ filters: 4, kernelSize: 1, activation: "sigmoid", kernelInitializer: init(), name: LAYER_NAMES.boxesDense })
    .apply(x) as tf.SymbolicTensor;
  box = tf.layers.reshape({ targetShape: [cells, 4], name: head.boxesOutput }).apply(box) as tf.SymbolicTensor;
  return { cls, box };
}

/**
 * The seed network's conv filters as the lecture has them: first conv 3x3x3x32 = 896 weights,
 * flatten 4*4*128 = 2048. `scripts/measure-network.ts` times variants (e.g. [32,16,32,128] is
 * cheaper with the same first conv and flatten).
 */
export const DEFAULT_CONV_FILTERS = [32, 32, 64, 128];

/**
 * Metadata of a default fovea model (100x100x3 input, seed architecture, 10x10 grid head,
 * DEFAULT_CLASSES). `overrides` are merged at the top level and validated.
 */
export function defaultMetadata(overrides: Partial<ModelMetadataInput> = {}): ModelMetadata {
  const base: ModelMetadataInput = {
    format: "fovea-model",
    formatVersion: 1,
    id: "fovea-default",
    trained: false,
    description: "",
    classes: [...DEFAULT_CLASSES],
    input: { width: 100, height: 100, channels: 3, name: "input" },
    preprocess: { kernel: "linear", fit: "fill", mean: [0, 0, 0], std: [1, 1, 1], whiteBalance: true },
    architecture: { convFilters: [...DEFAULT_CONV_FILTERS], kernelSize: 3, padding: "valid", dense: [512], dropout: 0.3 },
    head: { kind: "grid", rows: 10, cols: 10, classesOutput: "classes", boxesOutput: "boxes" },
    decode: { scoreThreshold: 0.5, nmsIou: 0.3, maxDetections: 64 },
    augmentation: {},
    files: { onnx: "model.onnx", tfjs: "tfjs/model.json" },
  };
  return ModelMetadataSchema.parse({ ...base, ...overrides });
}

export { NETWORK_PRESETS, type NetworkPreset };

/**
 * Metadata of a fresh network of a preset:
 * - `seed`: the lecture's network as it is (conv [32,32,64,128], flatten 2048, dense 512, a
 *   dense 10x10 grid head) — see defaultMetadata.
 * - `cells`: the same first three conv blocks (first conv 3x3x3x32 = 896 weights) stop at a 10x10
 *   feature map; the fourth block's conv (128 filters) becomes the 3x3 context conv without a
 *   pool, and the dense 512 layer and the softmax run per cell with shared weights. It learns
 *   from far fewer frames (every object trains the same weights) at a similar inference cost.
 */
export function presetMetadata(preset: NetworkPreset, overrides: Partial<ModelMetadataInput> = {}): ModelMetadata {
  if (preset === "seed") return defaultMetadata(overrides);
  if (preset === "heatmap") {
    const meta = defaultMetadata({
      input: { width: 160, height: 120, channels: 3, name: "input" },
      preprocess: { kernel: "area", fit: "fill", mean: [0, 0, 0], std: [1, 1, 1], whiteBalance: true },
      architecture: { convFilters: [...HEATMAP_CONV_FILTERS], kernelSize: 3, padding: "same", dense: [], dropout: 0 },
      head: {
        kind: "heatmap",
        stride: 4,
        neckFilters: [...HEATMAP_NECK_FILTERS],
        headFilters: HEATMAP_HEAD_FILTERS,
        batchNorm: true,
        heatmapOutput: "heatmap",
        regressionOutput: "regression",
      },
      decode: { scoreThreshold: 0.3, nmsIou: 0.5, maxDetections: 64 },
      ...overrides,
    });
    return overrides.description === undefined ? { ...meta, description: describeHeatmapNetwork(meta) } : meta;
  }
  if (preset !== "cells") throw new RangeError(`preset: expected one of ${NETWORK_PRESETS.join(", ")}, got '${String(preset)}'`);
  return defaultMetadata({
    architecture: { convFilters: [32, 32, 64], kernelSize: 3, padding: "valid", dense: [512], dropout: 0 },
    head: {
      kind: "grid",
      rows: 10,
      cols: 10,
      connection: "convolutional",
      contextFilters: 128,
      classesOutput: "classes",
      boxesOutput: "boxes",
    },
    ...overrides,
  });
}

/**
 * The heatmap preset's backbone: 3x3 conv -> batch norm -> ReLU blocks with 2x2 max-pools between
 * them, strides 1, 2, 4 and 8 at 160x120 (the camera's 640x480 over 4, an exact area average).
 * Inference time follows the multiply-adds, which the two full-size blocks and the stride-8
 * context convs dominate; the widths keep the model near the cost of the grid-head networks
 * (docs/models.md has the measured trade-off).
 */
export const HEATMAP_CONV_FILTERS = [16, 24, 48, 64];
/** Context convs at stride 8 before the upsampling back to stride 4. */
export const HEATMAP_NECK_FILTERS = [64, 64];
/** Channels of the stride-4 features the outputs are computed from. */
export const HEATMAP_HEAD_FILTERS = 32;

/** Build the untrained network of any head for `meta`. */
export function buildModel(meta: ModelMetadata, options: BuildNetworkOptions = {}): tf.LayersModel {
  return meta.head.kind === "heatmap" ? buildHeatmapNetwork(meta, options) : buildNetwork(meta, options);
}

/** Spatial size after the conv/pool blocks, and the flatten length; throws if the input is too small. */
export function featureShape(meta: ModelMetadata): { height: number; width: number; channels: number; flatten: number } {
  const { kernelSize, padding, convFilters } = meta.architecture;
  const head = gridHead(meta);
  let h = meta.input.height;
  let w = meta.input.width;
  for (const [i, f] of convFilters.entries()) {
    if (padding === "valid") {
      h -= kernelSize - 1;
      w -= kernelSize - 1;
    }
    h = Math.floor(h / 2);
    w = Math.floor(w / 2);
    if (h < 1 || w < 1) {
      throw new RangeError(
        `meta.architecture.convFilters: block ${i + 1} (${f} filters) leaves no pixels of the ${meta.input.width}x${meta.input.height} input`,
      );
    }
  }
  const channels = convFilters[convFilters.length - 1];
  if (head.connection === "convolutional" && (h !== head.rows || w !== head.cols)) {
    throw new RangeError(
      `meta.head: a convolutional head needs the conv blocks to leave rows x cols = ${head.rows}x${head.cols} positions, ` +
        `architecture.convFilters [${convFilters}] on ${meta.input.width}x${meta.input.height} leave ${h}x${w}`,
    );
  }
  return { height: h, width: w, channels, flatten: h * w * channels };
}

export interface BuildNetworkOptions {
  /** Seed of the weight initialisers, for reproducible stand-in models and tests. */
  seed?: number;
}

/** Build the (untrained) LayersModel for `meta`. Uses the active tfjs backend. */
export function buildNetwork(meta: ModelMetadata, options: BuildNetworkOptions = {}): tf.LayersModel {
  featureShape(meta); // validates the architecture fits the input
  let seed = options.seed;
  // Each layer gets its own seed: one shared seed would give identical-looking kernels.
  const init = () => (seed === undefined ? "glorotUniform" : tf.initializers.glorotUniform({ seed: seed++ }));
  const arch = meta.architecture;
  const head = gridHead(meta);
  const cells = head.rows * head.cols;
  const classes = meta.classes.length + 1;

  const input = tf.input({ shape: [meta.input.height, meta.input.width, 3], name: meta.input.name });
  let x: tf.SymbolicTensor = input;
  arch.convFilters.forEach((filters, i) => {
    x = tf.layers
      .conv2d({
        filters,
        kernelSize: arch.kernelSize,
        padding: arch.padding,
        activation: "relu",
        kernelInitializer: init(),
        name: LAYER_NAMES.conv(i),
      })
      .apply(x) as tf.SymbolicTensor;
    x = tf.layers.maxPooling2d({ poolSize: 2, strides: 2, padding: "valid", name: LAYER_NAMES.pool(i) }).apply(x) as tf.SymbolicTensor;
  });
  if (head.connection === "convolutional") {
    const { cls, box } = convolutionalHead(x, meta, init);
    return tf.model({ inputs: input, outputs: [cls, box], name: meta.id.replace(/[^A-Za-z0-9_]/g, "_") });
  }
  x = tf.layers.flatten({ name: "flatten" }).apply(x) as tf.SymbolicTensor;
  arch.dense.forEach((units, i) => {
    if (arch.dropout > 0) x = tf.layers.dropout({ rate: arch.dropout, name: `dropout${i + 1}` }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.dense({ units, activation: "relu", kernelInitializer: init(), name: LAYER_NAMES.dense(i) }).apply(x) as tf.SymbolicTensor;
  });
  if (arch.dropout > 0) x = tf.layers.dropout({ rate: arch.dropout, name: "dropout_head" }).apply(x) as tf.SymbolicTensor;

  let cls = tf.layers
    .dense({ units: cells * classes, kernelInitializer: init(), name: LAYER_NAMES.classesLogits })
    .apply(x) as tf.SymbolicTensor;
  cls = tf.layers.reshape({ targetShape: [cells, classes], name: LAYER_NAMES.classesReshape }).apply(cls) as tf.SymbolicTensor;
  cls = tf.layers.softmax({ axis: -1, name: head.classesOutput }).apply(cls) as tf.SymbolicTensor;

  let box = tf.layers
    .dense({ units: cells * 4, activation: "sigmoid", kernelInitializer: init(), name: LAYER_NAMES.boxesDense })
    .apply(x) as tf.SymbolicTensor;
  box = tf.layers.reshape({ targetShape: [cells, 4], name: head.boxesOutput }).apply(box) as tf.SymbolicTensor;

  return tf.model({ inputs: input, outputs: [cls, box], name: meta.id.replace(/[^A-Za-z0-9_]/g, "_") });
}
