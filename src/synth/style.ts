/**
 * Appearance styles of synthetic frames (`fovea synth --style`).
 *
 * - `default`: the renderer's own look, unchanged (training sets on disk depend on it).
 * - `wide`: the training randomisation. Every range includes the default look, and part of the
 *   time an aspect keeps its default value outright, so `wide` covers `default`.
 * - `shifted`: a style-shifted test set. Where a parameter has an order, its values lie outside
 *   the `wide` range; where it has kinds, it uses kinds `wide` never draws (other robot shapes,
 *   other ball patterns, diagonal mowing, other lenses).
 *
 * The scene's layout (camera, where things stand, how many) always comes from the default
 * stream, so a styled frame shows the same situation as the default frame of its seed. The
 * style's values come from separate streams derived from the frame seed, one per aspect: adding
 * a parameter here never moves a default frame, nor the values of another aspect.
 */
import { deriveSeed, Rng } from "../core/prng.js";
import {
  BODY_COLOURS,
  ball,
  goals,
  hsv,
  randomRotation,
  robot,
  styledGoals,
  styledRobot,
  type GoalStyle,
  type RobotBody,
  type RobotStyle,
} from "./entities.js";
import type { FieldDimensions } from "./field.js";
import type { BallPattern, Effects, Entity, Lens, Lighting, Look, Rgb, Texture, Turf } from "./scene.js";

export type SynthStyle = "default" | "wide" | "shifted";
export const SYNTH_STYLES: readonly SynthStyle[] = ["default", "wide", "shifted"];

export function isSynthStyle(value: unknown): value is SynthStyle {
  return typeof value === "string" && (SYNTH_STYLES as readonly string[]).includes(value);
}

/** The aspects of a frame that draw from their own stream. */
const Aspect = {
  Goals: 1,
  Ball: 2,
  Lines: 3,
  Lighting: 4,
  Camera: 5,
  Surface: 6,
  /** Robot i draws from Robot + i. */
  Robot: 100,
} as const;

/** Salt that separates the style streams from the default stream of the same frame seed. */
const STYLE_SALT = 0x51e7a5c3;

/** How often `wide` keeps an aspect's default value outright. */
const WIDE_KEEPS_DEFAULT = 0.25;

/** Lenses of other cameras, the calibration's own first. A few fixed lenses keep the renderer's ray tables cached. */
export const WIDE_LENSES: readonly Lens[] = [
  { focalScale: 1, k1: -0.12, k2: 0.03 },
  { focalScale: 0.9, k1: -0.2, k2: 0.05 },
  { focalScale: 0.85, k1: -0.25, k2: 0.06 },
  { focalScale: 1.1, k1: -0.06, k2: 0.01 },
  { focalScale: 1.15, k1: 0, k2: 0 },
  { focalScale: 1, k1: -0.04, k2: 0 },
];
export const SHIFTED_LENSES: readonly Lens[] = [
  { focalScale: 0.7, k1: -0.32, k2: 0.07 },
  { focalScale: 0.75, k1: -0.38, k2: 0.09 },
  { focalScale: 1.3, k1: 0.05, k2: 0 },
  { focalScale: 1, k1: 0.08, k2: 0.02 },
];

/** Draws one styled frame's appearance; the default values it replaces are passed in. */
export class FrameStyle {
  readonly style: "wide" | "shifted";
  private readonly seed: number;

  constructor(style: "wide" | "shifted", frameSeed: number) {
    this.style = style;
    this.seed = mix(frameSeed);
  }

  private rng(aspect: number): Rng {
    return new Rng(deriveSeed(this.seed, aspect));
  }

  private get wide(): boolean {
    return this.style === "wide";
  }

  /** The field with the style's line width. */
  field(field: FieldDimensions): FieldDimensions {
    const rng = this.rng(Aspect.Lines);
    if (this.wide) return rng.chance(WIDE_KEEPS_DEFAULT) ? field : { ...field, lineWidth: rng.range(0.04, 0.1) };
    return { ...field, lineWidth: rng.chance(0.5) ? rng.range(0.02, 0.035) : rng.range(0.11, 0.15) };
  }

