/**
 * TensorFlow.js backend selection, shared by the tfjs engine and training.
 *
 * Order for `auto`: @tensorflow/tfjs-node-gpu, @tensorflow/tfjs-node (native libtensorflow; optional
 * peer dependencies that are usually NOT installed because their install script's download is
 * broken upstream), then the wasm backend (XNNPACK, SIMD), then the pure-JS cpu backend.
 */
import { createRequire } from "node:module";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { FoveaInputError } from "../core/errors.js";

export type TfjsBackendPreference = "auto" | "tensorflow" | "wasm" | "cpu";
export type TfjsBackendName = "tensorflow" | "wasm" | "cpu";

export interface TfjsRuntime {
  /** The tfjs namespace with the chosen backend active. */
  tf: typeof tf;
  backend: TfjsBackendName;
  /** Why earlier choices of `auto` were skipped (for the log). */
  skipped: string[];
}

const require = createRequire(import.meta.url);

/** Directory holding the tfjs wasm binaries, with a trailing slash as `setWasmPaths` expects. */
export function wasmBinaryDir(): string {
  return path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm")) + path.sep;
}

let pending: Promise<TfjsRuntime> | undefined;
let pendingPreference: TfjsBackendPreference | undefined;

async function tryTensorflow(skipped: string[]): Promise<boolean> {
  // Module names in variables so TypeScript does not require their (absent) type declarations.
  for (const name of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
    try {
      await import(name);
      // tfjs-node registers the `tensorflow` backend against the same tfjs-core instance.
      if (await tf.setBackend("tensorflow")) return true;
      skipped.push(`${name}: loaded but the tensorflow backend did not initialise`);
    } catch (err) {
      skipped.push(`${name}: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`);
    }
  }
  return false;
}

async function tryWasm(skipped: string[]): Promise<boolean> {
  try {
    const wasm = await import("@tensorflow/tfjs-backend-wasm");
    // In Node the emscripten loader reads the .wasm from disk at this prefix; it picks the SIMD
    // binary itself when the runtime supports it. Threads need browser-style workers, which the
    // Node build does not use, so the backend runs single-threaded here.
    wasm.setWasmPaths(wasmBinaryDir());
    if (await tf.setBackend("wasm")) return true;
    skipped.push("wasm: backend did not initialise");
  } catch (err) {
    skipped.push(`wasm: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`);
  }
  return false;
}

async function init(preference: TfjsBackendPreference): Promise<TfjsRuntime> {
  const skipped: string[] = [];
  if (preference === "auto" || preference === "tensorflow") {
    if (await tryTensorflow(skipped)) return { tf, backend: "tensorflow", skipped };
    if (preference === "tensorflow") {
      throw new FoveaInputError(
        "tfjs backend tensorflow",
        `neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node loads (${skipped.join("; ")}); ` +
          "install one with `npm install @tensorflow/tfjs-node` (needs its libtensorflow download) or use the wasm backend",
      );
    }
  }
  if (preference === "auto" || preference === "wasm") {
    if (await tryWasm(skipped)) return { tf, backend: "wasm", skipped };
    if (preference === "wasm")
      throw new FoveaInputError("tfjs backend wasm", `@tensorflow/tfjs-backend-wasm failed: ${skipped.join("; ")}`);
  }
  if (!(await tf.setBackend("cpu"))) throw new Error("tfjs cpu backend did not initialise");
  return { tf, backend: "cpu", skipped };
}

/**
 * Activate a tfjs backend. tfjs has one global backend per process, so the first call decides;
 * later calls with the same preference share it, a different preference switches the global
 * backend (tensors made on the previous backend stay valid; tfjs moves data on use).
 */
export function initTfjs(preference: TfjsBackendPreference = "auto"): Promise<TfjsRuntime> {
  if (!["auto", "tensorflow", "wasm", "cpu"].includes(preference)) {
    throw new RangeError(`preference: expected auto, tensorflow, wasm or cpu, got '${String(preference)}'`);
  }
  if (!pending || pendingPreference !== preference) {
    pendingPreference = preference;
    pending = init(preference);
    // A failed init may be retried (e.g. after the caller falls back to another preference).
    pending.catch(() => {
      if (pendingPreference === preference) pending = undefined;
    });
  }
  return pending;
}
