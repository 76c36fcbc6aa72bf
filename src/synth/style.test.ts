import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_CALIBRATION_FILE, loadCalibration } from "../calib/calibration.js";
import { FoveaInputError } from "../core/errors.js";
import { runSynth } from "../cli/synth.js";
import { readDataset } from "../dataset/read-dataset.js";
import { ADULT_SIZE_FIELD } from "./field.js";
import { frameJobs } from "./frame-jobs.js";
import { FrameRenderer } from "./render-frame.js";
import { SceneRenderer } from "./render.js";
import { sampleScene } from "./sample-scene.js";
import type { Entity, Material, Scene } from "./scene.js";
import { SHIFTED_LENSES, SYNTH_STYLES, WIDE_LENSES, type SynthStyle } from "./style.js";

const calibration = await loadCalibration(DEFAULT_CALIBRATION_FILE);
const mount = calibration.mount;

/** sha256 over the final pixels (after blur, noise, artefacts) and the labels of a run of frames. */
async function fingerprint(
  seed: number,
  frames: number,
  size: [number, number],
  options: { sequence?: boolean; style?: SynthStyle } = {},
): Promise<string> {
  const renderer = new FrameRenderer(calibration, size[0], size[1]);
  const hash = createHash("sha256");
  for (const job of frameJobs({ frames, seed, mount, output: "rgb", ...options })) {
    const frame = await renderer.render(job);
    hash.update(frame.data);
    hash.update(JSON.stringify(frame.labels));
  }
  return hash.digest("hex");
}

describe("default style", () => {
  // Computed from the renderer before appearance styles existed: training sets on disk and the
  // in-distribution test set were rendered by it, so these must never change.
  const BEFORE_STYLES = {
    s1: "23e2bddd1190e06af34b702fc1ed45d80a6f8258539e82da83b1157c7e037f36",
    s11: "4d0d7b2b36de82f6d050b8546fe7efd3ec7b55ed75955e2804a98032f2609601",
    s97: "44bad0333df42ab8e246d39cc5665741b6ff3a37dd4fa6e94c55fdd1730cd400",
    seq5: "ee72b1cdf471243a8b6bcdac30ae57420d97e348affe71a800f50df53a4ebed1",
    s11at320: "f4300d0a3fb5267200c141afa86a5a2ffe5b112b7611af01732c55b9a665395a",
  };

  it("renders pixels and labels identical to the renderer before styles, with or without --style default", async () => {
    for (const style of [undefined, "default"] as const) {
      expect(await fingerprint(1, 6, [160, 120], { style })).toBe(BEFORE_STYLES.s1);
      expect(await fingerprint(11, 6, [160, 120], { style })).toBe(BEFORE_STYLES.s11);
      expect(await fingerprint(97, 6, [160, 120], { style })).toBe(BEFORE_STYLES.s97);
    }
    expect(await fingerprint(5, 6, [160, 120], { sequence: true })).toBe(BEFORE_STYLES.seq5);
    expect(await fingerprint(11, 3, [320, 240])).toBe(BEFORE_STYLES.s11at320);
  }, 60_000);
});

