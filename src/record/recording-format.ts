/**
 * The fovea MCAP recording format, shared by everything that writes or reads one (McapRecorder,
 * McapSource replay, compare, retag, the live view): the topics, their schema names, the metadata
 * record, and the channels' protobuf schemas. Foxglove recognises the `foxglove.*` schemas and
 * draws the annotations over the image.
 *
 * Schemas, as MCAP wants them: a serialized `google.protobuf.FileDescriptorSet` per schema
 * (MCAP's protobuf encoding), plus the protobufjs types that encode and decode the messages.
 *
 * Foxglove's schemas come from `@foxglove/schemas`, which ships them as schema objects and a
 * `.proto` generator rather than descriptor files; we generate the `.proto` text, parse it with
 * protobufjs and let protobufjs' descriptor extension build the FileDescriptorSet. fovea's own
 * schema is built the same way from proto/fovea/v1/vision.proto, the wire contract's single source.
 *
 * Field names keep their snake_case (`keepCase`): the descriptor must carry the schema's real
 * field names, since Foxglove and other-language readers decode by them.
 */
import protobuf from "protobufjs";
// The descriptor extension is CommonJS with exports Node cannot detect statically: default import.
import descriptor from "protobufjs/ext/descriptor.js";
import { foxgloveEnumSchemas, foxgloveMessageSchemas, generateProto, type FoxgloveMessageSchema } from "@foxglove/schemas/internal.js";
import { VISION_PROTO_PATH } from "../publish/codec.js";

export const TOPIC_IMAGE = "/camera/image";
export const TOPIC_ANNOTATIONS = "/camera/annotations";
export const TOPIC_CALIBRATION = "/camera/calibration";
export const TOPIC_DETECTIONS = "/fovea/detections";
export const TOPIC_STATUS = "/fovea/status";

export const SCHEMA_COMPRESSED_IMAGE = "foxglove.CompressedImage";
export const SCHEMA_RAW_IMAGE = "foxglove.RawImage";
export const SCHEMA_IMAGE_ANNOTATIONS = "foxglove.ImageAnnotations";
export const SCHEMA_CAMERA_CALIBRATION = "foxglove.CameraCalibration";
export const SCHEMA_DETECTION_FRAME = "fovea.v1.DetectionFrame";
export const SCHEMA_STATUS = "fovea.v1.Status";

/** Name of the MCAP metadata record that describes the recording (all values are strings). */
export const RECORDING_METADATA_NAME = "fovea.recording";

/** MCAP profile string in the header: messages are protobuf, schemas are FileDescriptorSets. */
export const RECORDING_PROFILE = "";
/** MCAP library string written into the header. */
export const RECORDING_LIBRARY = "fovea";

/** Foxglove messages fovea writes; their nested types are pulled in automatically. */
const FOXGLOVE_ROOTS = ["CompressedImage", "RawImage", "ImageAnnotations", "CameraCalibration"] as const;
const TIMESTAMP_FILE = "google/protobuf/timestamp.proto";
// Canonical file names, so a reader whose descriptor pool already holds google's Timestamp file
// sees the same file rather than a conflicting second definition.
const FILE_NAMES: Record<string, string> = {
  "google.protobuf": TIMESTAMP_FILE,
  foxglove: "foxglove/schemas.proto",
  "fovea.v1": "fovea/v1/vision.proto",
};

function collectFoxglove(schema: FoxgloveMessageSchema, into: Map<string, FoxgloveMessageSchema>): void {
  if (schema.protoEquivalent !== undefined || into.has(schema.name)) return;
  into.set(schema.name, schema);
  for (const field of schema.fields) if (field.type.type === "nested") collectFoxglove(field.type.schema, into);
}

