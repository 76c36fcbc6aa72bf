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

  it("writes the bytes protobufjs's fromObject path writes, at the edges of every field", () => {
    const viaFromObject = (m: DetectionFrameMessage) =>
      DetectionFrameType.encode(
        DetectionFrameType.fromObject({
          ...m,
          seq: m.seq.toString(),
          captureTimeNs: m.captureTimeNs.toString(),
          publishTimeNs: m.publishTimeNs.toString(),
        }),
      ).finish();
    const base: DetectionFrameMessage = {
      seq: 0n,
      cameraId: "",
      captureTimeNs: 0n,
      publishTimeNs: 0n,
      imageWidth: 0,
      imageHeight: 0,
      modelId: "",
      detections: [],
      timings: { captureUs: 0, preprocessUs: 0, inferenceUs: 0, detectUs: 0, totalUs: 0 },
    };
    const cases: DetectionFrameMessage[] = [
      base,
      {
        ...base,
        seq: 2n ** 64n - 1n,
        captureTimeNs: 2n ** 63n + 12345n,
        publishTimeNs: 1_795_000_000_124_456_789n,
        imageWidth: 4_294_967_295,
        imageHeight: 480,
        cameraId: "kopf-kamera",
        detections: [
          { label: "ball", confidence: 1, box: { xMin: -0.5, yMin: 0, xMax: 1.5, yMax: 1 }, ground: { x: 0, y: -1e9 } },
          { label: "robot", confidence: 0, box: { xMin: 0, yMin: 0, xMax: 0, yMax: 0 }, ground: null },
          { label: "goal_post", confidence: 0.3, box: { xMin: 0.1, yMin: 0.2, xMax: 0.3, yMax: 0.4 } },
        ],
        timings: { captureUs: 4_294_967_295, preprocessUs: 1, inferenceUs: 800, detectUs: 20, totalUs: 1200 },
      },
    ];
    for (const m of cases) expect(Buffer.from(encodeDetectionFrame(m))).toEqual(Buffer.from(viaFromObject(m)));
    expect(decodeDetectionFrame(encodeDetectionFrame(cases[1])).seq).toBe(2n ** 64n - 1n);
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
