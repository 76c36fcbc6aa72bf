/**
 * The data-parallel trainer is single-thread training spread over worker threads: the same
 * steps from the same weights on the same batches give the same weights (float tolerance), and
 * its replicas stay identical. Real tfjs-wasm with fovea's gradient kernels in every thread.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { initTfjs } from "../engine/tfjs-backend.js";
import { Rng } from "../core/prng.js";
import type { ModelMetadata } from "../core/model-metadata.js";
import { trainHeadFor } from "../heads/train-head.js";
import { buildModel, defaultMetadata } from "./network.js";
import { ParallelTrainer } from "./parallel-trainer.js";
import { trainStep, type Batch } from "./train-step.js";
import { registerWasmGradientKernels } from "./wasm-gradient-kernels.js";

const grid = defaultMetadata({
  id: "tiny",
  input: { width: 24, height: 24, channels: 3, name: "input" },
  architecture: { convFilters: [4, 8], kernelSize: 3, padding: "valid", dense: [16], dropout: 0 },
  head: { kind: "grid", rows: 3, cols: 3, classesOutput: "classes", boxesOutput: "boxes" },
});
// Pools, a neck conv, one nearest upsampling + lateral: every layer kind the heatmap net has.
const heatmap = defaultMetadata({
  id: "tiny-heatmap",
  input: { width: 24, height: 24, channels: 3, name: "input" },
  architecture: { convFilters: [4, 8, 8], kernelSize: 3, padding: "same", dense: [], dropout: 0 },
  head: { kind: "heatmap", stride: 2, neckFilters: [8], headFilters: 6 },
});

function batch(meta: ModelMetadata, rows: number, seed: number): Batch {
  const rng = new Rng(seed);
  const input = new Float32Array(rows * 24 * 24 * 3).map(() => rng.next());
  const frames = Array.from({ length: rows }, () =>
    Array.from({ length: rng.int(0, 3) }, () => {
      const x = rng.range(0, 0.8);
      const y = rng.range(0, 0.8);
      return { label: rng.pick(meta.classes), box: { xMin: x, yMin: y, xMax: x + 0.15, yMax: y + 0.15 } };
    }),
  );
  return { input, shape: [rows, 24, 24, 3], targets: trainHeadFor(meta).encode(frames) };
}

function flat(model: tf.LayersModel): Float32Array[] {
  return model.getWeights().map((w) => w.dataSync() as Float32Array);
}

function maxDiff(a: Float32Array[], b: Float32Array[]): number {
  let d = 0;
  a.forEach((x, i) => x.forEach((v, j) => (d = Math.max(d, Math.abs(v - b[i][j])))));
  return d;
}

beforeAll(async () => {
  await initTfjs("wasm");
  registerWasmGradientKernels();
});

describe.each([
  ["grid", grid],
  ["heatmap", heatmap],
] as const)("ParallelTrainer, %s head", (_name, meta) => {
  // Odd sizes: unequal shards; the short last batch leaves the third of 3 workers without rows.
  const batches = [batch(meta, 7, 1), batch(meta, 7, 2), batch(meta, 2, 3)];
  let reference: { weights: Float32Array[]; losses: number[] };
  const trainers: ParallelTrainer[] = [];
  beforeAll(async () => {
    const model = buildModel(meta, { seed: 5 });
    const optimizer = tf.train.adam(1e-2);
    const losses: number[] = [];
    for (const b of batches) losses.push((await trainStep(model, optimizer, b, trainHeadFor(meta))).loss);
    reference = { weights: flat(model), losses };
    model.dispose();
    optimizer.dispose();
  });
  afterAll(async () => {
    await Promise.all(trainers.map((t) => t.close()));
  });

  for (const workers of [1, 2, 3]) {
    it(`${workers} worker(s) give the weights and losses of single-thread training`, async () => {
      const model = buildModel(meta, { seed: 5 });
      const start = flat(model);
      const trainer = await ParallelTrainer.create({ model, workers, backend: "wasm", learningRate: 1e-2, maxBatch: 7, meta });
      trainers.push(trainer);
      const losses: number[] = [];
      for (const b of batches) losses.push((await trainer.step(b, { wantPredictions: true })).loss);
      await trainer.syncTo(model);
      const after = flat(model);
      expect(maxDiff(after, start)).toBeGreaterThan(1e-3); // it did train
      expect(maxDiff(after, reference.weights)).toBeLessThan(1e-5);
      losses.forEach((l, i) => expect(l).toBeCloseTo(reference.losses[i], 5));
      const replicas = await trainer.replicaWeights();
      for (const r of replicas.slice(1)) expect(maxDiff(r, replicas[0])).toBe(0);
      model.dispose();
    }, 60_000);
  }
});
