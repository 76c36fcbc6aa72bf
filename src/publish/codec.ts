/**
 * The wire codec: protobuf encoding of the messages in proto/fovea/v1/vision.proto, loaded at
 * start with protobufjs (the .proto file is the single source of truth, shared with clients in
 * other languages). Field names are camelCase on the TypeScript side.
 */
import { isUtf8 } from "node:buffer";
import path from "node:path";
import protobuf from "protobufjs";
import { PACKAGE_ROOT } from "../core/package-root.js";

export const VISION_PROTO_PATH = path.join(PACKAGE_ROOT, "proto", "fovea", "v1", "vision.proto");

export interface BoxMessage {
  xMin: number;
  yMin: number;
  xMax: number;
  yMax: number;
}
export interface GroundPositionMessage {
  x: number;
  y: number;
}
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

// Resolved up front: the wire check reads field types before the first decode would resolve them.
const root = protobuf.loadSync(VISION_PROTO_PATH).resolveAll();
/** protobufjs reflection types, for callers that need the schema (e.g. MCAP channel schemas). */
export const visionRoot = root;
export const DetectionFrameType = root.lookupType("fovea.v1.DetectionFrame");
export const StatusType = root.lookupType("fovea.v1.Status");

function toLongString(v: bigint | number): string {
  return typeof v === "bigint" ? v.toString() : String(Math.trunc(v));
}

/** A uint64 as the low and high 32 bits protobufjs's writer takes (LongBits.from). */
function toLongBits(v: bigint): { low: number; high: number } {
  return { low: Number(v & 0xffffffffn), high: Number((v >> 32n) & 0xffffffffn) };
}

/**
 * Encodes the plain object as it is, once per frame on the loop thread: fromObject would copy
 * every nested message and take each uint64 through a string and Long.fromString. The message
 * has no enum or map field, the only kinds encode() needs fromObject to convert.
 */
export function encodeDetectionFrame(m: DetectionFrameMessage): Uint8Array {
  const wire = { ...m, seq: toLongBits(m.seq), captureTimeNs: toLongBits(m.captureTimeNs), publishTimeNs: toLongBits(m.publishTimeNs) };
  return DetectionFrameType.encode(wire as unknown as protobuf.Message).finish();
}

/**
 * A payload that is not a valid message of the type its topic names: empty, truncated, a field
 * whose wire type contradicts the schema, a string that is not UTF-8, or values no fovea sends
 * (no image size, confidence outside 0..1, an unknown state). Clients skip and count these.
 */
