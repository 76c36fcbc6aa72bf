/**
 * The onnxruntime frame path (preprocessing graph merged in front of the model) against the
 * runtime's other path, preprocess + run, on a real exported heatmap model and real onnxruntime.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Rng } from "../core/prng.js";
import { preprocess, preprocessParams } from "../preprocess/preprocess.js";
import { exportModelDir } from "../train/export-model.js";
import { buildModel, presetMetadata } from "../train/network.js";
import { OnnxRuntimeEngine } from "./onnxruntime-engine.js";
import { initTfjs } from "./tfjs-backend.js";
import { maxAbsDiff } from "../core/max-abs-diff.js";

let root: string;
let heatmapDir: string;
let linearDir: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "fovea-frame-path-"));
  await initTfjs("wasm");
  const meta = presetMetadata("heatmap", { id: "frame-path" });
  const model = buildModel(meta, { seed: 3 });
  heatmapDir = (await exportModelDir(model, meta, path.join(root, "heatmap"))).dir;
  // Same network and input size, resized with sharp's linear kernel: no graph gives its pixels.
  linearDir = (await exportModelDir(model, { ...meta, preprocess: { ...meta.preprocess, kernel: "linear" } }, path.join(root, "linear")))
    .dir;
  model.dispose();
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function frameBytes(width: number, height: number, seed: number): Buffer {
  const rng = new Rng(seed);
  const buf = Buffer.alloc(width * height * 3);
  for (let i = 0; i < buf.length; i++) buf[i] = rng.nextUint32() & 0xff;
  return buf;
}

describe("onnxruntime frame path", () => {
  it.each(["pool", "reduce"] as const)(
    "gives the outputs and channel mean of preprocess + run, in buffers it reuses (layout %s)",
    async (layout) => {
      const engine = await OnnxRuntimeEngine.create({ modelDir: heatmapDir, threads: 1, framePathThreads: 2, framePathLayout: layout });
      const whiteBalance = { r: 1.5, g: 1, b: 0.8 };
      const path = await engine.framePath(640, 480, whiteBalance);
      expect(path).not.toBeNull();
      expect(path!.threads).toBe(2);
      const params = preprocessParams(engine.metadata);
      let previous: unknown;
      for (const seed of [1, 2]) {
        const frame = frameBytes(640, 480, seed);
        const js = await preprocess({ width: 640, height: 480, encoding: "rgb24", data: frame }, params, { whiteBalance });
        const expected = await engine.run(js.tensor, 1);
        const got = await path!.run(frame);
        for (const name of ["heatmap", "regression"]) {
          expect(maxAbsDiff(got.output[name], expected[name]), name).toBeLessThanOrEqual(1e-4);
          // Outputs differ across the map, so the comparison has teeth.
          expect(Math.max(...got.output[name]) - Math.min(...got.output[name])).toBeGreaterThan(1e-3);
        }
        expect(maxAbsDiff(got.channelMean, js.channelMean)).toBeLessThanOrEqual(1e-2);
        if (previous) expect(got).toBe(previous);
        previous = got;
      }
      await path!.dispose();
      await engine.dispose();
    },
  );

  it("is null where the graph cannot give the trainer's pixels: linear kernel, a size that is no whole multiple", async () => {
    const linear = await OnnxRuntimeEngine.create({ modelDir: linearDir, threads: 1 });
    expect(await linear.framePath(640, 480)).toBeNull();
    await linear.dispose();
    const engine = await OnnxRuntimeEngine.create({ modelDir: heatmapDir, threads: 1 });
    expect(await engine.framePath(650, 480)).toBeNull();
    await expect(engine.framePath(640, 480).then((p) => p?.run(new Uint8Array(10)))).rejects.toThrow(
      /frame: expected 921600 bytes of rgb24 for 640x480, got 10/,
    );
    await engine.dispose();
  });
});
