import { describe, expect, it } from "vitest";
import { loadCalibration, DEFAULT_CALIBRATION_FILE } from "../calib/calibration.js";
import { CameraModel } from "../calib/camera-model.js";
import type { FitRule } from "../core/fit.js";
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

  describe("with letterbox and crop", () => {
    // The heatmap preset: 160x120 input, stride 4, so 40 x 30 cells of 4 input pixels.
    const withFit = (fit: FitRule) => {
      const meta = presetMetadata("heatmap");
      return { ...meta, preprocess: { ...meta.preprocess, fit } };
    };
    const cols = 40;
    const rows = 30;
    /** Outputs with one ball peak per [row, col, width and height in cells] (centred in its cell). */
    function peaks(C: number, ...cells: Array<[number, number, number]>) {
      const heatmap = new Float32Array(rows * cols * C);
      const regression = new Float32Array(rows * cols * 4);
      cells.forEach(([row, col, size], k) => {
        heatmap[(row * cols + col) * C] = 0.9 - k * 0.1;
        regression.set([0.5, 0.5, Math.log(size), Math.log(size)], (row * cols + col) * 4);
      });
      return { heatmap, regression };
    }

    it("maps a letterboxed 1280x720 frame's box back to the image, clipping at and dropping in the bands", () => {
      const meta = withFit("letterbox");
      const C = meta.classes.length;
      // Content 160x90 at input row 15. Peaks: cell (15, 20) 2x2 cells = input pixels x 78..86,
      // y 58..66; cell (3, 5) 2x2 = y 10..18, across the top band's edge; cell (1, 30) 1x1 = y 4..8,
      // in the band.
      const found = new Detector(meta).detect(peaks(C, [15, 20, 2], [3, 5, 2], [1, 30, 1]), 1280, 720);
      expect(found).toHaveLength(2);
      const [inside, edge] = found;
      expect(inside.box.xMin).toBeCloseTo(78 / 160, 6);
      expect(inside.box.xMax).toBeCloseTo(86 / 160, 6);
      expect(inside.box.yMin).toBeCloseTo((58 - 15) / 90, 6);
      expect(inside.box.yMax).toBeCloseTo((66 - 15) / 90, 6);
      expect(edge.box.yMin).toBe(0);
      expect(edge.box.yMax).toBeCloseTo((18 - 15) / 90, 6);
      expect(edge.box.xMin).toBeCloseTo(18 / 160, 6);
    });

    it("keeps a cropped frame's boxes within what the network saw", () => {
      const meta = withFit("crop");
      const C = meta.classes.length;
      // 1280x720 cropped: the scaled frame is 213 input pixels wide, 27 cut on the left. Peak at
      // cell (10, 0), 2x2 cells: input x -2..6 clipped to 0..6, y 38..46.
      const [d] = new Detector(meta).detect(peaks(C, [10, 0, 2]), 1280, 720);
      expect(d.box.xMin).toBeCloseTo(27 / 213, 6);
      expect(d.box.xMax).toBeCloseTo((6 + 27) / 213, 6);
      expect(d.box.yMin).toBeCloseTo(38 / 120, 6);
      expect(d.box.yMax).toBeCloseTo(46 / 120, 6);
    });

    it("projects the image box to the ground, and leaves a frame at the input's aspect ratio as fill does", async () => {
      const calibration = await loadCalibration(DEFAULT_CALIBRATION_FILE);
      const meta = withFit("letterbox");
      const out = peaks(meta.classes.length, [20, 16, 1]);
      const [d] = new Detector(meta, { calibration }).detect(out, 1280, 720);
      const u = ((d.box.xMin + d.box.xMax) / 2) * 1280;
      const v = d.box.yMax * 720;
      const expected = new CameraModel(calibration, 1280, 720).pixelToGround(u, v)!;
      expect(d.ground!.x).toBeCloseTo(expected.x, 9);
      expect(d.ground!.y).toBeCloseTo(expected.y, 9);
      expect(new Detector(meta).detect(out, 640, 480)).toEqual(new Detector(presetMetadata("heatmap")).detect(out, 640, 480));
    });
  });
});
