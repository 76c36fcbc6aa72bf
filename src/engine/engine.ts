/**
 * Public types of the inference engines. Implementations live beside this file
 * (onnxruntime-engine.ts, tfjs-engine.ts) and are created with their own `static async create()`,
 * or chosen by `createEngine` (create-engine.ts).
 */
import os from "node:os";
import type { ModelMetadata } from "../core/model-metadata.js";
import type { WhiteBalanceGains } from "../preprocess/preprocess.js";

/** Engine and device names come from the registry (src/engine/registry.ts). */
export type { DeviceName, EngineName } from "./registry.js";
import type { DeviceName, EngineName } from "./registry.js";

/** Raw outputs of one run by name, batch-major, shapes as the model's head gives them (src/heads/registry.ts). */
export type { EngineOutput } from "../heads/decoder.js";
import type { EngineOutput } from "../heads/decoder.js";

export interface InferenceEngine {
  readonly engine: EngineName;
  readonly device: DeviceName;
  readonly metadata: ModelMetadata;
  /** Intra-op threads, where the engine runs on a fixed number (onnxruntime cpu). */
  readonly threads?: number;
  /**
   * Run a batch. `input` is NHWC float32, length batch*height*width*3, exactly what
   * `preprocess` produces (concatenated for batch > 1).
   */
  run(input: Float32Array, batch?: number): Promise<EngineOutput>;
  /**
   * rgb24 frames of `width` x `height` straight into the model, the model's preprocessing in the
   * same run (onnxruntime: a preprocessing graph in front of the model). Resolves null where the
   * engine cannot give exactly the trainer's pixels that way (other kernels or sizes, other
   * engines); the caller then preprocesses and calls `run`.
   */
  framePath?(width: number, height: number, whiteBalance?: WhiteBalanceGains): Promise<FrameInference | null>;
  dispose(): Promise<void>;
}

/** What a frame path returns per run; the arrays are reused and valid until the next run. */
export interface FrameInferenceResult {
  /** The head's outputs by name, as `run` returns them for batch 1. */
  output: EngineOutput;
  /** Per-channel mean (R, G, B) of the resized, white-balanced image in 0..255, as `preprocess` reports it. */
  channelMean: Float32Array;
}

/** A model session taking raw rgb24 frames of one size (see InferenceEngine.framePath). */
export interface FrameInference {
  readonly width: number;
  readonly height: number;
  /** Intra-op threads of the frame path's session. */
  readonly threads: number;
  /** `frame`: width*height*3 bytes of rgb24; read during the call only. */
  run(frame: Uint8Array): Promise<FrameInferenceResult>;
  dispose(): Promise<void>;
}

export interface EngineOptions {
  /** Model directory (contains fovea.json). */
  modelDir: string;
  engine?: EngineName | "auto";
  device?: DeviceName | "auto";
  /** Intra-op threads (onnxruntime) — default: all cores. */
  threads?: number;
  /** Intra-op threads of onnxruntime frame paths (framePath) — default: all cores. */
  framePathThreads?: number;
  /** Let onnxruntime frame paths' pool threads spin between runs — default off. */
  framePathSpinning?: boolean;
}

/**
 * Inference threads of the frame loop (`fovea run`, the bench's pipeline runs) when frames are
 * preprocessed outside the engine: all cores but one, which is left to preprocessing (sharp's
 * resize of frame N+1 runs on libuv's pool while frame N is inferred, or the JS area resize) and
 * ZeroMQ's I/O thread; measured in docs/performance.md. A frame path (framePath), which
 * preprocesses inside its session, has its own count (framePathThreads).
 */
export function frameLoopThreads(): number {
  return Math.max(1, os.availableParallelism() - 1);
}
