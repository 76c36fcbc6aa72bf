import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import sharp from "sharp";
import protobuf from "protobufjs";
import "protobufjs/ext/descriptor.js";
import { McapIndexedReader } from "@mcap/core";
import type { IReadable } from "@mcap/core";
import { McapRecorder } from "./mcap-recorder.js";
import { timeNsOf } from "./recording-format.js";
import { RecordingReader } from "./recording-reader.js";
import { decodeDetectionFrame, decodeStatus, encodeDetectionFrame, encodeStatus } from "../publish/codec.js";
import type { Frame } from "../core/frame.js";
import type { Detection } from "../core/detection.js";
import type { Calibration } from "../calib/calibration.js";
import { FoveaInputError } from "../core/errors.js";

const execFileAsync = promisify(execFile);
const W = 96;
const H = 64;
const T0 = 1_764_250_000_000_000_000n;

/** A frame whose pixels depend on its seq, so each recorded image is distinguishable. */
function frame(seq: number): Frame {
  const data = Buffer.alloc(W * H * 3);
  for (let i = 0; i < data.length; i += 3) {
    data[i] = (seq * 40) & 255;
    data[i + 1] = ((i / 3) % W) * 2;
    data[i + 2] = 128;
  }
  return { seq, captureTimeNs: T0 + BigInt(seq) * 33_333_333n, width: W, height: H, encoding: "rgb24", data };
}

const calibration: Calibration = {
  cameraId: "head",
  intrinsics: { width: 640, height: 480, fx: 457, fy: 457, cx: 320, cy: 240 },
  distortion: { k1: -0.12, k2: 0.03, p1: 0.0005, p2: -0.0003, k3: 0 },
  mount: { x: 0, y: 0, height: 1.3, pitch: 25, roll: 0, yaw: 0 },
  whiteBalance: { r: 1, g: 1, b: 1 },
};

function detectionsFor(seq: number): Detection[] {
  return [
    {
      label: "ball",
      classIndex: 0,
      confidence: 0.9,
      box: { xMin: 0.25, yMin: 0.5, xMax: 0.375, yMax: 0.625 },
      ground: { x: 2 + seq, y: 0 },
    },
  ];
}

function processedMessage(f: Frame, detections: Detection[]): Uint8Array {
  return encodeDetectionFrame({
    seq: BigInt(f.seq),
    cameraId: "head",
    captureTimeNs: f.captureTimeNs,
    publishTimeNs: f.captureTimeNs + 5_000_000n,
    imageWidth: f.width,
    imageHeight: f.height,
    modelId: "test-model",
    detections: detections.map((d) => ({ label: d.label, confidence: d.confidence, box: d.box, ground: d.ground })),
    timings: { captureUs: 1, preprocessUs: 1, inferenceUs: 1, detectUs: 1, totalUs: 5000 },
  });
}

async function fileReadable(file: string): Promise<IReadable> {
  const bytes = await readFile(file);
  return {
    size: async () => BigInt(bytes.length),
    read: async (offset, size) => bytes.subarray(Number(offset), Number(offset + size)),
  };
}

