import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initTfjs } from "../../engine/tfjs-backend.js";
import { Rng } from "../../core/prng.js";
import { classWeightVector, heatmapLoss } from "./loss.js";

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
