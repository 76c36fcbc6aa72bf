/**
 * The Foxglove messages fovea derives from a frame: the image (`foxglove.CompressedImage`), the
 * boxes over it (`foxglove.ImageAnnotations`) and the calibration at the frame's size
 * (`foxglove.CameraCalibration`), encoded with the channel schemas. The MCAP recorder and the
 * live view (src/view) send the same bytes, so a recording and a live session look the same in
 * Foxglove.
 */
import sharp from "sharp";
import type { Calibration } from "../calib/calibration.js";
import type { Detection } from "../core/detection.js";
import type { Frame } from "../core/frame.js";
import {
  channelSchema,
  timestampOf,
  SCHEMA_CAMERA_CALIBRATION,
  SCHEMA_COMPRESSED_IMAGE,
  SCHEMA_IMAGE_ANNOTATIONS,
} from "./recording-format.js";
import { detectionAnnotations } from "./detection-annotations.js";

const JPEG_MAGIC = [0xff, 0xd8, 0xff];
const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47];
function startsWith(data: Buffer, magic: number[]): boolean {
  return data.length >= magic.length && magic.every((b, i) => data[i] === b);
}

/** What the image messages need of a frame. */
export type ImageFrame = Pick<Frame, "width" | "height" | "encoding" | "data" | "captureTimeNs">;

/**
 * The frame as an encoded `foxglove.CompressedImage`. Frames that already are JPEG or PNG pass
 * through as they came; anything else is JPEG-encoded by sharp on libuv's thread pool, so the
 * caller's thread only waits, it does not work.
 */
export async function compressedImageMessage(frame: ImageFrame, frameId: string, jpegQuality: number): Promise<Uint8Array> {
  let format: string;
  let data: Buffer;
  if (frame.encoding === "encoded" && startsWith(frame.data, JPEG_MAGIC)) {
    [format, data] = ["jpeg", frame.data];
  } else if (frame.encoding === "encoded" && startsWith(frame.data, PNG_MAGIC)) {
    [format, data] = ["png", frame.data];
  } else {
    // optimiseCoding off: libjpeg's second Huffman pass costs ~40% of the encode time for ~13%
    // smaller files (scripts/bench-record.ts); CPU is the scarcer resource on the robot.
    const input =
      frame.encoding === "rgb24"
        ? sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: 3 } })
        : sharp(frame.data);
    [format, data] = ["jpeg", await input.jpeg({ quality: jpegQuality, optimiseCoding: false }).toBuffer()];
  }
  return channelSchema(SCHEMA_COMPRESSED_IMAGE)
    .type.encode({ timestamp: timestampOf(frame.captureTimeNs), frame_id: frameId, data, format })
    .finish();
}

/** Detections of a frame as an encoded `foxglove.ImageAnnotations`, stamped with its capture time. */
export function imageAnnotationsMessage(
  detections: readonly Detection[],
  image: { width: number; height: number; captureTimeNs: bigint },
): Uint8Array {
  return channelSchema(SCHEMA_IMAGE_ANNOTATIONS).type.encode(detectionAnnotations(detections, image)).finish();
}

/** An encoded `foxglove.CameraCalibration` for the frame's size: intrinsics scaled from the reference size. */
export function cameraCalibrationMessage(
  c: Calibration,
  frame: { width: number; height: number; captureTimeNs: bigint },
  frameId: string,
): Uint8Array {
  const sx = frame.width / c.intrinsics.width;
  const sy = frame.height / c.intrinsics.height;
  const fx = c.intrinsics.fx * sx;
  const fy = c.intrinsics.fy * sy;
  const cx = c.intrinsics.cx * sx;
  const cy = c.intrinsics.cy * sy;
  const d = c.distortion;
  return channelSchema(SCHEMA_CAMERA_CALIBRATION)
    .type.encode({
      timestamp: timestampOf(frame.captureTimeNs),
      frame_id: frameId,
      width: frame.width,
      height: frame.height,
      distortion_model: "plumb_bob",
      D: [d.k1, d.k2, d.p1, d.p2, d.k3],
      K: [fx, 0, cx, 0, fy, cy, 0, 0, 1],
      R: [1, 0, 0, 0, 1, 0, 0, 0, 1],
      P: [fx, 0, cx, 0, 0, fy, cy, 0, 0, 0, 1, 0],
    })
    .finish();
}
