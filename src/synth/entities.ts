/** Builders for the things on the field: goals, balls, robots and other obstacles. */
import type { Rng } from "../core/prng.js";
import type { FieldDimensions } from "./field.js";
import type { BallPattern, Entity, Material, Primitive, Rgb, Texture } from "./scene.js";

const WHITE: Rgb = [235, 235, 230];

/** Four labelled posts, plus crossbars and goal frames that occlude but are not labelled. */
export function goals(f: FieldDimensions): Entity[] {
  const out: Entity[] = [];
  const r = f.postDiameter / 2;
  const material = { color: WHITE };
  for (const s of [-1, 1]) {
    const x = s * (f.length / 2 + r);
    for (const side of [-1, 1]) {
      const y = side * (f.goalWidth / 2 + r);
      out.push({
        label: "goal_post",
        ground: { x, y },
        parts: [{ kind: "cylinder", x, y, z0: 0, z1: f.goalHeight, radius: r, material }],
        shadow: { radius: r, height: f.goalHeight },
      });
    }
    const backX = s * (f.length / 2 + f.goalDepth);
    const frame: Primitive[] = [
      { kind: "box", center: [x, 0, f.goalHeight - r], half: [r, f.goalWidth / 2 + r, r], heading: 0, material },
      // Back frame: top bar, and bars on the ground holding the net.
      {
        kind: "box",
        center: [backX, 0, f.goalHeight - r],
        half: [0.03, f.goalWidth / 2, 0.03],
        heading: 0,
        material: { color: [200, 200, 200] },
      },
      { kind: "box", center: [backX, 0, 0.03], half: [0.03, f.goalWidth / 2, 0.03], heading: 0, material: { color: [200, 200, 200] } },
    ];
    for (const side of [-1, 1]) {
      const y = side * (f.goalWidth / 2 + r);
      frame.push({ kind: "cylinder", x: backX, y, z0: 0, z1: f.goalHeight, radius: 0.03, material: { color: [200, 200, 200] } });
      frame.push({
        kind: "box",
        center: [(x + backX) / 2, y, f.goalHeight - r],
        half: [Math.abs(backX - x) / 2, 0.03, 0.03],
        heading: 0,
        material: { color: [200, 200, 200] },
      });
    }
    // Nets: back, sides and roof, 10 cm mesh.
    const net = { color: [225, 225, 225] as Rgb, net: 0.1 };
    // Side nets and roof start behind the posts and crossbar, so they never cut through them.
    const front = x + s * r * 1.5;
    const depth = Math.abs(backX - front),
      midX = (front + backX) / 2;
    frame.push({
      kind: "box",
      center: [backX, 0, f.goalHeight / 2],
      half: [0.005, f.goalWidth / 2, f.goalHeight / 2],
      heading: 0,
      material: net,
    });
    frame.push({ kind: "box", center: [midX, 0, f.goalHeight], half: [depth / 2, f.goalWidth / 2, 0.005], heading: 0, material: net });
    for (const side of [-1, 1]) {
      frame.push({
        kind: "box",
        center: [midX, side * (f.goalWidth / 2 + r), f.goalHeight / 2],
        half: [depth / 2, 0.005, f.goalHeight / 2],
        heading: 0,
        material: net,
      });
    }
    out.push({ label: null, ground: { x, y: 0 }, parts: frame, shadow: { radius: 0, height: 0 } });
  }
  return out;
}

/** The look of the goals in the appearance styles (style.ts); the default renderer's goals take none. */
export interface GoalStyle {
  shape: "round" | "square";
  /** Width of posts and crossbar, metres. */
  diameter: number;
  color: Rgb;
  /** Back frame and its bars. */
  frameColor: Rgb;
  /** null: no net. */
  net: { spacing: number; color: Rgb } | null;
}

/**
 * Goals of another look: square or round posts of any width and white, a net of any mesh and
 * colour or none. Posts stand as the default goals' do (inner edge on the goal line's ends).
 */
