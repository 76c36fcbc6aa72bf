import { describe, expect, it } from "vitest";
import { DEFAULT_CALIBRATION_FILE, loadCalibration } from "../calib/calibration.js";
import { SceneRenderer } from "./render.js";
import { ADULT_SIZE_FIELD } from "./field.js";
import { ball, goals, obstacle, randomRobotStyle, robot } from "./entities.js";
import { sampleScene } from "./sample-scene.js";
import { applyCameraEffects } from "./effects.js";
import { Rng } from "../core/prng.js";
import type { Entity, Rgb, Scene } from "./scene.js";

const calibration = await loadCalibration(DEFAULT_CALIBRATION_FILE);
const RED: Rgb = [230, 20, 20];

/** A plain, evenly lit scene: camera at the robot at `at`, looking along +x, nothing but `entities` and the goals. */
function plainScene(entities: Entity[], at = { x: -3, y: 0, heading: 0 }): Scene {
  return {
    field: ADULT_SIZE_FIELD,
    robot: at,
    mount: { ...calibration.mount, pitch: 20, yaw: 0, roll: 0 },
    entities: [...goals(ADULT_SIZE_FIELD), ...entities],
    lighting: {
      intensity: 1,
      cast: [1, 1, 1],
      ambient: 1,
      sunAzimuth: 0,
      sunElevation: 1,
      shadowStrength: 0,
      unevenness: 0,
      unevenPhase: [0, 0],
    },
    look: {
      grass: [40, 140, 40],
      stripeContrast: 0,
      stripeWidth: 1,
      texture: 0,
      line: [240, 240, 240],
      floor: [120, 120, 120],
      hallX: 10,
      hallY: 8,
      wallHeight: 4,
      wallPalette: [[90, 90, 200]],
      wallSeed: 1,
    },
    effects: { noise: 0, blurLength: 0, blurAngle: 0, vignette: 0 },
  };
}

const redBall = (x: number, y: number) =>
  ball(x, y, ADULT_SIZE_FIELD.ballRadius, { kind: "solid", base: RED, accent: RED, rotation: [1, 0, 0, 0, 1, 0, 0, 0, 1] });

function isRed(rgb: Buffer, i: number): boolean {
  return rgb[3 * i] > 150 && rgb[3 * i + 1] < 60 && rgb[3 * i + 2] < 60;
}

