import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initTfjs } from "../engine/tfjs-backend.js";
import { maxAbsDiff } from "../core/max-abs-diff.js";
import { isGrowth, resizeHeatmapNetwork, resizeProblem } from "./resize-network.js";
import {
  formatHeatmapWidths,
  heatmapWidths,
  parseHeatmapStem,
  parseHeatmapWidths,
  withHeatmapStem,
  withHeatmapWidths,
} from "./heatmap-widths.js";
import { buildModel, presetMetadata } from "./network.js";

const small = presetMetadata("heatmap", { input: { width: 32, height: 24, channels: 3, name: "input" } });
const narrow = withHeatmapWidths(small, parseHeatmapWidths("w", "4-6-8-8/8-8d2/4"));
const wide = withHeatmapWidths(small, parseHeatmapWidths("w", "5-8-12-16/12-10d2/8"));

/** Random weights everywhere, moving variances positive, so every layer's values matter. */
function randomise(model: tf.LayersModel, seed: number): void {
  for (const layer of model.layers) {
    const ws = layer.getWeights();
    if (ws.length === 0) continue;
    layer.setWeights(
      ws.map((w, i) => {
        const r = tf.randomUniform(w.shape, -0.5, 0.5, "float32", seed++);
        // A batch norm layer's weights are gamma, beta, moving mean, moving variance.
        return layer.getClassName() === "BatchNormalization" && i === 3 ? r.abs().add(0.5) : r;
      }),
    );
  }
}

describe("heatmap widths", () => {
  it("parses and formats conv/neck/head filters with dilations", () => {
    const w = parseHeatmapWidths("--widths", "16-24-48-64/64-64d2/32");
    expect(w).toEqual({ convFilters: [16, 24, 48, 64], neckFilters: [64, 64], neckDilations: [1, 2], headFilters: 32 });
    expect(formatHeatmapWidths(w)).toBe("16-24-48-64/64-64d2/32");
    expect(heatmapWidths(withHeatmapWidths(small, w))).toEqual(w);
    expect(withHeatmapWidths(small, w).description).toBe(
      "Heatmap detector (CenterNet-style head) on the seed lecture blocks with batch norm: 3x3 conv -> BN -> ReLU -> 2x2 max-pool " +
        "(16, 24, 48, 64 filters), 2 context convs of 64, 64 (dilations 1, 2) at stride 8, nearest upsampling + lateral to stride 4 (32); " +
        "input 32x24 (area resize, fill); batch norm folded into the convs in model.onnx.",
    );
  });

  it("names the flag and the expected form on bad input", () => {
    expect(() => parseHeatmapWidths("--widths", "16-24/32")).toThrow(/--widths: expected conv\/neck\/head filters .* got '16-24\/32'/);
    expect(() => parseHeatmapWidths("--widths", "0-24/8/4")).toThrow(/--widths/);
  });

  it("refuses a resize that drops a layer or changes a dilation or the projection; tells growth from narrowing", () => {
    const to = (spec: string) => withHeatmapWidths(small, parseHeatmapWidths("w", spec));
    const resize = (spec: string) => resizeProblem(narrow, to(spec));
    expect(resizeProblem(narrow, wide)).toBeUndefined();
    expect(resize("4-6-8-8/8-8d2/3")).toBeUndefined();
    expect(resize("4-6-8/8-8d2/4")).toMatch(/number of conv or neck layers/);
    expect(resize("4-6-8-8/8-8/4")).toMatch(/dilates/);
    expect(resize("4-6-8-8/8-8d2/8")).toMatch(/drops the 1x1 projection/);
    expect(isGrowth(narrow, wide)).toBe(true);
    expect(isGrowth(narrow, to("4-6-8-8/8-8d2/3"))).toBe(false);
    expect(isGrowth(wide, narrow)).toBe(false);
  });
});

