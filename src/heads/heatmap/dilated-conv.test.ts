import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { describe, expect, it } from "vitest";
import { Rng } from "../../core/prng.js";
import { dilatedConv2d, TrainingConv2D, trainingConv2d } from "./dilated-conv.js";
import { maxAbsDiff } from "../../core/max-abs-diff.js";

function values(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  return new Rng(seed).fill(new Float32Array(n), lo, hi);
}

const xShape: [number, number, number, number] = [2, 9, 11, 4];
const k = 3;
const co = 5;

/**
 * Value and gradients (dx, dw) of sum(conv(x, w) * r) at dilation d. Reference: tfjs's own
 * undilated conv and its gradient over the kernel with d-1 zeros between the taps (the same
 * function), its dw read back at the taps.
 */
async function gradients(backend: string, d: number, reference: boolean): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const x = tf.tensor4d(
      values(
        xShape.reduce((a, b) => a * b),
        1,
        -2,
        3,
      ),
      xShape,
    );
    const w = tf.tensor4d(values(k * k * xShape[3] * co, 2), [k, k, xShape[3], co]);
    const r = tf.tensor4d(values(xShape[0] * xShape[1] * xShape[2] * co, 3), [xShape[0], xShape[1], xShape[2], co]);
    const span = d * (k - 1) + 1;
    if (!reference) {
      const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(dilatedConv2d(a as tf.Tensor4D, b as tf.Tensor4D, d), r));
      const value = f(x, w).dataSync()[0];
      const [dx, dw] = tf.grads(f as (...t: tf.Tensor[]) => tf.Tensor)([x, w]);
      return [Float32Array.of(value), dx.dataSync() as Float32Array, dw.dataSync() as Float32Array];
    }
    // Spread the taps: wide[a*d, b*d] = w[a, b], zeros elsewhere.
    const mask = new Float32Array(span * span * k * k);
    for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) mask[(a * d * span + b * d) * k * k + a * k + b] = 1;
    const spread = tf.tensor2d(mask, [span * span, k * k]);
    const widen = (ww: tf.Tensor) => tf.reshape(tf.matMul(spread, tf.reshape(ww, [k * k, -1])), [span, span, xShape[3], co]) as tf.Tensor4D;
    const f = (a: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, widen(ww), 1, "same"), r));
    const value = f(x, w).dataSync()[0];
    const [dx, dw] = tf.grads(f as (...t: tf.Tensor[]) => tf.Tensor)([x, w]);
    return [Float32Array.of(value), dx.dataSync() as Float32Array, dw.dataSync() as Float32Array];
  });
}

describe("training dilated conv", () => {
  for (const d of [1, 2, 3]) {
    it(`gives the value and gradients of the spread-kernel conv (cpu reference) at dilation ${d}, on cpu and wasm`, async () => {
      const reference = await gradients("cpu", d, true);
      for (const backend of ["cpu", "wasm"]) {
        const ours = await gradients(backend, d, false);
        ["value", "dx", "dw"].forEach((name, i) => {
          const scale = Math.max(1, ...reference[i].map(Math.abs));
          expect(maxAbsDiff(ours[i], reference[i]) / scale, `${backend} ${name}`).toBeLessThanOrEqual(1e-4);
        });
        expect(Math.max(...reference[2].map(Math.abs))).toBeGreaterThan(1e-2);
      }
    });
  }

  it("trains as a layer (bias, activation) and serialises as tfjs's Conv2D", async () => {
    await tf.setBackend("cpu");
    const layer = trainingConv2d({ filters: 3, kernelSize: 3, padding: "same", dilationRate: 2, activation: "relu", name: "c" });
    expect(layer).toBeInstanceOf(TrainingConv2D);
    expect(layer.getClassName()).toBe("Conv2D");
    const x = tf.tensor4d(values(1 * 6 * 7 * 2, 7), [1, 6, 7, 2]);
    const y = layer.apply(x) as tf.Tensor;
    const [kernel, bias] = layer.getWeights();
    tf.dispose(layer.setWeights([kernel, tf.fill(bias.shape, 0.25)]));
    const y2 = layer.apply(x) as tf.Tensor;
    const expected = tf.relu(tf.add(tf.conv2d(x, kernel as tf.Tensor4D, 1, "same", "NHWC", 2), 0.25));
    expect(maxAbsDiff(y2.dataSync() as Float32Array, expected.dataSync() as Float32Array)).toBeLessThan(1e-5);
    expect(y.shape).toEqual([1, 6, 7, 3]);
    // The layer's own gradient path: tfjs's refuses dilations above 1.
    const grads = tf.variableGrads(() => tf.sum(layer.apply(x) as tf.Tensor) as tf.Scalar);
    expect(Object.keys(grads.grads).length).toBe(2);
    expect(() => tf.grad((a: tf.Tensor) => tf.sum(tf.conv2d(a as tf.Tensor4D, kernel as tf.Tensor4D, 1, "same", "NHWC", 2)))(x)).toThrow(
      /dilation/,
    );
  });
});
