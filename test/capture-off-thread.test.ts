/**
 * The camera pipe read on a worker thread (OffThreadStreamSource) with real ffmpeg processes:
 * camera-shaped options (live, reconnecting) with testsrc2 paced by `-re` in place of V4L2, and
 * the frame loop under overload with a deliberately slow engine that blocks the JS thread the way
 * onnxruntime-node's synchronous run does.
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { cameraStreamOptions } from "../src/capture/camera-source.js";
import { OffThreadStreamSource } from "../src/capture/off-thread-stream-source.js";
import { openSource, parseSourceSpec } from "../src/capture/open-source.js";
import { FoveaInputError } from "../src/core/errors.js";
import type { Frame } from "../src/core/frame.js";
import { createEngine } from "../src/engine/create-engine.js";
import type { FrameInference, InferenceEngine } from "../src/engine/engine.js";
import { Pipeline, type FramePublisher } from "../src/pipeline/pipeline.js";
import { PACKAGE_ROOT } from "../src/core/package-root.js";
import { decodeDetectionFrame } from "../src/publish/codec.js";

const silent = pino({ level: "silent" });
const opened: OffThreadStreamSource[] = [];
let engine: InferenceEngine;

beforeAll(async () => {
  engine = await createEngine({ modelDir: path.join(PACKAGE_ROOT, "models", "default"), engine: "onnxruntime", device: "cpu", threads: 1 });
});
afterAll(async () => {
  await engine?.dispose();
});

function childCommands(): string[] {
  const out = execFileSync("ps", ["-o", "comm=", "--ppid", String(process.pid)], { encoding: "utf8" });
  return out
    .split("\n")
    .map((l) => l.trim())
    .filter((c) => c && c !== "ps");
}

const testsrc = (extra: string[] = []) => ["-re", ...extra, "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=60"];

async function openCameraLike(
  inputArgs: string[],
  events: Parameters<typeof cameraStreamOptions>[0]["events"] = {},
): Promise<OffThreadStreamSource> {
  const options = cameraStreamOptions({
    device: "/dev/video0",
    width: 320,
    height: 240,
    fps: 60,
    events,
    reconnect: { minDelayMs: 50, maxDelayMs: 400 },
  });
  const source = await OffThreadStreamSource.open({ ...options, inputArgs });
  opened.push(source);
  return source;
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
  expect(childCommands()).toEqual([]);
});

/** Blocks the JS thread, as onnxruntime-node's session.run does for the whole inference. */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

class CapturingPublisher implements FramePublisher {
  readonly detections: Uint8Array[] = [];
  publishDetections(payload: Uint8Array): boolean {
    this.detections.push(payload);
    return true;
  }
  publishStatus(): boolean {
    return true;
  }
}

