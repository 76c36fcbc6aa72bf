/**
 * Camera calibration file: intrinsics at a reference resolution, lens distortion, the camera's
 * mounting pose on the robot and white-balance gains. Validated with zod on load so a bad file
 * fails with the file and field named, never with a NaN later in the frame loop.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { FoveaInputError, describeIssues } from "../core/errors.js";

const positive = z.number().positive();
const finite = z.number().finite();

export const CalibrationSchema = z
  .object({
    /** Camera identifier published in every DetectionFrame. */
    cameraId: z.string().min(1),
    /**
     * Pinhole intrinsics in pixels at the reference resolution `width`x`height`. A camera model
     * for another image size scales them (same field of view, same aspect-relative centre).
     */
    intrinsics: z
      .object({
        width: z.number().int().positive(),
        height: z.number().int().positive(),
        fx: positive,
        fy: positive,
        cx: finite,
        cy: finite,
      })
      .strict(),
    /** Brown-Conrady coefficients in OpenCV's order and convention (k1, k2, p1, p2, k3). */
    distortion: z.object({ k1: finite, k2: finite, p1: finite, p2: finite, k3: finite.default(0) }).strict(),
    /**
     * Where the camera sits on the robot. Robot frame: x forward, y left, z up, origin on the
     * ground under the robot. Angles in degrees: `pitch` positive = looking down, `yaw` positive
     * = looking left, `roll` positive = camera turned clockwise about its optical axis as seen
     * from behind it (the scene then appears turned anticlockwise in the image).
     */
    mount: z
      .object({
        x: finite.default(0),
        y: finite.default(0),
        height: positive,
        pitch: z.number().min(-89).max(89),
        roll: z.number().min(-180).max(180).default(0),
        yaw: z.number().min(-180).max(180).default(0),
      })
      .strict(),
    /** Per-channel gains applied by preprocessing to neutralise the camera's colour cast. */
    whiteBalance: z.object({ r: positive, g: positive, b: positive }).strict().default({ r: 1, g: 1, b: 1 }),
  })
  .strict()
  .refine((c) => c.intrinsics.cx >= 0 && c.intrinsics.cx <= c.intrinsics.width, {
    message: "must lie inside the reference image (0..width)",
    path: ["intrinsics", "cx"],
  })
  .refine((c) => c.intrinsics.cy >= 0 && c.intrinsics.cy <= c.intrinsics.height, {
    message: "must lie inside the reference image (0..height)",
    path: ["intrinsics", "cy"],
  });

export type Calibration = z.infer<typeof CalibrationSchema>;
/** The mounting pose part of a calibration. */
export type MountPose = Calibration["mount"];

/** Validate an already-parsed object; `where` names its origin in errors. */
export function parseCalibration(value: unknown, where: string): Calibration {
  const result = CalibrationSchema.safeParse(value);
  if (!result.success) throw new FoveaInputError(where, `invalid calibration: ${describeIssues(result.error.issues)}`);
  return result.data;
}

/** Read and validate a calibration JSON file. */
export async function loadCalibration(file: string): Promise<Calibration> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new FoveaInputError(file, `cannot read calibration file (${(err as Error).message})`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new FoveaInputError(file, `not valid JSON (${(err as Error).message}); expected a calibration object`, { cause: err });
  }
  return parseCalibration(json, file);
}

/** Absolute path of the calibration shipped with fovea (same depth from src/ and dist/). */
export const DEFAULT_CALIBRATION_FILE = fileURLToPath(new URL("../../calibration/default.json", import.meta.url));
