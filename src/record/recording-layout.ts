/**
 * What a fovea MCAP recording contains: its topics, their schema names and the metadata record.
 * Writer (McapRecorder), replay (McapSource), compare and retag agree on these names; Foxglove
 * recognises the `foxglove.*` schemas and draws the annotations over the image.
 */
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
