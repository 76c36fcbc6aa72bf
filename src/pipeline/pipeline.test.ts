import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pino } from "pino";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_CALIBRATION_FILE, loadCalibration } from "../calib/calibration.js";
import { CameraModel } from "../calib/camera-model.js";
import { epochNowNs } from "../core/clock.js";
import { POINT_CLASSES } from "../core/detection.js";
import { ImageFolderSource } from "../capture/image-folder-source.js";
import { loadModelDir } from "../core/model-dir.js";
import type { Frame, FrameSource, SourceCounters, SourceInfo } from "../core/frame.js";
import type { PipelineObserver, ProcessedFrame } from "../core/pipeline-types.js";
import { ModelMetadataSchema } from "../core/model-metadata.js";
import { createEngine } from "../engine/create-engine.js";
import type { InferenceEngine } from "../engine/engine.js";
import { PACKAGE_ROOT } from "../core/package-root.js";
import { decodeDetectionFrame, decodeStatus, type StatusMessage } from "../publish/codec.js";
import { DetectionPublisher } from "../publish/publisher.js";
import { preprocess, preprocessParams } from "../preprocess/preprocess.js";
import { Pipeline } from "./pipeline.js";

const MODEL_DIR = path.join(PACKAGE_ROOT, "models", "default");
const silent = pino({ level: "silent" });

/** Keeps what the pipeline hands to the transport, in order (the real socket is tested in publish/ and test/e2e-*). */
class CapturingPublisher {
  readonly detections: Uint8Array[] = [];
  readonly statuses: StatusMessage[] = [];
  publishDetections(m: Uint8Array): boolean {
    this.detections.push(m);
    return true;
  }
  publishStatus(m: Uint8Array): boolean {
    this.statuses.push(decodeStatus(m));
    return true;
  }
}

/**
 * A live source on its own clock, like a camera: a frame every `intervalMs` whether or not anyone
 * keeps up. Frames are 1280x720 rgb24 so preprocessing each takes a few milliseconds — longer
 * than the interval, so a correct pipeline must drop.
 */
class TimerLiveSource implements FrameSource {
  readonly info: SourceInfo = { description: "timer-live", cameraId: "timer", mode: "live", fps: 1000 };
  readonly counters: SourceCounters = { corrupt: 0, reconnects: 0 };
  private closed = false;
  private wake: (() => void) | null = null;
  private readonly pixels = Buffer.alloc(1280 * 720 * 3, 90);
  async *frames(): AsyncIterable<Frame> {
    let seq = 0;
    while (!this.closed) {
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 1);
      });
      if (this.closed) return;
      yield { seq: seq++, captureTimeNs: epochNowNs(), width: 1280, height: 720, encoding: "rgb24", data: this.pixels };
    }
  }
  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
  }
}

let engine: InferenceEngine;
let dir: string;

beforeAll(async () => {
  engine = await createEngine({ modelDir: MODEL_DIR, engine: "onnxruntime", device: "cpu", threads: 1 });
  dir = await mkdtemp(path.join(tmpdir(), "fovea-pipeline-"));
});
afterAll(async () => {
  await engine?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function imageFolder(name: string, count: number): Promise<string> {
  const folder = path.join(dir, name);
  await mkdir(folder, { recursive: true });
  for (let i = 0; i < count; i++) {
    const img = sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 40 + i * 10, g: 140, b: 60 } } });
    await img.png().toFile(path.join(folder, `frame-${String(i).padStart(3, "0")}.png`));
  }
  return folder;
}

