import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { cellAccuracy, encodeGridTargets, gridLoss } from "./targets.js";

const spec = { rows: 2, cols: 4, classes: ["ball", "robot"] };
const box = (x: number, y: number, w: number, h: number) => ({ xMin: x - w / 2, yMin: y - h / 2, xMax: x + w / 2, yMax: y + h / 2 });

describe("grid targets", () => {
  it("puts each object in the cell of its centre with in-cell offset and image-relative size", () => {
    const t = encodeGridTargets([[{ label: "robot", box: box(0.6, 0.3, 0.2, 0.4) }]], spec);
    // centre (0.6, 0.3) -> col 2 (0.5..0.75), row 0; cell 2
    const k = 3;
    expect(Array.from(t.classes.slice(2 * k, 3 * k))).toEqual([0, 1, 0]);
    expect(Array.from(t.positive)).toEqual([0, 0, 1, 0, 0, 0, 0, 0]);
    const [cx, cy, w, h] = t.boxes.slice(8, 12);
    expect(cx).toBeCloseTo(0.4); // 0.6*4 - 2
    expect(cy).toBeCloseTo(0.6); // 0.3*2 - 0
    expect(w).toBeCloseTo(0.2);
    expect(h).toBeCloseTo(0.4);
    for (const cell of [0, 1, 3, 4, 5, 6, 7]) expect(t.classes[cell * k + 2]).toBe(1); // background last
  });

  it("keeps the smaller object when two centres share a cell, and skips centres outside", () => {
    const t = encodeGridTargets(
      [
        [
          { label: "robot", box: box(0.1, 0.2, 0.2, 0.4) },
          { label: "ball", box: box(0.12, 0.25, 0.05, 0.05) },
          { label: "ball", box: box(1.2, 0.5, 0.1, 0.1) },
        ],
      ],
      spec,
    );
    expect(Array.from(t.classes.slice(0, 3))).toEqual([1, 0, 0]);
    expect(t.positive.reduce((a, b) => a + b, 0)).toBe(1);
  });

  it("names an unknown label", () => {
    expect(() => encodeGridTargets([[{ label: "goal_post", box: box(0.5, 0.5, 0.1, 0.1) }]], spec)).toThrow(/goal_post/);
  });

  it("loss is lower for the right prediction than for a wrong one, and counts accuracy", () => {
    const t = encodeGridTargets([[{ label: "ball", box: box(0.1, 0.2, 0.1, 0.1) }]], spec);
    const targets = {
      classes: tf.tensor3d(t.classes, [1, 8, 3]),
      boxes: tf.tensor3d(t.boxes, [1, 8, 4]),
      positive: tf.tensor2d(t.positive, [1, 8]),
    };
    const soft = (p: Float32Array) =>
      tf.tensor3d(
        p.map((v) => v * 0.9 + 0.1 / 3),
        [1, 8, 3],
      );
    const right = soft(t.classes);
    const wrongProbs = new Float32Array(24).map((_, i) => (i % 3 === 2 ? 1 : 0)); // all background
    const wrong = soft(wrongProbs);
    const lr = gridLoss(right, targets.boxes, targets);
    const lw = gridLoss(wrong, tf.zerosLike(targets.boxes), targets);
    expect(lr.total.dataSync()[0]).toBeLessThan(lw.total.dataSync()[0]);
    expect(lr.boxes.dataSync()[0]).toBe(0);
    expect(lw.boxes.dataSync()[0]).toBeGreaterThan(0);
    expect(cellAccuracy(right.dataSync() as Float32Array, t)).toEqual({
      objectCorrect: 1,
      objectCells: 1,
      backgroundCorrect: 7,
      backgroundCells: 7,
    });
    expect(cellAccuracy(wrong.dataSync() as Float32Array, t).objectCorrect).toBe(0);
  });
});
