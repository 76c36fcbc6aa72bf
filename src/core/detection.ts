/** A box in normalised source-image coordinates (0..1, origin top-left). */
export interface Box {
  xMin: number;
  yMin: number;
  xMax: number;
  yMax: number;
}

/** A point on the ground plane in the robot frame, metres: x forward, y left. */
export interface GroundPoint {
  x: number;
  y: number;
}

/** One detected object. */
export interface Detection {
  /** Class name from the model's metadata (`ball`, `goal_post`, ...). */
  label: string;
  /** Index of the class in the model's metadata `classes`. */
  classIndex: number;
  /** 0..1 */
  confidence: number;
  box: Box;
  /** Present when the camera is calibrated and the point lies below the horizon. */
  ground?: GroundPoint;
}

/** The class set of the shipped models and the synthetic data (order = model output order). */
export const DEFAULT_CLASSES = [
  "ball",
  "goal_post",
  "robot",
  "obstacle",
  "L_crossing",
  "T_crossing",
  "X_crossing",
  "penalty_spot",
] as const;

/** Classes that are points on the field; their boxes are small boxes around the point. */
export const POINT_CLASSES: ReadonlySet<string> = new Set(["L_crossing", "T_crossing", "X_crossing", "penalty_spot"]);
