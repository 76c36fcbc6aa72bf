import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { beforeAll, describe, expect, it } from "vitest";
import { registerWasmGradientKernels } from "./wasm-gradient-kernels.js";
import { Rng } from "../core/prng.js";
import { maxAbsDiff } from "../core/max-abs-diff.js";

/** Deterministic values in [-1, 1) so both backends see identical inputs. */
function values(n: number, seed: number): Float32Array {
  return new Rng(seed).fill(new Float32Array(n), -1, 1);
}

interface Case {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  stride: number;
  pad: "valid" | "same";
}

/** Gradients of sum(conv2d(x, w) * r) w.r.t. x and w on the given backend. */
async function gradients(backend: string, c: Case): Promise<{ dx: Float32Array; dw: Float32Array }> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const x = tf.tensor4d(
      values(
        c.x.reduce((a, b) => a * b),
        1,
      ),
      c.x,
    );
    const w = tf.tensor4d(
      values(
        c.filter.reduce((a, b) => a * b),
        2,
      ),
      c.filter,
    );
    const y = tf.conv2d(x, w, c.stride, c.pad);
    const r = tf.tensor(values(y.size, 3), y.shape);
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad), r)),
    )([x, w]);
    return { dx: dx.dataSync() as Float32Array, dw: dw.dataSync() as Float32Array };
  });
}

const cases: Case[] = [];
for (const pad of ["valid", "same"] as const) {
  for (const [ci, co] of [
    [1, 1],
    [3, 8],
    [8, 5],
    [16, 32],
  ]) {
    cases.push({ x: [2, 9, 11, ci], filter: [3, 3, ci, co], stride: 1, pad });
  }
  cases.push({ x: [3, 12, 10, 4], filter: [5, 3, 4, 6], stride: 1, pad });
  // Strided: the filter gradient uses dilation = stride; the input gradient falls back to stock.
  cases.push({ x: [2, 11, 10, 3], filter: [3, 3, 3, 4], stride: 2, pad });
  // A heatmap network's stride-2 first conv (head.stem) on an even input.
  cases.push({ x: [2, 12, 10, 3], filter: [4, 4, 3, 5], stride: 2, pad });
  cases.push({ x: [2, 12, 10, 3], filter: [3, 3, 3, 5], stride: 2, pad });
}