describe("SceneRenderer geometry", () => {
  const renderer = new SceneRenderer(calibration, 320, 240);
  const W = renderer.width,
    H = renderer.height;

  it("labels the ball with a box that holds exactly its pixels and its projected centre", () => {
    const scene = plainScene([redBall(0, 0.4)]);
    const out = renderer.render(scene);
    const labels = out.labels.filter((l) => l.label === "ball");
    expect(labels).toHaveLength(1);
    const { box, ground } = labels[0];
    // ground truth in the robot frame: 3 m ahead, 0.4 m to the left
    expect(ground!.x).toBeCloseTo(3, 9);
    expect(ground!.y).toBeCloseTo(0.4, 9);
    const { robot: cam } = renderer.cameras(scene);
    const centre = cam.robotToPixel({ x: ground!.x, y: ground!.y, z: ADULT_SIZE_FIELD.ballRadius })!;
    expect((centre.u + 0.5) / W).toBeGreaterThan(box.xMin);
    expect((centre.u + 0.5) / W).toBeLessThan(box.xMax);
    expect((centre.v + 0.5) / H).toBeGreaterThan(box.yMin);
    expect((centre.v + 0.5) / H).toBeLessThan(box.yMax);
    expect(isRed(out.rgb, Math.round(centre.v) * W + Math.round(centre.u))).toBe(true);
    let inside = 0,
      outside = 0;
    for (let v = 0; v < H; v++)
      for (let u = 0; u < W; u++) {
        if (!isRed(out.rgb, v * W + u)) continue;
        const inBox = u >= box.xMin * W && u < box.xMax * W && v >= box.yMin * H && v < box.yMax * H;
        if (inBox) inside++;
        else outside++;
      }
    expect(outside).toBe(0);
    expect(inside).toBe(labels[0].visiblePixels);
    // a sphere of radius r at ~3.3 m fills roughly pi*(f*r/d)^2 pixels
    const expected = Math.PI * ((cam.fx * ADULT_SIZE_FIELD.ballRadius) / 3.3) ** 2;
    expect(inside).toBeGreaterThan(expected * 0.7);
    expect(inside).toBeLessThan(expected * 1.4);
  });

  it("does not label a ball hidden behind a robot, and shrinks the box of a half-hidden one", () => {
    const style = { ...randomRobotStyle(new Rng(1)), height: 1.3, body: [30, 30, 30] as Rgb, team: [30, 30, 200] as Rgb };
    const hidden = renderer.render(plainScene([redBall(1, 0), robot(-1.5, 0, 0, style)]));
    expect(hidden.labels.some((l) => l.label === "ball")).toBe(false);
    expect(hidden.labels.some((l) => l.label === "robot")).toBe(true);

    // A 0.4 m wide box 1.5 m ahead whose left edge (y = 0.135) lines up with the middle of a ball 4 m ahead at y = 0.35.
    const wall = obstacle(-1.5, -0.065, 0, { kind: "box", size: [0.2, 0.4, 1.2], color: [30, 30, 200], accent: [0, 0, 0] });
    const free = renderer.render(plainScene([redBall(1, 0.35)])).labels.find((l) => l.label === "ball")!;
    const half = renderer.render(plainScene([redBall(1, 0.35), wall])).labels.find((l) => l.label === "ball");
    expect(half).toBeDefined();
    expect(half!.visiblePixels).toBeLessThan(free.visiblePixels);
    expect(half!.box.xMax - half!.box.xMin).toBeLessThan(free.box.xMax - free.box.xMin);
  });

  it("labels a ball only while enough of it is inside the image border", () => {
    const scene = plainScene([]);
    const { robot: cam } = renderer.cameras(scene);
    // Walk a ball at 3 m across the left image border and watch its label appear.
    let sawOutside = false,
      sawInside = false;
    for (let y = 3; y >= 0; y -= 0.1) {
      const out = renderer.render(plainScene([redBall(0, y)]));
      const label = out.labels.find((l) => l.label === "ball");
      const p = cam.robotToPixel({ x: 3, y, z: ADULT_SIZE_FIELD.ballRadius });
      const radiusPx = (cam.fx * ADULT_SIZE_FIELD.ballRadius) / 3;
      if (!p || p.u < -radiusPx - 1) {
        expect(label).toBeUndefined();
        sawOutside = true;
      }
      if (p && p.u > radiusPx + 1) {
        expect(label).toBeDefined();
        sawInside = true;
      }
      if (label) {
        expect(label.box.xMin).toBeGreaterThanOrEqual(0);
        expect(label.box.xMax).toBeLessThanOrEqual(1);
      }
    }
    expect(sawOutside && sawInside).toBe(true);
  });

  it("labels the penalty spot at its projection, and not when a box stands on it", () => {
    // Penalty spot at x = 7 - 2.1 = 4.9; robot at x = 2.9 sees it 2 m ahead.
    const at = { x: 2.9, y: 0, heading: 0 };
    const scene = plainScene([], at);
    const spot = renderer.render(scene).labels.find((l) => l.label === "penalty_spot");
    expect(spot).toBeDefined();
    expect(spot!.ground!.x).toBeCloseTo(2, 9);
    const p = renderer.cameras(scene).robot.groundToPixel(spot!.ground!)!;
    expect((p.u + 0.5) / W).toBeGreaterThan(spot!.box.xMin);
    expect((p.u + 0.5) / W).toBeLessThan(spot!.box.xMax);
    expect((p.v + 0.5) / H).toBeGreaterThan(spot!.box.yMin);
    expect((p.v + 0.5) / H).toBeLessThan(spot!.box.yMax);
    // the cross is painted there: bright pixels at the spot
    const out = renderer.render(scene);
    const i = Math.round(p.v) * W + Math.round(p.u);
    expect(out.rgb[3 * i]).toBeGreaterThan(150);

    const box = obstacle(4.9, 0, 0, { kind: "box", size: [0.4, 0.4, 0.5], color: [200, 120, 20], accent: [0, 0, 0] });
    const blocked = renderer.render(plainScene([box], at));
    expect(blocked.labels.some((l) => l.label === "penalty_spot")).toBe(false);
  });

  it("keeps every label of random scenes inside the image with its ground point in front of the camera", () => {
    const small = new SceneRenderer(calibration, 160, 120);
    const seen = new Set<string>();
    for (let s = 0; s < 40; s++) {
      const scene = sampleScene(s, { mount: calibration.mount });
      const { robot: cam } = small.cameras(scene);
      for (const l of small.render(scene).labels) {
        seen.add(l.label);
        expect(l.box.xMin).toBeGreaterThanOrEqual(0);
        expect(l.box.yMin).toBeGreaterThanOrEqual(0);
        expect(l.box.xMax).toBeLessThanOrEqual(1);
        expect(l.box.yMax).toBeLessThanOrEqual(1);
        expect(l.box.xMax).toBeGreaterThan(l.box.xMin);
        expect(l.box.yMax).toBeGreaterThan(l.box.yMin);
        expect(cam.robotToCamera({ ...l.ground!, z: 0.05 }).z).toBeGreaterThan(-0.5);
      }
    }
    for (const c of ["ball", "goal_post", "robot", "obstacle", "L_crossing", "T_crossing", "X_crossing", "penalty_spot"])
      expect(seen).toContain(c);
  });
});

describe("projected part rectangles", () => {
  it("never cut anything off: renders equal casting every pixel at every part", () => {
    const fast = new SceneRenderer(calibration, 160, 120),
      full = new SceneRenderer(calibration, 160, 120, { exhaustive: true });
    const scenes = Array.from({ length: 40 }, (_, s) => sampleScene(1000 + s, { mount: calibration.mount }));
    // and cameras right beside a goal and a robot, whose parts reach behind the camera
    const close = plainScene([robot(4.9, 0.2, 1, randomRobotStyle(new Rng(9)))], { x: 6.6, y: 1.35, heading: 0.3 });
    scenes.push(close, { ...close, robot: { x: 4.75, y: 0.2, heading: 2.5 } });
    for (const scene of scenes) {
      const a = fast.render(scene),
        b = full.render(scene);
      expect(a.rgb.equals(b.rgb)).toBe(true);
      expect(a.labels).toEqual(b.labels);
    }
  });
});

describe("determinism", () => {
  it("renders identical bytes and labels for the same seed, different ones for another", async () => {
    const a = new SceneRenderer(calibration, 160, 120),
      b = new SceneRenderer(calibration, 160, 120);
    const render = async (r: SceneRenderer, seed: number) => {
      const scene = sampleScene(seed, { mount: calibration.mount });
      const out = r.render(scene);
      return {
        rgb: await applyCameraEffects(out.rgb, 160, 120, { ...scene.effects, blurLength: 8 }, seed),
        labels: JSON.stringify(out.labels),
      };
    };
    const x = await render(a, 42),
      y = await render(b, 42),
      z = await render(a, 43);
    expect(x.rgb.equals(y.rgb)).toBe(true);
    expect(x.labels).toBe(y.labels);
    expect(x.rgb.equals(z.rgb)).toBe(false);
  });
});
