/**
 * The parts of a recording that compare and retag need besides the images: the recorded
 * DetectionFrames by frame number, and the metadata record (model, classes, calibration).
 */
import { parseCalibration, type Calibration } from "../calib/calibration.js";
import { FoveaInputError } from "../core/errors.js";
import { decodeDetectionFrame, type DetectionFrameMessage } from "../publish/codec.js";
import { RecordingReader, type RecordingEnd } from "./recording-reader.js";
import { RECORDING_METADATA_NAME, SCHEMA_DETECTION_FRAME, TOPIC_DETECTIONS } from "./recording-format.js";

/** What the recording's metadata record says (absent fields: a recording by another tool). */
export interface RecordingInfo {
  modelId?: string;
  cameraId?: string;
  classes?: string[];
  calibration?: Calibration;
  source?: string;
}

/** Parse the `fovea.recording` metadata record; a malformed field is a FoveaInputError. */
export function recordingInfo(reader: RecordingReader): RecordingInfo {
  const m = reader.metadata.get(RECORDING_METADATA_NAME);
  if (!m) return {};
  const where = `${reader.file} (metadata ${RECORDING_METADATA_NAME})`;
  const json = (key: string): unknown => {
    const text = m.get(key);
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new FoveaInputError(`${where}.${key}`, `not valid JSON (${(err as Error).message})`, { cause: err });
    }
  };
  const classes = json("classes");
  if (classes !== undefined && !(Array.isArray(classes) && classes.every((c) => typeof c === "string" && c.length > 0))) {
    throw new FoveaInputError(`${where}.classes`, "expected a JSON array of class names");
  }
  const calibration = json("calibration");
  return {
    ...(m.get("modelId") ? { modelId: m.get("modelId") } : {}),
    ...(m.get("cameraId") ? { cameraId: m.get("cameraId") } : {}),
    ...(m.get("source") ? { source: m.get("source") } : {}),
    ...(classes ? { classes: classes as string[] } : {}),
    ...(calibration !== undefined ? { calibration: parseCalibration(calibration, `${where}.calibration`) } : {}),
  };
}

export interface RecordedDetections {
  /** DetectionFrames by source frame number (`seq`). */
  frames: Map<number, DetectionFrameMessage>;
  info: RecordingInfo;
  end: RecordingEnd;
}

/** Read every DetectionFrame of a recording (a truncated file gives those of complete chunks). */
export async function readRecordedDetections(file: string): Promise<RecordedDetections> {
  const reader = await RecordingReader.open(file);
  const frames = new Map<number, DetectionFrameMessage>();
  for await (const m of reader.messages(new Set([TOPIC_DETECTIONS]))) {
    if (m.schemaName !== SCHEMA_DETECTION_FRAME) {
      throw new FoveaInputError(file, `${TOPIC_DETECTIONS} has schema ${JSON.stringify(m.schemaName)}; expected ${SCHEMA_DETECTION_FRAME}`);
    }
    const d = decodeDetectionFrame(m.data);
    frames.set(Number(d.seq), d);
  }
  return { frames, info: recordingInfo(reader), end: reader.end ?? { complete: false } };
}
