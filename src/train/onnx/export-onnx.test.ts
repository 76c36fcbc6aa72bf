import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type * as tfjs from "@tensorflow/tfjs";
import * as ort from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import { initTfjs } from "../../engine/tfjs-backend.js";
import { buildModel, buildNetwork, defaultMetadata } from "../network.js";
import { headOutputs } from "../../core/head-outputs.js";
import { exportOnnx, ONNX_OPSET } from "./export-onnx.js";
import { ModelProto, readOnnxSignature } from "./onnx-proto.js";
import { Rng } from "../../core/prng.js";

function randomInput(n: number, seed: number): Float32Array {
  return new Rng(seed).fill(new Float32Array(n));
}

async function compare(
  meta: ReturnType<typeof defaultMetadata>,
  batch: number,
  seed: number,
  prepare?: (model: tfjs.LayersModel, tf: typeof tfjs) => void,
) {
  const { tf } = await initTfjs("wasm");
  const model = buildModel(meta, { seed });
  prepare?.(model, tf);
  const bytes = exportOnnx(model, meta);
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ["cpu"] });
  const n = meta.input.height * meta.input.width * 3;
  const input = randomInput(batch * n, seed);
  const out = await session.run({ [meta.input.name]: new ort.Tensor("float32", input, [batch, meta.input.height, meta.input.width, 3]) });
  const [cls, box] = tf.tidy(() =>
    (model.predict(tf.tensor4d(input, [batch, meta.input.height, meta.input.width, 3])) as tfjs.Tensor[]).map((t) => t.dataSync()),
  );
  model.dispose();
  await session.release();
  const diff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
    expect(a.length).toBe(b.length);
    let m = 0;
    for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
    return m;
  };
  const [first, second] = headOutputs(meta).map((o) => o.name);
  return {
    classes: out[first],
    boxes: out[second],
    clsDiff: diff(out[first].data as Float32Array, cls),
    boxDiff: diff(out[second].data as Float32Array, box),
    bytes,
  };
}

