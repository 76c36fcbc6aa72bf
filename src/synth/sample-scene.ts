/** Random scenes for training sets: one independent scene per frame, from a seed. */
import type { MountPose } from "../calib/calibration.js";
import { ADULT_SIZE_FIELD, type FieldDimensions } from "./field.js";
import { Rng } from "../core/prng.js";
import { ball, goals, obstacle, randomBallPattern, randomObstacleStyle, randomRobotStyle, robot } from "./entities.js";
import type { Effects, Entity, Lighting, Look, Rgb, Scene } from "./scene.js";
import { FrameStyle, type SynthStyle } from "./style.js";

export interface SceneOptions {
  /** The calibrated mount; head motion is sampled around it. */
  mount: MountPose;
  field?: FieldDimensions;
  /** Appearance style (style.ts); default `default`, the renderer's own look. */
  style?: SynthStyle;
}

export function sampleLighting(rng: Rng): Lighting {
  // Log-uniform brightness: as many dim halls as over-exposed ones.
  const intensity = Math.exp(rng.range(Math.log(0.3), Math.log(1.7)));
  const warmth = rng.range(-0.22, 0.22),
    tint = rng.range(-0.1, 0.1);
  const cast: Rgb = [1 + warmth, 1 + tint, 1 - warmth];
  return {
    intensity,
    cast,
    ambient: rng.range(0.35, 0.8),
    sunAzimuth: rng.range(0, 2 * Math.PI),
    sunElevation: rng.range(0.45, 1.4),
    shadowStrength: rng.chance(0.25) ? 0 : rng.range(0.15, 0.65),
    unevenness: rng.range(0, 0.35),
    unevenPhase: [rng.range(0, 6.3), rng.range(0, 6.3)],
  };
}

export function sampleLook(rng: Rng, field: FieldDimensions): Look {
  const g = rng.range(0.75, 1.15);
  const palette: Rgb[] = [];
  for (let i = 0; i < 8; i++) palette.push([rng.range(20, 230), rng.range(20, 230), rng.range(20, 230)]);
  return {
    grass: [rng.range(25, 70) * g, rng.range(110, 160) * g, rng.range(25, 70) * g],
    stripeContrast: rng.range(0, 0.08),
    stripeWidth: rng.range(0.5, 1.5),
    texture: rng.range(0.05, 0.25),
    line: [rng.range(215, 250), rng.range(215, 250), rng.range(210, 245)],
    floor: rng.pick<Rgb>([
      [110, 110, 115],
      [150, 140, 120],
      [70, 80, 110],
      [170, 170, 170],
    ]),
    hallX: field.length / 2 + field.borderStripWidth + rng.range(0.5, 4),
    hallY: field.width / 2 + field.borderStripWidth + rng.range(0.5, 4),
    wallHeight: rng.range(2.5, 6),
    wallPalette: palette,
    wallSeed: rng.int(0, 1 << 30),
  };
}

export function sampleEffects(rng: Rng, lighting: Lighting): Effects {
  // Dim scenes mean high sensor gain, hence more noise.
  const noise = Math.min(14, Math.max(1, 1.5 + 5 * (1 / lighting.intensity - 0.7) + rng.range(-1, 2)));
  const blur = rng.chance(0.3);
  return {
    noise,
    blurLength: blur ? rng.range(2, 14) : 0,
    blurAngle: rng.chance(0.75) ? rng.range(-0.35, 0.35) : Math.PI / 2 + rng.range(-0.3, 0.3),
    vignette: rng.range(0, 0.4),
  };
}

/** Head motion around the calibrated mount: pan, tilt and the sway of a walking robot. */
export function sampleHead(rng: Rng, mount: MountPose): MountPose {
  return {
    ...mount,
    height: mount.height + rng.range(-0.05, 0.03),
    pitch: mount.pitch + rng.range(-18, 18),
    yaw: mount.yaw + rng.range(-60, 60),
    roll: mount.roll + rng.range(-4, 4),
  };
}

/**
 * A random scene seeded by `seed`. A style other than `default` changes how things look, never
 * where they are: every draw of the default stream below happens whatever the style.
 */
