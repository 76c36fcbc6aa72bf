/**
 * Where to preprocess rgb24 camera frames, measured on the same model and frames:
 *
 * - graph:  the frame path, preprocessing graph merged in front of the model, one onnxruntime run
 *           per frame (InferenceEngine.framePath), with N intra-op threads, per graph layout
 *           (pool: Transpose + AveragePool; reduce: one ReduceSum on the NHWC bytes);
 * - worker: the JS area resize + normalise on a worker thread (shared memory, Atomics), the model
 *           on the main thread (1 thread, leaving the worker its core);
 * - js:     preprocess() on the main thread, then the model (1 thread): the path before the frame
 *           path existed.
 *
 *   node --import ./test/record-ts-loader.mjs scripts/measure-preprocess.ts [--model models/default]
 *        [--size 640x480] [--frames 3000] [--pace-ms 16.667] [--threads 1,2] [--layouts pool,reduce]
 *
 * Two figures per variant: latency (one frame at a time, a new one every --pace-ms, as a 60 fps
 * camera delivers them: p50/p99/p99.9 of frame in -> model outputs out) and throughput (frames
 * back to back; the worker variant overlaps frame N+1's resize with frame N's inference).
 * The worker code is this file, run as a worker.
 */
import os from "node:os";
import { parseArgs } from "node:util";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { loadModelDir } from "../src/core/model-dir.js";
import { Rng } from "../src/core/prng.js";
import { OnnxRuntimeEngine } from "../src/engine/onnxruntime-engine.js";
import { preprocess, preprocessParams, type PreprocessParams } from "../src/preprocess/preprocess.js";
import type { FrameGraphLayout } from "../src/preprocess/preprocess-graph.js";

interface WorkerInit {
  params: PreprocessParams;
  width: number;
  height: number;
  /** Frames to read (rgb24, `frameCount` of them). */
  frames: SharedArrayBuffer;
  frameCount: number;
  /** Two output tensors. */
  out: SharedArrayBuffer;
  /** [0] requested frame index + 1 (0: none; -1: stop), [1] finished request count. */
  control: SharedArrayBuffer;
}

