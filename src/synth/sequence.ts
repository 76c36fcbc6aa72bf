/**
 * A continuous match clip: the observing robot walks towards the ball and kicks it, its head
 * follows the ball with a scanning sway, other robots close in, the ball rolls with friction and
 * spins as it rolls. Deterministic per seed; lighting and the hall stay fixed over the clip.
 */
import type { MountPose } from "../calib/calibration.js";
import { ADULT_SIZE_FIELD, type FieldDimensions } from "./field.js";
import { Rng } from "../core/prng.js";
import {
  ball,
  goals,
  mat3Mul,
  obstacle,
  randomBallPattern,
  randomObstacleStyle,
  randomRobotStyle,
  robot,
  type ObstacleStyle,
  type RobotStyle,
} from "./entities.js";
import { sampleLighting, sampleLook } from "./sample-scene.js";
import type { BallPattern, Effects, Lighting, Look, Scene } from "./scene.js";

export interface SequenceOptions {
  seed: number;
  /** The calibrated mount; the head moves around it. */
  mount: MountPose;
  fps?: number;
  field?: FieldDimensions;
}

interface Mover {
  x: number;
  y: number;
  heading: number;
  style: RobotStyle;
}

const WALK_SPEED = 0.35;
const TURN_RATE = 0.8;
const DEG = 180 / Math.PI;

export class MatchSequence {
  readonly fps: number;
  private readonly rng: Rng;
  private readonly field: FieldDimensions;
  private readonly mount: MountPose;
  private readonly lighting: Lighting;
  private readonly look: Look;
  private readonly noise: number;
  private readonly pattern: BallPattern;
  private readonly others: Mover[];
  private readonly obstacles: Array<{ x: number; y: number; heading: number; style: ObstacleStyle }>;
  private t = 0;
  private self = { x: 0, y: 0, heading: 0 };
  private ball = { x: 0, y: 0, vx: 0, vy: 0 };
  private headYaw = 0;
  private lastHeadYaw = 0;
  private lastHeading = 0;

  constructor(options: SequenceOptions) {
    this.fps = options.fps ?? 30;
    if (!(this.fps > 0)) throw new RangeError(`fps must be positive, got ${options.fps}`);
    this.rng = new Rng(options.seed);
    const rng = this.rng;
    this.field = options.field ?? ADULT_SIZE_FIELD;
    this.mount = options.mount;
    const hl = this.field.length / 2,
      hw = this.field.width / 2;
    this.lighting = sampleLighting(rng);
    // Keep the clip watchable: no extreme darkness for the default footage.
    this.lighting.intensity = Math.min(1.4, Math.max(0.6, this.lighting.intensity));
    this.look = sampleLook(rng, this.field);
    this.noise = Math.max(1.5, 1.5 + 4 * (1 / this.lighting.intensity - 0.8));
    this.pattern = randomBallPattern(rng);
    this.self = { x: rng.range(-hl + 1, -1), y: rng.range(-hw + 1, hw - 1), heading: rng.range(-1, 1) };
    this.ball = { x: this.self.x + rng.range(2, 4), y: this.self.y + rng.range(-1.5, 1.5), vx: 0, vy: 0 };
    // Start with the head already on the ball, so the first frames are not a whip-pan.
    this.headYaw = this.lastHeadYaw = this.trackingYaw();
    this.lastHeading = this.self.heading;
    this.others = Array.from({ length: rng.int(2, 4) }, () => ({
      x: rng.range(-hl + 1, hl - 1),
      y: rng.range(-hw + 1, hw - 1),
      heading: rng.range(-Math.PI, Math.PI),
      style: randomRobotStyle(rng),
    }));
    this.obstacles = Array.from({ length: rng.int(0, 2) }, () => ({
      x: rng.pick([-1, 1]) * rng.range(hl - 2, hl + 0.6),
      y: rng.pick([-1, 1]) * (hw + rng.range(0.3, 0.8)),
      heading: rng.range(-Math.PI, Math.PI),
      style: randomObstacleStyle(rng),
    }));
  }

  /** The scene at the current time; then advance one frame. */
  next(): Scene {
    const scene = this.scene();
    this.step(1 / this.fps);
    return scene;
  }

