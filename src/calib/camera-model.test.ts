import { describe, expect, it } from "vitest";
import { mkdtemp, writeFile, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CameraModel } from "./camera-model.js";
import { loadCalibration, parseCalibration, DEFAULT_CALIBRATION_FILE } from "./calibration.js";
import { FoveaInputError } from "../core/errors.js";

const calibration = await loadCalibration(DEFAULT_CALIBRATION_FILE);

describe("CameraModel", () => {
  it.each([
    [640, 480],
    [160, 120],
    [100, 100],
  ])("round-trips ground -> pixel -> ground within 1 mm across the image below the horizon (%ix%i)", (w, h) => {
    const cam = new CameraModel(calibration, w, h, { ...calibration.mount, pitch: 12, yaw: 20, roll: 3 });
    let checked = 0;
    for (let v = 0; v < h; v += h / 24) {
      for (let u = 0; u < w; u += w / 32) {
        const g = cam.pixelToGround(u, v);
        if (!g) continue;
        if (Math.hypot(g.x - cam.position.x, g.y - cam.position.y) > 30) continue;
        const p = cam.groundToPixel(g);
        expect(p).not.toBeNull();
        const back = cam.pixelToGround(p!.u, p!.v)!;
        expect(Math.abs(p!.u - u)).toBeLessThan(1e-6);
        expect(Math.abs(p!.v - v)).toBeLessThan(1e-6);
        expect(Math.hypot(back.x - g.x, back.y - g.y)).toBeLessThan(1e-3);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(300);
  });

  it("round-trips ground points on a metric grid in front of the robot within 1 mm", () => {
    const cam = new CameraModel(calibration, 640, 480);
    let checked = 0;
    for (let x = 0.5; x <= 12; x += 0.25) {
      for (let y = -6; y <= 6; y += 0.25) {
        const p = cam.groundToPixel({ x, y });
        if (!p || !cam.contains(p)) continue;
        const g = cam.pixelToGround(p.u, p.v)!;
        expect(Math.hypot(g.x - x, g.y - y)).toBeLessThan(1e-3);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(200);
  });

  it("puts the point straight ahead on the principal point and the horizon above it when pitched down", () => {
    const cam = new CameraModel(calibration, 640, 480, { x: 0, y: 0, height: 1, pitch: 45, roll: 0, yaw: 0 });
    const p = cam.groundToPixel({ x: 1, y: 0 })!;
    expect(p.u).toBeCloseTo(cam.cx, 6);
    expect(p.v).toBeCloseTo(cam.cy, 6);
    // y left appears to the image's left
    expect(cam.groundToPixel({ x: 1, y: 0.2 })!.u).toBeLessThan(cam.cx);
    expect(cam.horizonRow).toBeLessThan(0);
    const level = cam.withMount({ x: 0, y: 0, height: 1, pitch: 0, roll: 0, yaw: 0 });
    expect(level.horizonRow).toBeCloseTo(level.cy, 6);
    expect(level.pixelToGround(320, level.cy - 5)).toBeNull();
    expect(level.pixelToGround(320, level.cy + 5)).not.toBeNull();
  });

  it("returns null for points behind the camera", () => {
    const cam = new CameraModel(calibration, 640, 480);
    expect(cam.groundToPixel({ x: -3, y: 0 })).toBeNull();
  });

  it("scales intrinsics with the image size", () => {
    const big = new CameraModel(calibration, 640, 480);
    const small = new CameraModel(calibration, 320, 240);
    const a = big.groundToPixel({ x: 3, y: 1 })!;
    const b = small.groundToPixel({ x: 3, y: 1 })!;
    expect((b.u + 0.5) * 2).toBeCloseTo(a.u + 0.5, 6);
    expect((b.v + 0.5) * 2).toBeCloseTo(a.v + 0.5, 6);
  });

  it("rejects a non-integer size naming the argument", () => {
    expect(() => new CameraModel(calibration, 64.5, 48)).toThrow(/width/);
  });
});

describe("loadCalibration", () => {
  it("loads the shipped default", () => {
    expect(calibration.intrinsics.width).toBe(640);
    expect(calibration.mount.pitch).toBeGreaterThan(0);
  });

  it("names the file and the field at fault", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fovea-calib-"));
    const good = JSON.parse(await readFile(DEFAULT_CALIBRATION_FILE, "utf8"));
    const file = join(dir, "bad.json");
    await writeFile(file, JSON.stringify({ ...good, intrinsics: { ...good.intrinsics, fy: -1 } }));
    const err = await loadCalibration(file).catch((e) => e);
    expect(err).toBeInstanceOf(FoveaInputError);
    expect(err.message).toContain(file);
    expect(err.message).toContain("intrinsics.fy");

    await writeFile(file, JSON.stringify({ ...good, mount: { ...good.mount, height: undefined } }));
    expect((await loadCalibration(file).catch((e) => e)).message).toContain("mount.height");

    await writeFile(file, "{ not json");
    expect((await loadCalibration(file).catch((e) => e)).message).toMatch(/bad\.json: not valid JSON/);

    expect((await loadCalibration(join(dir, "missing.json")).catch((e) => e)).message).toContain("missing.json");
  });

  it("rejects a principal point outside the image", () => {
    const good = { ...calibration, intrinsics: { ...calibration.intrinsics, cx: 700 } };
    expect(() => parseCalibration(good, "x.json")).toThrow(/x\.json.*intrinsics\.cx/);
  });
});
