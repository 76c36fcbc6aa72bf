/**
 * LayersModel (built by src/train/network.ts) -> ONNX ModelProto bytes, hand-built with protobufjs.
 *
 * Hand-written because no npm package converts tfjs LayersModels to ONNX (tf2onnx is Python and
 * needs a TensorFlow SavedModel). The graph mirrors the network layer by layer:
 *
 *   input NHWC -> Transpose(0,3,1,2) -> [Conv -> Relu -> MaxPool] x blocks
 *   -> Transpose(0,2,3,1) back to NHWC so Flatten orders features exactly as tfjs does
 *   -> [Gemm -> Relu] x dense -> Gemm -> Reshape [-1, cells, C+1] -> Softmax(-1)   = classes
 *                             -> Gemm -> Sigmoid -> Reshape [-1, cells, 4]          = boxes
 *
 * A convolutional head (head.connection) instead continues on the NCHW feature map:
 *   -> [Conv 3x3 context -> Relu] -> [Conv 1x1 -> Relu] x dense
 *   -> Conv 1x1 -> Transpose to NHWC -> Reshape [-1, cells, C+1] -> Softmax   = classes
 *   -> Conv 1x1 -> Transpose to NHWC -> Reshape [-1, cells, 4] -> Sigmoid     = boxes
 *
 * Batch dimension is symbolic (`N`); weights are float32 initializers, or float16 ones behind a
 * Cast (see ExportOnnxOptions). tfjs conv kernels HWIO are transposed to ONNX OIHW; dense kernels
 * [in, out] are Gemm's B as they are.
 */
import type * as tf from "@tensorflow/tfjs";
import type { ModelMetadata } from "../../core/model-metadata.js";
import { LAYER_NAMES, featureShape, gridHead } from "../network.js";
import { HEATMAP_LAYERS, heatmapGeometry, samePads } from "../../heads/heatmap/network.js";
import { headOutputs } from "../../core/head-outputs.js";
import { float32ToFloat16 } from "./float16.js";
import { ModelProto, OnnxAttributeType, OnnxDataType } from "./onnx-proto.js";

/** Default-domain opset the graph is written against (Softmax on a single axis needs >= 13). */
export const ONNX_OPSET = 13;
/** IR version 7 is what opset 13 was released with; every onnxruntime since 1.6 reads it. */
export const ONNX_IR_VERSION = 7;

type Attribute = { name: string; type: number; i?: number; ints?: number[]; f?: number; s?: Uint8Array };
type Node = { opType: string; name: string; input: string[]; output: string[]; attribute?: Attribute[] };
type Initializer = { name: string; dims: number[]; dataType: number; rawData: Uint8Array };

const intAttr = (name: string, i: number): Attribute => ({ name, type: OnnxAttributeType.INT, i });
const intsAttr = (name: string, ints: number[]): Attribute => ({ name, type: OnnxAttributeType.INTS, ints });
const stringAttr = (name: string, s: string): Attribute => ({ name, type: OnnxAttributeType.STRING, s: new TextEncoder().encode(s) });

function floatTensorInit(name: string, values: number[]): Initializer {
  return { name, dims: [values.length], dataType: OnnxDataType.FLOAT, rawData: littleEndianBytes(Float32Array.from(values)) };
}

/** Storage type of the weight initializers. */
export type WeightsDtype = "float32" | "float16";

export interface ExportOnnxOptions {
  /**
   * `float16` halves the file: weights are stored as half floats and cast to float32 by a Cast
   * node per weight, which onnxruntime's constant folding removes at session creation, so
   * inference runs in float32 at the same speed. Default `float32`.
   */
  weightsDtype?: WeightsDtype;
}