  goals(field: FieldDimensions): Entity[] {
    const rng = this.rng(Aspect.Goals);
    if (this.wide && rng.chance(WIDE_KEEPS_DEFAULT)) return goals(field);
    let st: GoalStyle;
    if (this.wide) {
      const v = rng.range(205, 250);
      const color: Rgb = [v + rng.range(-8, 8), v + rng.range(-8, 8), v + rng.range(-8, 8)];
      const g = rng.range(150, 230);
      st = {
        shape: rng.chance(0.6) ? "round" : "square",
        diameter: rng.range(0.08, 0.16),
        color,
        frameColor: rng.chance(0.3) ? color : [g, g, g],
        net: rng.chance(0.8) ? { spacing: rng.range(0.06, 0.14), color: grey(rng.range(190, 240)) } : null,
      };
    } else {
      const v = rng.range(160, 200);
      // Greyish, cream or cold whites: goals painted, aged or lit unlike any `wide` white.
      const color: Rgb = rng.pick<Rgb>([
        [v, v, v],
        [v * 1.1, v * 1.03, v * 0.78],
        [v * 0.9, v * 0.95, v * 1.1],
      ]);
      const netColor = rng.pick<Rgb>([
        [25, 25, 30],
        [30, 50, 140],
        [40, 110, 50],
        [150, 30, 30],
      ]);
      st = {
        shape: rng.chance(0.5) ? "round" : "square",
        diameter: rng.chance(0.5) ? rng.range(0.04, 0.07) : rng.range(0.18, 0.25),
        color,
        frameColor: rng.chance(0.5) ? color : grey(rng.range(60, 120)),
        net: rng.chance(0.5) ? null : { spacing: rng.chance(0.5) ? rng.range(0.03, 0.05) : rng.range(0.15, 0.2), color: netColor },
      };
    }
    return styledGoals(field, st);
  }

  ball(x: number, y: number, field: FieldDimensions, fallback: BallPattern): Entity {
    const rng = this.rng(Aspect.Ball);
    if (this.wide && rng.chance(WIDE_KEEPS_DEFAULT)) return ball(x, y, field.ballRadius, fallback);
    const rotation = randomRotation(rng);
    let pattern: BallPattern, scale: number;
    if (this.wide) {
      scale = rng.range(0.9, 1.1);
      const base: Rgb = rng.chance(0.5) ? [235, 235, 230] : hsv(rng.next(), rng.range(0.3, 1), rng.range(0.55, 1));
      const accent: Rgb = rng.chance(0.5) ? grey(rng.range(15, 60)) : hsv(rng.next(), rng.range(0.3, 1), rng.range(0.15, 0.9));
      const kind = rng.pick(["patches", "halves", "stripes", "solid", "rings", "dots", "seams"] as const);
      pattern = { kind, base, accent: kind === "solid" ? base : accent, rotation };
      if (kind === "patches") pattern.size = rng.range(0.25, 0.45);
      if (kind === "rings") pattern.count = rng.int(3, 8);
      if (kind === "dots") Object.assign(pattern, { count: rng.int(12, 40), size: rng.range(0.12, 0.3) });
      if (kind === "seams") pattern.size = rng.range(0.03, 0.08);
    } else {
      scale = rng.chance(0.5) ? rng.range(0.78, 0.88) : rng.range(1.12, 1.3);
      // Low-contrast pastels and neon pairs: colour combinations no `wide` ball has.
      const h = rng.next();
      const base = rng.chance(0.5) ? hsv(h, rng.range(0.1, 0.25), rng.range(0.75, 0.95)) : hsv(h, 1, 1);
      const accent = rng.chance(0.5)
        ? hsv(h + rng.range(0.05, 0.15), rng.range(0.3, 0.5), rng.range(0.55, 0.75))
        : hsv(h + 0.5, 1, rng.range(0.3, 0.6));
      const kind = rng.pick(["octants", "swirl", "patches", "dots"] as const);
      pattern = { kind, base, accent, rotation };
      if (kind === "swirl") pattern.count = rng.int(2, 6);
      if (kind === "patches") pattern.size = rng.range(0.5, 0.62);
      if (kind === "dots") Object.assign(pattern, { count: rng.int(60, 90), size: rng.range(0.06, 0.1) });
    }
    return ball(x, y, field.ballRadius * scale, pattern);
  }

  robot(index: number, x: number, y: number, heading: number, fallback: RobotStyle): Entity {
    const rng = this.rng(Aspect.Robot + index);
    if (this.wide && rng.chance(WIDE_KEEPS_DEFAULT)) return robot(x, y, heading, fallback);
    return styledRobot(x, y, heading, this.wide ? wideRobot(rng, fallback.height) : shiftedRobot(rng));
  }

