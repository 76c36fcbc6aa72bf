import { describe, expect, it } from "vitest";
import { HeatmapDecoder } from "./decode.js";
import { encodeHeatmapTargets, gaussianRadius } from "./targets.js";

const classes = ["ball", "goal_post", "robot"];
const spec = { rows: 30, cols: 40, classes };
const C = classes.length;
const at = (t: { heat: Float32Array }, b: number, row: number, col: number, c: number) =>
  t.heat[((b * spec.rows + row) * spec.cols + col) * C + c];

describe("encodeHeatmapTargets", () => {
  it("puts a peak of 1 at the centre cell, the sub-cell offset and log size in cells there", () => {
    // Centre (0.5125, 0.25) -> cell (col 20.5, row 7.5); box 0.05 x 0.1 of the image = 2 x 3 cells.
    const t = encodeHeatmapTargets([[{ label: "robot", box: { xMin: 0.4875, yMin: 0.2, xMax: 0.5375, yMax: 0.3 } }]], spec);
    expect(at(t, 0, 7, 20, 2)).toBe(1);
    expect(at(t, 0, 7, 20, 0)).toBe(0);
    const cell = 7 * spec.cols + 20;
    expect(t.mask[cell]).toBe(1);
    expect(t.mask.reduce((a, b) => a + b, 0)).toBe(1);
    expect(t.reg[cell * 4]).toBeCloseTo(0.5, 5);
    expect(t.reg[cell * 4 + 1]).toBeCloseTo(0.5, 5);
    expect(t.reg[cell * 4 + 2]).toBeCloseTo(Math.log(2), 5);
    expect(t.reg[cell * 4 + 3]).toBeCloseTo(Math.log(3), 5);
  });

  it("spreads a Gaussian sized by the object: none for a point, a falling bump for a large box", () => {
    const t = encodeHeatmapTargets(
      [
        [
          { label: "ball", box: { xMin: 0.1, yMin: 0.1, xMax: 0.11, yMax: 0.11 } },
          { label: "robot", box: { xMin: 0.4, yMin: 0.3, xMax: 0.6, yMax: 0.7 } },
        ],
      ],
      spec,
    );
    const ballRow = Math.floor(0.105 * 30);
    const ballCol = Math.floor(0.105 * 40);
    expect(at(t, 0, ballRow, ballCol, 0)).toBe(1);
    expect(at(t, 0, ballRow, ballCol + 1, 0)).toBe(0);
    expect(gaussianRadius(12, 8)).toBeGreaterThan(1);
    expect(at(t, 0, 15, 20, 2)).toBe(1);
    const near = at(t, 0, 15, 21, 2);
    const far = at(t, 0, 15, 22, 2);
    expect(near).toBeGreaterThan(far);
    expect(near).toBeLessThan(1);
    expect(far).toBeGreaterThan(0);
  });

  it("keeps the smaller object's box when two centres share a cell, and both classes' peaks", () => {
    const t = encodeHeatmapTargets(
      [
        [
          { label: "robot", box: { xMin: 0.4, yMin: 0.3, xMax: 0.6, yMax: 0.7 } },
          { label: "ball", box: { xMin: 0.5, yMin: 0.5, xMax: 0.51, yMax: 0.51 } },
        ],
      ],
      spec,
    );
    const cell = 15 * spec.cols + 20;
    expect(at(t, 0, 15, 20, 0)).toBe(1);
    expect(at(t, 0, 15, 20, 2)).toBe(1);
    expect(Math.exp(t.reg[cell * 4 + 2])).toBeCloseTo(0.4, 4);
  });

  it("skips objects whose centre is outside the image and names a label the model lacks", () => {
    const t = encodeHeatmapTargets([[{ label: "ball", box: { xMin: 0.98, yMin: 0.5, xMax: 1.1, yMax: 0.55 } }]], spec);
    expect(t.mask.reduce((a, b) => a + b, 0)).toBe(0);
    expect(() => encodeHeatmapTargets([[], [{ label: "dog", box: { xMin: 0, yMin: 0, xMax: 0.1, yMax: 0.1 } }]], spec)).toThrow(
      /frames\[1\]: label 'dog'/,
    );
  });

  it("decodes its own targets back to the labelled boxes (targets as network outputs)", () => {
    const objects = [
      { label: "ball", box: { xMin: 0.3, yMin: 0.62, xMax: 0.33, yMax: 0.66 } },
      { label: "ball", box: { xMin: 0.7, yMin: 0.1, xMax: 0.72, yMax: 0.13 } },
      { label: "goal_post", box: { xMin: 0.05, yMin: 0.2, xMax: 0.08, yMax: 0.6 } },
      { label: "robot", box: { xMin: 0.45, yMin: 0.3, xMax: 0.6, yMax: 0.75 } },
    ];
    const t = encodeHeatmapTargets([[], objects], spec);
    const decoder = new HeatmapDecoder({ classes, rows: 30, cols: 40, scoreThreshold: 0.5, nmsIou: 0.5, maxDetections: 10 });
    const found = decoder.decode({ heatmap: t.heat, regression: t.reg }, 1);
    expect(found).toHaveLength(4);
    for (const o of objects) {
      const d = found.find((x) => x.label === o.label && Math.abs(x.box.xMin - o.box.xMin) < 1e-5);
      expect(d, JSON.stringify(o)).toBeDefined();
      expect(d!.confidence).toBe(1);
      for (const k of ["xMin", "yMin", "xMax", "yMax"] as const) expect(d!.box[k]).toBeCloseTo(o.box[k], 5);
    }
    expect(decoder.decode({ heatmap: t.heat, regression: t.reg }, 0)).toEqual([]);
  });
});