describe("exportOnnx", () => {
  beforeAll(async () => {
    await initTfjs("wasm");
  });

  it("writes a graph onnxruntime runs with the LayersModel's outputs (default network, batch 2)", async () => {
    const meta = defaultMetadata();
    const r = await compare(meta, 2, 7);
    expect(r.classes.dims).toEqual([2, 100, 9]);
    expect(r.boxes.dims).toEqual([2, 100, 4]);
    expect(r.clsDiff).toBeLessThanOrEqual(1e-4);
    expect(r.boxDiff).toBeLessThanOrEqual(1e-4);
    // Non-trivial outputs: the scores differ between cells, so a wrong flatten order would show.
    const scores = r.classes.data as Float32Array;
    expect(Math.max(...scores) - Math.min(...scores)).toBeGreaterThan(0.01);
    const sig = readOnnxSignature(r.bytes);
    expect(sig.opsetVersion).toBe(ONNX_OPSET);
    expect(sig.inputs).toEqual([{ name: "input", elemType: 1, shape: ["N", 100, 100, 3] }]);
    expect(sig.outputs.map((o) => [o.name, o.shape])).toEqual([
      ["classes", ["N", 100, 9]],
      ["boxes", ["N", 100, 4]],
    ]);
  });

  it("handles same padding, other grids, input sizes and dense stacks", async () => {
    const meta = defaultMetadata({
      id: "variant",
      classes: ["ball", "robot"],
      input: { width: 64, height: 48, channels: 3, name: "image" },
      architecture: { convFilters: [8, 16], kernelSize: 3, padding: "same", dense: [32, 16], dropout: 0.5 },
      head: { kind: "grid", rows: 3, cols: 4, classesOutput: "classes", boxesOutput: "boxes" },
    });
    const r = await compare(meta, 1, 3);
    expect(r.classes.dims).toEqual([1, 12, 3]);
    expect(r.clsDiff).toBeLessThanOrEqual(1e-4);
    expect(r.boxDiff).toBeLessThanOrEqual(1e-4);
  });

  it("exports a convolutional head (context conv, per-cell dense as 1x1 convs) with the same outputs as tfjs", async () => {
    const meta = defaultMetadata({
      id: "conv-head",
      classes: ["ball", "goal_post", "robot"],
      input: { width: 30, height: 30, channels: 3, name: "input" },
      architecture: { convFilters: [8, 16], kernelSize: 3, padding: "valid", dense: [24, 12], dropout: 0.2 },
      head: {
        kind: "grid",
        rows: 6,
        cols: 6,
        connection: "convolutional",
        contextFilters: 10,
        classesOutput: "classes",
        boxesOutput: "boxes",
      },
    });
    const r = await compare(meta, 3, 5);
    expect(r.classes.dims).toEqual([3, 36, 4]);
    expect(r.clsDiff).toBeLessThanOrEqual(1e-4);
    expect(r.boxDiff).toBeLessThanOrEqual(1e-4);
  });

  it("exports a heatmap network (same-padded blocks, neck, nearest upsampling + lateral, sigmoid heatmaps) with the same outputs as tfjs", async () => {
    const meta = defaultMetadata({
      id: "heatmap",
      classes: ["ball", "goal_post", "robot"],
      input: { width: 48, height: 32, channels: 3, name: "input" },
      architecture: { convFilters: [4, 8, 8, 12], kernelSize: 3, padding: "same", dense: [], dropout: 0 },
      head: { kind: "heatmap", stride: 2, neckFilters: [12, 10], headFilters: 6 },
    });
    const r = await compare(meta, 2, 9);
    expect(r.classes.dims).toEqual([2, 16, 24, 3]);
    expect(r.boxes.dims).toEqual([2, 16, 24, 4]);
    expect(r.clsDiff).toBeLessThanOrEqual(1e-4);
    expect(r.boxDiff).toBeLessThanOrEqual(1e-4);
    // Two upsamplings (stride 8 -> 4 -> 2): a wrong nearest mapping would show as spatial noise.
    const heat = r.classes.data as Float32Array;
    expect(Math.max(...heat) - Math.min(...heat)).toBeGreaterThan(1e-3);
    expect(readOnnxSignature(r.bytes).outputs.map((o) => [o.name, o.shape])).toEqual([
      ["heatmap", ["N", 16, 24, 3]],
      ["regression", ["N", 16, 24, 4]],
    ]);
  });

  it("exports dilated neck convs (with batch norm) with the same outputs as tfjs", async () => {
    const meta = defaultMetadata({
      id: "heatmap-dilated",
      classes: ["ball", "goal_post", "robot"],
      input: { width: 64, height: 48, channels: 3, name: "input" },
      architecture: { convFilters: [4, 8, 8, 12], kernelSize: 3, padding: "same", dense: [], dropout: 0 },
      head: { kind: "heatmap", stride: 4, neckFilters: [12, 10], neckDilations: [2, 3], headFilters: 6, batchNorm: true },
    });
    const r = await compare(meta, 2, 5);
    expect(r.classes.dims).toEqual([2, 12, 16, 3]);
    expect(r.clsDiff).toBeLessThanOrEqual(1e-4);
    expect(r.boxDiff).toBeLessThanOrEqual(1e-4);
    const m = ModelProto.toObject(ModelProto.decode(r.bytes), { longs: Number }) as {
      graph: { node: Array<{ opType: string; attribute: Array<{ name: string; ints?: number[] }> }> };
    };
    const dilations = m.graph.node
      .filter((n) => n.opType === "Conv")
      .map((n) => n.attribute.find((a) => a.name === "dilations")?.ints ?? [1, 1]);
    expect(dilations.filter((d) => d[0] > 1)).toEqual([
      [2, 2],
      [3, 3],
    ]);
  });

  it.each([
    [4, [1, 1, 1, 1]],
    [3, [0, 0, 1, 1]],
  ])("exports a %ix%i stride-2 first conv (head.stem) with TensorFlow's same pads and the same outputs as tfjs", async (k, pads) => {
    const meta = defaultMetadata({
      id: "heatmap-stem",
      classes: ["ball", "goal_post", "robot"],
      input: { width: 64, height: 48, channels: 3, name: "input" },
      architecture: { convFilters: [4, 8, 8, 12], kernelSize: 3, padding: "same", dense: [], dropout: 0 },
      head: { kind: "heatmap", stride: 8, stem: { kernelSize: k, stride: 2 }, neckFilters: [12], headFilters: 6, batchNorm: true },
    });
    const r = await compare(meta, 2, 6);
    // Blocks at strides 2, 4, 8, 16; the outputs at 8.
    expect(r.classes.dims).toEqual([2, 6, 8, 3]);
    expect(r.clsDiff).toBeLessThanOrEqual(1e-4);
    expect(r.boxDiff).toBeLessThanOrEqual(1e-4);
    const m = ModelProto.toObject(ModelProto.decode(r.bytes), { longs: Number }) as {
      graph: { node: Array<{ name: string; attribute: Array<{ name: string; ints?: number[] }> }> };
    };
    const conv1 = m.graph.node.find((n) => n.name === "conv1")!;
    const attr = (name: string) => conv1.attribute.find((a) => a.name === name)?.ints;
    expect([attr("kernel_shape"), attr("strides"), attr("pads")]).toEqual([[k, k], [2, 2], pads]);
  });

  it("folds batch norm into the convs (trained statistics) with the same outputs as tfjs in inference mode", async () => {
    const meta = defaultMetadata({
      id: "heatmap-bn",
      classes: ["ball", "goal_post", "robot"],
      input: { width: 48, height: 32, channels: 3, name: "input" },
      architecture: { convFilters: [4, 8, 8, 12], kernelSize: 3, padding: "same", dense: [], dropout: 0 },
      head: { kind: "heatmap", stride: 2, neckFilters: [12, 10], headFilters: 6, batchNorm: true },
    });
    const rng = new Rng(4);
    let norms = 0;
    const r = await compare(meta, 2, 9, (model, tf) => {
      // Fresh statistics (mean 0, variance 1, gamma 1, beta 0) would fold into almost nothing:
      // give every norm values a trained one could have.
      for (const layer of model.layers.filter((l) => l.name.endsWith("_bn"))) {
        norms++;
        const n = layer.getWeights()[0].size;
        const vals = (lo: number, hi: number) => tf.tensor1d(Float32Array.from({ length: n }, () => lo + (hi - lo) * rng.next()));
        // gamma, beta, moving mean, moving variance
        layer.setWeights([vals(0.5, 2), vals(-0.5, 0.5), vals(-0.3, 0.3), vals(0.2, 3)]);
      }
    });
    // conv1-4, neck1-2, up1_proj, lateral1-2
    expect(norms).toBe(9);
    expect(readOnnxSignature(r.bytes).outputs.map((o) => o.name)).toEqual(["heatmap", "regression"]);
    expect(r.clsDiff).toBeLessThanOrEqual(1e-4);
    expect(r.boxDiff).toBeLessThanOrEqual(1e-4);
  });

  it("stores float16 weights whose Cast nodes onnxruntime folds away (float32 inference, no extra ops)", async () => {
    await initTfjs("wasm");
    const meta = defaultMetadata();
    const model = buildNetwork(meta, { seed: 2 });
    const f16 = exportOnnx(model, meta, { weightsDtype: "float16" });
    const f32 = exportOnnx(model, meta);
    model.dispose();
    expect(f16.byteLength).toBeLessThan(f32.byteLength * 0.55);
    const dir = await mkdtemp(path.join(tmpdir(), "fovea-onnx-opt-"));
    try {
      const optimized = path.join(dir, "optimized.onnx");
      await ort.InferenceSession.create(f16, { graphOptimizationLevel: "all", optimizedModelFilePath: optimized, logSeverityLevel: 3 });
      const m = ModelProto.toObject(ModelProto.decode(await readFile(optimized)), { longs: Number }) as {
        graph: { node: Array<{ opType: string }>; initializer: Array<{ dataType: number }> };
      };
      const ops = m.graph.node.map((n) => n.opType);
      expect(ops).not.toContain("Cast");
      expect(ops.filter((o) => o === "Conv")).toHaveLength(4);
      expect(new Set(m.graph.initializer.map((i) => i.dataType))).toEqual(new Set([1, 7]));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("names the layer when the model does not match the metadata", async () => {
    await initTfjs("wasm");
    const model = buildNetwork(defaultMetadata());
    const other = defaultMetadata({
      architecture: { convFilters: [32, 32, 64, 64], kernelSize: 3, padding: "valid", dense: [512], dropout: 0 },
    });
    expect(() => exportOnnx(model, other)).toThrow(/layer 'conv4' has kernel shape \[3,3,64,128\]/);
    model.dispose();
  });
});
