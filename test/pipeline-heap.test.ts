/**
 * The frame loop allocates nothing that outlives a frame: heap used after a full GC stays flat
 * over 10,000 frames through the real Pipeline and real onnxruntime (the frame path: rgb24 frames
 * into the preprocessing graph merged with the model). A small heatmap network keeps the run
 * short; the loop's own work per frame is the same as with the shipped model.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Frame, FrameSource } from "../src/core/frame.js";
import { OnnxRuntimeEngine } from "../src/engine/onnxruntime-engine.js";
import { initTfjs } from "../src/engine/tfjs-backend.js";
import { Pipeline, type FramePublisher } from "../src/pipeline/pipeline.js";
import { exportModelDir } from "../src/train/export-model.js";
import { buildModel, presetMetadata } from "../src/train/network.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const FRAMES = 10_000;
const WIDTH = 128;
const HEIGHT = 96;
let root: string;
let modelDir: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "fovea-heap-"));
  await initTfjs("wasm");
  const meta = presetMetadata("heatmap", {
    id: "heap-check",
    input: { width: 32, height: 24, channels: 3, name: "input" },
    architecture: { convFilters: [4, 4, 8, 8], kernelSize: 3, padding: "same", dense: [], dropout: 0 },
    head: { kind: "heatmap", stride: 4, neckFilters: [8], headFilters: 8, heatmapOutput: "heatmap", regressionOutput: "regression" },
  });
  const model = buildModel(meta, { seed: 5 });
  modelDir = (await exportModelDir(model, meta, path.join(root, "model"))).dir;
  model.dispose();
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** rgb24 frames from three buffers, as a camera ring hands them over, as fast as they are pulled. */
class RingLikeSource implements FrameSource {
  readonly info = { description: "ring-like", cameraId: "heap", mode: "pull" as const };
  readonly counters = { corrupt: 0, reconnects: 0 };
  private readonly buffers = [0, 1, 2].map((k) => {
    const b = Buffer.alloc(WIDTH * HEIGHT * 3);
    for (let i = 0; i < b.length; i++) b[i] = (i * (k + 7) * 2654435761) >>> 24;
    return b;
  });
  async *frames(): AsyncGenerator<Frame> {
    for (let seq = 0; seq < FRAMES + 10; seq++) {
      yield { seq, captureTimeNs: process.hrtime.bigint(), width: WIDTH, height: HEIGHT, encoding: "rgb24", data: this.buffers[seq % 3] };
    }
  }
  async close(): Promise<void> {}
}

class NullPublisher implements FramePublisher {
  publishDetections(): boolean {
    return true;
  }
  publishStatus(): boolean {
    return true;
  }
}

describe("frame loop memory", () => {
  it("heap used after GC stays flat from frame 1,000 to frame 10,000", async () => {
    const engine = await OnnxRuntimeEngine.create({ modelDir, threads: 1, framePathThreads: 1 });
    const heapAt: Record<number, number> = {};
    let usedFramePath = false;
    const pipeline = await Pipeline.create({
      source: new RingLikeSource(),
      engine,
      publisher: new NullPublisher(),
      maxFrames: FRAMES,
      log: pino({ level: "silent" }),
      statusIntervalMs: 1000,
      logIntervalMs: 60_000,
      observers: [
        {
          keepsFramePixels: false,
          onProcessed: (p) => {
            usedFramePath ||= p.timings.preprocessUs === 0;
            const n = p.frame.seq + 1;
            if (n === 1000 || n === 5000 || n === FRAMES) {
              gc();
              heapAt[n] = process.memoryUsage().heapUsed;
            }
          },
        },
      ],
    });
    const summary = await pipeline.run();
    await engine.dispose();
    expect(summary.counters.framesProcessed).toBe(FRAMES);
    expect(usedFramePath).toBe(true);
    // A per-frame leak of even 100 bytes would show as 900 kB here.
    expect(heapAt[FRAMES] - heapAt[1000]).toBeLessThan(512 * 1024);
    expect(heapAt[FRAMES] - heapAt[5000]).toBeLessThan(512 * 1024);
  }, 600_000);
});