export function sampleScene(seed: number, options: SceneOptions): Scene {
  const rng = new Rng(seed);
  const styled = options.style === undefined || options.style === "default" ? undefined : new FrameStyle(options.style, seed);
  const field = options.field ?? ADULT_SIZE_FIELD;
  const hl = field.length / 2,
    hw = field.width / 2;
  const head = sampleHead(rng, options.mount);
  const robotPose = { x: rng.range(-hl - 0.7, hl + 0.7), y: rng.range(-hw - 0.7, hw + 0.7), heading: rng.range(-Math.PI, Math.PI) };
  // Robots mostly look at something: the ball, a goal or the field centre.
  if (rng.chance(0.5)) {
    const target = rng.pick([
      { x: hl, y: 0 },
      { x: -hl, y: 0 },
      { x: 0, y: 0 },
    ]);
    robotPose.heading = Math.atan2(target.y - robotPose.y, target.x - robotPose.x) + rng.range(-0.6, 0.6);
  }
  const viewYaw = robotPose.heading + (head.yaw * Math.PI) / 180;
  const placed: Array<{ x: number; y: number; r: number }> = [{ x: robotPose.x, y: robotPose.y, r: 0.35 }];
  const free = (x: number, y: number, r: number) =>
    Math.abs(x) < hl + field.borderStripWidth &&
    Math.abs(y) < hw + field.borderStripWidth &&
    placed.every((p) => Math.hypot(p.x - x, p.y - y) > p.r + r);
  /** A spot in view of the camera (likely visible) or anywhere on the field. */
  const spot = (inViewChance: number, near: number, far: number, r: number): { x: number; y: number } | null => {
    for (let attempt = 0; attempt < 20; attempt++) {
      let x: number, y: number;
      if (rng.chance(inViewChance)) {
        const d = near + (far - near) * rng.next() ** 1.5;
        const a = viewYaw + rng.range(-0.65, 0.65);
        x = robotPose.x + d * Math.cos(a);
        y = robotPose.y + d * Math.sin(a);
      } else {
        x = rng.range(-hl - 0.5, hl + 0.5);
        y = rng.range(-hw - 0.5, hw + 0.5);
      }
      if (free(x, y, r)) {
        placed.push({ x, y, r });
        return { x, y };
      }
    }
    return null;
  };

  const entities: Entity[] = styled ? styled.goals(field) : [...goals(field)];
  if (rng.chance(0.9)) {
    const at = spot(0.75, 0.3, 9, field.ballRadius + 0.05);
    if (at) {
      const pattern = randomBallPattern(rng);
      entities.push(styled ? styled.ball(at.x, at.y, field, pattern) : ball(at.x, at.y, field.ballRadius, pattern));
    }
  }
  const robots = rng.int(0, 6);
  for (let i = 0; i < robots; i++) {
    const at = spot(0.5, 0.8, 9, 0.35);
    if (at) {
      const heading = rng.range(-Math.PI, Math.PI);
      const style = randomRobotStyle(rng);
      entities.push(styled ? styled.robot(i, at.x, at.y, heading, style) : robot(at.x, at.y, heading, style));
    }
  }
  const obstacles = rng.int(0, 3);
  for (let i = 0; i < obstacles; i++) {
    const at = spot(0.4, 0.8, 9, 0.4);
    if (at) entities.push(obstacle(at.x, at.y, rng.range(-Math.PI, Math.PI), randomObstacleStyle(rng)));
  }
  const lighting = sampleLighting(rng);
  const look = sampleLook(rng, field);
  const effects = sampleEffects(rng, lighting);
  if (!styled) return { field, robot: robotPose, mount: head, entities, lighting, look, effects };
  const camera = styled.camera(effects);
  const scene: Scene = {
    field: styled.field(field),
    robot: robotPose,
    mount: head,
    entities,
    lighting: styled.lighting(lighting, field),
    look: styled.look(look),
    effects: camera.effects,
  };
  if (camera.lens) scene.lens = camera.lens;
  return scene;
}
