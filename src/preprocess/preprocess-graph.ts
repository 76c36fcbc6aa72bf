/**
 * The model's preprocessing as an ONNX graph in front of the model, for rgb24 frames: one
 * onnxruntime session takes the camera's bytes and returns the head's outputs, so the resize and
 * normalisation run on onnxruntime's thread pool in the same `run` as the network instead of on
 * the JS thread before it.
 *
 *   frame uint8 [1, H, W, 3] -> Transpose NCHW -> Cast float
 *   -> AveragePool fy x fx -> *count, Round (the exact integer sum) -> + half, / count, Floor
 *      (= AreaResizer's integer rounding, half up)
 *   -> * white-balance gains, Min 255 (as `normalise` clamps)  -> ReduceMean = channel mean
 *   -> * 1/(255 std) + (-mean/std) -> Transpose NHWC -> the model's input
 *
 * (layout `reduce`: Cast, then one ReduceSum over a [h, fy, w, fx, 3] view gives the block sums
 * in NHWC, no transposes; the rest is the same.)
 *
 * It gives the pixels `resizeToInput` + `normalise` give (the trainer's), so it is only built
 * where that holds exactly: kernel `area` with whole reduction factors on both axes (each output
 * pixel then covers a fy x fx block). Any other case keeps the JS/sharp path.
 *
 * Hand-written because nothing on npm builds ONNX graphs in JS; it uses the same protobufjs
 * schema as fovea's exporter (src/core/onnx-proto.ts), opset 13 like the models it extends.
 */
import { coversInput, fitTransform } from "../core/fit.js";
import { ModelProto, OnnxAttributeType, OnnxDataType } from "../core/onnx-proto.js";
import type { PreprocessParams, WhiteBalanceGains } from "./preprocess.js";

/** TensorProto.DataType UINT8 (not among the types the exporter itself writes). */
const UINT8 = 2;

/** Graph input of a merged model: the rgb24 frame. */
export const FRAME_INPUT = "fovea_frame";
/** Extra graph output: per-channel mean (R, G, B) of the resized, white-balanced image, 0..255. */
export const CHANNEL_MEAN_OUTPUT = "fovea_channel_mean";
const PREFIX = "fovea_pre/";

/** Reduction factors of a frame size to the model input, or null when the graph does not apply. */
export interface FrameGraphPlan {
  /** Input rows per output row. */
  fy: number;
  /** Input columns per output column. */
  fx: number;
}

/**
 * Whether (and how) frames of `width` x `height` can be preprocessed in the graph with exactly the
 * trainer's pixels: kernel `area`, a frame that fills the input (fit `fill`, or a letterbox or
 * crop at the input's aspect ratio, which place nothing) and whole reduction factors on both axes.
 */
export function frameGraphPlan(width: number, height: number, params: PreprocessParams): FrameGraphPlan | null {
  const { spec } = params;
  if (spec.kernel !== "area") return null;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) return null;
  if (spec.fit !== "fill" && !coversInput(fitTransform(spec.fit, width, height, params.width, params.height))) return null;
  if (width % params.width !== 0 || height % params.height !== 0) return null;
  return { fx: width / params.width, fy: height / params.height };
}

type Attribute = { name: string; type: number; i?: number; ints?: number[]; f?: number };
type Node = { opType: string; name: string; input: string[]; output: string[]; attribute?: Attribute[] };
type Initializer = { name: string; dims: number[]; dataType: number; rawData: Uint8Array };

const ints = (name: string, values: number[]): Attribute => ({ name, type: OnnxAttributeType.INTS, ints: values });
const int = (name: string, i: number): Attribute => ({ name, type: OnnxAttributeType.INT, i });

function int64s(name: string, values: number[]): Initializer {
  const data = BigInt64Array.from(values.map((v) => BigInt(v)));
  return { name, dims: [values.length], dataType: OnnxDataType.INT64, rawData: new Uint8Array(data.buffer) };
}

function floats(name: string, dims: number[], values: number[]): Initializer {
  const data = Float32Array.from(values);
  return { name, dims, dataType: OnnxDataType.FLOAT, rawData: new Uint8Array(data.buffer) };
}

/** The white-balance gains `normalise` applies for this spec and calibration (null: none). */
function appliedGains(params: PreprocessParams, whiteBalance: WhiteBalanceGains | undefined): [number, number, number] | null {
  if (!params.spec.whiteBalance || !whiteBalance) return null;
  const g: [number, number, number] = [whiteBalance.r, whiteBalance.g, whiteBalance.b];
  (["r", "g", "b"] as const).forEach((k, i) => {
    if (!(g[i] > 0 && Number.isFinite(g[i]))) throw new RangeError(`whiteBalance.${k}: expected a positive gain, got ${g[i]}`);
  });
  return g[0] === 1 && g[1] === 1 && g[2] === 1 ? null : g;
}