describe("wide and shifted styles", () => {
  it("are deterministic per seed and differ between seeds", async () => {
    for (const style of ["wide", "shifted"] as const) {
      const a = await fingerprint(3, 4, [160, 120], { style });
      expect(await fingerprint(3, 4, [160, 120], { style })).toBe(a);
      expect(await fingerprint(4, 4, [160, 120], { style })).not.toBe(a);
    }
  }, 60_000);

  it("look different from the default and from each other, in the same situation", () => {
    const renderer = new SceneRenderer(calibration, 160, 120);
    let wideDiffers = 0,
      shiftedDiffers = 0;
    for (let seed = 0; seed < 12; seed++) {
      const [d, w, s] = SYNTH_STYLES.map((style) => sampleScene(seed, { mount, style }));
      // The layout comes from the default stream: same camera, same things in the same places.
      for (const styled of [w, s]) {
        expect(styled.robot).toEqual(d.robot);
        expect(styled.mount).toEqual(d.mount);
        // Goal posts keep their inner edge on the goal line, so a thicker post stands a little further out.
        const placed = (scene: Scene) =>
          scene.entities.filter((e) => e.label !== null && e.label !== "goal_post").map((e) => [e.label, e.ground]);
        expect(placed(styled)).toEqual(placed(d));
        expect(styled.entities.filter((e) => e.label === "goal_post")).toHaveLength(4);
      }
      const [rd, rw, rs] = [d, w, s].map((scene) => renderer.render(scene).rgb);
      if (!rw.equals(rd)) wideDiffers++;
      if (!rs.equals(rd) && !rs.equals(rw)) shiftedDiffers++;
    }
    // `wide` keeps some aspects at their default values part of the time, never all of them for 12 frames.
    expect(wideDiffers).toBe(12);
    expect(shiftedDiffers).toBe(12);
  });

  it("keep every label inside the image, and label every class", () => {
    const renderer = new SceneRenderer(calibration, 160, 120);
    for (const style of ["wide", "shifted"] as const) {
      const seen = new Set<string>();
      for (let seed = 0; seed < 40; seed++) {
        for (const l of renderer.render(sampleScene(seed, { mount, style })).labels) {
          seen.add(l.label);
          expect(l.box.xMin).toBeGreaterThanOrEqual(0);
          expect(l.box.yMin).toBeGreaterThanOrEqual(0);
          expect(l.box.xMax).toBeLessThanOrEqual(1);
          expect(l.box.yMax).toBeLessThanOrEqual(1);
          expect(l.box.xMax).toBeGreaterThan(l.box.xMin);
          expect(l.box.yMax).toBeGreaterThan(l.box.yMin);
        }
      }
      for (const c of ["ball", "goal_post", "robot", "obstacle", "L_crossing", "T_crossing", "X_crossing", "penalty_spot"])
        expect(seen, `${style}: ${c}`).toContain(c);
    }
  });

  it("draw boxes that are the projected extents: the part rectangles never cut a new shape or lens off", () => {
    const fast = new SceneRenderer(calibration, 160, 120),
      full = new SceneRenderer(calibration, 160, 120, { exhaustive: true });
    for (const style of ["wide", "shifted"] as const) {
      for (let seed = 200; seed < 215; seed++) {
        const scene = sampleScene(seed, { mount, style });
        const a = fast.render(scene),
          b = full.render(scene);
        expect(a.rgb.equals(b.rgb), `${style} seed ${seed}`).toBe(true);
        expect(a.labels).toEqual(b.labels);
      }
    }
  });
});

