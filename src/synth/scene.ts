/**
 * What one synthetic frame shows, as plain data (structured-cloneable: scenes are generated on
 * the main thread and rendered on worker threads). World = field frame (see field.ts).
 */
import type { MountPose } from "../calib/calibration.js";
import type { FieldDimensions } from "./field.js";

export type Rgb = [number, number, number];

/** Surface pattern of a ball, in the ball's own frame (`rotation` is row-major world->ball). */
export interface BallPattern {
  /**
   * `patches`, `halves`, `stripes`, `solid`: the default renderer's patterns. The others come
   * from the appearance styles (style.ts): `octants` (three great circles), `rings` (`count`
   * bands), `dots` (`count` spots), `seams` (dark seam lines of half-width `size`), `swirl`
   * (`count` spiral arms).
   */
  kind: "patches" | "halves" | "stripes" | "solid" | "octants" | "rings" | "dots" | "seams" | "swirl";
  base: Rgb;
  accent: Rgb;
  rotation: number[];
  /** Bands, spots or arms of `rings`, `dots`, `swirl`. */
  count?: number;
  /** `patches`/`dots`: angular radius of a patch (radians; default patches 0.36). `seams`: half-width on the unit sphere. */
  size?: number;
}

/**
 * A surface texture in world coordinates (metres): robots' panels, stripes and wear. The accent
 * colour replaces the material colour where the texture is "on"; `speckle` mixes them.
 */
export interface Texture {
  kind: "bands" | "stripes" | "checker" | "speckle";
  /** Period (bands, stripes, checker) or grain (speckle), metres. */
  scale: number;
  accent: Rgb;
  /** Fraction of the period that shows the accent (bands, stripes), or speckle density. */
  fill: number;
}

export interface Material {
  color: Rgb;
  pattern?: BallPattern;
  /** A net: strings `net` metres apart on the part's two long axes, see-through between them. */
  net?: number;
  texture?: Texture;
}

export type Primitive =
  | { kind: "sphere"; center: [number, number, number]; radius: number; material: Material }
  /** Box turned by `heading` (radians) about the vertical axis. */
  | { kind: "box"; center: [number, number, number]; half: [number, number, number]; heading: number; material: Material }
  /** Vertical cylinder standing on (x, y) from z0 to z1. */
  | { kind: "cylinder"; x: number; y: number; z0: number; z1: number; radius: number; material: Material }
  /** Ellipsoid with semi-axes `radii` (x, y, z in its own frame), turned by `heading` about the vertical. */
  | { kind: "ellipsoid"; center: [number, number, number]; radii: [number, number, number]; heading: number; material: Material }
  /** Vertical truncated cone on (x, y): radius r0 at z0, r1 at z1, with flat caps. */
  | { kind: "cone"; x: number; y: number; z0: number; z1: number; r0: number; r1: number; material: Material };

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
  /**
   * Spot lights as pools of light on the field and on what stands in them: flat records of
   * (x, y, radius, gain); light is multiplied by 1 + gain inside a pool, with a soft edge.
   */
  spots?: number[];
}

/** Field surface beyond the default mowing stripes (appearance styles only). */
export interface Turf {
  /** `mown`: stripes of `stripeWidth` at `angle`; `checker`: mown both ways; `artificial`: fibre grain and rubber granules; `plain`: texture only. */
  kind: "mown" | "checker" | "artificial" | "plain";
  /** Direction of the mowing stripes (radians from the field's x axis). */
  angle: number;
  /** Brightness variation of the fibre grain of artificial turf. */
  grain: number;
  /** Worn patches: strength 0..1 of lighter/browner low-frequency blotches. */
  wear: number;
  /** Colour the worn patches fade towards. */
  wearColor: Rgb;
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
  /** Appearance styles only: another field surface (absent: default stripes and texture). */
  turf?: Turf;
  /** Appearance styles only: 0..1, how much of the line paint is worn away in patches. */
  lineWear?: number;
}

export interface Effects {
  /** Standard deviation of sensor noise in 8-bit units. */
  noise: number;
  /** Motion blur length in pixels at 640 px width (scales with the output), 0 for none. */
  blurLength: number;
  blurAngle: number;
  /** Darkening at the image corners, 0..0.5 (appearance styles go further). */
  vignette: number;
  /** Appearance styles only: JPEG quality the camera compressed the frame with before it was stored (artefacts). */
  jpegQuality?: number;
}

/** Another lens on the same camera (appearance styles only): focal length scale and radial distortion. */
export interface Lens {
  focalScale: number;
  k1: number;
  k2: number;
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
  /** Absent: the calibration's own lens. */
  lens?: Lens;
}
