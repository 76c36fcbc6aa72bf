import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initTfjs } from "../../engine/tfjs-backend.js";
import { Rng } from "../../core/prng.js";
import { presetMetadata } from "../../train/network.js";
import { classWeightVector, heatmapLoss, heatmapTrainHead } from "./loss.js";
import { targetTensors } from "../train-head.js";

describe("heatmap loss class weights", () => {
  beforeAll(async () => {
    await initTfjs("cpu");
  });

  it("weights each class channel's focal loss, and all-ones weights change nothing", () => {
    const rng = new Rng(3);
    const shape = [2, 4, 5, 2];
    const n = 2 * 4 * 5 * 2;
    const gt = new Float32Array(n).map(() => (rng.next() < 0.1 ? 1 : rng.next() * 0.9));
    const heat = tf.tensor4d(
      new Float32Array(n).map(() => 0.05 + 0.9 * rng.next()),
      shape as [number, number, number, number],
    );
    const reg = tf.zeros([2, 4, 5, 4]);
    const t = { heat: tf.tensor4d(gt, shape as [number, number, number, number]), reg: tf.zeros([2, 4, 5, 4]), mask: tf.ones([2, 4, 5]) };
    const classLoss = (w?: number[]) => heatmapLoss(heat, reg, t, {}, w ? tf.tensor1d(w) : undefined).classes.dataSync()[0];
    const [ball, robot] = [classLoss([1, 0]), classLoss([0, 1])];
    expect(ball).toBeGreaterThan(0);
    expect(robot).toBeGreaterThan(0);
    expect(classLoss()).toBeCloseTo(ball + robot, 4);
    expect(classLoss([1, 1])).toBeCloseTo(classLoss(), 5);
    expect(classLoss([3, 1])).toBeCloseTo(3 * ball + robot, 4);
  });

  it("orders named weights by the model's classes and names a bad class or weight", () => {
    const classes = ["ball", "goal_post", "robot"];
    expect(classWeightVector(classes, undefined)).toBeUndefined();
    expect(classWeightVector(classes, { robot: 2, ball: 3 })).toEqual([3, 1, 2]);
    expect(() => classWeightVector(classes, { bal: 2 })).toThrow("class 'bal' is not a class of the model (ball, goal_post, robot)");
    expect(() => classWeightVector(classes, { ball: 0 })).toThrow("class 'ball': expected a positive weight, got 0");
  });
});

describe("heatmap loss confuser weights (negWeight)", () => {
  beforeAll(async () => {
    await initTfjs("cpu");
  });

  it("with negWeight all 1 equals the loss without it", () => {
    const rng = new Rng(5);
    const shape: [number, number, number, number] = [2, 4, 5, 2];
    const n = 2 * 4 * 5 * 2;
    const gt = new Float32Array(n).map(() => (rng.next() < 0.1 ? 1 : rng.next() * 0.9));
    const heat = tf.tensor4d(
      new Float32Array(n).map(() => 0.05 + 0.9 * rng.next()),
      shape,
    );
    const reg = tf.zeros([2, 4, 5, 4]);
    const t = { heat: tf.tensor4d(gt, shape), reg: tf.zeros([2, 4, 5, 4]), mask: tf.ones([2, 4, 5]) };
    const without = heatmapLoss(heat, reg, t).total.dataSync()[0];
    const ones = heatmapLoss(heat, reg, { ...t, negWeight: tf.ones(shape) }).total.dataSync()[0];
    expect(ones).toBeGreaterThan(0);
    expect(ones).toBeCloseTo(without, 6);
  });

  it("multiplies a negative cell's term by its weight, on top of the class weight", () => {
    // One row of 2 cells, channels [ball, robot]; a robot centred in cell 1 (its positive cell)
    // and the ball predicted high (0.9) in cell 0, where the ball target is 0.
    const heat = tf.tensor4d([0.9, 0.1, 0.2, 0.8], [1, 1, 2, 2]);
    const t = {
      heat: tf.tensor4d([0, 0, 0, 1], [1, 1, 2, 2]),
      reg: tf.zeros([1, 1, 2, 4]),
      mask: tf.tensor3d([0, 1], [1, 1, 2]),
    };
    const reg = tf.zeros([1, 1, 2, 4]);
    const k = 3;
    const negWeight = tf.tensor4d([k, 1, 1, 1], [1, 1, 2, 2]);
    const base = heatmapLoss(heat, reg, t);
    const weighted = heatmapLoss(heat, reg, { ...t, negWeight });
    // The cell's negative term: -log(1 - p) p^2 (1 - gt)^4, normalised by 1 object; k adds k - 1 of it.
    const cell = -Math.log(1 - 0.9) * 0.9 ** 2;
    const rise = weighted.classes.dataSync()[0] - base.classes.dataSync()[0];
    expect(rise).toBeCloseTo((k - 1) * cell, 4);
    expect(weighted.boxes.dataSync()[0]).toBe(base.boxes.dataSync()[0]);
    expect(weighted.total.dataSync()[0] - base.total.dataSync()[0]).toBeCloseTo((k - 1) * cell, 4);
    // A weight on the positive cell (robot, cell 1) changes nothing: it scales negatives only.
    const onPositive = heatmapLoss(heat, reg, { ...t, negWeight: tf.tensor4d([1, 1, 1, k], [1, 1, 2, 2]) });
    expect(onPositive.classes.dataSync()[0]).toBeCloseTo(base.classes.dataSync()[0], 6);
    // With the ball's class weight 2 the two multiply.
    const cw = tf.tensor1d([2, 1]);
    const both = heatmapLoss(heat, reg, { ...t, negWeight }, {}, cw).classes.dataSync()[0];
    expect(both - heatmapLoss(heat, reg, t, {}, cw).classes.dataSync()[0]).toBeCloseTo(2 * (k - 1) * cell, 4);
  });

  it("ships negWeight with the targets only when set, so a worker's loss sees it as the main thread's does", () => {
    const meta = presetMetadata("heatmap", { classes: ["ball", "goal_post", "robot"] });
    const frames = [[{ label: "robot", box: { xMin: 0.4, yMin: 0.3, xMax: 0.6, yMax: 0.7 } }]];
    expect(heatmapTrainHead(meta).encode(frames).arrays.negWeight).toBeUndefined();
    const head = heatmapTrainHead(meta, { confuserWeights: { ball: { robot: 3 } } });
    const targets = head.encode(frames);
    const { shape } = targets.arrays.heat;
    expect(targets.arrays.negWeight.shape).toEqual(shape);
    expect(Math.max(...targets.arrays.negWeight.data)).toBe(3);
    // A worker thread gets the targets by structured clone and its head from the same options.
    const outputs = [tf.fill(shape, 0.5), tf.zeros([...shape.slice(0, 3), 4])];
    const here = head.loss(outputs, targetTensors(targets)).classes.dataSync()[0];
    const there = heatmapTrainHead(meta, structuredClone({ confuserWeights: { ball: { robot: 3 } } }));
    expect(there.loss(outputs, targetTensors(structuredClone(targets))).classes.dataSync()[0]).toBe(here);
    expect(head.loss(outputs, targetTensors(heatmapTrainHead(meta).encode(frames))).classes.dataSync()[0]).toBeLessThan(here);
    expect(() => heatmapTrainHead(meta, { confuserWeights: { ball: { obstacle: 2 } } })).toThrow(/class 'obstacle'/);
  });
});