  look(fallback: Look): Look {
    const rng = this.rng(Aspect.Surface);
    if (this.wide && rng.chance(WIDE_KEEPS_DEFAULT)) return fallback;
    const wearColor = rng.pick<Rgb>([
      [120, 105, 70],
      [150, 150, 90],
      [95, 120, 60],
    ]);
    if (this.wide) {
      const keepGrass = rng.chance(0.3);
      const turf: Turf = {
        kind: rng.pick(["mown", "checker", "artificial", "plain"] as const),
        angle: rng.chance(0.5) ? 0 : Math.PI / 2,
        grain: rng.range(0.05, 0.25),
        wear: rng.chance(0.5) ? rng.range(0, 0.4) : 0,
        wearColor,
      };
      const v = rng.range(215, 250);
      return {
        ...fallback,
        grass: keepGrass ? fallback.grass : hsv(rng.range(0.23, 0.42), rng.range(0.45, 0.85), rng.range(0.3, 0.7)),
        stripeContrast: rng.range(0, 0.12),
        stripeWidth: rng.range(0.5, 2.5),
        texture: rng.range(0.03, 0.3),
        line: rng.chance(0.5) ? fallback.line : [v, v - rng.range(0, 10), v - rng.range(0, 15)],
        turf,
        lineWear: rng.chance(0.5) ? rng.range(0, 0.5) : 0,
      };
    }
    const grassHue = rng.chance(0.5) ? rng.range(0.17, 0.22) : rng.range(0.43, 0.47);
    const diagonal = rng.chance(0.5);
    const turf: Turf = {
      kind: diagonal ? "mown" : "artificial",
      angle: diagonal ? Math.PI / 4 + rng.range(-0.2, 0.2) : rng.range(0, Math.PI),
      grain: diagonal ? 0.1 : rng.range(0.35, 0.5),
      wear: rng.range(0.5, 0.8),
      wearColor,
    };
    const v = rng.range(170, 205);
    return {
      ...fallback,
      grass: rng.chance(0.7)
        ? hsv(grassHue, rng.range(0.45, 0.8), rng.range(0.3, 0.65))
        : hsv(rng.range(0.25, 0.4), rng.range(0.15, 0.4), rng.range(0.3, 0.6)),
      stripeContrast: rng.range(0.15, 0.25),
      stripeWidth: rng.range(2.5, 4),
      texture: rng.range(0.3, 0.45),
      line: [v * 1.05, v, v * 0.85],
      turf,
      lineWear: rng.range(0.5, 0.8),
    };
  }

  lighting(fallback: Lighting, field: FieldDimensions): Lighting {
    const rng = this.rng(Aspect.Lighting);
    if (this.wide && rng.chance(WIDE_KEEPS_DEFAULT)) return fallback;
    const spots = (count: number, r0: number, r1: number, g0: number, g1: number): number[] => {
      const out: number[] = [];
      for (let i = 0; i < count; i++)
        out.push(
          rng.range(-field.length / 2, field.length / 2),
          rng.range(-field.width / 2, field.width / 2),
          rng.range(r0, r1),
          rng.range(g0, g1),
        );
      return out;
    };
    if (this.wide) {
      const warmth = rng.range(-0.3, 0.3),
        tint = rng.range(-0.15, 0.15);
      return {
        ...fallback,
        cast: [1 + warmth, 1 + tint, 1 - warmth],
        sunElevation: rng.range(0.3, 1.45),
        unevenness: rng.range(0, 0.4),
        spots: rng.chance(0.5) ? spots(rng.int(1, 4), 2, 6, 0.1, 0.6) : undefined,
      };
    }
    const warmth = (rng.chance(0.5) ? 1 : -1) * rng.range(0.3, 0.4),
      tint = (rng.chance(0.5) ? 1 : -1) * rng.range(0.15, 0.2);
    return {
      ...fallback,
      // Mostly over-exposed: a low sun already darkens the field, and a set of black frames measures nothing.
      intensity: rng.chance(0.2) ? rng.range(0.22, 0.3) : rng.range(1.75, 2.1),
      cast: [1 + warmth, 1 + tint, 1 - warmth],
      sunElevation: rng.range(0.15, 0.3),
      shadowStrength: rng.range(0.65, 0.85),
      spots: spots(rng.int(4, 8), 1, 3, 0.7, 1.1),
    };
  }

  /** Camera effects and lens; `fallback` are the default effects drawn for the frame's lighting. */
  camera(fallback: Effects): { effects: Effects; lens: Lens | undefined } {
    const rng = this.rng(Aspect.Camera);
    if (this.wide) {
      if (rng.chance(WIDE_KEEPS_DEFAULT)) return { effects: fallback, lens: undefined };
      const blur = rng.chance(0.4);
      return {
        effects: {
          noise: Math.min(14, fallback.noise * rng.range(0.6, 1.3)),
          blurLength: rng.chance(0.5) ? fallback.blurLength : blur ? rng.range(2, 18) : 0,
          blurAngle: rng.range(0, Math.PI),
          vignette: rng.range(0, 0.5),
          jpegQuality: rng.chance(0.4) ? rng.range(35, 90) : undefined,
        },
        lens: rng.chance(0.4) ? undefined : rng.pick(WIDE_LENSES),
      };
    }
    return {
      effects: {
        noise: rng.range(15, 22),
        blurLength: rng.chance(0.7) ? rng.range(18, 30) : 0,
        blurAngle: rng.range(0, Math.PI),
        vignette: rng.range(0.5, 0.6),
        jpegQuality: rng.chance(0.8) ? rng.range(8, 25) : undefined,
      },
      lens: rng.pick(SHIFTED_LENSES),
    };
  }
}

