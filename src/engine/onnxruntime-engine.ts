/**
 * The default inference engine: onnxruntime-node running the model directory's `model.onnx`.
 * Execution providers: cpu and webgpu ship with onnxruntime-node; cuda and tensorrt need the
 * GPU build of its binaries (see PROVIDER_HELP).
 */
import { readFile } from "node:fs/promises";
import os from "node:os";
import * as ort from "onnxruntime-node";
import { FoveaInputError } from "../core/errors.js";
import { loadModelDir, type ModelDir } from "../core/model-dir.js";
import { headOutputs } from "../core/head-outputs.js";
import type { ModelMetadata } from "../core/model-metadata.js";
import { preprocess, preprocessParams, type WhiteBalanceGains } from "../preprocess/preprocess.js";
import {
  CHANNEL_MEAN_OUTPUT,
  FRAME_INPUT,
  frameGraphPlan,
  prependFrameGraph,
  type FrameGraphLayout,
} from "../preprocess/preprocess-graph.js";
import type { DeviceName, EngineOutput, FrameInference, FrameInferenceResult, InferenceEngine } from "./engine.js";
import { ENGINE_DEVICES } from "./registry.js";

export type OnnxDevice = (typeof ENGINE_DEVICES.onnxruntime)[number];
export const ONNX_DEVICES: readonly OnnxDevice[] = ENGINE_DEVICES.onnxruntime;

/** How to get each non-CPU provider working, appended to the error when it fails to load. */
export const PROVIDER_HELP: Record<Exclude<OnnxDevice, "cpu">, string> = {
  cuda:
    "the CUDA execution provider is not installed or cannot load its libraries. On a machine with an NVIDIA GPU, " +
    "CUDA 12 and cuDNN 9, reinstall with `npm install onnxruntime-node --onnxruntime-node-install=cuda12`; otherwise use device cpu",
  tensorrt:
    "the TensorRT execution provider is not installed or cannot load its libraries. It needs the CUDA build " +
    "(`npm install onnxruntime-node --onnxruntime-node-install=cuda12`) plus TensorRT 10 libraries on LD_LIBRARY_PATH; otherwise use device cpu",
  webgpu: "no WebGPU adapter was found (it needs a GPU with Vulkan drivers on Linux); use device cpu",
};

export interface OnnxRuntimeEngineOptions {
  /** Model directory path, or one already opened with loadModelDir. */
  modelDir: string | ModelDir;
  /** Execution provider. Default cpu. */
  device?: OnnxDevice;
  /** Intra-op threads. Default: all cores (os.availableParallelism()). */
  threads?: number;
  /**
   * Intra-op threads of frame-path sessions (`framePath`). Default: all cores: the resize runs
   * inside the session, so no other stage of the loop needs a core while it runs.
   */
  framePathThreads?: number;
  /**
   * Let the frame path's pool threads spin between runs. Default off: a spinning thread holds a
   * core after every run, which the capture reader and ZeroMQ's I/O thread need on a 2-core robot.
   */
  framePathSpinning?: boolean;
  /** How the frame path's graph averages blocks (same pixels); default DEFAULT_FRAME_GRAPH_LAYOUT. */
  framePathLayout?: FrameGraphLayout;
}

/** Largest output difference a frame path may show against preprocess + run at creation. */
const FRAME_PATH_TOLERANCE = 1e-4;

function sessionOptions(device: OnnxDevice, threads: number, spinning: boolean): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [device],
    intraOpNumThreads: threads,
    // One frame at a time through a chain of ops: parallelism lives inside the ops.
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
    logSeverityLevel: 3,
    // Spinning pool threads keep a core busy for a while after every run; on a 2-core robot
    // that core is the one preprocessing the next frame (and the ZeroMQ I/O thread), so the
    // spin costs more latency than the wake-up it saves.
    extra: { session: { intra_op: { allow_spinning: spinning ? "1" : "0" } } },
  };
}

function checkThreads(flag: string, threads: number): void {
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`${flag}: expected a positive integer, got ${threads}`);
}

