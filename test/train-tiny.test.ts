/**
 * End to end: `fovea synth` frames (YOLO) -> train() on the wasm backend with the project's
 * gradient kernels -> a model directory that loads, with the report and plots beside it.
 * A small network (32x32 input, 4x4 grid) keeps it fast; the loss must go down.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runSynth } from "../src/cli/synth.js";
import { loadModelDir } from "../src/core/model-dir.js";
import { initTfjs } from "../src/engine/tfjs-backend.js";
import { exportModelDir } from "../src/train/export-model.js";
import { parseHeatmapWidths } from "../src/train/heatmap-widths.js";
import { buildNetwork, defaultMetadata } from "../src/train/network.js";
import { train } from "../src/train/trainer.js";

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "fovea-train-"));
  await runSynth({
    out: path.join(dir, "data"),
    frames: "12",
    size: "64x48",
    format: "yolo",
    seed: "3",
    fps: "30",
    imageFormat: "png",
    threads: "0",
  });
  await initTfjs("wasm");
  const meta = defaultMetadata({
    id: "tiny",
    input: { width: 32, height: 32, channels: 3, name: "input" },
    architecture: { convFilters: [8, 8], kernelSize: 3, padding: "valid", dense: [32], dropout: 0 },
    head: { kind: "grid", rows: 4, cols: 4, classesOutput: "classes", boxesOutput: "boxes" },
    // As `fovea eval --set-thresholds` leaves it: retraining must not keep these.
    decode: { scoreThreshold: 0.5, nmsIou: 0.3, maxDetections: 64, classScoreThresholds: { ball: 0.2 } },
  });
  await exportModelDir(buildNetwork(meta, { seed: 1 }), meta, path.join(dir, "start"));
  // The per-cell head (`--network cells` shape): 32 -> 30 -> 15 -> 13 -> 6, a 6x6 grid.
  const cells = defaultMetadata({
    id: "tiny-cells",
    input: { width: 32, height: 32, channels: 3, name: "input" },
    architecture: { convFilters: [8, 8], kernelSize: 3, padding: "valid", dense: [16], dropout: 0 },
    head: {
      kind: "grid",
      rows: 6,
      cols: 6,
      connection: "convolutional",
      contextFilters: 8,
      classesOutput: "classes",
      boxesOutput: "boxes",
    },
  });
  await exportModelDir(buildNetwork(cells, { seed: 1 }), cells, path.join(dir, "start-cells"));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Six fine-tuning epochs of the model in `from` on the tiny data set. */
function fineTune(from: string, out: string) {
  return train({
    data: [path.join(dir, "data")],
    from,
    fineTune: true,
    out,
    epochs: 6,
    batch: 4,
    backend: "wasm",
    progress: false,
    patience: 100,
  });
}

/** A fresh small heatmap network (the default preset's layers) trained on the tiny data set without augmentation. */
function trainTinyHeatmap(out: string, o: { epochs: number; workers?: number; batchNorm?: boolean; neckDilations?: number[] }) {
  return train({
    data: [path.join(dir, "data")],
    out,
    epochs: o.epochs,
    batch: 4,
    learningRate: 1e-2,
    schedule: "constant",
    valFraction: 0.17,
    testFraction: 0.17,
    augment: false,
    backend: "wasm",
    progress: false,
    patience: 100,
    workers: o.workers,
    networkOverrides: {
      input: { width: 32, height: 24, channels: 3, name: "input" },
      architecture: { convFilters: [4, 8, 8], kernelSize: 3, padding: "same", dense: [], dropout: 0 },
      head: {
        kind: "heatmap",
        stride: 2,
        neckFilters: [8],
        neckDilations: o.neckDilations,
        headFilters: 8,
        batchNorm: o.batchNorm ?? false,
      },
    },
  });
}

