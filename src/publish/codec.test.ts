import { describe, expect, it } from "vitest";
import {
  decodeDetectionFrame,
  decodeStatus,
  DetectionFrameType,
  encodeDetectionFrame,
  encodeStatus,
  StatusType,
  type DetectionFrameMessage,
  type StatusMessage,
} from "./codec.js";

describe("wire codec", () => {
  it("round-trips a DetectionFrame through real protobuf bytes, keeping 64-bit times exact", () => {
    const msg: DetectionFrameMessage = {
      seq: 12345n,
      cameraId: "head",
      captureTimeNs: 1_795_000_000_123_456_789n,
      publishTimeNs: 1_795_000_000_124_456_789n,
      imageWidth: 640,
      imageHeight: 480,
      modelId: "default@abc",
      detections: [
        { label: "ball", confidence: 0.75, box: { xMin: 0.25, yMin: 0.5, xMax: 0.375, yMax: 0.625 }, ground: { x: 1.5, y: -0.25 } },
        { label: "goal_post", confidence: 0.5, box: { xMin: 0, yMin: 0, xMax: 0.125, yMax: 0.5 } },
      ],
      timings: { captureUs: 100, preprocessUs: 200, inferenceUs: 800, detectUs: 20, totalUs: 1200 },
    };
    const bytes = encodeDetectionFrame(msg);
    expect(DetectionFrameType.verify(DetectionFrameType.toObject(DetectionFrameType.decode(bytes)))).toBeNull();
    const back = decodeDetectionFrame(bytes);
    expect(back).toEqual(msg);
    expect(back.detections[1].ground).toBeUndefined();
  });

  it("round-trips a Status with its state name", () => {
    const s: StatusMessage = {
      state: "DEGRADED",
      fps: 29.5,
      framesIn: 100n,
      framesProcessed: 90n,
      framesDropped: 9n,
      framesFailed: 1n,
      engine: "onnxruntime",
      device: "cpu",
      modelId: "m",
      lastError: "camera died",
      timeNs: 1_795_000_000_000_000_000n,
      cameraId: "head",
      source: "camera:/dev/video0",
      reconnects: 2n,
      recordingDropped: 0n,
      outOfEnvelope: 3n,
    };
    expect(decodeStatus(encodeStatus(s))).toEqual(s);
  });

  it("rejects what fovea never sends, naming the field and what was expected", () => {
    const frame = (patch: Record<string, unknown>) =>
      DetectionFrameType.encode(
        DetectionFrameType.fromObject({
          seq: 1,
          cameraId: "c",
          publishTimeNs: 5,
          imageWidth: 640,
          imageHeight: 480,
          modelId: "m",
          ...patch,
        }),
      ).finish();
    expect(() => decodeDetectionFrame(new Uint8Array(0))).toThrow("fovea.v1.DetectionFrame: empty payload");
    expect(() => decodeDetectionFrame(frame({ imageWidth: 0 }))).toThrow(/image_width and image_height: expected > 0, got 0x480/);
    expect(() => decodeDetectionFrame(frame({ publishTimeNs: 0 }))).toThrow(/publish_time_ns: expected/);
    expect(() => decodeDetectionFrame(frame({ detections: [{ label: "ball", confidence: 1.5 }] }))).toThrow(
      /detections\[0\]\.confidence: expected 0\.\.1, got 1\.5/,
    );
    expect(() => decodeDetectionFrame(frame({ detections: [{ label: "", confidence: 0.5 }] }))).toThrow(/detections\[0\]\.label/);
    expect(() => decodeDetectionFrame(frame({ detections: [{ label: "ball", confidence: 0.5, box: { xMin: NaN } }] }))).toThrow(
      /detections\[0\]\.box: expected finite/,
    );
    // camera_id (field 2) sent as a double, as a Status's fps would be.
    expect(() => decodeDetectionFrame(Uint8Array.of(0x11, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f))).toThrow(
      /field camera_id arrived with wire type 1, expected 2/,
    );
    expect(() => decodeDetectionFrame(Uint8Array.of(0x12, 0x02, 0xc3, 0x28))).toThrow(/camera_id is not valid UTF-8/);
    expect(() => decodeDetectionFrame(Uint8Array.of(0x12, 0x7f, 0x41))).toThrow(/camera_id claims 127 bytes, 1 left/);
    expect(() => decodeStatus(StatusType.encode(StatusType.fromObject({ fps: 1 })).finish())).toThrow(
      /state: expected STARTING, RUNNING, DEGRADED, STOPPING or STOPPED, got 0/,
    );
    expect(() => decodeStatus(Uint8Array.of(0x08, 0x09))).toThrow(/got 9/);
  });
});