export class OnnxRuntimeEngine implements InferenceEngine {
  readonly engine = "onnxruntime" as const;
  /**
   * Input tensors of the last two buffers run, reused while the caller passes the same buffers:
   * the frame loop alternates two (one being preprocessed while the other is inferred).
   */
  private inputs: Array<{ data: Float32Array; batch: number; tensor: ort.Tensor }> = [];

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly metadata: ModelMetadata,
    readonly device: DeviceName,
    /** Intra-op threads the session was created with. */
    readonly threads: number,
    private readonly dir: ModelDir,
    private readonly options: OnnxRuntimeEngineOptions,
  ) {
    this.outputNames = headOutputs(metadata).map((o) => o.name);
  }

  /** The head's outputs, fetched by name on every run (resolved once). */
  private readonly outputNames: string[];

  static async create(options: OnnxRuntimeEngineOptions): Promise<OnnxRuntimeEngine> {
    const device = options.device ?? "cpu";
    if (!ONNX_DEVICES.includes(device))
      throw new RangeError(`device: expected one of ${ONNX_DEVICES.join(", ")} for onnxruntime, got '${String(device)}'`);
    const threads = options.threads ?? os.availableParallelism();
    checkThreads("threads", threads);
    checkThreads("framePathThreads", options.framePathThreads ?? 1);
    const dir = typeof options.modelDir === "string" ? await loadModelDir(options.modelDir) : options.modelDir;
    if (!dir.onnxPath)
      throw new FoveaInputError(
        dir.metadataPath,
        `files.onnx: ${dir.metadata.files.onnx} does not exist; the onnxruntime engine needs it (re-export with \`fovea export\`)`,
      );
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(dir.onnxPath, sessionOptions(device, threads, false));
    } catch (err) {
      const reason = (err as Error).message.split("\n")[0];
      if (device !== "cpu")
        throw new FoveaInputError(`onnxruntime device ${device}`, `${PROVIDER_HELP[device]} (onnxruntime: ${reason})`, { cause: err });
      throw new FoveaInputError(dir.onnxPath, `onnxruntime cannot load this model: ${reason}`, { cause: err });
    }
    return new OnnxRuntimeEngine(session, dir.metadata, device, threads, dir, options);
  }

  /**
   * A session of the model with its preprocessing graph in front (src/preprocess/preprocess-graph.ts)
   * for frames of `width` x `height`; null where that graph cannot give the trainer's pixels
   * exactly. The merged session is checked once against preprocess + run on a test frame and
   * refused (throws) if they disagree, so a model the graph rewrite mishandles never runs wrong.
   */
  async framePath(width: number, height: number, whiteBalance?: WhiteBalanceGains): Promise<FrameInference | null> {
    const params = preprocessParams(this.metadata);
    if (!frameGraphPlan(width, height, params)) return null;
    const merged = prependFrameGraph(await readFile(this.dir.onnxPath!), this.metadata.input.name, {
      width,
      height,
      params,
      whiteBalance,
      layout: this.options.framePathLayout,
    });
    const threads = this.options.framePathThreads ?? os.availableParallelism();
    const session = await ort.InferenceSession.create(
      merged,
      sessionOptions(this.device as OnnxDevice, threads, this.options.framePathSpinning ?? false),
    );
    const path = new OnnxFramePath(session, this.metadata, width, height, threads);
    try {
      // A deterministic busy test frame: every byte value, no flat areas.
      const frame = new Uint8Array(width * height * 3);
      for (let i = 0; i < frame.length; i++) frame[i] = (i * 2654435761) >>> 24;
      const reference = await this.run(
        (await preprocess({ width, height, encoding: "rgb24", data: Buffer.from(frame.buffer) }, params, { whiteBalance })).tensor,
        1,
      );
      const got = (await path.run(frame)).output;
      for (const name of this.outputNames) {
        const a = reference[name];
        const b = got[name];
        let worst = 0;
        for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
        if (!(worst <= FRAME_PATH_TOLERANCE)) {
          throw new Error(
            `${this.dir.onnxPath}: the preprocessing graph for ${width}x${height} frames gives output '${name}' ${worst} away from preprocess + model (tolerance ${FRAME_PATH_TOLERANCE})`,
          );
        }
      }
    } catch (err) {
      await path.dispose();
      throw err;
    }
    return path;
  }

  async run(input: Float32Array, batch = 1): Promise<EngineOutput> {
    const inp = this.metadata.input;
    const per = inp.height * inp.width * 3;
    if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`batch: expected a positive integer, got ${batch}`);
    if (input.length !== per * batch)
      throw new RangeError(`input: expected ${per * batch} floats (batch ${batch} x ${inp.height}x${inp.width}x3), got ${input.length}`);
    let tensor: ort.Tensor | undefined;
    for (const c of this.inputs) if (c.data === input && c.batch === batch) tensor = c.tensor;
    if (!tensor) {
      tensor = new ort.Tensor("float32", input, [batch, inp.height, inp.width, 3]);
      this.inputs = [{ data: input, batch, tensor }, ...this.inputs.slice(0, 1)];
    }
    const out = await this.session.run({ [inp.name]: tensor });
    const result: Record<string, Float32Array> = {};
    for (const name of this.outputNames) result[name] = out[name].data as Float32Array;
    return result;
  }

  async dispose(): Promise<void> {
    this.inputs = [];
    await this.session.release();
  }
}