describe("Pipeline", () => {
  it("processes a pulled folder in order, one message per frame, skipping and counting corrupt images", async () => {
    const folder = await imageFolder("pull", 6);
    // Not an image at all (the source skips it) and a JPEG cut in half (the decoder rejects it).
    await writeFile(path.join(folder, "frame-002a.png"), "definitely not a png");
    const jpeg = await sharp({ create: { width: 320, height: 240, channels: 3, background: "#808080" } })
      .jpeg()
      .toBuffer();
    await writeFile(path.join(folder, "frame-004a.jpg"), jpeg.subarray(0, jpeg.length >> 1));

    const publisher = new CapturingPublisher();
    const processed: ProcessedFrame[] = [];
    const seen: number[] = [];
    let closed = false;
    const observer: PipelineObserver = {
      onSourceFrame: (f) => seen.push(f.seq),
      onProcessed: (p) => processed.push(p),
      close: async () => {
        closed = true;
      },
    };
    const pipeline = await Pipeline.create({
      source: (events) => ImageFolderSource.open({ path: folder, unpaced: true, events }),
      engine,
      publisher,
      observers: [observer],
      log: silent,
    });
    expect(pipeline.source.info.mode).toBe("pull");
    const summary = await pipeline.run();

    expect(summary.reason).toBe("source-ended");
    expect(summary.counters.framesProcessed).toBe(6);
    expect(summary.counters.framesFailed).toBe(2);
    expect(publisher.detections).toHaveLength(6);
    const frames = publisher.detections.map(decodeDetectionFrame);
    const seqs = frames.map((f) => Number(f.seq));
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(new Set(seqs).size).toBe(6);
    for (const f of frames) {
      expect(f.modelId).toBe(engine.metadata.id);
      expect([f.imageWidth, f.imageHeight]).toEqual([320, 240]);
      expect(f.timings.inferenceUs).toBeGreaterThan(0);
      expect(f.timings.preprocessUs).toBeGreaterThan(0);
      expect(f.publishTimeNs).toBeGreaterThan(f.captureTimeNs);
    }
    // Observers saw exactly what was published.
    expect(processed.map((p) => Number(p.frame.seq))).toEqual(seqs);
    expect(Buffer.from(processed[0].message)).toEqual(Buffer.from(publisher.detections[0]));
    expect(seen.length).toBe(7); // the non-image never reaches the pipeline; the truncated JPEG does
    expect(closed).toBe(true);
    const last = publisher.statuses.at(-1)!;
    expect(last.state).toBe("STOPPED");
    expect(last.framesFailed).toBe(2n);
    expect(last.framesProcessed).toBe(6n);
    expect(last.lastError).toMatch(/frame-004a\.jpg/);
  });

  it("infers each pulled frame on its own pixels while the next one is preprocessed, and stops at maxFrames", async () => {
    const folder = path.join(dir, "overlap");
    await mkdir(folder, { recursive: true });
    for (let i = 0; i < 6; i++) {
      const noise = Buffer.alloc(160 * 120 * 3);
      for (let j = 0; j < noise.length; j++) noise[j] = (j * (i + 3) * 2654435761) >>> 24;
      await sharp(noise, { raw: { width: 160, height: 120, channels: 3 } })
        .png()
        .toFile(path.join(folder, `f${i}.png`));
    }
    // The real engine, recording what each run computed: were a tensor overwritten by the next
    // frame's preprocessing before onnxruntime read it, the scores would be the next frame's.
    const inferred: Float32Array[] = [];
    const recording: InferenceEngine = {
      engine: engine.engine,
      device: engine.device,
      metadata: engine.metadata,
      run: async (input, batch) => {
        // A slow engine: the next frame's preprocessing finishes before this one is read.
        await new Promise((r) => setTimeout(r, 25));
        const out = await engine.run(input, batch);
        inferred.push(Float32Array.from(Object.values(out)[0]));
        return out;
      },
      dispose: async () => undefined,
    };
    const frames: Frame[] = [];
    const pipeline = await Pipeline.create({
      source: await ImageFolderSource.open({ path: folder, unpaced: true }),
      engine: recording,
      publisher: new CapturingPublisher(),
      observers: [{ onProcessed: (p) => frames.push(p.frame) }],
      maxFrames: 4,
      log: silent,
    });
    const summary = await pipeline.run();
    expect(summary.reason).toBe("max-frames");
    expect(summary.counters.framesProcessed).toBe(4);
    expect(inferred).toHaveLength(4);
    const params = preprocessParams(engine.metadata);
    for (let k = 0; k < 4; k++) {
      const { tensor } = await preprocess(frames[k], params);
      expect(inferred[k]).toEqual(Object.values(await engine.run(tensor, 1))[0]);
    }
    expect(inferred[0]).not.toEqual(inferred[1]);
  });

  it("drops, never queues, when a live source is faster than the loop: seq gaps account for every drop", async () => {
    const publisher = new CapturingPublisher();
    const pipeline = await Pipeline.create({ source: new TimerLiveSource(), engine, publisher, maxFrames: 40, log: silent });
    const summary = await pipeline.run();
    expect(summary.reason).toBe("max-frames");
    expect(summary.counters.framesProcessed).toBe(40);
    const seqs = publisher.detections.map((m) => Number(decodeDetectionFrame(m).seq));
    expect(seqs).toHaveLength(40);
    let gaps = 0;
    for (let i = 1; i < seqs.length; i++) {
      expect(seqs[i]).toBeGreaterThan(seqs[i - 1]);
      gaps += seqs[i] - seqs[i - 1] - 1;
    }
    expect(summary.counters.framesDropped).toBeGreaterThan(0);
    // Exact accounting: frames skipped before the first and between published ones were dropped;
    // the rest of the drops happened while the last frame was processed (seq after the last one).
    const c = summary.counters;
    const last = seqs.at(-1)!;
    expect(seqs[0] + gaps).toBeLessThanOrEqual(c.framesDropped);
    expect(c.framesDropped - (seqs[0] + gaps)).toBeLessThanOrEqual(c.framesIn - 1 - last);
    // Nothing else is unaccounted for: at most the frame left in the slot and one put after close.
    expect(c.framesIn - c.framesProcessed - c.framesDropped).toBeGreaterThanOrEqual(0);
    expect(c.framesIn - c.framesProcessed - c.framesDropped).toBeLessThanOrEqual(2);
  });

  it("stops on stop(): final status STOPPED; logs fps and per-stage latency periodically", async () => {
    const publisher = new CapturingPublisher();
    const source = new TimerLiveSource();
    const logLines: Array<Record<string, unknown>> = [];
    const log = pino({ level: "info" }, { write: (line: string) => void logLines.push(JSON.parse(line)) });
    const pipeline = await Pipeline.create({ source, engine, publisher, log, statusIntervalMs: 50, logIntervalMs: 100 });
    const running = pipeline.run();
    while (publisher.detections.length < 5 || !logLines.some((l) => typeof l.fps === "number" && (l.fps as number) > 0)) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const periodic = logLines.find((l) => typeof l.fps === "number" && (l.fps as number) > 0)!;
    expect(periodic.msg).toMatch(/^fps [\d.]+ \| p50\/p99 ms: preprocess [\d.]+\/[\d.]+ inference/);
    expect(Object.keys(periodic.latencyMs as object)).toEqual(["capture", "preprocess", "inference", "detect", "publish", "total"]);
    await pipeline.stop();
    const summary = await running;
    expect(summary.reason).toBe("stopped");
    expect(publisher.statuses.at(-1)!.state).toBe("STOPPED");
    expect(publisher.statuses.some((s) => s.state === "RUNNING")).toBe(true);
    expect(pipeline.currentState).toBe("STOPPED");
  });

  it("counts frames outside the model's augmentation envelope", async () => {
    const modelDir = path.join(dir, "envelope-model");
    await mkdir(modelDir, { recursive: true });
    const meta = JSON.parse(await readFile(path.join(MODEL_DIR, "fovea.json"), "utf8"));
    meta.augmentation = { meanRange: [30, 200] };
    ModelMetadataSchema.parse(meta);
    await writeFile(path.join(modelDir, "fovea.json"), JSON.stringify(meta));
    await writeFile(path.join(modelDir, "model.onnx"), await readFile(path.join(MODEL_DIR, "model.onnx")));
    expect((await loadModelDir(modelDir)).metadata.augmentation.meanRange).toEqual([30, 200]);
    const envEngine = await createEngine({ modelDir, engine: "onnxruntime", device: "cpu", threads: 1 });
    try {
      // Frames 0..2 are mid-grey (inside), 3..4 nearly black (outside).
      const folder = path.join(dir, "envelope");
      await mkdir(folder, { recursive: true });
      for (let i = 0; i < 5; i++) {
        const v = i < 3 ? 128 : 5;
        await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: v, g: v, b: v } } })
          .png()
          .toFile(path.join(folder, `${i}.png`));
      }
      const publisher = new CapturingPublisher();
      const pipeline = await Pipeline.create({
        source: await ImageFolderSource.open({ path: folder, unpaced: true }),
        engine: envEngine,
        publisher,
        log: silent,
      });
      const summary = await pipeline.run();
      expect(summary.counters.framesProcessed).toBe(5);
      expect(summary.counters.outOfEnvelope).toBe(2);
      expect(publisher.statuses.at(-1)!.outOfEnvelope).toBe(2n);
    } finally {
      await envEngine.dispose();
    }
  });

  it("places detections on the ground with the calibration's camera model, at the frame's size", async () => {
    // A threshold of 0 makes even the untrained stand-in model report its best class per cell.
    const modelDir = path.join(dir, "threshold0-model");
    await mkdir(modelDir, { recursive: true });
    const meta = JSON.parse(await readFile(path.join(MODEL_DIR, "fovea.json"), "utf8"));
    meta.decode = { ...meta.decode, scoreThreshold: 0, classScoreThresholds: undefined };
    await writeFile(path.join(modelDir, "fovea.json"), JSON.stringify(meta));
    await writeFile(path.join(modelDir, "model.onnx"), await readFile(path.join(MODEL_DIR, "model.onnx")));
    const eng = await createEngine({ modelDir, engine: "onnxruntime", device: "cpu", threads: 1 });
    try {
      const calibration = await loadCalibration(DEFAULT_CALIBRATION_FILE);
      const folder = await imageFolder("ground", 2);
      const publisher = new CapturingPublisher();
      const processed: ProcessedFrame[] = [];
      const pipeline = await Pipeline.create({
        source: await ImageFolderSource.open({ path: folder, unpaced: true }),
        engine: eng,
        publisher,
        calibration,
        observers: [{ onProcessed: (p) => processed.push(p) }],
        log: silent,
      });
      await pipeline.run();
      const camera = new CameraModel(calibration, 320, 240);
      const dets = processed.flatMap((p) => p.detections);
      expect(dets.length).toBeGreaterThan(0);
      let onGround = 0;
      for (const d of dets) {
        const u = ((d.box.xMin + d.box.xMax) / 2) * 320;
        const v = (POINT_CLASSES.has(d.label) ? (d.box.yMin + d.box.yMax) / 2 : d.box.yMax) * 240;
        const expected = camera.pixelToGround(u, v);
        if (expected) {
          onGround++;
          expect(d.ground!.x).toBeCloseTo(expected.x, 9);
          expect(d.ground!.y).toBeCloseTo(expected.y, 9);
        } else {
          expect(d.ground).toBeUndefined();
        }
      }
      expect(onGround).toBeGreaterThan(0);
      // ... and they go out on the wire.
      const wire = decodeDetectionFrame(publisher.detections[0]).detections;
      expect(wire.filter((d) => d.ground).length).toBe(processed[0].detections.filter((d) => d.ground).length);
    } finally {
      await eng.dispose();
    }
  });

  it("publishes over a real socket with no subscriber without stalling", async () => {
    const publisher = await DetectionPublisher.create({ endpoint: "tcp://127.0.0.1:*" });
    try {
      const pipeline = await Pipeline.create({ source: new TimerLiveSource(), engine, publisher, maxFrames: 30, log: silent });
      const summary = await pipeline.run();
      expect(summary.counters.framesProcessed).toBe(30);
      expect(publisher.counters.sent).toBeGreaterThanOrEqual(30);
    } finally {
      await publisher.close();
    }
  });

  it("reports STARTING while a slow source opens, and a failing source as source-failed", async () => {
    const folder = await imageFolder("slow-open", 2);
    const publisher = new CapturingPublisher();
    const pipeline = await Pipeline.create({
      source: async () => {
        await new Promise((r) => setTimeout(r, 350));
        return ImageFolderSource.open({ path: folder, unpaced: true });
      },
      engine,
      publisher,
      log: silent,
      statusIntervalMs: 100,
    });
    expect(publisher.statuses.length).toBeGreaterThanOrEqual(2);
    expect(publisher.statuses.every((s) => s.state === "STARTING" && s.modelId === engine.metadata.id)).toBe(true);
    await pipeline.run();
    expect(publisher.statuses.at(-1)!.state).toBe("STOPPED");

    const broken = new TimerLiveSource();
    const frames = broken.frames.bind(broken);
    broken.frames = async function* () {
      let n = 0;
      for await (const f of frames()) {
        if (++n > 3) throw new Error("device vanished");
        yield f;
      }
    };
    const failing = await Pipeline.create({ source: broken, engine, publisher: new CapturingPublisher(), log: silent });
    const summary = await failing.run();
    expect(summary.reason).toBe("source-failed");
    expect(summary.lastError).toMatch(/timer-live: device vanished/);
  });

  it("times replayed frames that carry an old recorded capture time from when they reached the loop", async () => {
    const pixels = Buffer.alloc(64 * 48 * 3, 100);
    const replay: FrameSource = {
      info: { description: "old-replay", cameraId: "old", mode: "pull" },
      counters: { corrupt: 0, reconnects: 0 },
      async *frames() {
        for (let seq = 0; seq < 2; seq++)
          yield {
            seq,
            captureTimeNs: 1_600_000_000_000_000_000n + BigInt(seq),
            width: 64,
            height: 48,
            encoding: "rgb24" as const,
            data: pixels,
          };
      },
      async close() {},
    };
    const publisher = new CapturingPublisher();
    await (await Pipeline.create({ source: replay, engine, publisher, log: silent })).run();
    for (const f of publisher.detections.map(decodeDetectionFrame)) {
      expect(f.captureTimeNs).toBeLessThan(1_600_000_000_000_000_010n); // published as recorded
      expect(f.timings.captureUs).toBe(0);
      expect(f.timings.totalUs).toBeGreaterThanOrEqual(f.timings.inferenceUs);
      expect(f.timings.totalUs).toBeLessThan(60_000_000);
    }
  });

  it("rejects bad options naming them", async () => {
    const publisher = new CapturingPublisher();
    await expect(Pipeline.create({ source: new TimerLiveSource(), engine, publisher, maxFrames: 0, log: silent })).rejects.toThrow(
      /options\.maxFrames/,
    );
    await expect(Pipeline.create({ source: new TimerLiveSource(), engine, publisher: {} as never, log: silent })).rejects.toThrow(
      /options\.publisher/,
    );
  });
});