  private scene(): Scene {
    const f = this.field;
    const t = this.t;
    const s = this.self,
      b = this.ball;
    const dist = Math.hypot(b.x - s.x, b.y - s.y);
    // Look further down the closer the ball; a walking robot bobs and sways at its step frequency.
    const pitch = this.mount.pitch + Math.max(-12, Math.min(25, 14 - 5 * dist));
    const mount: MountPose = {
      ...this.mount,
      height: this.mount.height + 0.015 * Math.sin(4 * Math.PI * 1.8 * t),
      pitch,
      roll: this.mount.roll + 2 * Math.sin(2 * Math.PI * 1.8 * t),
      yaw: this.mount.yaw + this.headYaw * DEG,
    };
    // Turning smears the image along the rows: blur length ~ angular speed x exposure (8 ms) x focal length (~457 px at 640).
    const yawRate = (this.headYaw - this.lastHeadYaw + s.heading - this.lastHeading) * this.fps;
    const effects: Effects = { noise: this.noise, blurLength: Math.min(16, Math.abs(yawRate) * 0.008 * 457), blurAngle: 0, vignette: 0.2 };
    const spin = this.spin;
    const entities = [
      ...goals(f),
      ball(b.x, b.y, f.ballRadius, { ...this.pattern, rotation: spin }),
      ...this.others.map((o) => robot(o.x, o.y, o.heading, { ...o.style, stance: 0.3 * Math.sin(2 * Math.PI * 1.6 * t + o.x) })),
      ...this.obstacles.map((o) => obstacle(o.x, o.y, o.heading, o.style)),
    ];
    return { field: f, robot: { ...s }, mount, entities, lighting: this.lighting, look: this.look, effects };
  }

  private spin: number[] = [1, 0, 0, 0, 1, 0, 0, 0, 1];

  /** Head pan that follows the ball with a slow scanning sway, within +-70 degrees. */
  private trackingYaw(): number {
    const s = this.self,
      b = this.ball;
    const toBall = Math.atan2(b.y - s.y, b.x - s.x);
    return Math.max(-1.2, Math.min(1.2, 0.8 * wrap(toBall - s.heading) + 0.35 * Math.sin((2 * Math.PI * this.t) / 5)));
  }

  private step(dt: number): void {
    const f = this.field,
      rng = this.rng;
    const s = this.self,
      b = this.ball;
    this.lastHeadYaw = this.headYaw;
    this.lastHeading = s.heading;
    // Walk to the ball, turning at a limited rate.
    const toBall = Math.atan2(b.y - s.y, b.x - s.x);
    const turn = wrap(toBall - s.heading);
    s.heading = wrap(s.heading + Math.max(-TURN_RATE * dt, Math.min(TURN_RATE * dt, turn)));
    const dist = Math.hypot(b.x - s.x, b.y - s.y);
    const speed = Math.abs(turn) < 0.6 && dist > 0.45 ? WALK_SPEED : 0.05;
    s.x += Math.cos(s.heading) * speed * dt;
    s.y += Math.sin(s.heading) * speed * dt;
    // Kick when close: towards the opponent goal with some spread.
    if (dist < 0.45 && Math.hypot(b.vx, b.vy) < 0.1) {
      const dir = Math.atan2(-b.y, f.length / 2 - b.x) + rng.range(-0.6, 0.6);
      const v = rng.range(1.5, 3.5);
      b.vx = v * Math.cos(dir);
      b.vy = v * Math.sin(dir);
    }
    // The head tracks the ball with a scanning sway, limited to +-70 degrees of pan.
    this.headYaw = this.trackingYaw();
    // Ball: rolling friction, bounces at the edge of the carpet, spins as it rolls.
    const decay = Math.exp(-0.6 * dt);
    const moved = Math.hypot(b.vx, b.vy) * dt;
    if (moved > 0) {
      const ax = -b.vy,
        ay = b.vx,
        n = Math.hypot(ax, ay);
      this.spin = mat3Mul(this.spin, axisRotation(ax / n, ay / n, -moved / f.ballRadius));
    }
    b.x += b.vx * dt;
    b.y += b.vy * dt;
    b.vx *= decay;
    b.vy *= decay;
    const lx = f.length / 2 + f.borderStripWidth - 0.2,
      ly = f.width / 2 + f.borderStripWidth - 0.2;
    if (Math.abs(b.x) > lx) {
      b.vx = -b.vx * 0.5;
      b.x = Math.sign(b.x) * lx;
    }
    if (Math.abs(b.y) > ly) {
      b.vy = -b.vy * 0.5;
      b.y = Math.sign(b.y) * ly;
    }
    // Other robots drift towards the ball and stop at a respectful distance.
    for (const o of this.others) {
      const d = Math.hypot(b.x - o.x, b.y - o.y);
      const want = Math.atan2(b.y - o.y, b.x - o.x);
      o.heading = wrap(o.heading + Math.max(-0.5 * dt, Math.min(0.5 * dt, wrap(want - o.heading))));
      if (d > 1.5 && Math.hypot(s.x - o.x, s.y - o.y) > 0.8) {
        o.x += Math.cos(o.heading) * 0.2 * dt;
        o.y += Math.sin(o.heading) * 0.2 * dt;
      }
    }
    this.t += dt;
  }
}

function wrap(a: number): number {
  return Math.atan2(Math.sin(a), Math.cos(a));
}

/** Row-major rotation by `angle` about the unit axis (x, y, 0) (Rodrigues). */
function axisRotation(x: number, y: number, angle: number): number[] {
  const c = Math.cos(angle),
    s = Math.sin(angle),
    k = 1 - c;
  return [c + x * x * k, x * y * k, y * s, x * y * k, c + y * y * k, -x * s, -y * s, x * s, c];
}
