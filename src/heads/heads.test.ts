/**
 * The head plug-in contract, for every head fovea has: the network a head's metadata builds
 * produces exactly the outputs `headOutputs` declares (names, shapes, order), the training head's
 * targets and loss fit those outputs, and the runtime decoder reads them.
 */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { headOutputs } from "../core/head-outputs.js";
import type { ModelMetadata } from "../core/model-metadata.js";
import { initTfjs } from "../engine/tfjs-backend.js";
import { buildModel, defaultMetadata, presetMetadata } from "../train/network.js";
import { heatmapLoss } from "./heatmap/loss.js";
import { createDecoder } from "./registry.js";
import { targetTensors, trainHeadFor } from "./train-head.js";

const objects = [
  [{ label: "ball", box: { xMin: 0.2, yMin: 0.5, xMax: 0.25, yMax: 0.56 } }],
  [
    { label: "robot", box: { xMin: 0.5, yMin: 0.2, xMax: 0.7, yMax: 0.8 } },
    { label: "goal_post", box: { xMin: 0.05, yMin: 0.1, xMax: 0.08, yMax: 0.5 } },
  ],
];

const heads: Array<[string, ModelMetadata]> = [
  [
    "grid (seed)",
    defaultMetadata({
      input: { width: 36, height: 36, channels: 3, name: "input" },
      architecture: { convFilters: [4, 8], kernelSize: 3, padding: "valid", dense: [8], dropout: 0 },
      head: { kind: "grid", rows: 3, cols: 3 },
    }),
  ],
  ["grid (cells)", presetMetadata("cells")],
  ["heatmap (default preset)", presetMetadata("heatmap")],
];

beforeAll(async () => {
  await initTfjs("wasm");
});

describe.each(heads)("head %s", (_name, meta) => {
  it("builds a network whose outputs are the declared ones, which its loss and decoder accept", () => {
    const model = buildModel(meta, { seed: 3 });
    const declared = headOutputs(meta);
    expect(model.outputNames).toEqual(declared.map((o) => o.name));
    expect(model.outputs.map((o) => o.shape.slice(1))).toEqual(declared.map((o) => o.shape));
    const head = trainHeadFor(meta);
    const targets = head.encode(objects);
    expect(targets.batch).toBe(2);
    const x = tf.randomUniform([2, meta.input.height, meta.input.width, 3], 0, 1, "float32", 1);
    const outs = model.predict(x) as tf.Tensor[];
    const loss = tf.tidy(() => head.loss(outs, targetTensors(targets)).total.dataSync()[0]);
    expect(Number.isFinite(loss)).toBe(true);
    const data = Object.fromEntries(declared.map((o, i) => [o.name, outs[i].dataSync() as Float32Array]));
    const decoder = createDecoder(meta, { scoreThreshold: 0 });
    for (const image of [0, 1]) {
      const found = decoder.decode(data, image);
      expect(found.length).toBeLessThanOrEqual(meta.decode.maxDetections);
      for (const d of found) expect(meta.classes).toContain(d.label);
    }
    tf.dispose([x, ...outs]);
    model.dispose();
  });
});

describe("heatmap loss", () => {
  it("is near zero for a prediction equal to the targets and large for an empty one", () => {
    const meta = presetMetadata("heatmap");
    const t = targetTensors(trainHeadFor(meta).encode(objects));
    const perfect = tf.tidy(() => heatmapLoss(t.heat, t.reg, t).total.dataSync()[0]);
    const empty = tf.tidy(() => heatmapLoss(tf.zerosLike(t.heat), tf.zerosLike(t.reg), t).total.dataSync()[0]);
    const prior = tf.tidy(() => heatmapLoss(tf.fill(t.heat.shape, 0.1), t.reg, t).total.dataSync()[0]);
    expect(perfect).toBeLessThan(0.05);
    expect(empty).toBeGreaterThan(5);
    expect(prior).toBeGreaterThan(perfect);
    tf.dispose(Object.values(t));
  });
});
