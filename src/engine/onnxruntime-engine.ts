/**
 * The default inference engine: onnxruntime-node running the model directory's `model.onnx`.
 * Execution providers: cpu and webgpu ship with onnxruntime-node; cuda and tensorrt need the
 * GPU build of its binaries (see PROVIDER_HELP).
 */
import os from "node:os";
import * as ort from "onnxruntime-node";
import { FoveaInputError } from "../core/errors.js";
import { loadModelDir, type ModelDir } from "../core/model-dir.js";
import { headOutputs } from "../core/head-outputs.js";
import type { ModelMetadata } from "../core/model-metadata.js";
import type { DeviceName, EngineOutput, InferenceEngine } from "./engine.js";

export type OnnxDevice = "cpu" | "webgpu" | "cuda" | "tensorrt";
export const ONNX_DEVICES: readonly OnnxDevice[] = ["cpu", "webgpu", "cuda", "tensorrt"];

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
  ) {
    this.outputNames = headOutputs(metadata).map((o) => o.name);
  }

  /** The head's outputs, fetched by name on every run (resolved once). */
  private readonly outputNames: string[];

  static async create(options: OnnxRuntimeEngineOptions): Promise<OnnxRuntimeEngine> {
    const device = options.device ?? "cpu";
    if (!ONNX_DEVICES.includes(device)) throw new RangeError(`device: expected one of ${ONNX_DEVICES.join(", ")} for onnxruntime, got '${String(device)}'`);
    const threads = options.threads ?? os.availableParallelism();
    if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads: expected a positive integer, got ${threads}`);
    const dir = typeof options.modelDir === "string" ? await loadModelDir(options.modelDir) : options.modelDir;
    if (!dir.onnxPath) throw new FoveaInputError(dir.metadataPath, `files.onnx: ${dir.metadata.files.onnx} does not exist; the onnxruntime engine needs it (re-export with \`fovea export\`)`);
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(dir.onnxPath, {
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
        extra: { session: { intra_op: { allow_spinning: "0" } } },
      });
    } catch (err) {
      const reason = (err as Error).message.split("\n")[0];
      if (device !== "cpu") throw new FoveaInputError(`onnxruntime device ${device}`, `${PROVIDER_HELP[device]} (onnxruntime: ${reason})`, { cause: err });
      throw new FoveaInputError(dir.onnxPath, `onnxruntime cannot load this model: ${reason}`, { cause: err });
    }
    return new OnnxRuntimeEngine(session, dir.metadata, device, threads);
  }

  async run(input: Float32Array, batch = 1): Promise<EngineOutput> {
    const inp = this.metadata.input;
    const per = inp.height * inp.width * 3;
    if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`batch: expected a positive integer, got ${batch}`);
    if (input.length !== per * batch) throw new RangeError(`input: expected ${per * batch} floats (batch ${batch} x ${inp.height}x${inp.width}x3), got ${input.length}`);
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
