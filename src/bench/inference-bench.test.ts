import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine } from "../engine/create-engine.js";
import type { InferenceEngine } from "../engine/engine.js";
import { PACKAGE_ROOT } from "../core/package-root.js";
import { benchInference, benchInferenceSideBySide, benchInput } from "./inference-bench.js";

describe("benchInput", () => {
  it("is deterministic per seed and in the 0..1 range preprocessing produces", () => {
    const a = benchInput(30_000);
    expect(benchInput(30_000)).toEqual(a);
    expect(benchInput(30_000, 8)).not.toEqual(a);
    let min = 1;
    let max = 0;
    for (const v of a) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    expect(max - min).toBeGreaterThan(0.9);
    expect(() => benchInput(0)).toThrow(/elements/);
  });
});

describe("benchInference (onnxruntime cpu, shipped model)", () => {
  let engine: InferenceEngine;
  beforeAll(async () => {
    engine = await createEngine({ modelDir: path.join(PACKAGE_ROOT, "models", "default"), engine: "onnxruntime", device: "cpu" });
  });
  afterAll(async () => {
    await engine?.dispose();
  });

  it("measures the requested calls per batch size after the warm-up", async () => {
    for (const batch of [1, 4]) {
      const r = await benchInference(engine, { batch, warmup: 3, runs: 12 });
      expect(r).toMatchObject({ engine: "onnxruntime", device: "cpu", batch, warmupRuns: 3, measuredRuns: 12 });
      expect(r.perCall.p50).toBeGreaterThan(0);
      expect(r.perCall.max).toBeGreaterThanOrEqual(r.perCall.p99);
      expect(r.perFrameP50).toBeCloseTo(r.perCall.p50 / batch, 9);
      expect(r.framesPerSecond).toBeCloseTo((1000 * batch) / r.perCall.p50, 6);
    }
  });

  it("rejects bad options naming them", async () => {
    await expect(benchInference(engine, { batch: 0, warmup: 0, runs: 1 })).rejects.toThrow(/options\.batch/);
    await expect(benchInference(engine, { batch: 1, warmup: -1, runs: 1 })).rejects.toThrow(/options\.warmup/);
    await expect(benchInference(engine, { batch: 1, warmup: 0, runs: 0 })).rejects.toThrow(/options\.runs/);
    await expect(benchInference(engine, { batch: 1, warmup: 0, runs: 1, input: new Float32Array(5) })).rejects.toThrow(
      new RegExp(`options\\.input: expected ${engine.metadata.input.width * engine.metadata.input.height * 3} floats`),
    );
  });

  it("measures two engines call by call in turn, each on its own input", async () => {
    const other = await createEngine({ modelDir: path.join(PACKAGE_ROOT, "models", "default"), engine: "onnxruntime", device: "cpu" });
    try {
      const order: string[] = [];
      // The real engines, with their calls recorded.
      const traced = (e: InferenceEngine, name: string): InferenceEngine =>
        Object.assign(Object.create(e) as InferenceEngine, {
          run: (input: Float32Array, batch: number) => {
            order.push(name);
            return e.run(input, batch);
          },
        });
      const elements = other.metadata.input.width * other.metadata.input.height * 3;
      const [a, b] = await benchInferenceSideBySide(
        [{ engine: traced(engine, "a") }, { engine: traced(other, "b"), input: benchInput(elements, 9) }],
        { batch: 2, warmup: 2, runs: 5 },
      );
      expect(order.join("")).toBe("ab".repeat(7));
      for (const r of [a, b]) expect(r).toMatchObject({ engine: "onnxruntime", batch: 2, warmupRuns: 2, measuredRuns: 5 });
      await expect(
        benchInferenceSideBySide([{ engine }, { engine: other, input: new Float32Array(3) }], { batch: 1, warmup: 0, runs: 1 }),
      ).rejects.toThrow(/entries\[1\]\.input: expected/);
    } finally {
      await other.dispose();
    }
  });
});