export class WireDecodeError extends Error {
  /**
   * @param type the protobuf message type expected, e.g. `fovea.v1.DetectionFrame`
   * @param problem what is wrong and what was expected
   */
  constructor(
    readonly type: string,
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${type}: ${problem}`, options);
    this.name = "WireDecodeError";
  }
}

type LongLike = number | { low: number; high: number };

/** protobufjs hands uint64 as Long (or number when it fits); bigint keeps all 64 bits. */
function toBigInt(v: LongLike | null | undefined): bigint {
  if (v == null) return 0n;
  if (typeof v === "number") return BigInt(v);
  return (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
}

/**
 * The wire type each field of `type` must arrive with. protobufjs reads a field by its declared
 * type whatever the tag's wire type says, so a Status decoded as a DetectionFrame (or random
 * bytes) would otherwise come back as a plausible message with garbage values.
 */
/** The field's name as vision.proto spells it (protobufjs camelCases them). */
const protoName = (field: protobuf.Field) => field.name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

function expectedWireType(field: protobuf.Field): number {
  if (field.resolvedType instanceof protobuf.Type) return 2;
  if (field.resolvedType instanceof protobuf.Enum) return 0;
  return (protobuf.types.basic as Record<string, number>)[field.type] ?? 2;
}

/** The first structural problem of `bytes` as a `type`, or null. Unknown fields are allowed (newer senders). */
function wireProblem(type: protobuf.Type, bytes: Uint8Array): string | null {
  const r = protobuf.Reader.create(bytes);
  try {
    while (r.pos < r.len) {
      const tag = r.uint32();
      const id = tag >>> 3;
      const wireType = tag & 7;
      if (id === 0) return `field number 0 at byte ${r.pos}`;
      // Groups (3, 4) do not exist in proto3; 6 and 7 do not exist at all.
      if (wireType === 3 || wireType === 4 || wireType > 5) return `wire type ${wireType} for field ${id}`;
      const field = type.fieldsById[id];
      if (!field) {
        r.skipType(wireType);
        continue;
      }
      const want = expectedWireType(field);
      const packed = field.repeated && wireType === 2 && want !== 2;
      if (wireType !== want && !packed) return `field ${protoName(field)} arrived with wire type ${wireType}, expected ${want}`;
      if (wireType !== 2) {
        r.skipType(wireType);
        continue;
      }
      const len = r.uint32();
      if (len > r.len - r.pos) return `field ${protoName(field)} claims ${len} bytes, ${r.len - r.pos} left`;
      const body = bytes.subarray(r.pos, r.pos + len);
      r.pos += len;
      if (field.resolvedType instanceof protobuf.Type) {
        const inner = wireProblem(field.resolvedType, body);
        if (inner) return `${protoName(field)}.${inner}`;
      } else if (field.type === "string" && !isUtf8(body)) {
        return `field ${protoName(field)} is not valid UTF-8`;
      }
    }
  } catch (err) {
    return `truncated (${(err as Error).message})`;
  }
  return null;
}

function parse(type: protobuf.Type, bytes: Uint8Array): protobuf.Message & Record<string, unknown> {
  if (!(bytes instanceof Uint8Array)) throw new WireDecodeError(type.fullName.slice(1), `expected bytes, got ${typeof bytes}`);
  const name = type.fullName.slice(1);
  if (bytes.length === 0) throw new WireDecodeError(name, "empty payload");
  const problem = wireProblem(type, bytes);
  if (problem) throw new WireDecodeError(name, problem);
  try {
    return type.decode(bytes) as protobuf.Message & Record<string, unknown>;
  } catch (err) {
    throw new WireDecodeError(name, (err as Error).message, { cause: err });
  }
}

const finite = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/**
 * Decode and validate a `detections` payload. Throws WireDecodeError for anything that is not a
 * DetectionFrame as fovea sends it: every frame has an image size and a publish time, every
 * detection a label, a confidence in 0..1 and a finite box.
 */
export function decodeDetectionFrame(bytes: Uint8Array): DetectionFrameMessage {
  const m = parse(DetectionFrameType, bytes);
  const bad = (problem: string) => new WireDecodeError("fovea.v1.DetectionFrame", problem);
  const imageWidth = m.imageWidth as number;
  const imageHeight = m.imageHeight as number;
  if (!(imageWidth > 0 && imageHeight > 0)) throw bad(`image_width and image_height: expected > 0, got ${imageWidth}x${imageHeight}`);
  const publishTimeNs = toBigInt(m.publishTimeNs as LongLike);
  if (publishTimeNs === 0n) throw bad("publish_time_ns: expected a Unix time in nanoseconds, got 0");
  const raw = m.detections as Array<Record<string, unknown>>;
  const detections: DetectionMessage[] = new Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const d = raw[i];
    const label = d.label as string;
    const confidence = d.confidence as number;
    if (label === "") throw bad(`detections[${i}].label: expected a class name, got ""`);
    if (!(confidence >= 0 && confidence <= 1)) throw bad(`detections[${i}].confidence: expected 0..1, got ${confidence}`);
    const b = (d.box ?? {}) as Record<string, number>;
    const box = { xMin: b.xMin ?? 0, yMin: b.yMin ?? 0, xMax: b.xMax ?? 0, yMax: b.yMax ?? 0 };
    if (!(finite(box.xMin) && finite(box.yMin) && finite(box.xMax) && finite(box.yMax))) {
      throw bad(`detections[${i}].box: expected finite coordinates, got ${JSON.stringify(box)}`);
    }
    const g = d.ground as Record<string, number> | null | undefined;
    if (g) {
      const ground = { x: g.x ?? 0, y: g.y ?? 0 };
      if (!(finite(ground.x) && finite(ground.y)))
        throw bad(`detections[${i}].ground: expected finite metres, got ${JSON.stringify(ground)}`);
      detections[i] = { label, confidence, box, ground };
    } else {
      detections[i] = { label, confidence, box };
    }
  }
  const t = (m.timings ?? {}) as Record<string, number>;
  return {
    seq: toBigInt(m.seq as LongLike),
    cameraId: m.cameraId as string,
    captureTimeNs: toBigInt(m.captureTimeNs as LongLike),
    publishTimeNs,
    imageWidth,
    imageHeight,
    modelId: m.modelId as string,
    detections,
    timings: {
      captureUs: t.captureUs ?? 0,
      preprocessUs: t.preprocessUs ?? 0,
      inferenceUs: t.inferenceUs ?? 0,
      detectUs: t.detectUs ?? 0,
      totalUs: t.totalUs ?? 0,
    },
  };
}

const STATUS_LONGS = [
  "framesIn",
  "framesProcessed",
  "framesDropped",
  "framesFailed",
  "timeNs",
  "reconnects",
  "recordingDropped",
  "outOfEnvelope",
] as const;

export function encodeStatus(m: StatusMessage): Uint8Array {
  const o: Record<string, unknown> = { ...m, state: StatusState[m.state] };
  for (const k of STATUS_LONGS) o[k] = toLongString(m[k]);
  return StatusType.encode(StatusType.fromObject(o)).finish();
}

const STATE_NAMES = Object.keys(StatusState) as StatusStateName[];

/**
 * Decode and validate a `status` payload. Throws WireDecodeError for anything that is not a
 * Status as fovea sends it: the state is one of STARTING..STOPPED, fps is finite and >= 0.
 */
export function decodeStatus(bytes: Uint8Array): StatusMessage {
  const m = parse(StatusType, bytes);
  const bad = (problem: string) => new WireDecodeError("fovea.v1.Status", problem);
  const state = STATE_NAMES[m.state as number];
  if (state === undefined || state === "STATE_UNSPECIFIED")
    throw bad(`state: expected STARTING, RUNNING, DEGRADED, STOPPING or STOPPED, got ${m.state as number}`);
  const fps = m.fps as number;
  if (!(fps >= 0 && fps < Infinity)) throw bad(`fps: expected a finite number >= 0, got ${fps}`);
  const out: Record<string, unknown> = {
    state,
    fps,
    engine: m.engine,
    device: m.device,
    modelId: m.modelId,
    lastError: m.lastError,
    cameraId: m.cameraId,
    source: m.source,
  };
  for (const k of STATUS_LONGS) out[k] = toBigInt(m[k] as LongLike);
  return out as unknown as StatusMessage;
}
