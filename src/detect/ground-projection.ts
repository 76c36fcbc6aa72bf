/**
 * Places detections on the ground plane in the robot frame using the calibrated camera model.
 * Standing objects (ball, robot, goal post, obstacle) touch the ground at the bottom centre of
 * their box; field marks (POINT_CLASSES) are the centre of their box.
 */
import { POINT_CLASSES, type Detection } from "../core/detection.js";

/**
 * What ground projection needs from a camera model (src/calib's CameraModel satisfies it).
 * `pixelToGround` takes pixel coordinates of an image of `width` x `height` and returns the
 * ground point (metres, x forward, y left) or null above the horizon.
 */
export interface GroundProjector {
  pixelToGround(u: number, v: number): { x: number; y: number } | null;
}

/**
 * Set `ground` on each detection in place (left unset above the horizon). `width`/`height` are
 * the pixel size of the frame the detections came from, which is the image size the camera
 * model is calibrated for.
 */
export function projectToGround(detections: Detection[], camera: GroundProjector, width: number, height: number): void {
  for (let i = 0; i < detections.length; i++) {
    const d = detections[i];
    const b = d.box;
    const u = ((b.xMin + b.xMax) / 2) * width;
    const v = (POINT_CLASSES.has(d.label) ? (b.yMin + b.yMax) / 2 : b.yMax) * height;
    const g = camera.pixelToGround(u, v);
    if (g) d.ground = { x: g.x, y: g.y };
  }
}
