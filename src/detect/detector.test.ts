import { describe, expect, it } from "vitest";
import { loadCalibration, DEFAULT_CALIBRATION_FILE } from "../calib/calibration.js";
import { CameraModel } from "../calib/camera-model.js";
import { presetMetadata } from "../train/network.js";
import { Detector } from "./detector.js";

describe("Detector", () => {
  it("projects to the ground through the frame's own camera pose when it has one", async () => {
    const calibration = await loadCalibration(DEFAULT_CALIBRATION_FILE);
    const meta = presetMetadata("heatmap");
    const rows = meta.input.height / 4;
    const cols = meta.input.width / 4;
    const C = meta.classes.length;
    // One ball peak at cell (row 20, col 16), 1 x 1 cell.
    const heatmap = new Float32Array(rows * cols * C);
    const regression = new Float32Array(rows * cols * 4);
    heatmap[(20 * cols + 16) * C] = 0.9;
    regression.set([0.5, 0.5, 0, 0], (20 * cols + 16) * 4);
    const detector = new Detector(meta, { calibration });
    const [still] = detector.detect({ heatmap, regression }, 640, 480);
    const [same] = detector.detect({ heatmap, regression }, 640, 480, 0, calibration.mount);
    const tilted = { ...calibration.mount, pitch: calibration.mount.pitch + 10, yaw: 20 };
    const [moved] = detector.detect({ heatmap, regression }, 640, 480, 0, tilted);
    expect(same.ground).toEqual(still.ground);
    // The ball's box bottom-centre, through the tilted head, is where that head would see it.
    const u = ((still.box.xMin + still.box.xMax) / 2) * 640;
    const v = still.box.yMax * 480;
    const expected = new CameraModel({ ...calibration, mount: tilted }, 640, 480).pixelToGround(u, v)!;
    expect(moved.ground!.x).toBeCloseTo(expected.x, 9);
    expect(moved.ground!.y).toBeCloseTo(expected.y, 9);
    expect(Math.hypot(moved.ground!.x - still.ground!.x, moved.ground!.y - still.ground!.y)).toBeGreaterThan(0.5);
  });
});