function buildFoxgloveRoot(): protobuf.Root {
  const root = new protobuf.Root();
  // google.protobuf.Timestamp ships with protobufjs as a JSON descriptor (the only
  // well-known type these schemas use).
  root.addJSON(protobuf.common.get(TIMESTAMP_FILE)!.nested!);
  const schemas = new Map<string, FoxgloveMessageSchema>();
  for (const name of FOXGLOVE_ROOTS) collectFoxglove(foxgloveMessageSchemas[name], schemas);
  const enums = Object.values(foxgloveEnumSchemas);
  for (const schema of schemas.values()) {
    const text = generateProto(
      schema,
      enums.filter((e) => e.parentSchemaName === schema.name),
    );
    protobuf.parse(text, root, { keepCase: true });
  }
  root.resolveAll();
  return root;
}

/**
 * Serialise a root as a FileDescriptorSet whose files declare their dependencies (protobufjs
 * omits them; strict readers such as Python's descriptor pool need them to resolve imports).
 */
function descriptorSetBytes(root: protobuf.Root, fileNames: Record<string, string>): Uint8Array {
  const set = root.toDescriptor("proto3");
  const files = set.file ?? [];
  // Files that only other files use (google.protobuf) come first; everything else depends on them.
  files.sort((a, b) => Number((b.package ?? "").startsWith("google.")) - Number((a.package ?? "").startsWith("google.")));
  for (let i = 0; i < files.length; i++) {
    files[i].name = fileNames[files[i].package ?? ""] ?? `${(files[i].package ?? "root").replace(/\./g, "/")}.proto`;
    files[i].dependency = files.slice(0, i).map((f) => f.name!);
  }
  return descriptor.FileDescriptorSet.encode(set).finish();
}

/** A channel schema: its name, MCAP encoding and data, and the protobufjs type for messages. */
export interface ChannelSchema {
  readonly name: string;
  readonly encoding: "protobuf";
  readonly data: Uint8Array;
  readonly type: protobuf.Type;
}

let cache: Map<string, ChannelSchema> | undefined;

function build(): Map<string, ChannelSchema> {
  const foxglove = buildFoxgloveRoot();
  const foxgloveSet = descriptorSetBytes(foxglove, FILE_NAMES);
  const fovea = new protobuf.Root().loadSync(VISION_PROTO_PATH, { keepCase: true });
  fovea.resolveAll();
  const foveaSet = descriptorSetBytes(fovea, FILE_NAMES);
  const out = new Map<string, ChannelSchema>();
  for (const name of FOXGLOVE_ROOTS) {
    const full = `foxglove.${name}`;
    out.set(full, { name: full, encoding: "protobuf", data: foxgloveSet, type: foxglove.lookupType(full) });
  }
  for (const full of ["fovea.v1.DetectionFrame", "fovea.v1.Status"]) {
    out.set(full, { name: full, encoding: "protobuf", data: foveaSet, type: fovea.lookupType(full) });
  }
  return out;
}

/** The schema of a channel by its full protobuf name (e.g. `foxglove.CompressedImage`). */
export function channelSchema(name: string): ChannelSchema {
  cache ??= build();
  const schema = cache.get(name);
  if (!schema) throw new RangeError(`channelSchema: unknown schema name ${JSON.stringify(name)}; known: ${[...cache.keys()].join(", ")}`);
  return schema;
}

/** A google.protobuf.Timestamp object for a Unix epoch nanosecond time. */
export function timestampOf(timeNs: bigint): { seconds: number; nanos: number } {
  return { seconds: Number(timeNs / 1_000_000_000n), nanos: Number(timeNs % 1_000_000_000n) };
}

/** Unix epoch nanoseconds of a decoded google.protobuf.Timestamp (seconds may be a Long). */
export function timeNsOf(ts: { seconds?: unknown; nanos?: number } | null | undefined): bigint {
  if (!ts) return 0n;
  const seconds = ts.seconds == null ? 0n : BigInt(String(ts.seconds));
  return seconds * 1_000_000_000n + BigInt(ts.nanos ?? 0);
}
