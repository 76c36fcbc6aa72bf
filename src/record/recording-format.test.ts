import { describe, expect, test } from "vitest";
import protobuf from "protobufjs";
import "protobufjs/ext/descriptor.js";
import { channelSchema, timeNsOf, timestampOf } from "./recording-format.js";
import { decodeDetectionFrame, encodeDetectionFrame } from "../publish/codec.js";

describe("channel schemas", () => {
  test("each Foxglove schema's descriptor set holds the type with its snake_case field names", () => {
    for (const [name, fields] of [
      ["foxglove.CompressedImage", ["timestamp", "frame_id", "data", "format"]],
      ["foxglove.RawImage", ["timestamp", "frame_id", "width", "height", "encoding", "step", "data"]],
      ["foxglove.ImageAnnotations", ["timestamp", "circles", "points", "texts", "metadata"]],
      ["foxglove.CameraCalibration", ["timestamp", "frame_id", "width", "height", "distortion_model", "D", "K", "R", "P"]],
    ] as const) {
      const schema = channelSchema(name);
      const root = protobuf.Root.fromDescriptor(schema.data, { keepCase: true });
      const type = root.lookupType(name);
      expect(Object.keys(type.fields).sort()).toEqual([...fields].sort());
    }
  });

  test("the descriptor set declares google's Timestamp file as a dependency of the Foxglove file", async () => {
    const { FileDescriptorSet } = await import("protobufjs/ext/descriptor.js");
    const set = FileDescriptorSet.decode(channelSchema("foxglove.CompressedImage").data) as unknown as {
      file: Array<{ name: string; dependency: string[] }>;
    };
    expect(set.file.map((f) => f.name)).toEqual(["google/protobuf/timestamp.proto", "foxglove/schemas.proto"]);
    expect(set.file[1].dependency).toEqual(["google/protobuf/timestamp.proto"]);
  });

  test("a DetectionFrame published on the wire decodes with the recording's fovea schema", () => {
    const bytes = encodeDetectionFrame({
      seq: 41n,
      cameraId: "head",
      captureTimeNs: 1_700_000_000_123_456_789n,
      publishTimeNs: 1_700_000_000_133_456_789n,
      imageWidth: 640,
      imageHeight: 480,
      modelId: "m1",
      detections: [
        { label: "ball", confidence: 0.75, box: { xMin: 0.25, yMin: 0.5, xMax: 0.375, yMax: 0.625 }, ground: { x: 2, y: -0.5 } },
      ],
      timings: { captureUs: 1, preprocessUs: 2, inferenceUs: 3, detectUs: 4, totalUs: 10 },
    });
    const type = protobuf.Root.fromDescriptor(channelSchema("fovea.v1.DetectionFrame").data).lookupType("fovea.v1.DetectionFrame");
    const o = type.toObject(type.decode(bytes), { longs: String }) as Record<string, unknown>;
    expect(o.seq).toBe("41");
    expect(o.capture_time_ns ?? o.captureTimeNs).toBe("1700000000123456789");
    // And the bytes re-encoded by the recording's type are the wire bytes.
    expect(decodeDetectionFrame(type.encode(type.decode(bytes)).finish()).detections[0].ground).toEqual({ x: 2, y: -0.5 });
  });

  test("unknown schema names are refused by name", () => {
    expect(() => channelSchema("foxglove.Nope")).toThrow(/foxglove\.Nope/);
  });

  test("timestamps round-trip through google.protobuf.Timestamp", () => {
    const t = 1_764_250_000_987_654_321n;
    expect(timestampOf(t)).toEqual({ seconds: 1_764_250_000, nanos: 987_654_321 });
    const type = channelSchema("foxglove.CompressedImage").type;
    const decoded = type.decode(
      type.encode({ timestamp: timestampOf(t), frame_id: "7", format: "jpeg", data: Buffer.from([1]) }).finish(),
    ) as unknown as {
      timestamp: { seconds: unknown; nanos: number };
    };
    expect(timeNsOf(decoded.timestamp)).toBe(t);
  });
});
