/**
 * Public types of the inference engines. Implementations live beside this file
 * (onnxruntime-engine.ts, tfjs-engine.ts) and are created with their own `static async create()`,
 * or chosen by `createEngine` (create-engine.ts).
 */
import os from "node:os";
import type { ModelMetadata } from "../core/model-metadata.js";

export type EngineName = "onnxruntime" | "tfjs";
/** onnxruntime: cpu | webgpu | cuda | tensorrt. tfjs: tensorflow (tfjs-node[-gpu]) | wasm | cpu. */
export type DeviceName = "cpu" | "webgpu" | "cuda" | "tensorrt" | "tensorflow" | "wasm";

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
  dispose(): Promise<void>;
}

export interface EngineOptions {
  /** Model directory (contains fovea.json). */
  modelDir: string;
  engine?: EngineName | "auto";
  device?: DeviceName | "auto";
  /** Intra-op threads (onnxruntime) — default: all cores. */
  threads?: number;
}

/**
 * Inference threads of the frame loop (`fovea run`, the bench's pipeline runs): all cores but
 * one, which is left to preprocessing (sharp's resize of frame N+1 runs on libuv's pool while
 * frame N is inferred) and ZeroMQ's I/O thread. On the 2-core development machine one inference
 * thread gave 388 fps unpaced against 246 fps with two, at the same 60 fps paced latency
 * (`fovea bench --modes paced60,unpaced --threads 1|2`), although inference alone is faster on
 * two threads (1.1 vs 1.6 ms p50).
 */
export function frameLoopThreads(): number {
  return Math.max(1, os.availableParallelism() - 1);
}