function mix(frameSeed: number): number {
  return deriveSeed(frameSeed ^ STYLE_SALT, 0x7a11);
}

function grey(v: number): Rgb {
  return [v, v, v];
}

function texture(rng: Rng, kinds: readonly Texture["kind"][], scale: [number, number], accent: Rgb): Texture {
  return { kind: rng.pick(kinds), scale: rng.range(scale[0], scale[1]), accent, fill: rng.range(0.2, 0.5) };
}

/** Humanoids with boxy, round or egg-shaped bodies, the default's colours and any others, plain or panelled. */
function wideRobot(rng: Rng, height: number): RobotBody {
  const body = rng.chance(0.5) ? rng.pick(BODY_COLOURS) : hsv(rng.next(), rng.range(0, 0.8), rng.range(0.1, 0.95));
  const team = hsv(rng.next(), rng.range(0.3, 1), rng.range(0.3, 1));
  const joint = rng.chance(0.6) ? grey(rng.range(15, 50)) : body;
  return {
    height: rng.chance(0.5) ? height : rng.range(0.5, 1.8),
    legs: rng.range(0.4, 0.5),
    torso: rng.range(0.26, 0.34),
    width: rng.range(0.8, 1.25),
    limb: rng.range(0.7, 1.4),
    head: rng.range(0.85, 1.3),
    torsoShape: rng.pick(["box", "cylinder", "ellipsoid"] as const),
    limbShape: rng.pick(["box", "cylinder"] as const),
    headShape: rng.pick(["sphere", "box", "ellipsoid"] as const),
    taper: 1,
    joints: rng.chance(0.6),
    armSpread: rng.range(0, 1),
    body,
    team,
    joint,
    headColor: rng.chance(0.6) ? body : joint,
    torsoTexture: rng.chance(0.4)
      ? texture(
          rng,
          ["bands", "stripes", "speckle"],
          [0.08, 0.3],
          rng.chance(0.5) ? body : hsv(rng.next(), rng.range(0, 1), rng.range(0.2, 1)),
        )
      : undefined,
    limbTexture: rng.chance(0.25) ? texture(rng, ["bands", "speckle"], [0.05, 0.2], team) : undefined,
    stance: rng.range(-0.3, 0.3),
  };
}

/** Humanoids of tapered (cone) parts, skinny or bulky, long- or short-legged, in metallic, neon or checkered finishes. */
function shiftedRobot(rng: Rng): RobotBody {
  const finish = rng.pick(["metal", "neon", "pastel"] as const);
  const body: Rgb =
    finish === "metal"
      ? grey(rng.range(150, 190))
      : finish === "neon"
        ? hsv(rng.next(), 1, 1)
        : hsv(rng.next(), rng.range(0.15, 0.3), rng.range(0.85, 1));
  const team = hsv(rng.next(), rng.range(0.6, 1), rng.range(0.6, 1));
  const skinny = rng.chance(0.5);
  const v = rng.chance(0.5);
  return {
    height: rng.chance(0.5) ? rng.range(0.4, 0.5) : rng.range(1.8, 2),
    legs: rng.chance(0.5) ? rng.range(0.32, 0.38) : rng.range(0.5, 0.56),
    torso: rng.range(0.24, 0.3),
    width: skinny ? rng.range(0.6, 0.75) : rng.range(1.3, 1.6),
    limb: skinny ? rng.range(0.5, 0.65) : rng.range(1.5, 2),
    head: rng.chance(0.5) ? rng.range(0.6, 0.8) : rng.range(1.4, 1.7),
    torsoShape: "cone",
    limbShape: "cone",
    headShape: "cylinder",
    taper: v ? rng.range(1.4, 1.8) : rng.range(0.55, 0.7),
    joints: rng.chance(0.5),
    armSpread: rng.range(0.5, 1.5),
    body,
    team,
    joint: rng.pick<Rgb>([
      [200, 40, 40],
      [230, 200, 30],
      [240, 240, 240],
    ]),
    headColor: team,
    torsoTexture: texture(rng, ["checker"], [0.05, 0.12], body),
    limbTexture: rng.chance(0.5) ? texture(rng, ["checker", "stripes"], [0.03, 0.08], team) : undefined,
    stance: rng.range(-0.3, 0.3),
  };
}
