/**
 * The wire codec: protobuf encoding of the messages in proto/fovea/v1/vision.proto, loaded at
 * start with protobufjs (the .proto file is the single source of truth, shared with clients in
 * other languages). Field names are camelCase on the TypeScript side.
 */
import { fileURLToPath } from "node:url";
import path from "node:path";
import protobuf from "protobufjs";

/** Repository/package root (this file is src/publish/codec.ts or dist/publish/codec.js). */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const VISION_PROTO_PATH = path.join(PACKAGE_ROOT, "proto", "fovea", "v1", "vision.proto");

export interface BoxMessage { xMin: number; yMin: number; xMax: number; yMax: number }
export interface GroundPositionMessage { x: number; y: number }
export interface DetectionMessage {
  label: string;
  confidence: number;
  box: BoxMessage;
  ground?: GroundPositionMessage | null;
}
export interface StageTimingsMessage {
  captureUs: number;
  preprocessUs: number;
  inferenceUs: number;
  detectUs: number;
  totalUs: number;
}
export interface DetectionFrameMessage {
  seq: bigint;
  cameraId: string;
  captureTimeNs: bigint;
  publishTimeNs: bigint;
  imageWidth: number;
  imageHeight: number;
  modelId: string;
  detections: DetectionMessage[];
  timings: StageTimingsMessage;
}

export const StatusState = {
  STATE_UNSPECIFIED: 0,
  STARTING: 1,
  RUNNING: 2,
  DEGRADED: 3,
  STOPPING: 4,
  STOPPED: 5,
} as const;
export type StatusStateName = keyof typeof StatusState;

export interface StatusMessage {
  state: StatusStateName;
  fps: number;
  framesIn: bigint;
  framesProcessed: bigint;
  framesDropped: bigint;
  framesFailed: bigint;
  engine: string;
  device: string;
  modelId: string;
  lastError: string;
  timeNs: bigint;
  cameraId: string;
  source: string;
  reconnects: bigint;
  recordingDropped: bigint;
  outOfEnvelope: bigint;
}

export const TOPIC_DETECTIONS = "detections";
export const TOPIC_STATUS = "status";

const root = protobuf.loadSync(VISION_PROTO_PATH);
/** protobufjs reflection types, for callers that need the schema (e.g. MCAP channel schemas). */
export const visionRoot = root;
export const DetectionFrameType = root.lookupType("fovea.v1.DetectionFrame");
export const StatusType = root.lookupType("fovea.v1.Status");

// Decoded uint64 fields come back as Long or number; we hand callers bigint.
const CONVERT = { longs: String, enums: String, defaults: true, arrays: true } as const;

function toLongString(v: bigint | number): string {
  return typeof v === "bigint" ? v.toString() : String(Math.trunc(v));
}

export function encodeDetectionFrame(m: DetectionFrameMessage): Uint8Array {
  return DetectionFrameType.encode(
    DetectionFrameType.fromObject({
      ...m,
      seq: toLongString(m.seq),
      captureTimeNs: toLongString(m.captureTimeNs),
      publishTimeNs: toLongString(m.publishTimeNs),
    }),
  ).finish();
}

export function decodeDetectionFrame(bytes: Uint8Array): DetectionFrameMessage {
  const o = DetectionFrameType.toObject(DetectionFrameType.decode(bytes), CONVERT) as Record<string, unknown>;
  const dets = (o.detections as Array<Record<string, unknown>>).map((d) => ({
    label: d.label as string,
    confidence: d.confidence as number,
    box: (d.box ?? { xMin: 0, yMin: 0, xMax: 0, yMax: 0 }) as BoxMessage,
    ...(d.ground ? { ground: d.ground as GroundPositionMessage } : {}),
  }));
  return {
    seq: BigInt(o.seq as string),
    cameraId: o.cameraId as string,
    captureTimeNs: BigInt(o.captureTimeNs as string),
    publishTimeNs: BigInt(o.publishTimeNs as string),
    imageWidth: o.imageWidth as number,
    imageHeight: o.imageHeight as number,
    modelId: o.modelId as string,
    detections: dets,
    timings: (o.timings ?? { captureUs: 0, preprocessUs: 0, inferenceUs: 0, detectUs: 0, totalUs: 0 }) as StageTimingsMessage,
  };
}

const STATUS_LONGS = ["framesIn", "framesProcessed", "framesDropped", "framesFailed", "timeNs", "reconnects", "recordingDropped", "outOfEnvelope"] as const;

export function encodeStatus(m: StatusMessage): Uint8Array {
  const o: Record<string, unknown> = { ...m, state: StatusState[m.state] };
  for (const k of STATUS_LONGS) o[k] = toLongString(m[k]);
  return StatusType.encode(StatusType.fromObject(o)).finish();
}

export function decodeStatus(bytes: Uint8Array): StatusMessage {
  const o = StatusType.toObject(StatusType.decode(bytes), CONVERT) as Record<string, unknown>;
  const out = { ...o } as Record<string, unknown>;
  for (const k of STATUS_LONGS) out[k] = BigInt(o[k] as string);
  return out as unknown as StatusMessage;
}