/**
 * The merged session of one frame size. Reuses its input tensor while frames arrive in the same
 * buffers and writes into the same output buffers on every run (onnxruntime fills pre-allocated
 * fetches), which the decoder reads. onnxruntime-node (1.30) still returns a fresh copy of every
 * output from run(); that result is dropped unread, short-lived garbage this loop cannot avoid.
 */
class OnnxFramePath implements FrameInference {
  private readonly fetches: Record<string, ort.Tensor> = {};
  private readonly result: FrameInferenceResult;
  private readonly feeds: Record<string, ort.Tensor> = {};
  /** Input tensors of the last few frame buffers (a capture ring of a few slots reuses its buffers). */
  private inputs: Array<{ data: Uint8Array; tensor: ort.Tensor }> = [];
  private readonly frameBytes: number;
  /** Frames in shared memory are copied here first. */
  private staging: { data: Uint8Array; tensor: ort.Tensor | undefined } | undefined;

  constructor(
    private readonly session: ort.InferenceSession,
    metadata: ModelMetadata,
    readonly width: number,
    readonly height: number,
    readonly threads: number,
  ) {
    this.frameBytes = width * height * 3;
    const output: Record<string, Float32Array> = {};
    for (const o of headOutputs(metadata)) {
      const data = new Float32Array(o.shape.reduce((a, b) => a * b, 1));
      this.fetches[o.name] = new ort.Tensor("float32", data, [1, ...o.shape]);
      output[o.name] = data;
    }
    const channelMean = new Float32Array(3);
    this.fetches[CHANNEL_MEAN_OUTPUT] = new ort.Tensor("float32", channelMean, [1, 3]);
    this.result = { output, channelMean };
  }

  async run(frame: Uint8Array): Promise<FrameInferenceResult> {
    if (frame.length !== this.frameBytes) {
      throw new RangeError(`frame: expected ${this.frameBytes} bytes of rgb24 for ${this.width}x${this.height}, got ${frame.length}`);
    }
    let tensor: ort.Tensor | undefined;
    if (frame.buffer instanceof SharedArrayBuffer) {
      // onnxruntime-node refuses tensors over shared memory (a capture worker's ring): one copy
      // into a buffer of our own.
      this.staging ??= { data: new Uint8Array(this.frameBytes), tensor: undefined };
      this.staging.data.set(frame);
      tensor = this.staging.tensor ??= new ort.Tensor("uint8", this.staging.data, [1, this.height, this.width, 3]);
    } else {
      for (const c of this.inputs) if (c.data === frame) tensor = c.tensor;
      if (!tensor) {
        tensor = new ort.Tensor("uint8", frame, [1, this.height, this.width, 3]);
        this.inputs = [{ data: frame, tensor }, ...this.inputs.slice(0, 3)];
      }
    }
    this.feeds[FRAME_INPUT] = tensor;
    await this.session.run(this.feeds, this.fetches);
    return this.result;
  }

  async dispose(): Promise<void> {
    this.inputs = [];
    await this.session.release();
  }
}