/**
 * Nodes and initializers from `frameInput` (uint8 [1, height, width, 3]) to `output` (float32
 * [1, params.height, params.width, 3], NHWC as the model takes it) and CHANNEL_MEAN_OUTPUT.
 */
function preprocessNodes(
  width: number,
  height: number,
  params: PreprocessParams,
  whiteBalance: WhiteBalanceGains | undefined,
  output: string,
  layout: FrameGraphLayout,
): { nodes: Node[]; inits: Initializer[] } {
  const plan = frameGraphPlan(width, height, params);
  if (!plan) {
    throw new RangeError(
      `frame ${width}x${height} -> model input ${params.width}x${params.height} (kernel ${params.spec.kernel}): ` +
        "the preprocessing graph needs kernel area and whole reduction factors",
    );
  }
  const nodes: Node[] = [];
  const inits: Initializer[] = [];
  const name = (s: string) => PREFIX + s;
  const add = (opType: string, input: string[], attribute?: Attribute[]): string => {
    const out = name(`${opType.toLowerCase()}${nodes.length}`);
    nodes.push({ opType, name: out, input, output: [out], attribute });
    return out;
  };
  const nhwc = layout === "reduce";
  // Per-channel constants broadcast over NCHW [1, 3, 1, 1] or NHWC [3].
  const constant = (label: string, values: number[], dims = nhwc ? [values.length] : [1, values.length, 1, 1]): string => {
    const n = name(label);
    inits.push(floats(n, dims, values));
    return n;
  };
  const count = plan.fx * plan.fy;
  const roundedMean = (sum: string): string => {
    // AreaResizer rounds the integer block sum: floor((sum + floor(count/2)) / count). A quotient
    // of two exact integers is correctly rounded, so Floor lands where integer arithmetic does,
    // for any count (a power of two or not).
    const x = add("Add", [sum, constant("half", [Math.floor(count / 2)], [])]);
    return add("Floor", [add("Div", [x, constant("count_div", [count], [])])]);
  };

  let x: string;
  if (nhwc) {
    // Block sums straight from the NHWC bytes: a [h, fy, w, fx, 3] view, summed over fy and fx.
    x = add("Cast", [FRAME_INPUT], [int("to", OnnxDataType.FLOAT)]);
    if (count > 1) {
      inits.push(int64s(name("blocks"), [params.height, plan.fy, params.width, plan.fx, 3]));
      inits.push(int64s(name("block_axes"), [1, 3]));
      x = add("Reshape", [x, name("blocks")]);
      x = add("ReduceSum", [x, name("block_axes")], [int("keepdims", 0)]);
      x = roundedMean(x);
    } else {
      inits.push(int64s(name("pixels"), [params.height, params.width, 3]));
      x = add("Reshape", [x, name("pixels")]);
    }
  } else {
    x = nchwBlocks();
  }
  function nchwBlocks(): string {
    // Transposing the bytes before the cast moves a quarter of the data the float transpose would.
    let y = add("Transpose", [FRAME_INPUT], [ints("perm", [0, 3, 1, 2])]);
    y = add("Cast", [y], [int("to", OnnxDataType.FLOAT)]);
    if (count === 1) return y;
    y = add("AveragePool", [y], [ints("kernel_shape", [plan!.fy, plan!.fx]), ints("strides", [plan!.fy, plan!.fx])]);
    // The pool's average times count is the integer block sum to within far less than 0.5.
    y = add("Mul", [y, constant("count", [count], [])]);
    return roundedMean(add("Round", [y]));
  }

  const gains = appliedGains(params, whiteBalance);
  if (gains) {
    // normalise clamps after the gains (a saturated sensor), so the graph does too.
    x = add("Mul", [x, constant("gains", gains)]);
    x = add("Min", [x, constant("full_scale", [255], [])]);
  }
  if (nhwc) {
    const m = add("ReduceMean", [x], [ints("axes", [0, 1]), int("keepdims", 0)]);
    inits.push(int64s(name("mean_shape"), [1, 3]));
    nodes.push({ opType: "Reshape", name: name("channel_mean"), input: [m, name("mean_shape")], output: [CHANNEL_MEAN_OUTPUT] });
  } else {
    nodes.push({
      opType: "ReduceMean",
      name: name("channel_mean"),
      input: [x],
      output: [CHANNEL_MEAN_OUTPUT],
      attribute: [ints("axes", [2, 3]), int("keepdims", 0)],
    });
  }
  const { mean, std } = params.spec;
  x = add("Mul", [
    x,
    constant(
      "scale",
      [0, 1, 2].map((c) => 1 / (255 * std[c])),
    ),
  ]);
  x = add("Add", [
    x,
    constant(
      "offset",
      [0, 1, 2].map((c) => -mean[c] / std[c]),
    ),
  ]);
  if (nhwc) {
    inits.push(int64s(name("input_shape"), [1, params.height, params.width, 3]));
    nodes.push({ opType: "Reshape", name: name("to_input"), input: [x, name("input_shape")], output: [output] });
  } else {
    nodes.push({ opType: "Transpose", name: name("to_nhwc"), input: [x], output: [output], attribute: [ints("perm", [0, 2, 3, 1])] });
  }
  return { nodes, inits };
}