describe("a stride-2 first conv (--stem)", () => {
  it("parses kernel and stride, names the flag on bad input, and describes the network", () => {
    expect(parseHeatmapStem("--stem", "4s2")).toEqual({ kernelSize: 4, stride: 2 });
    for (const bad of ["4", "4s1", "1s2", "4s3", "s2", "9s2"])
      expect(() => parseHeatmapStem("--stem", bad)).toThrow(new RegExp(`--stem: expected .*4s2, got '${bad}'`));
    const stemmed = withHeatmapStem(narrow, { kernelSize: 4, stride: 2 }, true);
    expect([stemmed.input.width, stemmed.input.height, stemmed.head.kind === "heatmap" && stemmed.head.stride]).toEqual([64, 48, 8]);
    expect(stemmed.description).toMatch(
      /\(4, 6, 8, 8 filters, the first a 4x4 conv at stride 2\), .* at stride 16, .* lateral to stride 8 .* input 64x48/,
    );
    expect(withHeatmapStem(narrow, { kernelSize: 4, stride: 2 }, false).input).toEqual(narrow.input);
  });

  it("is added only from a stride-1 first conv at twice the input, and not taken away", () => {
    const stemmed = withHeatmapStem(narrow, { kernelSize: 4, stride: 2 }, true);
    expect(resizeProblem(narrow, stemmed)).toBeUndefined();
    expect(isGrowth(narrow, stemmed)).toBe(false);
    expect(isGrowth(narrow, withHeatmapStem(narrow, { kernelSize: 6, stride: 2 }, true))).toBe(true);
    expect(resizeProblem(narrow, withHeatmapStem(narrow, { kernelSize: 4, stride: 2 }, false))).toMatch(
      /reads twice the model's 32x24 input, 64x48, got 32x24/,
    );
    expect(resizeProblem(stemmed, narrow)).toMatch(/can only replace a stride-1 first conv, and the model's is 4x4 at stride 2/);
    expect(resizeProblem(narrow, { ...narrow, input: { ...narrow.input, width: 64 } })).toMatch(
      /input 64x24 differs from the model's 32x24/,
    );
  });
});

describe("resizeHeatmapNetwork", () => {
  beforeAll(async () => {
    await initTfjs("cpu");
  });

  it("computes what the narrower network computed, and its new channels can learn", () => {
    const from = buildModel(narrow, { seed: 1 });
    randomise(from, 10);
    const grown = resizeHeatmapNetwork(from, narrow, wide, 3);
    expect(grown.getLayer("conv2").getWeights()[0].shape).toEqual([3, 3, 5, 8]);
    const x = tf.randomUniform([2, 24, 32, 3], 0, 1, "float32", 7);
    const a = from.predict(x) as tf.Tensor[];
    const b = grown.predict(x) as tf.Tensor[];
    for (let i = 0; i < 2; i++) {
      expect(b[i].shape).toEqual(a[i].shape);
      expect(maxAbsDiff(a[i].dataSync(), b[i].dataSync())).toBeLessThan(1e-5);
    }
    // The new filters of conv2 are the fresh initialiser's, not zeros: they carry a signal.
    const k = grown.getLayer("conv2").getWeights()[0].arraySync() as number[][][][];
    expect(Math.max(...k.flat(2).map((row) => Math.abs(row[7])))).toBeGreaterThan(0.01);
    // ... and it reaches the output once the zero weights reading it move: their gradient is not zero.
    const grads = tf.variableGrads(
      () => {
        const [heat] = grown.apply(x, { training: true }) as tf.Tensor[];
        return heat.sum() as tf.Scalar;
      },
      grown.getLayer("conv3").trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val),
    );
    const g = Object.values(grads.grads)[0].arraySync() as number[][][][];
    // conv3's weights reading conv2's new channel 7 into its old filter 0.
    expect(Math.max(...g.flat(1).map((row) => Math.abs(row[7][0])))).toBeGreaterThan(0);
    tf.dispose([x, ...a, ...b, ...Object.values(grads.grads)]);
    from.dispose();
    grown.dispose();
  });

  it("narrows a layer to its strongest filters, and the layers reading it to their weights", () => {
    const from = buildModel(wide, { seed: 1 });
    randomise(from, 20);
    // conv2 (8 filters) gets two dead filters: zero kernels, and a batch norm that maps 0 below 0,
    // so ReLU outputs zero there. Dropping exactly those two leaves the function unchanged.
    const dead = [2, 5];
    const conv2 = from.getLayer("conv2");
    const [kernel] = conv2.getWeights();
    const k = kernel.arraySync() as number[][][][];
    for (const row of k.flat(2)) for (const d of dead) row[d] = 0;
    conv2.setWeights([tf.tensor(k)]);
    const bn = from.getLayer("conv2_bn");
    const [gamma, beta, mean, variance] = bn.getWeights().map((w) => w.arraySync() as number[]);
    for (const d of dead) [beta[d], mean[d]] = [-1, 0];
    bn.setWeights([gamma, beta, mean, variance].map((v) => tf.tensor(v)));
    const trimmed = withHeatmapWidths(small, parseHeatmapWidths("w", "5-6-12-16/12-10d2/8"));
    const narrowed = resizeHeatmapNetwork(from, wide, trimmed, 3);
    expect(narrowed.getLayer("conv2").getWeights()[0].shape).toEqual([3, 3, 5, 6]);
    // conv3 reads conv2's kept channels 0, 1, 3, 4, 6, 7.
    const kept = [0, 1, 3, 4, 6, 7];
    const oldK3 = from.getLayer("conv3").getWeights()[0].arraySync() as number[][][][];
    const newK3 = narrowed.getLayer("conv3").getWeights()[0].arraySync() as number[][][][];
    kept.forEach((c, i) => expect(newK3[1][2][i]).toEqual(oldK3[1][2][c]));
    const x = tf.randomUniform([2, 24, 32, 3], 0, 1, "float32", 9);
    const a = from.predict(x) as tf.Tensor[];
    const b = narrowed.predict(x) as tf.Tensor[];
    for (let i = 0; i < 2; i++) expect(maxAbsDiff(a[i].dataSync(), b[i].dataSync())).toBeLessThan(1e-5);
    tf.dispose([x, ...a, ...b]);
    from.dispose();
    narrowed.dispose();
  });

  it("narrows the layers added together (upsampled context and lateral) to the same channels", () => {
    const from = buildModel(wide, { seed: 1 });
    randomise(from, 30);
    const trimmed = withHeatmapWidths(small, parseHeatmapWidths("w", "5-8-12-16/12-10d2/5"));
    const narrowed = resizeHeatmapNetwork(from, wide, trimmed, 3);
    const cols = (model: tf.LayersModel, layer: string) => {
      const k = model.getLayer(layer).getWeights()[0].arraySync() as number[][][][];
      return k[0][0].map((row) => row.join(","));
    };
    // The heatmap conv's rows (its input channels) are a subset of the old rows, the same subset
    // as the lateral's and the projection's output columns.
    const oldRows = cols(from, "heatmap");
    const newRows = cols(narrowed, "heatmap");
    const picked = newRows.map((r) => oldRows.indexOf(r));
    expect(picked.every((c) => c >= 0)).toBe(true);
    const lateralOld = from.getLayer("lateral1").getWeights()[0].arraySync() as number[][][][];
    const lateralNew = narrowed.getLayer("lateral1").getWeights()[0].arraySync() as number[][][][];
    picked.forEach((c, i) => expect(lateralNew[0][0][0][i]).toBe(lateralOld[0][0][0][c]));
    const projOld = from.getLayer("up1_proj").getWeights()[0].arraySync() as number[][][][];
    const projNew = narrowed.getLayer("up1_proj").getWeights()[0].arraySync() as number[][][][];
    picked.forEach((c, i) => expect(projNew[0][0][0][i]).toBe(projOld[0][0][0][c]));
    from.dispose();
    narrowed.dispose();
  });

  it("throws on a resize whose layers do not correspond", () => {
    const from = buildModel(narrow, { seed: 1 });
    const fewer = withHeatmapWidths(small, parseHeatmapWidths("w", "4-6-8/8-8d2/4"));
    expect(() => resizeHeatmapNetwork(from, narrow, fewer)).toThrow(/number of conv or neck layers/);
    from.dispose();
  });

  it("spreads the first conv over twice the input: a 6x6 stem computes what the model did on the 2x2 area average", () => {
    const from = buildModel(narrow, { seed: 1 });
    randomise(from, 40);
    const x = tf.randomUniform([2, 48, 64, 3], 0, 1, "float32", 11);
    const half = tf.avgPool(x as tf.Tensor4D, 2, 2, "valid");
    const upsampled = tf.image.resizeNearestNeighbor(half, [48, 64]);
    const a = from.predict(half) as tf.Tensor[];
    for (const k of [6, 4, 3]) {
      const to = withHeatmapStem(narrow, { kernelSize: k, stride: 2 }, true);
      const stemmed = resizeHeatmapNetwork(from, narrow, to, 3);
      expect(stemmed.getLayer("conv1").getWeights()[0].shape).toEqual([k, k, 3, 4]);
      const onAny = stemmed.predict(x) as tf.Tensor[];
      const onFlat = stemmed.predict(upsampled) as tf.Tensor[];
      const diffs = [0, 1].map((i) => [
        maxAbsDiff(a[i].dataSync(), onAny[i].dataSync()),
        maxAbsDiff(a[i].dataSync(), onFlat[i].dataSync()),
      ]);
      // 6x6: exact on any input. 4x4: exact where each 2x2 block is one colour. 3x3 drops the
      // trained conv's first row and column of taps: close at best.
      for (const [any, flat] of diffs) {
        if (k === 6) expect(any).toBeLessThan(1e-4);
        else expect(any).toBeGreaterThan(1e-3);
        if (k === 4) expect(flat).toBeLessThan(1e-4);
        if (k === 3) expect(flat).toBeGreaterThan(1e-3);
      }
      tf.dispose([...onAny, ...onFlat]);
      stemmed.dispose();
    }
    tf.dispose([x, half, upsampled, ...a]);
    from.dispose();
  });
});