export function styledGoals(f: FieldDimensions, st: GoalStyle): Entity[] {
  const out: Entity[] = [];
  const r = st.diameter / 2;
  const material = { color: st.color },
    frameMaterial = { color: st.frameColor };
  for (const s of [-1, 1]) {
    const x = s * (f.length / 2 + r);
    for (const side of [-1, 1]) {
      const y = side * (f.goalWidth / 2 + r);
      const post: Primitive =
        st.shape === "round"
          ? { kind: "cylinder", x, y, z0: 0, z1: f.goalHeight, radius: r, material }
          : { kind: "box", center: [x, y, f.goalHeight / 2], half: [r, r, f.goalHeight / 2], heading: 0, material };
      out.push({ label: "goal_post", ground: { x, y }, parts: [post], shadow: { radius: r, height: f.goalHeight } });
    }
    const backX = s * (f.length / 2 + f.goalDepth);
    const frame: Primitive[] = [
      { kind: "box", center: [x, 0, f.goalHeight - r], half: [r, f.goalWidth / 2 + r, r], heading: 0, material },
      { kind: "box", center: [backX, 0, f.goalHeight - 0.03], half: [0.03, f.goalWidth / 2, 0.03], heading: 0, material: frameMaterial },
      { kind: "box", center: [backX, 0, 0.03], half: [0.03, f.goalWidth / 2, 0.03], heading: 0, material: frameMaterial },
    ];
    for (const side of [-1, 1]) {
      const y = side * (f.goalWidth / 2 + r);
      frame.push({ kind: "cylinder", x: backX, y, z0: 0, z1: f.goalHeight, radius: 0.03, material: frameMaterial });
      frame.push({
        kind: "box",
        center: [(x + backX) / 2, y, f.goalHeight - 0.03],
        half: [Math.abs(backX - x) / 2, 0.03, 0.03],
        heading: 0,
        material: frameMaterial,
      });
    }
    if (st.net) {
      const net = { color: st.net.color, net: st.net.spacing };
      const front = x + s * r * 1.5;
      const depth = Math.abs(backX - front),
        midX = (front + backX) / 2;
      frame.push({
        kind: "box",
        center: [backX, 0, f.goalHeight / 2],
        half: [0.005, f.goalWidth / 2, f.goalHeight / 2],
        heading: 0,
        material: net,
      });
      frame.push({ kind: "box", center: [midX, 0, f.goalHeight], half: [depth / 2, f.goalWidth / 2, 0.005], heading: 0, material: net });
      for (const side of [-1, 1]) {
        frame.push({
          kind: "box",
          center: [midX, side * (f.goalWidth / 2 + r), f.goalHeight / 2],
          half: [depth / 2, 0.005, f.goalHeight / 2],
          heading: 0,
          material: net,
        });
      }
    }
    out.push({ label: null, ground: { x, y: 0 }, parts: frame, shadow: { radius: 0, height: 0 } });
  }
  return out;
}

export function hsv(h: number, s: number, v: number): Rgb {
  const i = Math.floor(h * 6),
    f = h * 6 - i;
  const p = v * (1 - s),
    q = v * (1 - f * s),
    t = v * (1 - (1 - f) * s);
  const [r, g, b] = [
    [v, t, p],
    [q, v, p],
    [p, v, t],
    [p, q, v],
    [t, p, v],
    [v, p, q],
  ][((i % 6) + 6) % 6];
  return [r * 255, g * 255, b * 255];
}

/** A random rotation matrix (row-major), uniform enough for ball patterns. */
export function randomRotation(rng: Rng): number[] {
  return rotationFromAngles(rng.range(0, 2 * Math.PI), Math.acos(rng.range(-1, 1)), rng.range(0, 2 * Math.PI));
}

