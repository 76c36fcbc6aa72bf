/**
 * The live view's channels: the topics and schemas of a fovea recording (src/record), so Foxglove
 * shows a live robot and a recording with the same layout. Schemas go out as base64 serialized
 * FileDescriptorSets, as the Foxglove WebSocket protocol wants them for protobuf channels.
 */
import {
  channelSchema,
  SCHEMA_CAMERA_CALIBRATION,
  SCHEMA_COMPRESSED_IMAGE,
  SCHEMA_DETECTION_FRAME,
  SCHEMA_IMAGE_ANNOTATIONS,
  SCHEMA_STATUS,
  TOPIC_ANNOTATIONS,
  TOPIC_CALIBRATION,
  TOPIC_DETECTIONS,
  TOPIC_IMAGE,
  TOPIC_STATUS,
} from "../record/recording-format.js";

/** A channel as `FoxgloveServer.addChannel` takes it. */
export interface ViewChannel {
  topic: string;
  encoding: "protobuf";
  schemaName: string;
  /** base64 of the FileDescriptorSet. */
  schema: string;
  schemaEncoding: "protobuf";
}

export type ViewTopic = "image" | "annotations" | "calibration" | "detections" | "status";

const TOPICS: Record<ViewTopic, [topic: string, schema: string]> = {
  image: [TOPIC_IMAGE, SCHEMA_COMPRESSED_IMAGE],
  annotations: [TOPIC_ANNOTATIONS, SCHEMA_IMAGE_ANNOTATIONS],
  calibration: [TOPIC_CALIBRATION, SCHEMA_CAMERA_CALIBRATION],
  detections: [TOPIC_DETECTIONS, SCHEMA_DETECTION_FRAME],
  status: [TOPIC_STATUS, SCHEMA_STATUS],
};

/** Every channel the view advertises, by role. */
export function viewChannels(): Record<ViewTopic, ViewChannel> {
  const out = {} as Record<ViewTopic, ViewChannel>;
  for (const [role, [topic, schemaName]] of Object.entries(TOPICS) as Array<[ViewTopic, [string, string]]>) {
    const schema = channelSchema(schemaName);
    out[role] = {
      topic,
      encoding: "protobuf",
      schemaName,
      schema: Buffer.from(schema.data).toString("base64"),
      schemaEncoding: "protobuf",
    };
  }
  return out;
}
