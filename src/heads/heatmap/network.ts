/**
 * The heatmap detector network (HeatmapHeadSchema in src/core/model-metadata.ts), built from the
 * seed lecture's blocks as a TensorFlow.js LayersModel:
 *
 *   input [N, H, W, 3]
 *   -> for each f in architecture.convFilters: 3x3 same conv (f) -> ReLU, then a 2x2 max-pool
 *      after every block but the last                                    (deepest stride 2^(n-1))
 *      (with head.stem the first conv is that kernel at stride 2 and every stride doubles)
 *   -> for each f in head.neckFilters: 3x3 same conv (f, dilation head.neckDilations) -> ReLU
 *                                                                        (context at that stride)
 *   -> nearest 2x upsampling while the stride is above head.stride, each added to a 1x1 lateral
 *      conv of the block output at the same stride -> ReLU               (head.headFilters)
 *   -> 1x1 conv -> sigmoid  = layer `heatmapOutput`    [N, H/s, W/s, classes]
 *   -> 1x1 conv (linear)    = layer `regressionOutput` [N, H/s, W/s, 4]  (dx, dy, log w, log h in cells)
 *
 * With head.batchNorm every conv but the two outputs is bias-free and followed by a batch norm
 * layer `<conv>_bn` (and `<conv>_relu` where the conv had a ReLU).
 *
 * The ONNX exporter (src/train/onnx/export-onnx.ts) walks the layers by the names given here.
 */
import * as tf from "@tensorflow/tfjs";
import { firstConv, type HeatmapHead, type ModelMetadata } from "../../core/model-metadata.js";
import { registerTrainingBatchNorm, trainingBatchNorm } from "./batch-norm.js";
import { registerTrainingConv2D, trainingConv2d } from "./dilated-conv.js";

/**
 * Models deserialised after this call (a checkpoint to resume, `--from`) train with the layers
 * built here: batch norm's closed-form gradient and convolutions that back-propagate at any
 * dilation. For training processes only.
 */
export function registerHeatmapTrainingLayers(): void {
  registerTrainingBatchNorm();
  registerTrainingConv2D();
}

export const HEATMAP_LAYERS = {
  conv: (i: number) => `conv${i + 1}`,
  pool: (i: number) => `pool${i + 1}`,
  neck: (i: number) => `neck${i + 1}`,
  up: (i: number) => `up${i + 1}`,
  lateral: (i: number) => `lateral${i + 1}`,
  merge: (i: number) => `merge${i + 1}`,
  mergeRelu: (i: number) => `merge${i + 1}_relu`,
  /** Batch norm of conv layer `conv` (head.batchNorm), folded into it at ONNX export. */
  batchNorm: (conv: string) => `${conv}_bn`,
  /** ReLU after a batch-normed conv. */
  relu: (conv: string) => `${conv}_relu`,
} as const;

/**
 * Prior probability of an object at a cell: the heatmap bias starts at its logit so the first
 * steps are not spent unlearning 0.5 everywhere (CenterNet's -2.19 for 0.1).
 */
export const HEATMAP_PRIOR = 0.1;

/** Geometry of a heatmap network: block strides, where the lateral taps are, the output grid. */
export interface HeatmapGeometry {
  /** The first conv's kernel and stride (head.stem, else architecture.kernelSize at stride 1). */
  stem: { kernelSize: number; stride: number };
  /** Stride of the deepest block (stem stride x 2^(blocks-1)). */
  deepestStride: number;
  /** Index of the conv block whose output each upsampling step adds in (deepest first). */
  lateralBlocks: number[];
  /** Output grid. */
  rows: number;
  cols: number;
  /**
   * Whether the first upsampling takes the deepest features through a 1x1 conv `up1_proj` (their
   * filters differ from head.headFilters) rather than as they are.
   */
  projectsBeforeUpsampling: boolean;
}

export function heatmapGeometry(meta: ModelMetadata): HeatmapGeometry {
  const head = meta.head as HeatmapHead;
  const blocks = meta.architecture.convFilters.length;
  const stem = firstConv(meta);
  const deepestStride = stem.stride * 2 ** (blocks - 1);
  const { width, height } = meta.input;
  if (meta.architecture.padding !== "same")
    throw new RangeError(`meta.architecture.padding: a heatmap network uses 'same' padding, got '${meta.architecture.padding}'`);
  if (!(head.stride >= stem.stride && head.stride <= deepestStride && Number.isInteger(Math.log2(head.stride)))) {
    throw new RangeError(
      `meta.head.stride: expected a power of two between the first block's stride ${stem.stride} and the deepest block's ${deepestStride}, got ${head.stride}`,
    );
  }
  if (width % deepestStride !== 0 || height % deepestStride !== 0) {
    throw new RangeError(`meta.input: ${width}x${height} is not divisible by the deepest stride ${deepestStride} of ${blocks} conv blocks`);
  }
  const lateralBlocks: number[] = [];
  for (let s = deepestStride / 2; s >= head.stride; s /= 2) lateralBlocks.push(Math.log2(s / stem.stride));
  const deepestFilters = head.neckFilters.at(-1) ?? meta.architecture.convFilters[blocks - 1];
  return {
    stem,
    deepestStride,
    lateralBlocks,
    rows: height / head.stride,
    cols: width / head.stride,
    projectsBeforeUpsampling: lateralBlocks.length > 0 && deepestFilters !== head.headFilters,
  };
}

export interface BuildHeatmapOptions {
  /** Seed of the weight initialisers (reproducible tests). */
  seed?: number;
}

