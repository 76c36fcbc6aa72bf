import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { describe, expect, it } from "vitest";
import { Rng } from "../../core/prng.js";
import { batchNormTraining, TrainingBatchNorm, trainingBatchNorm } from "./batch-norm.js";
import { maxAbsDiff } from "../../core/max-abs-diff.js";

function values(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  return new Rng(seed).fill(new Float32Array(n), lo, hi);
}

const shape: [number, number, number, number] = [3, 5, 7, 6];
const EPS = 1e-3;

/** Gradients of sum(bn(x) * r) w.r.t. x, gamma and beta; `fast` = batchNormTraining, else tfjs's moments + batchNorm. */
async function gradients(backend: string, fast: boolean): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const x = tf.tensor4d(
      values(
        shape.reduce((a, b) => a * b),
        1,
        -2,
        3,
      ),
      shape,
    );
    const gamma = tf.tensor1d(values(6, 2, 0.5, 2));
    const beta = tf.tensor1d(values(6, 3));
    const r = tf.tensor4d(values(x.size, 4), shape);
    const f = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      if (fast) return tf.sum(tf.mul(batchNormTraining(a, g, b, EPS), r));
      const { mean, variance } = tf.moments(a, [0, 1, 2]);
      return tf.sum(tf.mul(tf.batchNorm(a, mean, variance, b, g, EPS), r));
    };
    const value = f(x, gamma, beta).dataSync()[0];
    const grads = tf.grads(f as (...t: tf.Tensor[]) => tf.Tensor)([x, gamma, beta]);
    return [Float32Array.of(value), ...grads.map((g) => g.dataSync() as Float32Array)];
  });
}

describe("training batch norm", () => {
  it("gives tfjs's own value and gradients (cpu backend reference) on cpu and on wasm", async () => {
    const reference = await gradients("cpu", false);
    for (const backend of ["cpu", "wasm"]) {
      const fast = await gradients(backend, true);
      ["value", "dx", "dgamma", "dbeta"].forEach((name, i) => {
        expect(maxAbsDiff(fast[i], reference[i]), `${backend} ${name}`).toBeLessThanOrEqual(1e-4);
      });
      // Not trivially zero: the check above compares real gradients.
      expect(Math.max(...reference[1].map(Math.abs))).toBeGreaterThan(1e-2);
    }
  });

  it("updates the moving statistics in training and uses them in inference; serialises as tfjs's BatchNormalization", async () => {
    await tf.setBackend("cpu");
    const layer = trainingBatchNorm({ momentum: 0.5, name: "bn" });
    expect(layer).toBeInstanceOf(TrainingBatchNorm);
    expect(layer.getClassName()).toBe("BatchNormalization");
    const x = tf.tensor4d(
      values(
        shape.reduce((a, b) => a * b),
        5,
        1,
        3,
      ),
      shape,
    );
    layer.apply(x, { training: true });
    const [, , movingMean, movingVariance] = layer.getWeights();
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    // momentum 0.5 from mean 0 / variance 1
    expect(maxAbsDiff(movingMean.dataSync() as Float32Array, tf.mul(mean, 0.5).dataSync() as Float32Array)).toBeLessThan(1e-5);
    expect(
      maxAbsDiff(movingVariance.dataSync() as Float32Array, tf.add(tf.mul(variance, 0.5), 0.5).dataSync() as Float32Array),
    ).toBeLessThan(1e-5);
    const inference = layer.apply(x, { training: false }) as tf.Tensor;
    const expected = tf.batchNorm(x, movingMean, movingVariance, undefined, undefined, 1e-3);
    expect(maxAbsDiff(inference.dataSync() as Float32Array, expected.dataSync() as Float32Array)).toBeLessThan(1e-5);
  });
});
