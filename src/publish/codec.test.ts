import { describe, expect, it } from "vitest";
import { decodeDetectionFrame, decodeStatus, DetectionFrameType, encodeDetectionFrame, encodeStatus, type DetectionFrameMessage, type StatusMessage } from "./codec.js";

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
      state: "DEGRADED", fps: 29.5, framesIn: 100n, framesProcessed: 90n, framesDropped: 9n, framesFailed: 1n,
      engine: "onnxruntime", device: "cpu", modelId: "m", lastError: "camera died", timeNs: 1_795_000_000_000_000_000n,
      cameraId: "head", source: "camera:/dev/video0", reconnects: 2n, recordingDropped: 0n, outOfEnvelope: 3n,
    };
    expect(decodeStatus(encodeStatus(s))).toEqual(s);
  });
});