/** Build the untrained heatmap network for `meta`. Uses the active tfjs backend. */
export function buildHeatmapNetwork(meta: ModelMetadata, options: BuildHeatmapOptions = {}): tf.LayersModel {
  if (meta.head.kind !== "heatmap") throw new TypeError(`meta.head.kind: expected 'heatmap', got '${meta.head.kind}'`);
  const head = meta.head;
  const geo = heatmapGeometry(meta);
  let seed = options.seed;
  // He init: every conv is followed by a ReLU.
  const init = () => tf.initializers.heNormal({ seed: seed === undefined ? undefined : seed++ });
  /**
   * A conv layer, or with head.batchNorm a bias-free conv -> batch norm (-> ReLU) for every conv
   * but the two outputs, whose biases carry the heatmap prior and the regression's offset.
   */
  const conv = (
    name: string,
    filters: number,
    kernelSize: number,
    activation: "relu" | "linear" | "sigmoid",
    bias?: number,
    dilationRate = 1,
    strides = 1,
  ) => {
    const normed = head.batchNorm && !isOutput(name);
    // tfjs's own Conv2D cannot back-propagate a dilation above 1 (dilated-conv.ts).
    const layer = (dilationRate > 1 ? trainingConv2d : tf.layers.conv2d)({
      filters,
      kernelSize,
      padding: "same",
      dilationRate,
      strides,
      activation: normed ? "linear" : activation,
      useBias: !normed,
      // He init for convs that feed a ReLU (the linear lateral is added to a ReLU'd path and
      // ReLU'd after the merge); small normal for the outputs.
      kernelInitializer: isOutput(name)
        ? tf.initializers.randomNormal({ mean: 0, stddev: 0.01, seed: seed === undefined ? undefined : seed++ })
        : init(),
      biasInitializer: bias === undefined ? "zeros" : tf.initializers.constant({ value: bias }),
      name,
    });
    if (!normed) return layer;
    const bn = trainingBatchNorm({ axis: -1, momentum: 0.99, epsilon: 1e-3, name: HEATMAP_LAYERS.batchNorm(name) });
    const relu = activation === "relu" ? tf.layers.reLU({ name: HEATMAP_LAYERS.relu(name) }) : undefined;
    return {
      apply: (x: tf.SymbolicTensor) => {
        const y = bn.apply(layer.apply(x)) as tf.SymbolicTensor;
        return relu ? (relu.apply(y) as tf.SymbolicTensor) : y;
      },
    };
  };
  const isOutput = (name: string) => name === head.heatmapOutput || name === head.regressionOutput;
  const input = tf.input({ shape: [meta.input.height, meta.input.width, 3], name: meta.input.name });
  const blockOut: tf.SymbolicTensor[] = [];
  let x: tf.SymbolicTensor = input;
  const filters = meta.architecture.convFilters;
  filters.forEach((f, i) => {
    const [k, s] = i === 0 ? [geo.stem.kernelSize, geo.stem.stride] : [meta.architecture.kernelSize, 1];
    x = conv(HEATMAP_LAYERS.conv(i), f, k, "relu", undefined, 1, s).apply(x) as tf.SymbolicTensor;
    blockOut.push(x);
    if (i < filters.length - 1)
      x = tf.layers.maxPooling2d({ poolSize: 2, strides: 2, padding: "valid", name: HEATMAP_LAYERS.pool(i) }).apply(x) as tf.SymbolicTensor;
  });
  head.neckFilters.forEach((f, i) => {
    x = conv(HEATMAP_LAYERS.neck(i), f, 3, "relu", undefined, head.neckDilations?.[i] ?? 1).apply(x) as tf.SymbolicTensor;
  });
  if (geo.lateralBlocks.length === 0) {
    x = conv(HEATMAP_LAYERS.lateral(0), head.headFilters, 1, "relu").apply(x) as tf.SymbolicTensor;
  }
  geo.lateralBlocks.forEach((block, i) => {
    const up = tf.layers
      .upSampling2d({ size: [2, 2], interpolation: "nearest", name: HEATMAP_LAYERS.up(i) })
      .apply(
        i === 0 && geo.projectsBeforeUpsampling
          ? (conv(`${HEATMAP_LAYERS.up(i)}_proj`, head.headFilters, 1, "relu").apply(x) as tf.SymbolicTensor)
          : x,
      ) as tf.SymbolicTensor;
    const lateral = conv(HEATMAP_LAYERS.lateral(i), head.headFilters, 1, "linear").apply(blockOut[block]) as tf.SymbolicTensor;
    x = tf.layers.add({ name: HEATMAP_LAYERS.merge(i) }).apply([up, lateral]) as tf.SymbolicTensor;
    x = tf.layers.reLU({ name: HEATMAP_LAYERS.mergeRelu(i) }).apply(x) as tf.SymbolicTensor;
  });
  const prior = Math.log(HEATMAP_PRIOR / (1 - HEATMAP_PRIOR));
  // The output convs carry the output names: the model's output names are its layer names.
  const heatOut = conv(head.heatmapOutput, meta.classes.length, 1, "sigmoid", prior).apply(x) as tf.SymbolicTensor;
  const regOut = conv(head.regressionOutput, 4, 1, "linear").apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: [heatOut, regOut], name: meta.id.replace(/[^A-Za-z0-9_]/g, "_") });
}

/**
 * TensorFlow's `same` padding of one spatial axis, as [before, after]: the output has
 * ceil(size / stride) positions and the odd pixel of padding goes after. The exporter writes it
 * out because ONNX's SAME_UPPER is deprecated and OpenCV reads explicit pads.
 */
export function samePads(size: number, kernelSize: number, stride: number, dilation = 1): [number, number] {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + (kernelSize - 1) * dilation + 1 - size, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}
