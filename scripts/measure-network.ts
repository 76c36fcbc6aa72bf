/**
 * Inference cost of fovea network variants: each is built with buildNetwork, exported with our
 * ONNX exporter and timed in onnxruntime-node (cpu, batch 1), optionally also in tfjs.
 * Every variant keeps the brief's fixed points: first conv 3x3x3x32 (896 weights), flatten 2048
 * (4x4x128), dense 512, 10x10 grid head.
 *
 *   node --import ./test/record-ts-loader.mjs scripts/measure-network.ts [--runs 2000]
 *        [--threads 1,2] [--variants 32-32-64-128,32-16-32-128,seed,cells] [--tfjs]
 * (a variant is conv filters of a seed-shaped network, or a preset name of `fovea train --network`)
 *
 * Prints p50/p90/p99 wall-clock ms and CPU ms per inference (user+system of this process), and
 * the p50 of the quietest burst of 100 runs: on a machine shared with other work the overall
 * figures include its interference, the quietest burst approximates an idle machine.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { OnnxRuntimeEngine } from "../src/engine/onnxruntime-engine.js";
import { initTfjs } from "../src/engine/tfjs-backend.js";
import { TfjsEngine } from "../src/engine/tfjs-engine.js";
import type { InferenceEngine } from "../src/engine/engine.js";
import { exportModelDir } from "../src/train/export-model.js";
import { NETWORK_PRESETS, buildModel, defaultMetadata, featureShape, presetMetadata, type NetworkPreset } from "../src/train/network.js";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "2000" },
    threads: { type: "string", default: "1,2" },
    variants: { type: "string", default: "32-32-64-128,32-16-32-128,32-32-32-128" },
    tfjs: { type: "boolean", default: false },
  },
});
const runs = Number(values.runs);

async function time(engine: InferenceEngine): Promise<{ p50: number; p90: number; p99: number; cpu: number; quiet: number }> {
  const input = new Float32Array(100 * 100 * 3).map((_, i) => (i % 255) / 255);
  for (let i = 0; i < Math.min(200, runs); i++) await engine.run(input);
  const ms: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    await engine.run(input);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const cpu = process.cpuUsage(cpu0);
  const median = (a: number[]) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)];
  let quiet = Number.POSITIVE_INFINITY;
  for (let i = 0; i + 100 <= ms.length; i += 100) quiet = Math.min(quiet, median(ms.slice(i, i + 100)));
  ms.sort((a, b) => a - b);
  const q = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))];
  return { p50: q(0.5), p90: q(0.9), p99: q(0.99), cpu: (cpu.user + cpu.system) / 1000 / runs, quiet };
}

const root = await mkdtemp(path.join(tmpdir(), "fovea-measure-"));
await initTfjs("wasm");
const rows: string[] = [];
try {
  for (const v of values.variants.split(",")) {
    // A preset name (seed, cells) or the conv filters of a seed-shaped variant (32-16-32-128).
    const meta = (NETWORK_PRESETS as readonly string[]).includes(v)
      ? presetMetadata(v as NetworkPreset, { id: `preset-${v}` })
      : defaultMetadata({
          id: `variant-${v}`,
          architecture: { convFilters: v.split("-").map(Number), kernelSize: 3, padding: "valid", dense: [512], dropout: 0 },
        });
    const flatten =
      meta.head.kind === "heatmap"
        ? "- (heatmap head)"
        : meta.head.connection === "convolutional"
          ? "- (per-cell head)"
          : featureShape(meta).flatten;
    const model = buildModel(meta, { seed: 1 });
    const params = model.countParams();
    const dir = path.join(root, v);
    await exportModelDir(model, meta, dir);
    model.dispose();
    for (const threads of values.threads.split(",").map(Number)) {
      const engine = await OnnxRuntimeEngine.create({ modelDir: dir, threads });
      const t = await time(engine);
      await engine.dispose();
      rows.push(
        `${v.padEnd(14)} flatten ${flatten} params ${params} | onnxruntime cpu ${threads}t | p50 ${t.p50.toFixed(3)} p90 ${t.p90.toFixed(3)} p99 ${t.p99.toFixed(3)} ms | quietest-burst p50 ${t.quiet.toFixed(3)} ms | cpu ${t.cpu.toFixed(3)} ms/inf`,
      );
      console.log(rows.at(-1));
    }
    if (values.tfjs) {
      const engine = await TfjsEngine.create({ modelDir: dir, device: "wasm" });
      const t = await time(engine);
      await engine.dispose();
      rows.push(
        `${v.padEnd(14)} flatten ${flatten} params ${params} | tfjs wasm          | p50 ${t.p50.toFixed(3)} p90 ${t.p90.toFixed(3)} p99 ${t.p99.toFixed(3)} ms | quietest-burst p50 ${t.quiet.toFixed(3)} ms | cpu ${t.cpu.toFixed(3)} ms/inf`,
      );
      console.log(rows.at(-1));
    }
  }
} finally {
  await rm(root, { recursive: true, force: true });
}