describe("wasm conv gradient kernels match the cpu backend", () => {
  beforeAll(async () => {
    registerWasmGradientKernels();
    await tf.setBackend("wasm");
  });

  it("are registered on wasm", () => {
    expect(tf.getKernel(tf.Conv2DBackpropFilter, "wasm")).toBeDefined();
    expect(tf.getKernel(tf.Conv2DBackpropInput, "wasm")).toBeDefined();
  });

  it.each(cases)("x $x filter $filter stride $stride $pad", async (c) => {
    const cpu = await gradients("cpu", c);
    const wasm = await gradients("wasm", c);
    const tolerance = 1e-4 * Math.max(1, (c.x[0] * c.x[1] * c.x[2] * c.filter[3]) / 64);
    expect(maxAbsDiff(cpu.dw, wasm.dw)).toBeLessThan(tolerance);
    expect(maxAbsDiff(cpu.dx, wasm.dx)).toBeLessThan(tolerance);
    // Guards against both being zero (a test that cannot fail).
    expect(Math.max(...wasm.dw.map(Math.abs))).toBeGreaterThan(0.1);
  });

  it.each([
    { x: [2, 9, 11, 5], k: 2 },
    { x: [3, 8, 8, 16], k: 2 },
    { x: [1, 10, 7, 3], k: 3 },
  ])("MaxPoolGrad x $x window $k", async ({ x: shape, k }) => {
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const x = tf.tensor4d(
          values(
            shape.reduce((a, b) => a * b),
            4,
          ),
          shape as [number, number, number, number],
        );
        const y = tf.maxPool(x, k, k, "valid");
        const r = tf.tensor(values(y.size, 5), y.shape);
        return tf
          .grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, k, k, "valid"), r)))(x)
          .dataSync() as Float32Array;
      });
    };
    const cpu = await run("cpu");
    const wasm = await run("wasm");
    expect(maxAbsDiff(cpu, wasm)).toBeLessThan(1e-6);
    expect(wasm.filter((v) => v !== 0).length).toBeGreaterThan(0);
  });

  it("MaxPoolGrad gives a tied window's gradient to its first maximum", async () => {
    await tf.setBackend("wasm");
    const dx = tf.tidy(() =>
      tf
        .grad((a: tf.Tensor) => tf.sum(tf.maxPool(a as tf.Tensor4D, 2, 2, "valid")))(tf.ones([1, 2, 2, 1]))
        .dataSync(),
    );
    expect(Array.from(dx)).toEqual([1, 0, 0, 0]);
  });

  it.each([
    { a: [5, 7], b: [7, 3], ta: false, tb: false },
    { a: [7, 5], b: [7, 3], ta: true, tb: false },
    { a: [5, 7], b: [3, 7], ta: false, tb: true },
    { a: [1, 4, 6], b: [1, 6, 2], ta: false, tb: false },
  ])("matMul and its gradients $a x $b (transpose $ta/$tb)", async (c) => {
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const a = tf.tensor(
          values(
            c.a.reduce((p, q) => p * q),
            6,
          ),
          c.a,
        );
        const b = tf.tensor(
          values(
            c.b.reduce((p, q) => p * q),
            7,
          ),
          c.b,
        );
        const f = (p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.square(tf.matMul(p, q, c.ta, c.tb)));
        const [da, db] = tf.grads(f)([a, b]);
        const bias = tf.tensor1d(values(c.tb ? c.b[c.b.length - 2] : c.b[c.b.length - 1], 8));
        const fused = tf.fused.matMul({ a, b, transposeA: c.ta, transposeB: c.tb, bias, activation: "relu" });
        return [tf.matMul(a, b, c.ta, c.tb), da, db, fused].map((t) => t.dataSync() as Float32Array);
      });
    };
    const cpu = await run("cpu");
    const wasm = await run("wasm");
    cpu.forEach((v, i) => expect(maxAbsDiff(v, wasm[i])).toBeLessThan(1e-4));
  });

  it("sums over leading axes like the cpu backend", async () => {
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const x = tf.tensor(values(4 * 5 * 6 * 7, 9), [4, 5, 6, 7]);
        return [tf.sum(x, [0, 1, 2]), tf.sum(x, [0, 1, 2], true), tf.sum(x.reshape([20, 42]), 0), tf.sum(x, [1, 2])].map((t) => ({
          shape: t.shape,
          data: t.dataSync() as Float32Array,
        }));
      });
    };
    const cpu = await run("cpu");
    const wasm = await run("wasm");
    cpu.forEach((v, i) => {
      expect(wasm[i].shape).toEqual(v.shape);
      expect(maxAbsDiff(v.data, wasm[i].data)).toBeLessThan(1e-4);
    });
  });

  it("leaks no tensors", async () => {
    await tf.setBackend("wasm");
    const c = cases[1];
    await gradients("wasm", c);
    // Kernel intermediates live only in the backend, so count its data ids, not engine tensors.
    const before = tf.backend().numDataIds();
    await gradients("wasm", c);
    expect(tf.backend().numDataIds()).toBe(before);
  });
});

/**
 * Nearest-neighbour upsampling's gradient by definition: every output pixel's gradient added to
 * the input pixel it was read from (tfjs's forward rule for alignCorners = halfPixelCenters = false).
 */
function nearestGradReference(dy: Float32Array, [n, h, w, c]: number[], ho: number, wo: number): Float32Array {
  const dx = new Float32Array(n * h * w * c);
  let o = 0;
  for (let b = 0; b < n; b++)
    for (let i = 0; i < ho; i++)
      for (let j = 0; j < wo; j++) {
        const base = ((b * h + Math.min(h - 1, Math.floor((i * h) / ho))) * w + Math.min(w - 1, Math.floor((j * w) / wo))) * c;
        for (let ch = 0; ch < c; ch++, o++) dx[base + ch] += dy[o];
      }
  return dx;
}

