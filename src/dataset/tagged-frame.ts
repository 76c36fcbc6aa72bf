/**
 * The in-memory form of a tagged frame, whatever format it was read from (native, YOLO, COCO).
 * Readers and writers live beside this file.
 */
import type { Box, GroundPoint } from "../core/detection.js";
import type { MountPose } from "../calib/calibration.js";

export interface LabelledObject {
  /** Class name (one of the dataset's classes). */
  label: string;
  /** Normalised image coordinates 0..1. Point features carry a small box around the point. */
  box: Box;
  /** Ground position in the robot frame (metres), when known (synthetic or calibrated). */
  ground?: GroundPoint;
}

export interface TaggedFrame {
  /** Image path relative to the dataset root. */
  image: string;
  width: number;
  height: number;
  objects: LabelledObject[];
  /**
   * The camera's mounting pose when this frame was taken, where it differs from the dataset's
   * calibration (a head that pans and tilts): ground positions were measured through it, so
   * `fovea eval` projects detections through it too. Native format only.
   */
  mount?: MountPose;
}

export type DatasetFormat = "native" | "yolo" | "coco";

/** Every on-disk format, in the order `readDataset` tries them when auto-detecting. */
export const DATASET_FORMATS: readonly DatasetFormat[] = ["native", "yolo", "coco"];

export interface Dataset {
  /** Absolute dataset root. */
  root: string;
  format: DatasetFormat;
  classes: string[];
  frames: TaggedFrame[];
  /**
   * Absolute path of the camera calibration the ground positions refer to, when the dataset
   * names one (native manifest, COCO `info.calibration`). YOLO cannot carry it.
   */
  calibration?: string;
  /** Native datasets rendered by `fovea synth`: the appearance style and seed that drew them. */
  synth?: { style: string; seed: number };
}

/** Incremental writer: frames are added one at a time so big synthetic sets never sit in memory. */
export interface DatasetWriter {
  /** `image` is the encoded image (PNG or JPEG); `frame.image` is the relative path to write it to. */
  add(frame: TaggedFrame, image: Buffer): Promise<void>;
  close(): Promise<void>;
}
