/**
 * Crash safety of a model export (`fovea train` exports while it trains; a second stop signal or
 * a kill can end it at any moment): a real exporting process is ended by a signal at several points, and
 * the directory left behind always holds one model, its model.onnx and tfjs/ in step.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, expect, test } from "vitest";
import { loadModelDir } from "../src/core/model-dir.js";
import { maxAbsDiff } from "../src/core/max-abs-diff.js";
import { initTfjs } from "../src/engine/tfjs-backend.js";
import { loadLayersModel } from "../src/train/export-model.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "fovea-export-crash-"));
  await initTfjs("cpu");
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Start the exporting child; once it has finished `exports`, SIGTERM it `afterMs` later (it has no handler: the signal ends it at once, as a second stop signal ends `fovea train`). */
async function exportAndKill(dir: string, exports: number, afterMs: number): Promise<void> {
  const child = spawn(
    process.execPath,
    ["--import", path.join(HERE, "record-ts-loader.mjs"), path.join(HERE, "export-crash-child.ts"), dir],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stderr = "";
  child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
  await new Promise<void>((resolve, reject) => {
    let armed = false;
    child.stdout.on("data", (b: Buffer) => {
      if (armed || Number(b.toString().trim().split("\n").pop()) < exports) return;
      armed = true;
      setTimeout(() => child.kill("SIGTERM"), afterMs);
    });
    child.on("exit", (code, signal) => (signal === "SIGTERM" ? resolve() : reject(new Error(`export child exited ${code}: ${stderr}`))));
  });
}

test("an export killed at any point leaves a model whose model.onnx and tfjs/ agree", async () => {
  const dir = path.join(root, "model");
  const input = new Float32Array(32 * 32 * 3).map((_, i) => ((i * 7919) % 255) / 255);
  // Kill points spread over one export (an export of this network takes a few hundred ms).
  for (const afterMs of [0, 25, 50, 80, 120, 160, 220, 300]) {
    await exportAndKill(dir, 2, afterMs);
    const model = await loadModelDir(dir);
    const session = await ort.InferenceSession.create(model.onnxPath as string);
    const onnx = await session.run({ input: new ort.Tensor("float32", input, [1, 32, 32, 3]) });
    await session.release();
    const layers = await loadLayersModel(model.tfjsPath as string);
    const out = tf.tidy(() => (layers.predict(tf.tensor4d(input, [1, 32, 32, 3])) as tf.Tensor[]).map((t) => t.dataSync()));
    layers.dispose();
    expect(maxAbsDiff(onnx.classes.data as Float32Array, out[0])).toBeLessThanOrEqual(1e-4);
    expect(maxAbsDiff(onnx.boxes.data as Float32Array, out[1])).toBeLessThanOrEqual(1e-4);
  }
});