describe("ResizeNearestNeighborGrad (the heatmap network's upsampling)", () => {
  // tfjs-backend-cpu 4.22 gets it wrong for more than one image or channel (half the values of
  // a [2,3,5,4] case differ from the definition); training runs on wasm, whose stock kernel is right.
  it("on wasm equals the definition for several images and channels", async () => {
    await tf.setBackend("wasm");
    const shape = [2, 3, 5, 4];
    const dyValues = values(2 * 6 * 10 * 4, 6);
    const got = tf.tidy(() => {
      const x = tf.tensor4d(values(120, 5), shape as [number, number, number, number]);
      const dy = tf.tensor4d(dyValues, [2, 6, 10, 4]);
      return tf
        .grad((a: tf.Tensor) => tf.sum(tf.mul(tf.image.resizeNearestNeighbor(a as tf.Tensor4D, [6, 10]), dy)))(x)
        .dataSync() as Float32Array;
    });
    expect(maxAbsDiff(got, nearestGradReference(dyValues, shape, 6, 10))).toBeLessThan(1e-5);
  });
});

describe("the heatmap network's gradients on wasm match the cpu backend", () => {
  // Every layer kind of the heatmap preset (same-padded convs, max-pools, neck, nearest 2x
  // upsampling + lateral add, sigmoid and linear outputs) through the real focal + L1 loss: the
  // wasm path uses fovea's conv kernels. The cpu backend's upsampling gradient is replaced by
  // the definition (see above) so that the cpu side is a correct reference.
  it("for every weight of a small heatmap network", async () => {
    await tf.setBackend("cpu");
    const stock = tf.getKernel(tf.ResizeNearestNeighborGrad, "cpu")!;
    tf.unregisterKernel(tf.ResizeNearestNeighborGrad, "cpu");
    tf.registerKernel({
      kernelName: tf.ResizeNearestNeighborGrad,
      backendName: "cpu",
      kernelFunc: ({ inputs, backend }) => {
        const { images, dy } = inputs as { images: tf.TensorInfo; dy: tf.TensorInfo };
        const cpu = backend as tf.KernelBackend & {
          readSync(id: object): Float32Array;
          makeTensorInfo(shape: number[], dtype: string, values: Float32Array): tf.TensorInfo;
        };
        return cpu.makeTensorInfo(
          images.shape,
          "float32",
          nearestGradReference(cpu.readSync(dy.dataId) as Float32Array, images.shape, dy.shape[1], dy.shape[2]),
        );
      },
    });
    const { defaultMetadata, buildModel } = await import("./network.js");
    const { trainHeadFor, targetTensors } = await import("../heads/train-head.js");
    registerWasmGradientKernels();
    const meta = defaultMetadata({
      classes: ["ball", "robot"],
      input: { width: 32, height: 24, channels: 3, name: "input" },
      architecture: { convFilters: [4, 6, 8], kernelSize: 3, padding: "same", dense: [], dropout: 0 },
      head: { kind: "heatmap", stride: 2, neckFilters: [8], headFilters: 5 },
    });
    const head = trainHeadFor(meta);
    const targets = head.encode([
      [{ label: "ball", box: { xMin: 0.2, yMin: 0.3, xMax: 0.28, yMax: 0.4 } }],
      [{ label: "robot", box: { xMin: 0.5, yMin: 0.1, xMax: 0.8, yMax: 0.9 } }],
    ]);
    const input = new Rng(11).fill(new Float32Array(2 * 24 * 32 * 3), 0, 1);
    const grads = async (backend: string): Promise<Float32Array[]> => {
      await tf.setBackend(backend);
      const model = buildModel(meta, { seed: 4 });
      const vars = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
      const out = tf.tidy(() => {
        const x = tf.tensor4d(input, [2, 24, 32, 3]);
        const t = targetTensors(targets);
        const { grads: g } = tf.variableGrads(() => head.loss(model.apply(x, { training: true }) as tf.Tensor[], t).total, vars);
        return vars.map((v) => g[v.name].dataSync() as Float32Array);
      });
      model.dispose();
      return out;
    };
    const cpu = await grads("cpu");
    tf.unregisterKernel(tf.ResizeNearestNeighborGrad, "cpu");
    tf.registerKernel(stock);
    const wasm = await grads("wasm");
    expect(wasm).toHaveLength(cpu.length);
    cpu.forEach((g, i) => {
      const scale = Math.max(1e-3, ...Array.from(g, Math.abs));
      expect(maxAbsDiff(wasm[i], g) / scale, `variable ${i}`).toBeLessThan(1e-3);
    });
  });
});