describe("fovea train (tiny)", () => {
  it("lowers the loss and writes a loadable model with its report", async () => {
    const out = path.join(dir, "model");
    const report = await train({
      data: [path.join(dir, "data")],
      from: path.join(dir, "start"),
      out,
      epochs: 8,
      batch: 4,
      learningRate: 3e-3,
      schedule: "constant",
      valFraction: 0.17,
      testFraction: 0.17,
      augment: false,
      backend: "wasm",
      progress: false,
      patience: 100,
    });
    expect(report.backend).toBe("wasm");
    expect(report.frames).toEqual({ train: 8, val: 2, test: 2 });
    expect(report.epochs).toHaveLength(8);
    const first = report.epochs[0].trainLoss;
    const last = report.epochs[report.epochs.length - 1].trainLoss;
    expect(last).toBeLessThan(first * 0.8);
    const model = await loadModelDir(out);
    expect(model.metadata.trained).toBe(true);
    expect(model.metadata.training?.dataFingerprint).toBe(report.dataFingerprint);
    expect(model.onnxPath).toBeDefined();
    const json = JSON.parse(await readFile(path.join(out, "training-report.json"), "utf8"));
    expect(json.epochs).toHaveLength(8);
    const svg = await readFile(path.join(out, "learning-curve.svg"), "utf8");
    expect(svg).toContain("<polyline");
  });

  it("fine-tunes only the dense layers from cached conv features", async () => {
    const out = path.join(dir, "fine");
    const before = await loadModelDir(path.join(dir, "start"));
    const report = await fineTune(path.join(dir, "start"), out);
    expect(report.mode).toBe("fine-tune");
    expect(report.epochs[report.epochs.length - 1].trainLoss).toBeLessThan(report.epochs[0].trainLoss);
    const { loadLayersModel } = await import("../src/train/export-model.js");
    const a = await loadLayersModel(path.join(dir, "start"));
    const b = await loadLayersModel(out);
    const conv = (m: typeof a) => Array.from(m.getLayer("conv1").getWeights()[0].dataSync());
    const dense = (m: typeof a) => Array.from(m.getLayer("dense1").getWeights()[0].dataSync());
    expect(conv(b)).toEqual(conv(a));
    expect(dense(b)).not.toEqual(dense(a));
    expect(before.metadata.id).toBe("tiny");
    // The start model's per-class thresholds were tuned for the weights this run replaced.
    expect(before.metadata.decode.classScoreThresholds).toEqual({ ball: 0.2 });
    expect((await loadModelDir(out)).metadata.decode).toEqual({ scoreThreshold: 0.5, nmsIou: 0.3, maxDetections: 64 });
  });

  it("trains a fresh heatmap network (the default preset's layers, small) and lowers the loss", async () => {
    const out = path.join(dir, "heatmap");
    const report = await trainTinyHeatmap(out, { epochs: 20 });
    expect(report.epochs[report.epochs.length - 1].trainLoss).toBeLessThan(report.epochs[0].trainLoss * 0.8);
    const model = await loadModelDir(out);
    expect(model.metadata.head.kind).toBe("heatmap");
    expect(model.onnxPath).toBeDefined();
    // A finished run leaves no checkpoint behind.
    await expect(readFile(path.join(out, "checkpoint", "resume.json"))).rejects.toThrow(/ENOENT/);
  });

  it("trains a batch-normed heatmap network with a dilated neck over two workers: loss falls, moving statistics are learned", async () => {
    const out = path.join(dir, "heatmap-bn");
    // tfjs's own conv gradient refuses a dilation above 1: the workers must train with TrainingConv2D.
    const report = await trainTinyHeatmap(out, { epochs: 12, workers: 2, batchNorm: true, neckDilations: [2] });
    expect(report.epochs[report.epochs.length - 1].trainLoss).toBeLessThan(report.epochs[0].trainLoss * 0.8);
    const { loadLayersModel } = await import("../src/train/export-model.js");
    const model = await loadLayersModel(out);
    // The moving statistics come from the workers' forward passes; left at their initial 0 and 1
    // the exported (folded) model would see wrongly scaled features.
    const [, , mean, variance] = model
      .getLayer("conv1_bn")
      .getWeights()
      .map((w) => Array.from(w.dataSync()));
    expect(mean.some((m) => Math.abs(m) > 1e-3)).toBe(true);
    expect(variance.some((v) => Math.abs(v - 1) > 1e-3)).toBe(true);
    expect((await loadModelDir(out)).metadata.head).toMatchObject({ kind: "heatmap", batchNorm: true, neckDilations: [2] });
    expect(model.getLayer("neck1").getConfig().dilationRate).toEqual([2, 2]);
  });

  it("fine-tunes a heatmap model: conv blocks frozen, neck and outputs retrained", async () => {
    const from = path.join(dir, "heatmap"); // written by the test above
    const out = path.join(dir, "heatmap-fine");
    const report = await train({
      data: [path.join(dir, "data")],
      from,
      fineTune: true,
      out,
      epochs: 4,
      batch: 4,
      backend: "wasm",
      progress: false,
      patience: 100,
      workers: 2,
    });
    expect(report.mode).toBe("fine-tune");
    const { loadLayersModel } = await import("../src/train/export-model.js");
    const a = await loadLayersModel(from);
    const b = await loadLayersModel(out);
    const weights = (m: typeof a, layer: string) => Array.from(m.getLayer(layer).getWeights()[0].dataSync());
    for (const layer of ["conv1", "conv2", "conv3"]) expect(weights(b, layer), layer).toEqual(weights(a, layer));
    expect(weights(b, "neck1")).not.toEqual(weights(a, "neck1"));
    expect(weights(b, "heatmap")).not.toEqual(weights(a, "heatmap"));
  });

  it("grows a trained heatmap model to wider filters, or narrows it, and trains it on (--from --widths)", async () => {
    const from = path.join(dir, "heatmap"); // written by the test above
    const out = path.join(dir, "heatmap-grown");
    const { parseHeatmapWidths } = await import("../src/train/heatmap-widths.js");
    const report = await train({
      data: [path.join(dir, "data")],
      from,
      widths: parseHeatmapWidths("--widths", "6-8-12/12/12"),
      out,
      epochs: 3,
      batch: 4,
      learningRate: 1e-2,
      schedule: "constant",
      augment: false,
      backend: "wasm",
      progress: false,
      patience: 100,
    });
    expect(report.mode).toBe("full");
    const meta = JSON.parse(await readFile(path.join(out, "fovea.json"), "utf8"));
    expect(meta.architecture.convFilters).toEqual([6, 8, 12]);
    expect(meta.head).toMatchObject({ neckFilters: [12], headFilters: 12 });
    expect(meta.description).toContain("(6, 8, 12 filters), a context conv of 12 at stride 4");
    const { loadLayersModel } = await import("../src/train/export-model.js");
    const grown = await loadLayersModel(out);
    expect(grown.getLayer("conv2").getWeights()[0].shape).toEqual([3, 3, 6, 8]);
    grown.dispose();
    const narrowedOut = path.join(dir, "heatmap-narrowed");
    await train({
      data: [path.join(dir, "data")],
      from: out,
      widths: parseHeatmapWidths("w", "4-8-8/8/8"),
      out: narrowedOut,
      epochs: 1,
      batch: 4,
      augment: false,
      backend: "wasm",
      progress: false,
    });
    const narrowed = await loadLayersModel(narrowedOut);
    expect(narrowed.getLayer("conv2").getWeights()[0].shape).toEqual([3, 3, 4, 8]);
    expect(narrowed.getLayer("conv3").getWeights()[0].shape).toEqual([3, 3, 8, 8]);
    narrowed.dispose();
    const bad = await train({
      data: [path.join(dir, "data")],
      from: out,
      widths: parseHeatmapWidths("w", "4-8/8/8"),
      out: path.join(dir, "x"),
      epochs: 1,
      backend: "wasm",
      progress: false,
    }).catch((e: unknown) => e);
    expect(String(bad)).toMatch(/--widths: 4-8\/8\/8 has another number of conv or neck layers than the model's 6-8-12\/12\/12/);
  });

  it("adds a stride-2 first conv at twice the input and trains it on (--from --stem), workers included", async () => {
    const from = path.join(dir, "heatmap"); // written by the test above
    const out = path.join(dir, "heatmap-stem");
    const { parseHeatmapStem } = await import("../src/train/heatmap-widths.js");
    const before = (await loadModelDir(from)).metadata;
    const report = await train({
      data: [path.join(dir, "data")],
      from,
      stem: parseHeatmapStem("--stem", "4s2"),
      out,
      epochs: 2,
      batch: 4,
      augment: false,
      backend: "wasm",
      progress: false,
      patience: 100,
      workers: 2,
    });
    expect(report.epochs.length).toBe(2);
    expect(report.epochs.every((e) => Number.isFinite(e.trainLoss))).toBe(true);
    const { metadata, onnxPath } = await loadModelDir(out);
    expect(metadata.input).toMatchObject({ width: 2 * before.input.width, height: 2 * before.input.height });
    expect(metadata.head).toMatchObject({ stride: 2 * (before.head as { stride: number }).stride, stem: { kernelSize: 4, stride: 2 } });
    expect(metadata.description).toContain("the first a 4x4 conv at stride 2");
    // The exported graph takes the doubled input and gives the same grid of cells as before.
    const ort = await import("onnxruntime-node");
    const session = await ort.InferenceSession.create(onnxPath!);
    const { width, height } = metadata.input;
    const outs = await session.run({
      [metadata.input.name]: new ort.Tensor("float32", new Float32Array(height * width * 3).fill(0.5), [1, height, width, 3]),
    });
    const stride = (before.head as { stride: number }).stride;
    expect(outs.heatmap.dims).toEqual([1, before.input.height / stride, before.input.width / stride, metadata.classes.length]);
    await session.release();
    // A fresh network with a stem keeps the preset's 160x120, which the stem's deepest stride of 16 does not divide.
    await expect(
      train({
        data: [path.join(dir, "data")],
        stem: parseHeatmapStem("--stem", "4s2"),
        out: path.join(dir, "x-stem"),
        epochs: 1,
        backend: "wasm",
        progress: false,
      }),
    ).rejects.toThrow(/--stem: .*not divisible by the deepest stride 16.*--input, e.g. 320x240/);
  });

  it("resumes an interrupted run from its checkpoint and finishes the schedule", async () => {
    const out = path.join(dir, "resume");
    const options = {
      data: [path.join(dir, "data")],
      out,
      epochs: 3,
      batch: 2,
      valFraction: 0.17,
      testFraction: 0.17,
      backend: "wasm" as const,
      progress: false,
      patience: 100,
      workers: 1,
      checkpointEvery: 2,
      networkOverrides: {
        input: { width: 32, height: 24, channels: 3 as const, name: "input" },
        architecture: { convFilters: [4, 8], kernelSize: 3, padding: "same" as const, dense: [], dropout: 0 },
        head: { kind: "heatmap" as const, stride: 2, neckFilters: [], headFilters: 4 },
      },
    };
    const abort = new AbortController();
    let steps = 0;
    const first = await train({
      ...options,
      signal: abort.signal,
      // Stops in epoch 2, after its first checkpoint (a step of 2 images each).
      log: {
        info: (o: { framesSeen?: number }, msg?: string) => msg === "probe" && o.framesSeen! >= 10 && abort.abort(),
        warn: () => {},
        error: () => {},
        debug: () => {},
      } as never,
    });
    steps = first.epochs.length;
    expect(first.stoppedBy).toBe("signal");
    const state = JSON.parse(await readFile(path.join(out, "checkpoint", "resume.json"), "utf8"));
    expect(state.epoch).toBe(2);
    expect(state.step).toBeGreaterThan(0);
    // Another batch would re-cut the epoch under the checkpoint's step: refused, naming the flag.
    await expect(train({ ...options, batch: 4, resume: true })).rejects.toThrow(/--batch: .*uses batch 2, got 4/);
    const { batch: _batch, ...withoutBatch } = options;
    // A checkpoint that does not record its rate needs --lr.
    const metaFile = path.join(out, "checkpoint", "fovea.json");
    const written = await readFile(metaFile, "utf8");
    const meta = JSON.parse(written);
    delete meta.training.learningRate;
    await writeFile(metaFile, JSON.stringify(meta));
    await expect(train({ ...withoutBatch, resume: true })).rejects.toThrow(/--lr: .*does not record its learning rate/);
    await writeFile(metaFile, written);
    // --widths and --fit may repeat the run's own ("the same command with --resume"), not change them.
    await expect(train({ ...withoutBatch, resume: true, widths: parseHeatmapWidths("--widths", "4-8//8") })).rejects.toThrow(
      /--widths: the run in .*checkpoint trains 4-8\/\/4, got 4-8\/\/8/,
    );
    await expect(train({ ...withoutBatch, resume: true, fit: "crop" })).rejects.toThrow(/--fit: .* fits frames by 'fill', got 'crop'/);
    await expect(train({ ...withoutBatch, resume: true, stem: { kernelSize: 4, stride: 2 } })).rejects.toThrow(
      /--stem: the run in .*checkpoint trains no stride-2 first conv, got 4s2/,
    );
    // Without --batch and --lr the run keeps its own; its own --widths and --fit are accepted.
    const resumed = await train({ ...withoutBatch, resume: true, widths: parseHeatmapWidths("--widths", "4-8//4"), fit: "fill" });
    expect((await loadModelDir(out)).metadata.training).toMatchObject({ batch: 2, learningRate: 2e-3 });
    expect(resumed.stoppedBy).toBe("epochs");
    expect(resumed.epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
    // Only epoch 1 was validated before the stop: a stop runs no validation pass of its own.
    expect(steps).toBe(1);
    await expect(readFile(path.join(out, "checkpoint", "resume.json"))).rejects.toThrow(/ENOENT/);
  });

  it("fine-tunes a per-cell head: conv blocks kept, context conv and per-cell dense retrained", async () => {
    const out = path.join(dir, "fine-cells");
    const report = await fineTune(path.join(dir, "start-cells"), out);
    expect(report.mode).toBe("fine-tune");
    expect(report.epochs[report.epochs.length - 1].trainLoss).toBeLessThan(report.epochs[0].trainLoss);
    const { loadLayersModel } = await import("../src/train/export-model.js");
    const a = await loadLayersModel(path.join(dir, "start-cells"));
    const b = await loadLayersModel(out);
    const weights = (m: typeof a, layer: string) => Array.from(m.getLayer(layer).getWeights()[0].dataSync());
    expect(weights(b, "conv2")).toEqual(weights(a, "conv2"));
    expect(weights(b, "context_conv")).not.toEqual(weights(a, "context_conv"));
    expect(weights(b, "dense1")).not.toEqual(weights(a, "dense1"));
    const head = (await loadModelDir(out)).metadata.head;
    expect(head.kind === "grid" && head.connection).toBe("convolutional");
  });
});