export function rotationFromAngles(a: number, b: number, c: number): number[] {
  const ca = Math.cos(a),
    sa = Math.sin(a),
    cb = Math.cos(b),
    sb = Math.sin(b),
    cc = Math.cos(c),
    sc = Math.sin(c);
  // Rz(a) * Ry(b) * Rz(c)
  return [
    ca * cb * cc - sa * sc,
    -ca * cb * sc - sa * cc,
    ca * sb,
    sa * cb * cc + ca * sc,
    -sa * cb * sc + ca * cc,
    sa * sb,
    -sb * cc,
    sb * sc,
    cb,
  ];
}

/** Multiply two row-major 3x3 matrices. */
export function mat3Mul(a: number[], b: number[]): number[] {
  const o = new Array<number>(9);
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++) o[3 * i + j] = a[3 * i] * b[j] + a[3 * i + 1] * b[3 + j] + a[3 * i + 2] * b[6 + j];
  return o;
}

/**
 * A ball pattern: mostly the classic white ball with dark patches (the RoboCup standard), but
 * also any colour and pattern, so a detector never learns "ball = black and white".
 */
export function randomBallPattern(rng: Rng): BallPattern {
  const rotation = randomRotation(rng);
  const u = rng.next();
  if (u < 0.5) return { kind: "patches", base: WHITE, accent: rng.chance(0.7) ? [25, 25, 28] : hsv(rng.next(), 0.8, 0.8), rotation };
  const base = rng.chance(0.3) ? WHITE : hsv(rng.next(), rng.range(0.5, 1), rng.range(0.6, 1));
  const accent = hsv(rng.next(), rng.range(0.3, 1), rng.range(0.2, 1));
  if (u < 0.65) return { kind: "patches", base, accent, rotation };
  if (u < 0.78) return { kind: "halves", base, accent, rotation };
  if (u < 0.9) return { kind: "stripes", base, accent, rotation };
  return { kind: "solid", base, accent: base, rotation };
}

export function ball(x: number, y: number, radius: number, pattern: BallPattern): Entity {
  return {
    label: "ball",
    ground: { x, y },
    parts: [{ kind: "sphere", center: [x, y, radius], radius, material: { color: pattern.base, pattern } }],
    shadow: { radius, height: radius * 2 },
  };
}

/** Robot body colours of the default look; the `wide` style draws from them half the time. */
export const BODY_COLOURS: readonly Rgb[] = [
  [30, 30, 34],
  [60, 60, 66],
  [200, 200, 205],
  [150, 150, 158],
  [45, 55, 80],
  [230, 230, 230],
  [120, 90, 60],
];
const TEAM_COLOURS: Rgb[] = [
  [200, 30, 30],
  [30, 60, 200],
  [220, 30, 160],
  [30, 170, 200],
  [230, 140, 20],
  [240, 220, 40],
];

/** Parameters of a robot's look, kept so a sequence can move the same robot from frame to frame. */
export interface RobotStyle {
  height: number;
  body: Rgb;
  team: Rgb;
  round: boolean;
  headBox: boolean;
  stance: number;
}

export function randomRobotStyle(rng: Rng): RobotStyle {
  return {
    height: rng.range(0.5, 1.8),
    body: rng.pick(BODY_COLOURS),
    team: rng.chance(0.8) ? rng.pick(TEAM_COLOURS) : hsv(rng.next(), rng.range(0.4, 1), rng.range(0.4, 1)),
    round: rng.chance(0.4),
    headBox: rng.chance(0.5),
    stance: rng.range(-0.3, 0.3),
  };
}