function summary(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return `p50 ${q(0.5).toFixed(3)} p99 ${q(0.99).toFixed(3)} p99.9 ${q(0.999).toFixed(3)} max ${s.at(-1)!.toFixed(3)} ms`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: "string", default: "models/default" },
      size: { type: "string", default: "640x480" },
      frames: { type: "string", default: "3000" },
      "pace-ms": { type: "string", default: String(1000 / 60) },
      threads: { type: "string", default: "1,2" },
      layouts: { type: "string", default: "pool,reduce" },
    },
  });
  const [width, height] = values.size.split("x").map(Number);
  const frames = Number(values.frames);
  const paceMs = Number(values["pace-ms"]);
  const dir = await loadModelDir(values.model);
  const params = preprocessParams(dir.metadata);
  const frameBytes = width * height * 3;
  const frameCount = 8;
  const shared = new SharedArrayBuffer(frameBytes * frameCount);
  const rng = new Rng(1);
  const bytes = new Uint8Array(shared);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i % (width * 3)) / 8 + (rng.nextUint32() & 31);
  // Frames in ordinary memory for the main-thread variants (as a camera ring's frames would be copied once).
  const plain = Array.from({ length: frameCount }, (_, k) => Buffer.from(bytes.slice(k * frameBytes, (k + 1) * frameBytes)));
  console.log(
    `model ${dir.metadata.id} ${params.width}x${params.height} kernel ${params.spec.kernel}, frames ${width}x${height}, ${frames} per series, pace ${paceMs.toFixed(3)} ms; load average ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}`,
  );

  // graph
  for (const layout of values.layouts.split(",") as FrameGraphLayout[])
    for (const threads of values.threads.split(",").map(Number)) {
      const engine = await OnnxRuntimeEngine.create({ modelDir: dir, threads: 1, framePathThreads: threads, framePathLayout: layout });
      const path = await engine.framePath(width, height);
      if (!path) {
        console.log(`graph x${threads}: no frame path for this model and size`);
        await engine.dispose();
        break;
      }
      for (let i = 0; i < 100; i++) await path.run(plain[i % frameCount]);
      const lat: number[] = [];
      for (let i = 0; i < frames; i++) {
        await sleep(paceMs);
        const t0 = performance.now();
        await path.run(plain[i % frameCount]);
        lat.push(performance.now() - t0);
      }
      const t0 = performance.now();
      for (let i = 0; i < frames; i++) await path.run(plain[i % frameCount]);
      const fps = frames / ((performance.now() - t0) / 1000);
      console.log(`graph  x${threads} ${layout}: paced ${summary(lat)} | back to back ${fps.toFixed(1)} fps`);
      await path.dispose();
      await engine.dispose();
    }

  // js and worker share the 1-thread model session.
  const engine = await OnnxRuntimeEngine.create({ modelDir: dir, threads: 1 });
  const n = params.width * params.height * 3;
  const tensor = new Float32Array(n);
  {
    for (let i = 0; i < 100; i++)
      await engine.run(
        (await preprocess({ width, height, encoding: "rgb24", data: plain[i % frameCount] }, params, { out: tensor })).tensor,
      );
    const lat: number[] = [];
    for (let i = 0; i < frames; i++) {
      await sleep(paceMs);
      const t0 = performance.now();
      await preprocess({ width, height, encoding: "rgb24", data: plain[i % frameCount] }, params, { out: tensor });
      await engine.run(tensor);
      lat.push(performance.now() - t0);
    }
    const t0 = performance.now();
    for (let i = 0; i < frames; i++) {
      await preprocess({ width, height, encoding: "rgb24", data: plain[i % frameCount] }, params, { out: tensor });
      await engine.run(tensor);
    }
    console.log(`js     x1: paced ${summary(lat)} | back to back ${(frames / ((performance.now() - t0) / 1000)).toFixed(1)} fps`);
  }
  {
    const control = new Int32Array(new SharedArrayBuffer(8));
    const out = new SharedArrayBuffer(2 * n * 4);
    const outs = [0, 1].map((k) => new Float32Array(out, k * n * 4, n));
    const init: WorkerInit = { params, width, height, frames: shared, frameCount, out, control: control.buffer as SharedArrayBuffer };
    const worker = new Worker(new URL(import.meta.url), { workerData: init, execArgv: process.execArgv });
    let requested = 0;
    const request = (index: number) => {
      requested++;
      Atomics.store(control, 0, index + 1);
      Atomics.notify(control, 0);
    };
    const waitDone = async () => {
      for (;;) {
        const done = Atomics.load(control, 1);
        if (done >= requested) return;
        const r = (
          Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number): { async: boolean; value: Promise<unknown> } }
        ).waitAsync(control, 1, done);
        if (r.async) await r.value;
      }
    };
    // onnxruntime-node takes no shared memory: the worker's tensor is copied once.
    const infer = async (index: number) => {
      tensor.set(outs[index & 1]);
      await engine.run(tensor);
    };
    for (let i = 0; i < 100; i++) {
      request(i);
      await waitDone();
      await infer(i);
    }
    const lat: number[] = [];
    for (let i = 0; i < frames; i++) {
      await sleep(paceMs);
      const t0 = performance.now();
      request(i);
      await waitDone();
      await infer(i);
      lat.push(performance.now() - t0);
    }
    const t0 = performance.now();
    request(0);
    for (let i = 0; i < frames; i++) {
      await waitDone();
      if (i + 1 < frames) request(i + 1); // the next frame's resize overlaps this inference
      await infer(i);
    }
    console.log(
      `worker x1: paced ${summary(lat)} | back to back (overlapped) ${(frames / ((performance.now() - t0) / 1000)).toFixed(1)} fps`,
    );
    Atomics.store(control, 0, -1);
    Atomics.notify(control, 0);
    await new Promise((r) => worker.once("exit", r));
  }
  await engine.dispose();
}

if (!isMainThread) {
  const init = workerData as WorkerInit;
  const control = new Int32Array(init.control);
  const frameBytes = init.width * init.height * 3;
  const n = init.params.width * init.params.height * 3;
  const outs = [0, 1].map((k) => new Float32Array(init.out, k * n * 4, n));
  let done = 0;
  for (;;) {
    Atomics.wait(control, 0, 0);
    const req = Atomics.exchange(control, 0, 0);
    if (req < 0) break;
    const index = req - 1;
    const data = Buffer.from(init.frames, (index % init.frameCount) * frameBytes, frameBytes);
    await preprocess({ width: init.width, height: init.height, encoding: "rgb24", data }, init.params, { out: outs[index & 1] });
    Atomics.store(control, 1, ++done);
    Atomics.notify(control, 1);
  }
  parentPort!.postMessage("stopped");
} else {
  await main();
}