function littleEndianBytes(data: Float32Array | Uint16Array): Uint8Array {
  // raw_data is little-endian per the ONNX spec; typed arrays are host order (little-endian on
  // every platform Node supports, checked here rather than assumed).
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error("big-endian hosts are not supported by the ONNX exporter");
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function int64Init(name: string, values: number[]): Initializer {
  // raw_data is little-endian per the ONNX spec; BigInt64Array is host order, so write explicitly.
  const buf = Buffer.alloc(values.length * 8);
  values.forEach((v, i) => buf.writeBigInt64LE(BigInt(v), i * 8));
  return { name, dims: [values.length], dataType: OnnxDataType.INT64, rawData: buf };
}

function tensorValueInfo(name: string, shape: Array<number | string>) {
  return {
    name,
    type: {
      tensorType: {
        elemType: OnnxDataType.FLOAT,
        shape: { dim: shape.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

/**
 * Kernel and bias of conv layer `name`; when the model has a batch norm `<name>_bn` after it
 * (head.batchNorm), the norm is folded in: y = gamma * (conv(x) + b - mean) / sqrt(var + eps) + beta
 * is a conv with kernel * s and bias (b - mean) * s + beta, s = gamma / sqrt(var + eps) per output
 * channel. ONNX, OpenCV DNN and onnxruntime then see plain convs.
 */
function layerWeights(model: tf.LayersModel, name: string): { kernel: Float32Array; kernelShape: number[]; bias: Float32Array } {
  let layer: tf.layers.Layer;
  try {
    layer = model.getLayer(name);
  } catch {
    throw new RangeError(
      `model: expected a layer named '${name}' (a network built by buildNetwork), found ${model.layers.map((l) => l.name).join(", ")}`,
    );
  }
  const [k, b] = layer.getWeights();
  const bnName = HEATMAP_LAYERS.batchNorm(name);
  const bn = model.layers.find((l) => l.name === bnName);
  if (!k || (!b && !bn)) throw new RangeError(`model: layer '${name}' has no kernel and bias`);
  const kernel = k.dataSync() as Float32Array;
  const outCh = k.shape[k.shape.length - 1];
  const bias = b ? (b.dataSync() as Float32Array) : new Float32Array(outCh);
  if (!bn) return { kernel, kernelShape: k.shape, bias };
  const [gamma, beta, mean, variance] = bn.getWeights().map((w) => w.dataSync() as Float32Array);
  const epsilon = (bn.getConfig().epsilon as number | undefined) ?? 1e-3;
  if (!gamma || !beta || !mean || !variance || gamma.length !== outCh) {
    throw new RangeError(`model: layer '${bnName}' must have gamma, beta, moving mean and variance of ${outCh} channels`);
  }
  const folded = new Float32Array(kernel.length);
  const foldedBias = new Float32Array(outCh);
  const scale = new Float32Array(outCh);
  for (let c = 0; c < outCh; c++) {
    scale[c] = gamma[c] / Math.sqrt(variance[c] + epsilon);
    foldedBias[c] = (bias[c] - mean[c]) * scale[c] + beta[c];
  }
  // HWIO: the output channel is the fastest axis.
  for (let i = 0; i < kernel.length; i++) folded[i] = kernel[i] * scale[i % outCh];
  return { kernel: folded, kernelShape: k.shape, bias: foldedBias };
}

/** HWIO (tfjs conv2d kernel) -> OIHW (ONNX Conv weight). */
function hwioToOihw(k: Float32Array, [h, w, i, o]: number[]): Float32Array {
  const out = new Float32Array(k.length);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let ci = 0; ci < i; ci++)
        for (let co = 0; co < o; co++) out[((co * i + ci) * h + y) * w + x] = k[((y * w + x) * i + ci) * o + co];
  return out;
}

function expectShape(name: string, actual: number[], expected: number[]): void {
  if (actual.length !== expected.length || actual.some((d, i) => d !== expected[i])) {
    throw new RangeError(`model: layer '${name}' has kernel shape [${actual}], metadata implies [${expected}]`);
  }
}

/**
 * Convert a network built by `buildNetwork(meta)` (and possibly trained) into ONNX model bytes.
 * Throws RangeError naming the layer when the model does not match the metadata's architecture.
 */
export function exportOnnx(model: tf.LayersModel, meta: ModelMetadata, options: ExportOnnxOptions = {}): Uint8Array {
  const weightsDtype = options.weightsDtype ?? "float32";
  if (weightsDtype !== "float32" && weightsDtype !== "float16") {
    throw new RangeError(`options.weightsDtype: expected float32 or float16, got '${String(weightsDtype)}'`);
  }
  const arch = meta.architecture;
  const nodes: Node[] = [];
  const inits: Initializer[] = [];
  const k = arch.kernelSize;
  const floatInit = (name: string, dims: number[], data: Float32Array) => {
    if (weightsDtype === "float32") {
      inits.push({ name, dims, dataType: OnnxDataType.FLOAT, rawData: littleEndianBytes(data) });
      return;
    }
    inits.push({ name: `${name}.f16`, dims, dataType: OnnxDataType.FLOAT16, rawData: littleEndianBytes(float32ToFloat16(data)) });
    nodes.push({
      opType: "Cast",
      name: `${name}.cast`,
      input: [`${name}.f16`],
      output: [name],
      attribute: [intAttr("to", OnnxDataType.FLOAT)],
    });
  };

  nodes.push({
    opType: "Transpose",
    name: "to_nchw",
    input: [meta.input.name],
    output: ["x_nchw"],
    attribute: [intsAttr("perm", [0, 3, 1, 2])],
  });
  let x = "x_nchw";
  let inChannels = 3;
  // tfjs `same` padding puts the odd pixel at the end; ONNX pads are [top, left, bottom, right].
  const begin = arch.padding === "same" ? Math.floor((k - 1) / 2) : 0;
  const end = arch.padding === "same" ? k - 1 - begin : 0;
  /** Conv (+ Relu) of a tfjs conv2d layer; `pads` [begin, end] per spatial axis. */
  const convNode = (
    name: string,
    input: string,
    inCh: number,
    outCh: number,
    size: number,
    pads: [number, number],
    relu: boolean,
    dilation = 1,
    stride = 1,
  ): string => {
    const w = layerWeights(model, name);
    expectShape(name, w.kernelShape, [size, size, inCh, outCh]);
    floatInit(`${name}.weight`, [outCh, inCh, size, size], hwioToOihw(w.kernel, w.kernelShape));
    floatInit(`${name}.bias`, [outCh], w.bias);
    nodes.push({
      opType: "Conv",
      name,
      input: [input, `${name}.weight`, `${name}.bias`],
      output: [`${name}.out`],
      attribute: [
        intsAttr("kernel_shape", [size, size]),
        intsAttr("pads", [pads[0], pads[0], pads[1], pads[1]]),
        intsAttr("strides", [stride, stride]),
        intsAttr("dilations", [dilation, dilation]),
      ],
    });
    if (!relu) return `${name}.out`;
    nodes.push({ opType: "Relu", name: `${name}.relu`, input: [`${name}.out`], output: [`${name}.relu`] });
    return `${name}.relu`;
  };
  if (meta.head.kind === "heatmap") {
    const head = meta.head;
    const geo = heatmapGeometry(meta);
    const blockOut: string[] = [];
    const { kernelSize: stemK, stride: stemS } = geo.stem;
    const stemPads = samePads(meta.input.height, stemK, stemS);
    // Both axes are even (they divide by the deepest stride), so they pad alike.
    if (samePads(meta.input.width, stemK, stemS).some((p, j) => p !== stemPads[j]))
      throw new RangeError(`meta.input: ${meta.input.width}x${meta.input.height} pads its axes differently under the first conv`);
    arch.convFilters.forEach((filters, i) => {
      x =
        i === 0
          ? convNode(HEATMAP_LAYERS.conv(i), x, inChannels, filters, stemK, stemPads, true, 1, stemS)
          : convNode(HEATMAP_LAYERS.conv(i), x, inChannels, filters, k, [begin, end], true);
      blockOut.push(x);
      inChannels = filters;
      if (i === arch.convFilters.length - 1) return;
      const pool = HEATMAP_LAYERS.pool(i);
      nodes.push({
        opType: "MaxPool",
        name: pool,
        input: [x],
        output: [`${pool}.out`],
        attribute: [intsAttr("kernel_shape", [2, 2]), intsAttr("strides", [2, 2])],
      });
      x = `${pool}.out`;
    });
    head.neckFilters.forEach((filters, i) => {
      const d = head.neckDilations?.[i] ?? 1;
      x = convNode(HEATMAP_LAYERS.neck(i), x, inChannels, filters, 3, [d, d], true, d);
      inChannels = filters;
    });
    if (geo.lateralBlocks.length === 0) {
      x = convNode(HEATMAP_LAYERS.lateral(0), x, inChannels, head.headFilters, 1, [0, 0], true);
      inChannels = head.headFilters;
    }
    geo.lateralBlocks.forEach((block, i) => {
      const up = HEATMAP_LAYERS.up(i);
      if (i === 0 && geo.projectsBeforeUpsampling) {
        x = convNode(`${up}_proj`, x, inChannels, head.headFilters, 1, [0, 0], true);
        inChannels = head.headFilters;
      }
      // Nearest 2x: output pixel p reads input floor(p / 2), as tfjs's upSampling2d does.
      inits.push(floatTensorInit(`${up}.scales`, [1, 1, 2, 2]));
      nodes.push({
        opType: "Resize",
        name: up,
        input: [x, "", `${up}.scales`],
        output: [`${up}.out`],
        attribute: [
          stringAttr("mode", "nearest"),
          stringAttr("coordinate_transformation_mode", "asymmetric"),
          stringAttr("nearest_mode", "floor"),
        ],
      });
      const lateral = convNode(HEATMAP_LAYERS.lateral(i), blockOut[block], arch.convFilters[block], head.headFilters, 1, [0, 0], false);
      const merge = HEATMAP_LAYERS.merge(i);
      nodes.push({ opType: "Add", name: merge, input: [`${up}.out`, lateral], output: [`${merge}.out`] });
      nodes.push({ opType: "Relu", name: HEATMAP_LAYERS.mergeRelu(i), input: [`${merge}.out`], output: [`${merge}.relu`] });
      x = `${merge}.relu`;
    });
    // Outputs NCHW -> NHWC: [N, rows, cols, channels] as tfjs gives them.
    const heat = convNode(head.heatmapOutput, x, inChannels, meta.classes.length, 1, [0, 0], false);
    nodes.push({ opType: "Sigmoid", name: `${head.heatmapOutput}.sigmoid`, input: [heat], output: [`${head.heatmapOutput}.prob`] });
    nodes.push({
      opType: "Transpose",
      name: `${head.heatmapOutput}.nhwc`,
      input: [`${head.heatmapOutput}.prob`],
      output: [head.heatmapOutput],
      attribute: [intsAttr("perm", [0, 2, 3, 1])],
    });
    const reg = convNode(head.regressionOutput, x, inChannels, 4, 1, [0, 0], false);
    nodes.push({
      opType: "Transpose",
      name: `${head.regressionOutput}.nhwc`,
      input: [reg],
      output: [head.regressionOutput],
      attribute: [intsAttr("perm", [0, 2, 3, 1])],
    });
    return encodeModel(meta, nodes, inits);
  }

  const grid = gridHead(meta);
  const cells = grid.rows * grid.cols;
  const numClasses = meta.classes.length + 1;
  arch.convFilters.forEach((filters, i) => {
    const name = LAYER_NAMES.conv(i);
    const relu = convNode(name, x, inChannels, filters, k, [begin, end], true);
    const pool = LAYER_NAMES.pool(i);
    nodes.push({
      opType: "MaxPool",
      name: pool,
      input: [relu],
      output: [`${pool}.out`],
      attribute: [intsAttr("kernel_shape", [2, 2]), intsAttr("strides", [2, 2])],
    });
    x = `${pool}.out`;
    inChannels = filters;
  });
  if (grid.connection === "convolutional") {
    featureShape(meta); // validates that the trunk leaves rows x cols positions
    if (grid.contextFilters > 0) {
      x = convNode(LAYER_NAMES.context, x, inChannels, grid.contextFilters, 3, [1, 1], true);
      inChannels = grid.contextFilters;
    }
    arch.dense.forEach((units, i) => {
      x = convNode(LAYER_NAMES.dense(i), x, inChannels, units, 1, [0, 0], true);
      inChannels = units;
    });
    // Per-cell outputs NCHW -> NHWC, so cells come out row-major as tfjs's Reshape orders them.
    const cellOutputs = (name: string, channels: number, activation: "Softmax" | "Sigmoid", output: string) => {
      const y = convNode(name, x, inChannels, channels, 1, [0, 0], false);
      nodes.push({
        opType: "Transpose",
        name: `${name}.nhwc`,
        input: [y],
        output: [`${name}.nhwc`],
        attribute: [intsAttr("perm", [0, 2, 3, 1])],
      });
      inits.push(int64Init(`${name}.shape`, [-1, cells, channels]));
      nodes.push({ opType: "Reshape", name: `${name}.reshape`, input: [`${name}.nhwc`, `${name}.shape`], output: [`${name}.grid`] });
      nodes.push({
        opType: activation,
        name: `${name}.${activation.toLowerCase()}`,
        input: [`${name}.grid`],
        output: [output],
        attribute: activation === "Softmax" ? [intAttr("axis", -1)] : [],
      });
    };
    cellOutputs(LAYER_NAMES.classesLogits, numClasses, "Softmax", grid.classesOutput);
    cellOutputs(LAYER_NAMES.boxesDense, 4, "Sigmoid", grid.boxesOutput);
    return encodeModel(meta, nodes, inits);
  }
  nodes.push({ opType: "Transpose", name: "to_nhwc", input: [x], output: ["features_nhwc"], attribute: [intsAttr("perm", [0, 2, 3, 1])] });
  nodes.push({ opType: "Flatten", name: "flatten", input: ["features_nhwc"], output: ["flatten.out"], attribute: [intAttr("axis", 1)] });
  x = "flatten.out";
  let features = featureShape(meta).flatten;

  const gemm = (name: string, units: number, input: string, output: string) => {
    const w = layerWeights(model, name);
    expectShape(name, w.kernelShape, [features, units]);
    floatInit(`${name}.weight`, [features, units], w.kernel);
    floatInit(`${name}.bias`, [units], w.bias);
    nodes.push({ opType: "Gemm", name, input: [input, `${name}.weight`, `${name}.bias`], output: [output] });
  };
  arch.dense.forEach((units, i) => {
    const name = LAYER_NAMES.dense(i);
    gemm(name, units, x, `${name}.out`);
    nodes.push({ opType: "Relu", name: `${name}.relu`, input: [`${name}.out`], output: [`${name}.relu`] });
    x = `${name}.relu`;
    features = units;
  });

  gemm(LAYER_NAMES.classesLogits, cells * numClasses, x, "classes.logits");
  inits.push(int64Init("classes.shape", [-1, cells, numClasses]));
  nodes.push({ opType: "Reshape", name: "classes.reshape", input: ["classes.logits", "classes.shape"], output: ["classes.grid"] });
  nodes.push({
    opType: "Softmax",
    name: "classes.softmax",
    input: ["classes.grid"],
    output: [grid.classesOutput],
    attribute: [intAttr("axis", -1)],
  });

  gemm(LAYER_NAMES.boxesDense, cells * 4, x, "boxes.logits");
  nodes.push({ opType: "Sigmoid", name: "boxes.sigmoid", input: ["boxes.logits"], output: ["boxes.flat"] });
  inits.push(int64Init("boxes.shape", [-1, cells, 4]));
  nodes.push({ opType: "Reshape", name: "boxes.reshape", input: ["boxes.flat", "boxes.shape"], output: [grid.boxesOutput] });

  return encodeModel(meta, nodes, inits);
}

function encodeModel(meta: ModelMetadata, nodes: Node[], inits: Initializer[]): Uint8Array {
  const message = ModelProto.fromObject({
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: "", version: ONNX_OPSET }],
    producerName: "fovea",
    producerVersion: "1",
    docString: `${meta.id}: ${meta.description}`.slice(0, 1000),
    graph: {
      name: meta.id,
      node: nodes,
      initializer: inits,
      input: [tensorValueInfo(meta.input.name, ["N", meta.input.height, meta.input.width, 3])],
      output: headOutputs(meta).map((o) => tensorValueInfo(o.name, ["N", ...o.shape])),
    },
    metadataProps: [
      { key: "fovea.id", value: meta.id },
      { key: "fovea.trained", value: String(meta.trained) },
      { key: "fovea.classes", value: JSON.stringify(meta.classes) },
    ],
  });
  return ModelProto.encode(message).finish();
}