/** A humanoid built from boxes, cylinders and a sphere, standing at (x, y) facing `heading`. */
export function robot(x: number, y: number, heading: number, st: RobotStyle): Entity {
  const H = st.height,
    s = H / 1.3;
  const c = Math.cos(heading),
    sn = Math.sin(heading);
  const at = (fx: number, fy: number): [number, number] => [x + c * fx - sn * fy, y + sn * fx + c * fy];
  const parts: Primitive[] = [];
  const body = { color: st.body },
    team = { color: st.team };
  const legH = 0.45 * H,
    torsoH = 0.3 * H;
  for (const side of [-1, 1]) {
    const step = side * st.stance * 0.15 * s;
    const [lx, ly] = at(step, side * 0.09 * s);
    const [fx, fy] = at(step + 0.04 * s, side * 0.09 * s);
    parts.push({ kind: "box", center: [fx, fy, 0.03 * s], half: [0.13 * s, 0.06 * s, 0.03 * s], heading, material: body });
    if (st.round) parts.push({ kind: "cylinder", x: lx, y: ly, z0: 0.06 * s, z1: legH, radius: 0.06 * s, material: body });
    else
      parts.push({
        kind: "box",
        center: [lx, ly, (0.06 * s + legH) / 2],
        half: [0.07 * s, 0.06 * s, (legH - 0.06 * s) / 2],
        heading,
        material: body,
      });
    const [ax, ay] = at(-side * st.stance * 0.1 * s, side * 0.22 * s);
    parts.push({
      kind: "box",
      center: [ax, ay, legH + torsoH - 0.17 * H],
      half: [0.045 * s, 0.045 * s, 0.17 * H],
      heading,
      material: body,
    });
  }
  const [tx, ty] = at(0, 0);
  if (st.round) parts.push({ kind: "cylinder", x: tx, y: ty, z0: legH, z1: legH + torsoH, radius: 0.16 * s, material: team });
  else parts.push({ kind: "box", center: [tx, ty, legH + torsoH / 2], half: [0.11 * s, 0.17 * s, torsoH / 2], heading, material: team });
  const headR = 0.09 * s;
  const headZ = legH + torsoH + 0.02 * s + headR;
  if (st.headBox) parts.push({ kind: "box", center: [tx, ty, headZ], half: [headR, headR * 1.1, headR], heading, material: body });
  else parts.push({ kind: "sphere", center: [tx, ty, headZ], radius: headR, material: body });
  return { label: "robot", ground: { x, y }, parts, shadow: { radius: 0.2 * s, height: H } };
}

/** A robot of the appearance styles: shape of every body part, proportions, colours, textures. */
export interface RobotBody {
  height: number;
  /** Leg and torso length as fractions of the height (the rest is hip, neck and head). */
  legs: number;
  torso: number;
  /** Scale of the shoulder width and of the limbs' thickness. */
  width: number;
  limb: number;
  /** Scale of the head. */
  head: number;
  /** `cone`: a chest wider than the waist (r1 > r0) or a skirt-like A shape (r1 < r0), see `taper`. */
  torsoShape: "box" | "cylinder" | "ellipsoid" | "cone";
  limbShape: "box" | "cylinder" | "cone";
  headShape: "sphere" | "box" | "cylinder" | "ellipsoid";
  /** Top radius over bottom radius of cone parts. */
  taper: number;
  /** Servo blocks at shoulders, elbows, hips and knees. */
  joints: boolean;
  /** Arms held away from the body: 0 hanging at the sides, 1 a forearm's width out. */
  armSpread: number;
  body: Rgb;
  team: Rgb;
  joint: Rgb;
  headColor: Rgb;
  torsoTexture?: Texture;
  limbTexture?: Texture;
  stance: number;
}

