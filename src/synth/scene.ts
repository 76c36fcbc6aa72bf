/**
 * What one synthetic frame shows, as plain data (structured-cloneable: scenes are generated on
 * the main thread and rendered on worker threads). World = field frame (see field.ts).
 */
import type { MountPose } from "../calib/calibration.js";
import type { FieldDimensions } from "./field.js";

export type Rgb = [number, number, number];

/** Surface pattern of a ball, in the ball's own frame (`rotation` is row-major world->ball). */
export interface BallPattern {
  kind: "patches" | "halves" | "stripes" | "solid";
  base: Rgb;
  accent: Rgb;
  rotation: number[];
}

export interface Material {
  color: Rgb;
  pattern?: BallPattern;
  /** A net: strings `net` metres apart on the part's two long axes, see-through between them. */
  net?: number;
}

export type Primitive =
  | { kind: "sphere"; center: [number, number, number]; radius: number; material: Material }
  /** Box turned by `heading` (radians) about the vertical axis. */
  | { kind: "box"; center: [number, number, number]; half: [number, number, number]; heading: number; material: Material }
  /** Vertical cylinder standing on (x, y) from z0 to z1. */
  | { kind: "cylinder"; x: number; y: number; z0: number; z1: number; radius: number; material: Material };

/** One thing on the field. Labelled things become ground truth when visible. */
export interface Entity {
  /** Class name, or null for structure that occludes but is never labelled (crossbar, goal frame). */
  label: string | null;
  /** Ground position (world) reported in the label: the ball's contact point, a robot's feet, a post's base. */
  ground: { x: number; y: number };
  parts: Primitive[];
  /** Radius of the footprint and height, for the blob shadow; 0 height casts none. */
  shadow: { radius: number; height: number };
}

export interface Lighting {
  /** Overall brightness after the camera's exposure, ~0.3 (dim hall) .. ~1.7 (over-exposed). */
  intensity: number;
  /** Multiplicative colour cast of the light (and uncorrected white balance). */
  cast: Rgb;
  ambient: number;
  sunAzimuth: number;
  /** Radians above the horizon. */
  sunElevation: number;
  /** 0 (diffuse light, no shadows) .. 1 (black shadows). */
  shadowStrength: number;
  /** Low-frequency unevenness of the light over the field (spotlights), 0..~0.4. */
  unevenness: number;
  /** Phases of the unevenness pattern along x and y. */
  unevenPhase: [number, number];
}

export interface Look {
  grass: Rgb;
  /** Relative brightness difference of the mowing stripes. */
  stripeContrast: number;
  stripeWidth: number;
  /** Relative strength of the turf's fine texture. */
  texture: number;
  line: Rgb;
  floor: Rgb;
  /** Half extents of the hall around the field (its walls), metres. */
  hallX: number;
  hallY: number;
  wallHeight: number;
  /** Colours of the audience/banner panels on the walls. */
  wallPalette: Rgb[];
  wallSeed: number;
}

export interface Effects {
  /** Standard deviation of sensor noise in 8-bit units. */
  noise: number;
  /** Motion blur length in pixels at 640 px width (scales with the output), 0 for none. */
  blurLength: number;
  blurAngle: number;
  /** Darkening at the image corners, 0..0.5. */
  vignette: number;
}

export interface Scene {
  field: FieldDimensions;
  /** The observing robot on the field: position and heading (radians, from +x towards +y). */
  robot: { x: number; y: number; heading: number };
  /** The camera's pose on that robot (calibrated mount plus head motion). */
  mount: MountPose;
  entities: Entity[];
  lighting: Lighting;
  look: Look;
  effects: Effects;
}
