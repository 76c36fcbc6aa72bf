/**
 * Training speed of the default fovea network (100x100x3, conv 32/32/64/128, dense 512, grid
 * head): images per second of full training steps (forward, backward, Adam) per tfjs backend.
 *
 *   node --import ./test/record-ts-loader.mjs scripts/bench-train.ts [--backends wasm,cpu]
 *        [--batch 32] [--steps 10] [--workers 1,2] [--network seed|cells] [--profile]
 *
 * `--workers 1,2` measures each backend in-process (1) and with the data-parallel trainer over
 * N worker threads (src/train/parallel-trainer.ts), back to back. Prints wall-clock images/s and
 * images per CPU-second of this process (all its threads): on a shared machine the second says
 * how much of the machine each image cost. `--profile` lists the slowest kernels (1 worker).
 */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import os from "node:os";
import * as tf from "@tensorflow/tfjs";
import { initTfjs, type TfjsBackendPreference } from "../src/engine/tfjs-backend.js";
import { buildModel, presetMetadata, type NetworkPreset, type defaultMetadata } from "../src/train/network.js";
import { trainHeadFor } from "../src/heads/train-head.js";
import { trainStep, type Batch } from "../src/train/train-step.js";
import { ParallelTrainer } from "../src/train/parallel-trainer.js";
import { registerWasmGradientKernels } from "../src/train/wasm-gradient-kernels.js";
import { Rng } from "../src/core/prng.js";

const { values } = parseArgs({
  options: {
    backends: { type: "string", default: "wasm" },
    batch: { type: "string", default: "32" },
    steps: { type: "string", default: "10" },
    profile: { type: "boolean", default: false },
    workers: { type: "string", default: "1" },
    network: { type: "string", default: "seed" },
  },
});
const batchSize = Number(values.batch);
const steps = Number(values.steps);

function randomBatch(meta: ReturnType<typeof defaultMetadata>, rng: Rng): Batch {
  const { width, height } = meta.input;
  const input = new Float32Array(batchSize * width * height * 3).map(() => rng.next());
  const frames = Array.from({ length: batchSize }, () =>
    Array.from({ length: rng.int(1, 6) }, () => {
      const x = rng.range(0, 0.9);
      const y = rng.range(0, 0.9);
      return { label: rng.pick(meta.classes), box: { xMin: x, yMin: y, xMax: x + rng.range(0.02, 0.1), yMax: y + rng.range(0.02, 0.1) } };
    }),
  );
  return { input, shape: [batchSize, height, width, 3], targets: trainHeadFor(meta).encode(frames) };
}

registerWasmGradientKernels();
const workerCounts = values.workers!.split(",").map(Number);
// With autogroup scheduling the CPU is shared per session: while other sessions keep the cores
// busy, N workers get about the share of one process, so their wall-clock gain does not show.
const autogroup = await readFile("/proc/sys/kernel/sched_autogroup_enabled", "utf8").then(
  (t) => (t.trim() === "1" ? "on" : "off"),
  () => "n/a",
);
console.log(
  `machine: ${os.cpus().length} x ${os.cpus()[0]?.model}, load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}, autogroup scheduling ${autogroup}`,
);
for (const backend of values.backends!.split(","))
  for (const workers of workerCounts) {
    const runtime = await initTfjs(backend as TfjsBackendPreference);
    let threads = "n/a";
    if (runtime.backend === "wasm") {
      const wasm = await import("@tensorflow/tfjs-backend-wasm");
      threads = `${wasm.getThreadsCount()} thread(s), SIMD ${await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")}, multithread support ${await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT")}`;
    }
    const meta = presetMetadata(values.network as NetworkPreset);
    const model = buildModel(meta, { seed: 1 });
    const head = trainHeadFor(meta);
    const optimizer = tf.train.adam(1e-3);
    const batch = randomBatch(meta, new Rng(7));
    if (workers > 1) {
      const trainer = await ParallelTrainer.create({
        model,
        workers,
        backend: runtime.backend,
        learningRate: 1e-3,
        maxBatch: batchSize,
        meta,
      });
      await trainer.step(batch);
      await trainer.step(batch);
      await trainer.syncTo(model);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      let loss = 0;
      for (let i = 0; i < steps; i++) loss = (await trainer.step(batch, { wantPredictions: true })).loss;
      await trainer.syncTo(model); // the last step's update is part of the time
      const wall = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      report(`${runtime.backend} x ${workers} workers (${threads} each)`, wall, (cpu.user + cpu.system) / 1e6, loss);
      await trainer.close();
      model.dispose();
      optimizer.dispose();
      continue;
    }
    // Warm-up: kernel setup, XNNPACK operator creation, Adam slot variables.
    await trainStep(model, optimizer, batch, head);
    await trainStep(model, optimizer, batch, head);
    if (values.profile) {
      const prof = await tf.profile(() => trainStep(model, optimizer, batch, head) as unknown as tf.TensorContainer);
      const byKernel = new Map<string, number>();
      for (const k of prof.kernels) byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + Number(k.kernelTimeMs));
      console.log(
        `${runtime.backend}: kernel ms per step`,
        Object.fromEntries(
          [...byKernel]
            .sort((a, b) => b[1] - a[1])
            .slice(0, 12)
            .map(([k, v]) => [k, Math.round(v)]),
        ),
      );
    }
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let loss = 0;
    for (let i = 0; i < steps; i++) loss = (await trainStep(model, optimizer, batch, head)).loss;
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    report(`${runtime.backend} in-process (${threads})`, wall, (cpu.user + cpu.system) / 1e6, loss);
    model.dispose();
    optimizer.dispose();
  }

function report(what: string, wall: number, cpuSeconds: number, loss: number): void {
  const images = steps * batchSize;
  console.log(
    `${what}: batch ${batchSize}, ${steps} steps: ${(images / wall).toFixed(1)} images/s wall, ` +
      `${(images / cpuSeconds).toFixed(1)} images per CPU-second, ${((wall * 1000) / steps).toFixed(0)} ms/step, final loss ${loss.toFixed(3)}, ` +
      `load average ${os.loadavg()[0].toFixed(1)}`,
  );
}