describe("camera pipe on a worker thread", () => {
  it("delivers the newest real frame on take, with increasing seq and capture time", async () => {
    const source = await openCameraLike(testsrc());
    expect(source.info).toMatchObject({ mode: "live", cameraId: "video0", fps: 60 });
    let last: { seq: number; captureTimeNs: bigint; data: Buffer } | undefined;
    for (let i = 0; i < 20; i++) {
      const f = (await source.takeLatest())!;
      expect([f.width, f.height, f.encoding, f.data.length]).toEqual([320, 240, "rgb24", 320 * 240 * 3]);
      expect(f.data.some((b) => b !== 0)).toBe(true);
      if (last) {
        expect(f.seq).toBeGreaterThan(last.seq);
        expect(f.captureTimeNs).toBeGreaterThan(last.captureTimeNs);
        expect(f.data.equals(last.data)).toBe(false);
      }
      last = { seq: f.seq, captureTimeNs: f.captureTimeNs, data: Buffer.from(f.data) };
    }
    expect(source.counters.corrupt).toBe(0);
  });

  it("forwards the camera's health: a camera that dies is restarted, degraded then recovered", async () => {
    const events: string[] = [];
    const source = await openCameraLike(testsrc(["-t", "0.2"]), {
      onDegraded: () => events.push("degraded"),
      onRecovered: () => events.push("recovered"),
    });
    let f: Frame | undefined;
    do f = await source.takeLatest();
    while (f && (source.counters.reconnects < 1 || f.seq < 24));
    expect(events.slice(0, 2)).toEqual(["degraded", "recovered"]);
    expect(f!.seq).toBeGreaterThanOrEqual(24);
  });

  it("--source lavfi:FILTER is the camera path with ffmpeg's test pattern in place of V4L2", async () => {
    expect(parseSourceSpec("lavfi:testsrc2")).toEqual({ kind: "lavfi", target: "testsrc2" });
    expect(() => parseSourceSpec("lavfi:testsrc2,drawtext")).toThrow(/--source/);
    const source = await openSource("lavfi:testsrc2", { width: 320, height: 240, fps: 60 });
    expect(source).toBeInstanceOf(OffThreadStreamSource);
    opened.push(source as OffThreadStreamSource);
    expect(source.info).toMatchObject({ mode: "live", fps: 60, cameraId: "testsrc2" });
    const f = await (source as OffThreadStreamSource).takeLatest();
    expect([f!.width, f!.height, f!.data.length]).toEqual([320, 240, 320 * 240 * 3]);
  });

  it("fails to open naming the input when ffmpeg delivers nothing (bad input, exit code 2)", async () => {
    const options = cameraStreamOptions({ device: "/dev/video0", width: 320, height: 240 });
    const err = await OffThreadStreamSource.open({ ...options, inputArgs: ["-f", "lavfi", "-i", "nosuchfilter=size=320x240"] }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FoveaInputError);
    expect((err as FoveaInputError).where).toBe("/dev/video0");
  });

  it("latest frame wins under overload: the pipe is drained while the engine blocks the thread, the next frame is the newest and every skipped one is counted", async () => {
    const SLOW_MS = 50; // three 60 fps frame periods
    const slowPath = (p: FrameInference): FrameInference => ({
      width: p.width,
      height: p.height,
      threads: p.threads,
      run: async (frame) => {
        busy(SLOW_MS);
        return p.run(frame);
      },
      dispose: () => p.dispose(),
    });
    const slow: InferenceEngine = {
      engine: engine.engine,
      device: engine.device,
      metadata: engine.metadata,
      run: async (input, batch) => {
        busy(SLOW_MS);
        return engine.run(input, batch);
      },
      framePath: engine.framePath
        ? async (w, h, wb) => {
            const p = await engine.framePath!(w, h, wb);
            return p && slowPath(p);
          }
        : undefined,
      dispose: async () => undefined,
    };
    const source = await openCameraLike(testsrc());
    // How far behind the newest arrived frame each processed frame was when the loop took it.
    const behind: number[] = [];
    const publisher = new CapturingPublisher();
    const pipeline = await Pipeline.create({
      source,
      engine: slow,
      publisher,
      observers: [{ keepsFramePixels: false, onSourceFrame: (f) => behind.push(source.arrived - 1 - f.seq) }],
      maxFrames: 25,
      log: silent,
    });
    const summary = await pipeline.run();
    const seqs = publisher.detections.map((m) => Number(decodeDetectionFrame(m).seq));
    expect(seqs).toHaveLength(25);
    // Frames kept arriving while the thread was blocked: about three per processed frame.
    let gaps = 0;
    for (let i = 1; i < seqs.length; i++) {
      expect(seqs[i]).toBeGreaterThan(seqs[i - 1]);
      gaps += seqs[i] - seqs[i - 1] - 1;
    }
    expect(gaps).toBeGreaterThanOrEqual(seqs.length);
    // The frame taken was the newest one there was (a frame arriving between the take and this
    // check makes it one behind); a pipe nobody drained would hand over old frames instead.
    expect(behind.slice(1).every((b) => b <= 1)).toBe(true);
    // Every frame that arrived is processed, counted as dropped, or still waiting in the ring.
    const c = summary.counters;
    expect(c.framesDropped).toBeGreaterThanOrEqual(gaps);
    expect(c.framesIn - c.framesProcessed - c.framesDropped).toBeGreaterThanOrEqual(0);
    expect(c.framesIn - c.framesProcessed - c.framesDropped).toBeLessThanOrEqual(1);
  });
});