function valueInfo(name: string, elemType: number, shape: Array<number | string>) {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: shape.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })) } } },
  };
}

/**
 * How the block averages are computed: `pool` transposes the bytes to NCHW and uses AveragePool
 * (the transpose cancels against the model's own); `reduce` sums a [h, fy, w, fx, 3] view of the
 * NHWC bytes with one ReduceSum and stays NHWC. Same pixels; which is cheaper is measured
 * (scripts/measure-preprocess.ts).
 */
export type FrameGraphLayout = "pool" | "reduce";
export const DEFAULT_FRAME_GRAPH_LAYOUT: FrameGraphLayout = "pool";

export interface FrameGraphOptions {
  /** Source frame width, pixels. */
  width: number;
  /** Source frame height, pixels. */
  height: number;
  params: PreprocessParams;
  /** Calibration gains; applied only when the model's `preprocess.whiteBalance` is true. */
  whiteBalance?: WhiteBalanceGains;
  /** Default DEFAULT_FRAME_GRAPH_LAYOUT. */
  layout?: FrameGraphLayout;
}

/**
 * The model with the preprocessing graph in front: input FRAME_INPUT (uint8 [1, height, width, 3]),
 * outputs the model's own plus CHANNEL_MEAN_OUTPUT ([1, 3]). `modelBytes` is a model written by
 * fovea's exporter; its input named `inputName` becomes an internal value.
 */
export function prependFrameGraph(modelBytes: Uint8Array, inputName: string, options: FrameGraphOptions): Uint8Array {
  const model = ModelProto.toObject(ModelProto.decode(modelBytes), { longs: Number, bytes: Uint8Array }) as {
    graph?: { node?: Node[]; input?: Array<{ name?: string }>; output?: unknown[]; initializer?: unknown[] };
  };
  const graph = model.graph;
  const inputs = graph?.input ?? [];
  if (!graph || !inputs.some((i) => i.name === inputName)) {
    throw new RangeError(`model: expected a graph input named '${inputName}' (the metadata's input.name)`);
  }
  const { nodes, inits } = preprocessNodes(
    options.width,
    options.height,
    options.params,
    options.whiteBalance,
    inputName,
    options.layout ?? DEFAULT_FRAME_GRAPH_LAYOUT,
  );
  graph.node = [...nodes, ...(graph.node ?? [])];
  graph.initializer = [...inits, ...(graph.initializer ?? [])];
  graph.input = [valueInfo(FRAME_INPUT, UINT8, [1, options.height, options.width, 3]), ...inputs.filter((i) => i.name !== inputName)];
  graph.output = [...(graph.output ?? []), valueInfo(CHANNEL_MEAN_OUTPUT, OnnxDataType.FLOAT, [1, 3])];
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}

/** The preprocessing graph alone (FRAME_INPUT -> `output` and CHANNEL_MEAN_OUTPUT), opset 13. */
export function frameGraphModel(options: FrameGraphOptions, output = "input"): Uint8Array {
  const { nodes, inits } = preprocessNodes(
    options.width,
    options.height,
    options.params,
    options.whiteBalance,
    output,
    options.layout ?? DEFAULT_FRAME_GRAPH_LAYOUT,
  );
  const message = ModelProto.fromObject({
    irVersion: 7,
    opsetImport: [{ domain: "", version: 13 }],
    producerName: "fovea",
    producerVersion: "1",
    graph: {
      name: "fovea_preprocess",
      node: nodes,
      initializer: inits,
      input: [valueInfo(FRAME_INPUT, UINT8, [1, options.height, options.width, 3])],
      output: [
        valueInfo(output, OnnxDataType.FLOAT, [1, options.params.height, options.params.width, 3]),
        valueInfo(CHANNEL_MEAN_OUTPUT, OnnxDataType.FLOAT, [1, 3]),
      ],
    },
  });
  return ModelProto.encode(message).finish();
}