/** A humanoid of another hand: thighs and shins, upper and lower arms, torso and head of any primitive. */
export function styledRobot(x: number, y: number, heading: number, st: RobotBody): Entity {
  const H = st.height,
    s = H / 1.3;
  const c = Math.cos(heading),
    sn = Math.sin(heading);
  const at = (fx: number, fy: number): [number, number] => [x + c * fx - sn * fy, y + sn * fx + c * fy];
  const parts: Primitive[] = [];
  const body: Material = { color: st.body, texture: st.limbTexture },
    team: Material = { color: st.team, texture: st.torsoTexture };
  const joint: Material = { color: st.joint },
    headMaterial: Material = { color: st.headColor };
  const footH = 0.03 * s,
    legH = st.legs * H,
    torsoH = st.torso * H,
    hipH = 0.04 * H;
  const limbR = 0.055 * s * st.limb,
    armR = 0.04 * s * st.limb;
  const shoulder = 0.17 * s * st.width;
  /** A vertical limb segment of the robot's limb shape from z0 to z1 at (px, py). */
  const limb = (px: number, py: number, z0: number, z1: number, r: number, material: Material) => {
    if (z1 - z0 < 1e-3) return;
    if (st.limbShape === "cylinder") parts.push({ kind: "cylinder", x: px, y: py, z0, z1, radius: r, material });
    else if (st.limbShape === "cone") parts.push({ kind: "cone", x: px, y: py, z0, z1, r0: r, r1: r * st.taper, material });
    else parts.push({ kind: "box", center: [px, py, (z0 + z1) / 2], half: [r * 1.1, r, (z1 - z0) / 2], heading, material });
  };
  const jointBlock = (px: number, py: number, z: number, r: number) => {
    if (st.joints) parts.push({ kind: "box", center: [px, py, z], half: [r * 1.2, r * 1.3, r * 1.1], heading, material: joint });
  };
  const hipY = 0.09 * s * Math.max(0.8, st.width);
  for (const side of [-1, 1]) {
    const step = side * st.stance * 0.15 * s;
    const [lx, ly] = at(step, side * hipY);
    const [fx, fy] = at(step + 0.04 * s, side * hipY);
    parts.push({
      kind: "box",
      center: [fx, fy, footH],
      half: [0.13 * s, 0.06 * s * Math.max(0.8, st.limb), footH],
      heading,
      material: joint,
    });
    const knee = footH * 2 + (legH - footH * 2) * 0.48;
    limb(lx, ly, footH * 2, knee, limbR * 0.85, body);
    limb(lx, ly, knee, legH, limbR, body);
    jointBlock(lx, ly, knee, limbR);
    const out = shoulder + armR * (1 + 1.5 * st.armSpread);
    const [ax, ay] = at(-side * st.stance * 0.1 * s, side * out);
    const top = legH + torsoH,
      elbow = top - 0.17 * H;
    limb(ax, ay, top - 0.34 * H, elbow, armR * 0.85, body);
    limb(ax, ay, elbow, top, armR, body);
    jointBlock(ax, ay, elbow, armR);
    // Shoulder: a bar from the torso's centre line out to the arm, so spread arms stay attached.
    const [sx, sy] = at(-side * st.stance * 0.05 * s, (side * out) / 2);
    parts.push({ kind: "box", center: [sx, sy, top - armR], half: [armR, out / 2, armR], heading, material: joint });
    jointBlock(ax, ay, top - armR, armR * 1.2);
  }
  const [tx, ty] = at(0, 0);
  parts.push({ kind: "box", center: [tx, ty, legH - hipH / 2], half: [0.08 * s, hipY + limbR, hipH / 2], heading, material: joint });
  const z0 = legH,
    z1 = legH + torsoH;
  switch (st.torsoShape) {
    case "box":
      parts.push({
        kind: "box",
        center: [tx, ty, (z0 + z1) / 2],
        half: [0.11 * s * st.width, shoulder, torsoH / 2],
        heading,
        material: team,
      });
      break;
    case "cylinder":
      parts.push({ kind: "cylinder", x: tx, y: ty, z0, z1, radius: shoulder * 0.95, material: team });
      break;
    case "ellipsoid":
      parts.push({
        kind: "ellipsoid",
        center: [tx, ty, (z0 + z1) / 2],
        radii: [0.12 * s * st.width, shoulder * 1.05, torsoH * 0.55],
        heading,
        material: team,
      });
      break;
    case "cone": {
      const r0 = st.taper >= 1 ? shoulder / st.taper : shoulder;
      parts.push({ kind: "cone", x: tx, y: ty, z0, z1, r0, r1: r0 * st.taper, material: team });
      break;
    }
  }
  const headR = 0.09 * s * st.head;
  const neck = 0.03 * s;
  parts.push({ kind: "cylinder", x: tx, y: ty, z0: z1 - 0.01, z1: z1 + neck + 0.01, radius: 0.035 * s, material: joint });
  const headZ = z1 + neck + headR;
  switch (st.headShape) {
    case "sphere":
      parts.push({ kind: "sphere", center: [tx, ty, headZ], radius: headR, material: headMaterial });
      break;
    case "box":
      parts.push({ kind: "box", center: [tx, ty, headZ], half: [headR, headR * 1.2, headR * 0.9], heading, material: headMaterial });
      break;
    case "cylinder":
      parts.push({ kind: "cylinder", x: tx, y: ty, z0: headZ - headR, z1: headZ + headR, radius: headR * 1.05, material: headMaterial });
      break;
    case "ellipsoid":
      parts.push({
        kind: "ellipsoid",
        center: [tx, ty, headZ],
        radii: [headR * 1.1, headR * 0.9, headR * 1.2],
        heading,
        material: headMaterial,
      });
      break;
  }
  // Eyes/camera: a dark visor on the face, what every humanoid's head has.
  const [vx, vy] = at(headR * 0.75, 0);
  parts.push({
    kind: "box",
    center: [vx, vy, headZ + headR * 0.1],
    half: [headR * 0.35, headR * 0.7, headR * 0.25],
    heading,
    material: { color: [20, 20, 24] },
  });
  return { label: "robot", ground: { x, y }, parts, shadow: { radius: 0.2 * s * st.width, height: H } };
}