/** Record `n` frames as a pipeline would: source frame, then its processed result, statuses. */
async function recordRun(file: string, n: number, options: Partial<Parameters<typeof McapRecorder.create>[1]> = {}): Promise<McapRecorder> {
  const recorder = await McapRecorder.create(file, {
    modelId: "test-model",
    cameraId: "head",
    imageEncoding: "jpeg",
    calibration,
    ...options,
  });
  for (let seq = 0; seq < n; seq++) {
    const f = frame(seq);
    recorder.onSourceFrame(f);
    const detections = detectionsFor(seq);
    recorder.onProcessed({
      frame: f,
      detections,
      timings: { captureUs: 1, preprocessUs: 1, inferenceUs: 1, detectUs: 1, publishUs: 1, totalUs: 5000 },
      publishTimeNs: f.captureTimeNs + 5_000_000n,
      message: processedMessage(f, detections),
    });
    if (seq % 5 === 0) {
      const counters = { framesIn: seq + 1, framesProcessed: seq + 1, framesDropped: 0, framesFailed: 0, reconnects: 0, outOfEnvelope: 0 };
      recorder.onStatus({
        state: "RUNNING",
        counters,
        timeNs: f.captureTimeNs,
        message: encodeStatus({
          state: "RUNNING",
          fps: 30,
          framesIn: BigInt(seq + 1),
          framesProcessed: BigInt(seq + 1),
          framesDropped: 0n,
          framesFailed: 0n,
          engine: "onnxruntime",
          device: "cpu",
          modelId: "test-model",
          lastError: "",
          timeNs: f.captureTimeNs,
          cameraId: "head",
          source: "test",
          reconnects: 0n,
          recordingDropped: BigInt(recorder.recordingDropped),
          outOfEnvelope: 0n,
        }),
      });
    }
    // A frame loop slower than the writer: every frame gets written (drops are tested below).
    await recorder.whenIdle();
  }
  await recorder.close();
  return recorder;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "fovea-recorder-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("McapRecorder", () => {
  test("writes an indexed MCAP whose channels use the Foxglove schemas, with every message", async () => {
    const file = path.join(dir, "run.mcap");
    const recorder = await recordRun(file, 12);
    expect(recorder.recordingDropped).toBe(0);
    expect(recorder.framesWritten).toBe(12);

    const reader = await McapIndexedReader.Initialize({ readable: await fileReadable(file) });
    const schemaOf = new Map([...reader.channelsById.values()].map((c) => [c.topic, reader.schemasById.get(c.schemaId)!.name]));
    expect(Object.fromEntries(schemaOf)).toEqual({
      "/camera/image": "foxglove.CompressedImage",
      "/camera/annotations": "foxglove.ImageAnnotations",
      "/camera/calibration": "foxglove.CameraCalibration",
      "/fovea/detections": "fovea.v1.DetectionFrame",
      "/fovea/status": "fovea.v1.Status",
    });
    const counts: Record<string, number> = {};
    const topicOf = new Map([...reader.channelsById.values()].map((c) => [c.id, c.topic]));
    for await (const m of reader.readMessages()) counts[topicOf.get(m.channelId)!] = (counts[topicOf.get(m.channelId)!] ?? 0) + 1;
    expect(counts).toEqual({
      "/camera/image": 12,
      "/camera/annotations": 12,
      "/camera/calibration": 1,
      "/fovea/detections": 12,
      "/fovea/status": 3,
    });

    const [meta] = await collect(reader.readMetadata({ name: "fovea.recording" }));
    expect(meta.metadata.get("modelId")).toBe("test-model");
    expect(JSON.parse(meta.metadata.get("calibration")!)).toEqual(calibration);
  });

  test("images keep seq and capture time and decode, through each channel's own schema bytes", async () => {
    const file = path.join(dir, "run.mcap");
    const reader = await RecordingReader.open(file);
    const images: Array<{ seq: number; logTime: bigint; width: number; r: number }> = [];
    const detections: bigint[] = [];
    for await (const m of reader.messages()) {
      if (m.topic === "/camera/image") {
        // Decode with a type rebuilt from the file's schema, as Foxglove does.
        const type = protobuf.Root.fromDescriptor(reader.schemaData(m.schemaName)!, { keepCase: true }).lookupType(m.schemaName);
        const o = type.toObject(type.decode(m.data), { longs: String }) as {
          data: Uint8Array;
          format: string;
          frame_id: string;
          timestamp: { seconds: string; nanos: number };
        };
        expect(o.format).toBe("jpeg");
        expect(o.frame_id).toBe("head");
        expect(timeNsOf(o.timestamp)).toBe(m.logTime);
        const { data, info } = await sharp(o.data).raw().toBuffer({ resolveWithObject: true });
        images.push({ seq: m.sequence, logTime: m.logTime, width: info.width, r: data[0] });
      }
      if (m.topic === "/fovea/detections") {
        const d = decodeDetectionFrame(m.data);
        expect(d.detections[0].ground?.x).toBe(2 + Number(d.seq));
        detections.push(d.seq);
      }
      if (m.topic === "/fovea/status") expect(decodeStatus(m.data).modelId).toBe("test-model");
    }
    expect(reader.end).toEqual({ complete: true });
    expect(images.map((i) => i.seq)).toEqual([...Array(12).keys()]);
    expect(images.map((i) => i.logTime)).toEqual([...Array(12).keys()].map((s) => frame(s).captureTimeNs));
    expect(images.every((i) => i.width === W)).toBe(true);
    // JPEG is lossy; the red channel still tells the frames apart (40 levels apart).
    images.forEach((i) => expect(Math.abs(i.r - ((i.seq * 40) & 255))).toBeLessThan(8));
    expect(detections).toEqual([...Array(12).keys()].map(BigInt));
  });

  test("annotations draw each box as a closed outline in pixels, stamped with the capture time", async () => {
    const reader = await RecordingReader.open(path.join(dir, "run.mcap"));
    for await (const m of reader.messages(new Set(["/camera/annotations", "/camera/calibration"]))) {
      const type = protobuf.Root.fromDescriptor(reader.schemaData(m.schemaName)!, { keepCase: true }).lookupType(m.schemaName);
      // Foxglove's messages decoded by their descriptor, untyped: the assertions below name the fields.
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const o = type.toObject(type.decode(m.data), { longs: String, enums: String }) as Record<string, any>;
      if (m.topic === "/camera/calibration") {
        // Intrinsics scaled from the 640x480 reference to the 96x64 frames.
        expect(o.width).toBe(W);
        expect(o.K).toEqual([457 * (W / 640), 0, 320 * (W / 640), 0, 457 * (H / 480), 240 * (H / 480), 0, 0, 1]);
        continue;
      }
      expect(o.points).toHaveLength(1);
      expect(o.points[0].type).toBe("LINE_LOOP");
      expect(o.points[0].points).toEqual([
        { x: 0.25 * W, y: 0.5 * H },
        { x: 0.375 * W, y: 0.5 * H },
        { x: 0.375 * W, y: 0.625 * H },
        { x: 0.25 * W, y: 0.625 * H },
      ]);
      expect(o.texts[0].text).toMatch(/^ball 90% \(\d+\.00, 0\.00\) m$/);
      expect(timeNsOf(o.timestamp)).toBe(m.logTime);
    }
  });

  test("raw frames are recorded losslessly as foxglove.RawImage rgb8", async () => {
    const file = path.join(dir, "raw.mcap");
    await recordRun(file, 3, { imageEncoding: "raw" });
    const reader = await RecordingReader.open(file);
    const seen: number[] = [];
    for await (const m of reader.messages(new Set(["/camera/image"]))) {
      expect(m.schemaName).toBe("foxglove.RawImage");
      const type = protobuf.Root.fromDescriptor(reader.schemaData(m.schemaName)!, { keepCase: true }).lookupType(m.schemaName);
      const o = type.toObject(type.decode(m.data)) as { data: Uint8Array; encoding: string; step: number; width: number };
      expect([o.encoding, o.width, o.step]).toEqual(["rgb8", W, W * 3]);
      expect(Buffer.compare(Buffer.from(o.data), frame(m.sequence).data)).toBe(0);
      seen.push(m.sequence);
    }
    expect(seen).toEqual([0, 1, 2]);
  });

  test("latest frame wins: frames handed over faster than the writer runs are dropped and counted", async () => {
    const file = path.join(dir, "burst.mcap");
    const recorder = await McapRecorder.create(file, { modelId: "m", cameraId: "head", imageEncoding: "jpeg" });
    // Ten frames in one turn of the event loop: the writer has not run yet, so nine are replaced.
    for (let seq = 0; seq < 10; seq++) recorder.onSourceFrame(frame(seq));
    expect(recorder.recordingDropped).toBe(9);
    await recorder.close();
    const reader = await RecordingReader.open(file);
    const seqs: number[] = [];
    for await (const m of reader.messages(new Set(["/camera/image"]))) seqs.push(m.sequence);
    expect(seqs).toEqual([9]);
    // After close nothing more is accepted; it counts as dropped rather than throwing into the loop.
    recorder.onSourceFrame(frame(10));
    expect(recorder.recordingDropped).toBe(10);
  });

  test("refuses to overwrite an existing file without force, naming the file and --force", async () => {
    const file = path.join(dir, "exists.mcap");
    await writeFile(file, "keep me");
    const err = await McapRecorder.create(file, { modelId: "m", cameraId: "c", imageEncoding: "jpeg" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FoveaInputError);
    expect((err as Error).message).toContain(file);
    expect((err as Error).message).toContain("--force");
    expect(await readFile(file, "utf8")).toBe("keep me");
    const recorder = await McapRecorder.create(file, { modelId: "m", cameraId: "c", imageEncoding: "jpeg", force: true });
    await recorder.close();
    expect((await readFile(file)).subarray(1, 5).toString()).toBe("MCAP");
  });

  test("a device that cannot be written is an error naming it (here /dev/full: no space left)", async () => {
    await expect(McapRecorder.create("/dev/full", { modelId: "m", cameraId: "c", imageEncoding: "jpeg", force: true })).rejects.toThrow(
      /^\/dev\/full: cannot write the recording \(ENOSPC/,
    );
  });

  test("a write failure mid-run stops the recording without touching the frame loop; later frames count as dropped", async () => {
    // A FIFO whose reader (a `cat` process) goes away once the recording has started: later
    // writes fail with EPIPE, as a disk that fails or fills up mid-match would fail them.
    const fifo = path.join(dir, "pipe.mcap");
    await execFileAsync("mkfifo", [fifo]);
    const cat = spawn("cat", [fifo], { stdio: ["ignore", "ignore", "ignore"] });
    const exited = once(cat, "exit");
    const recorder = await McapRecorder.create(fifo, { modelId: "m", cameraId: "c", imageEncoding: "jpeg", force: true, chunkBytes: 1024 });
    cat.kill("SIGKILL");
    await exited;
    recorder.onSourceFrame(frame(0));
    await recorder.whenIdle();
    expect(recorder.error?.message).toMatch(/EPIPE/);
    expect(() => recorder.onSourceFrame(frame(1))).not.toThrow();
    expect(recorder.recordingDropped).toBe(1);
    await recorder.close();
  });

  test("bad arguments name the argument", async () => {
    const file = path.join(dir, "bad.mcap");
    await expect(McapRecorder.create(file, { modelId: "m", cameraId: "c", imageEncoding: "png" as "jpeg" })).rejects.toThrow(
      /imageEncoding/,
    );
    await expect(McapRecorder.create(file, { modelId: "m", cameraId: "c", imageEncoding: "jpeg", jpegQuality: 0 })).rejects.toThrow(
      RangeError,
    );
    await expect(
      McapRecorder.create(path.join(dir, "no-such-dir", "x.mcap"), { modelId: "m", cameraId: "c", imageEncoding: "jpeg" }),
    ).rejects.toThrow(/no-such-dir.*directory does not exist/);
  });
});

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
