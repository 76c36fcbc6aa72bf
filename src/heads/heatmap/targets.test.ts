import { describe, expect, it } from "vitest";
import { HeatmapDecoder } from "./decode.js";
import { confuserPairs, encodeHeatmapTargets, gaussianRadius } from "./targets.js";

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

describe("confuser weights (negWeight)", () => {
  const robot = { label: "robot", box: { xMin: 0.4, yMin: 0.3, xMax: 0.6, yMax: 0.7 } };
  const w = (t: { negWeight?: Float32Array }, b: number, row: number, col: number, c: number) =>
    t.negWeight![((b * spec.rows + row) * spec.cols + col) * C + c];

  it("weighs the ball channel's cells whose centre is inside a robot box, and nothing else", () => {
    // The box spans cols 16..24 and rows 9..21 in cells: centres (x + 0.5, y + 0.5) inside it are
    // cols 16..23 and rows 9..20.
    const t = encodeHeatmapTargets([[], [robot]], spec, { ball: { robot: 3 } });
    const expected = new Float32Array(2 * spec.rows * spec.cols * C).fill(1);
    for (let row = 9; row <= 20; row++) for (let col = 16; col <= 23; col++) expected[((spec.rows + row) * spec.cols + col) * C] = 3;
    expect(t.negWeight).toEqual(expected);
    expect(t.negWeight!.filter((v) => v === 3)).toHaveLength(8 * 12);
    // The other targets are those of the encoding without it.
    const plain = encodeHeatmapTargets([[], [robot]], spec);
    expect(plain.negWeight).toBeUndefined();
    expect(t.heat).toEqual(plain.heat);
    expect(t.reg).toEqual(plain.reg);
    expect(t.mask).toEqual(plain.mask);
  });

  it("takes the largest weight where boxes overlap, and counts a box whose centre was cropped away", () => {
    const post = { label: "goal_post", box: { xMin: 0.5, yMin: 0.3, xMax: 0.7, yMax: 0.5 } };
    const cropped = { label: "robot", box: { xMin: -0.1, yMin: 0, xMax: 0.05, yMax: 0.04 } };
    const t = encodeHeatmapTargets([[robot, post, cropped]], spec, { ball: { robot: 3, goal_post: 2 }, goal_post: { robot: 1.5 } });
    expect(w(t, 0, 12, 20, 0)).toBe(3); // robot and post
    expect(w(t, 0, 12, 25, 0)).toBe(2); // post only
    expect(w(t, 0, 18, 20, 0)).toBe(3); // robot only
    expect(w(t, 0, 18, 20, 1)).toBe(1.5);
    expect(w(t, 0, 18, 20, 2)).toBe(1);
    // Cols 0..1 (centres 0.5 and 1.5 below 2) of row 0 (centre 0.5 below 1.2).
    expect([w(t, 0, 0, 0, 0), w(t, 0, 0, 1, 0), w(t, 0, 0, 2, 0), w(t, 0, 1, 0, 0)]).toEqual([3, 3, 1, 1]);
  });

  it("ships nothing for no pairs, and names a class the model lacks, a self pair or a bad weight", () => {
    expect(encodeHeatmapTargets([[robot]], spec, {}).negWeight).toBeUndefined();
    expect(confuserPairs(classes, { robot: { ball: 2 }, ball: { robot: 3 } })).toEqual([
      { channel: 2, inside: 0, weight: 2 },
      { channel: 0, inside: 2, weight: 3 },
    ]);
    expect(() => confuserPairs(classes, { ball: { obstacle: 2 } })).toThrow(
      "class 'obstacle' is not a class of the model (ball, goal_post, robot)",
    );
    expect(() => confuserPairs(classes, { bal: { robot: 2 } })).toThrow("class 'bal' is not a class of the model");
    expect(() => confuserPairs(classes, { ball: { ball: 2 } })).toThrow("'ball:ball' pairs a class with itself");
    expect(() => confuserPairs(classes, { ball: { robot: 0 } })).toThrow("'ball:robot': expected a positive weight, got 0");
    expect(() => confuserPairs(classes, { ball: { robot: Infinity } })).toThrow("expected a positive weight, got Infinity");
  });
});