export interface ObstacleStyle {
  kind: "person" | "box" | "pole";
  size: [number, number, number];
  color: Rgb;
  accent: Rgb;
}

export function randomObstacleStyle(rng: Rng): ObstacleStyle {
  const kind = rng.pick(["person", "box", "pole"] as const);
  const color = hsv(rng.next(), rng.range(0.2, 1), rng.range(0.2, 0.95));
  const accent = hsv(rng.next(), rng.range(0, 0.8), rng.range(0.1, 0.9));
  if (kind === "person") return { kind, size: [0.3, 0.45, rng.range(1.55, 1.95)], color, accent };
  if (kind === "box") return { kind, size: [rng.range(0.2, 0.7), rng.range(0.2, 0.7), rng.range(0.2, 0.9)], color, accent };
  return { kind, size: [rng.range(0.05, 0.2), 0, rng.range(0.4, 1.6)], color, accent };
}

/** Referees, team members' legs, boxes, poles: whatever stands on a field and is not a robot. */
export function obstacle(x: number, y: number, heading: number, st: ObstacleStyle): Entity {
  const [w, d, h] = st.size;
  const parts: Primitive[] = [];
  if (st.kind === "person") {
    const c = Math.cos(heading),
      s = Math.sin(heading);
    for (const side of [-1, 1]) {
      parts.push({
        kind: "cylinder",
        x: x - s * side * 0.1,
        y: y + c * side * 0.1,
        z0: 0,
        z1: 0.48 * h,
        radius: 0.075,
        material: { color: st.accent },
      });
    }
    parts.push({ kind: "box", center: [x, y, 0.48 * h + 0.15 * h], half: [0.12, 0.2, 0.15 * h], heading, material: { color: st.color } });
    parts.push({ kind: "box", center: [x, y, 0.8 * h - 0.005], half: [0.1, 0.22, 0.02 * h], heading, material: { color: st.color } });
    parts.push({ kind: "sphere", center: [x, y, 0.9 * h], radius: 0.1, material: { color: [205, 160, 130] } });
    return { label: "obstacle", ground: { x, y }, parts, shadow: { radius: 0.25, height: h } };
  }
  if (st.kind === "box") {
    parts.push({ kind: "box", center: [x, y, h / 2], half: [w / 2, d / 2, h / 2], heading, material: { color: st.color } });
    return { label: "obstacle", ground: { x, y }, parts, shadow: { radius: Math.max(w, d) / 2, height: h } };
  }
  parts.push({ kind: "cylinder", x, y, z0: 0, z1: h, radius: w, material: { color: st.color } });
  return { label: "obstacle", ground: { x, y }, parts, shadow: { radius: w, height: h } };
}
