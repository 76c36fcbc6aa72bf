import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { McapRecorder } from "../record/mcap-recorder.js";
import { retagRecording } from "./retag-recording.js";
import { readDataset } from "../dataset/read-dataset.js";
import { encodeDetectionFrame } from "../publish/codec.js";
import type { Detection } from "../core/detection.js";
import type { Frame } from "../core/frame.js";
import type { Calibration } from "../calib/calibration.js";
import { FoveaInputError } from "../core/errors.js";

const W = 64;
const H = 48;
const calibration: Calibration = {
  cameraId: "head",
  intrinsics: { width: 640, height: 480, fx: 457, fy: 457, cx: 320, cy: 240 },
  distortion: { k1: 0, k2: 0, p1: 0, p2: 0, k3: 0 },
  mount: { x: 0, y: 0, height: 1.3, pitch: 25, roll: 0, yaw: 0 },
  whiteBalance: { r: 1, g: 1, b: 1 },
};

function frame(seq: number): Frame {
  return {
    seq,
    captureTimeNs: 1_000_000_000n * BigInt(seq + 1),
    width: W,
    height: H,
    encoding: "rgb24",
    data: Buffer.alloc(W * H * 3, seq * 20),
  };
}

/** Frames 0..5; the "pipeline" processed the even ones (odd ones were dropped live). */
async function recordRun(file: string, label = "ball", imageEncoding: "jpeg" | "raw" = "jpeg"): Promise<void> {
  const recorder = await McapRecorder.create(file, {
    modelId: "m",
    cameraId: "head",
    imageEncoding,
    calibration,
    classes: ["ball", "robot"],
  });
  for (let seq = 0; seq < 6; seq++) {
    const f = frame(seq);
    recorder.onSourceFrame(f);
    if (seq % 2 === 0) {
      const detections: Detection[] = [
        {
          label,
          classIndex: 0,
          confidence: 0.8,
          box: { xMin: -0.02, yMin: 0.1, xMax: 0.2, yMax: 0.3 + seq / 100 },
          ground: { x: 1 + seq, y: 0.5 },
        },
      ];
      const message = encodeDetectionFrame({
        seq: BigInt(seq),
        cameraId: "head",
        captureTimeNs: f.captureTimeNs,
        publishTimeNs: f.captureTimeNs + 1n,
        imageWidth: W,
        imageHeight: H,
        modelId: "m",
        detections: detections.map((d) => ({ label: d.label, confidence: d.confidence, box: d.box, ground: d.ground })),
        timings: { captureUs: 0, preprocessUs: 0, inferenceUs: 0, detectUs: 0, totalUs: 0 },
      });
      recorder.onProcessed({
        frame: f,
        detections,
        message,
        publishTimeNs: f.captureTimeNs + 1n,
        timings: { captureUs: 0, preprocessUs: 0, inferenceUs: 0, detectUs: 0, publishUs: 0, totalUs: 0 },
      });
    }
    await recorder.whenIdle();
  }
  await recorder.close();
}

let dir: string;
let file: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "fovea-retag-"));
  file = path.join(dir, "run.mcap");
  await recordRun(file);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("retagRecording", () => {
  test("native: every frame, recorded detections as pre-tags (clamped to the image), the recording's classes and calibration", async () => {
    const out = path.join(dir, "native");
    const r = await retagRecording(file, out, { format: "native" });
    expect(r).toMatchObject({ frames: 6, preTagged: 3, objects: 3, classes: ["ball", "robot"] });
    const ds = await readDataset(out);
    // Frames without detections wait for them and come later: order by image name.
    ds.frames.sort((a, b) => a.image.localeCompare(b.image));
    expect(ds.classes).toEqual(["ball", "robot"]);
    expect(ds.frames.map((f) => f.image)).toEqual([0, 1, 2, 3, 4, 5].map((s) => `images/${String(s).padStart(8, "0")}.jpg`));
    expect(ds.frames.map((f) => f.objects.length)).toEqual([1, 0, 1, 0, 1, 0]);
    const tag = ds.frames[4].objects[0];
    expect(tag.label).toBe("ball");
    expect(tag.box.xMin).toBe(0);
    expect(tag.box.yMax).toBeCloseTo(0.34, 6);
    expect(tag.ground).toEqual({ x: 5, y: 0.5 });
    expect(JSON.parse(await readFile(path.join(out, "calibration.json"), "utf8"))).toEqual(calibration);
  });

  test("yolo, pre-tagged frames only, every 2nd frame", async () => {
    const out = path.join(dir, "yolo");
    const r = await retagRecording(file, out, { format: "yolo", preTaggedOnly: true, every: 2 });
    expect(r).toMatchObject({ frames: 3, preTagged: 3 });
    const ds = await readDataset(out);
    expect(ds.format).toBe("yolo");
    expect(ds.frames.map((f) => [f.width, f.height, f.objects.length])).toEqual([
      [W, H, 1],
      [W, H, 1],
      [W, H, 1],
    ]);
  });

  test("raw recordings become PNG images", async () => {
    const raw = path.join(dir, "raw.mcap");
    await recordRun(raw, "ball", "raw");
    const out = path.join(dir, "raw-native");
    await retagRecording(raw, out, { format: "native" });
    const ds = await readDataset(out);
    expect(ds.frames[0].image).toMatch(/\.png$/);
  });

  test("a recorded label outside the classes is refused, naming the file, frame and --classes", async () => {
    const odd = path.join(dir, "odd.mcap");
    await recordRun(odd, "unicorn");
    const err = await retagRecording(odd, path.join(dir, "odd"), { format: "native" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FoveaInputError);
    expect((err as Error).message).toMatch(
      /odd\.mcap: frame 0: detection label "unicorn" is not one of the classes \(ball, robot\); pass --classes/,
    );
    const ok = await retagRecording(odd, path.join(dir, "odd2"), { format: "native", classes: ["unicorn"] });
    expect(ok.objects).toBe(3);
  });
});