describe("new primitives", () => {
  const renderer = new SceneRenderer(calibration, 320, 240);
  const material: Material = { color: [220, 30, 30] };
  const plain = (entity: Entity): Scene => ({
    field: ADULT_SIZE_FIELD,
    robot: { x: -3, y: 0, heading: 0 },
    mount: { ...mount, pitch: 15, yaw: 0, roll: 0 },
    entities: [entity],
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
  });
  const labelOf = (entity: Entity) => renderer.render(plain(entity)).labels.find((l) => l.label === "robot")!;
  const thing = (parts: Entity["parts"]): Entity => ({ label: "robot", ground: { x: 0, y: 0.3 }, parts, shadow: { radius: 0, height: 0 } });

  it("an ellipsoid with equal semi-axes is the sphere, a cone with equal radii the cylinder", () => {
    const sphere = labelOf(thing([{ kind: "sphere", center: [0, 0.3, 0.5], radius: 0.3, material }]));
    const ellipsoid = labelOf(thing([{ kind: "ellipsoid", center: [0, 0.3, 0.5], radii: [0.3, 0.3, 0.3], heading: 0.7, material }]));
    expect(ellipsoid.box).toEqual(sphere.box);
    expect(Math.abs(ellipsoid.visiblePixels - sphere.visiblePixels)).toBeLessThanOrEqual(sphere.visiblePixels * 0.01);
    const cylinder = labelOf(thing([{ kind: "cylinder", x: 0, y: 0.3, z0: 0, z1: 1.2, radius: 0.2, material }]));
    const cone = labelOf(thing([{ kind: "cone", x: 0, y: 0.3, z0: 0, z1: 1.2, r0: 0.2, r1: 0.2, material }]));
    expect(cone.box).toEqual(cylinder.box);
    expect(Math.abs(cone.visiblePixels - cylinder.visiblePixels)).toBeLessThanOrEqual(cylinder.visiblePixels * 0.01);
  });

  it("a cone narrowing upwards covers fewer pixels than its base cylinder and more than its top one", () => {
    const base = labelOf(thing([{ kind: "cylinder", x: 0, y: 0.3, z0: 0, z1: 1.2, radius: 0.3, material }]));
    const top = labelOf(thing([{ kind: "cylinder", x: 0, y: 0.3, z0: 0, z1: 1.2, radius: 0.1, material }]));
    const cone = labelOf(thing([{ kind: "cone", x: 0, y: 0.3, z0: 0, z1: 1.2, r0: 0.3, r1: 0.1, material }]));
    expect(cone.visiblePixels).toBeLessThan(base.visiblePixels);
    expect(cone.visiblePixels).toBeGreaterThan(top.visiblePixels);
    expect(cone.box.yMin).toBeCloseTo(base.box.yMin, 1);
  });
});

describe("lenses", () => {
  it("every style lens maps the whole image to finite rays that project back to their pixels", () => {
    const renderer = new SceneRenderer(calibration, 160, 120);
    for (const lens of [...WIDE_LENSES, ...SHIFTED_LENSES]) {
      const scene: Scene = { ...sampleScene(1, { mount }), lens };
      const cam = renderer.cameras(scene).world;
      const rays = cam.normalisedRays();
      for (const [u, v] of [
        [0, 0],
        [159, 0],
        [0, 119],
        [159, 119],
        [80, 60],
        [0, 60],
        [80, 0],
      ]) {
        const i = 2 * (v * 160 + u);
        expect(Number.isFinite(rays[i]) && Number.isFinite(rays[i + 1])).toBe(true);
        const [xd, yd] = cam.distort(rays[i], rays[i + 1]);
        expect(cam.fx * xd + cam.cx).toBeCloseTo(u, 2);
        expect(cam.fy * yd + cam.cy).toBeCloseTo(v, 2);
        expect(rays[i] ** 2 + rays[i + 1] ** 2).toBeLessThan(cam.maxRadius ** 2);
      }
    }
  });
});

describe("fovea synth --style", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  const base = { frames: "2", size: "32x24", format: "native" as const, seed: "7", fps: "30", imageFormat: "jpeg" as const, threads: "0" };

  it("rejects an unknown style and a styled sequence, naming the flag", async () => {
    const out = path.join(tmpdir(), "fovea-style-never-written");
    await expect(runSynth({ ...base, out, style: "fancy" })).rejects.toThrow(FoveaInputError);
    await expect(runSynth({ ...base, out, style: "fancy" })).rejects.toThrow(/^--style: expected one of default, wide, shifted/);
    await expect(runSynth({ ...base, out, style: "wide", sequence: true })).rejects.toThrow(/^--style: .*--sequence/);
  });

  it("records the style and seed in the dataset manifest", async () => {
    for (const style of SYNTH_STYLES) {
      const out = await mkdtemp(path.join(tmpdir(), `fovea-style-${style}-`));
      dirs.push(out);
      await runSynth({ ...base, out, style, overwrite: true });
      const manifest = JSON.parse(await readFile(path.join(out, "fovea-dataset.json"), "utf8"));
      expect(manifest.synth).toEqual({ style, seed: 7 });
      expect((await readDataset(out)).synth).toEqual({ style, seed: 7 });
    }
  });
});
