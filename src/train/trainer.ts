/**
 * Training of a fovea grid-head network from tagged-frame datasets (native, YOLO, COCO).
 *
 *   datasets -> seeded train/val/test split -> each image decoded and resized ONCE with the
 *   runtime's resizeToInput (cached bytes) -> per epoch: augment + normalise (the runtime's
 *   preprocessing) -> Adam steps -> validation -> early stopping; the best model so far is
 *   exported to the output directory after every improvement (the checkpoint), so an
 *   interrupted run still leaves a usable model.
 *
 * Fine-tune mode keeps the conv layers of a shipped model, computes the conv features of every
 * frame once, and retrains only the dense layers on the cached features.
 */
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import cliProgress from "cli-progress";
import { FoveaInputError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import { loadModelDir } from "../core/model-dir.js";
import type { ModelMetadata } from "../core/model-metadata.js";
import { mapLimited } from "../dataset/image-size.js";
import { readDataset } from "../dataset/read-dataset.js";
import type { LabelledObject, TaggedFrame } from "../dataset/tagged-frame.js";
import { initTfjs, type TfjsBackendPreference } from "../engine/tfjs-backend.js";
import { normalise, preprocessParams, resizeToInput } from "../preprocess/preprocess.js";
import { Rng } from "../core/prng.js";
import { DEFAULT_AUGMENT, augment, augmentationEnvelope, type AugmentOptions } from "./augment.js";
import { exportModelDir, loadLayersModel } from "./export-model.js";
import { cellAccuracy, encodeGridTargets, type CellAccuracy, type GridLossOptions } from "./grid-targets.js";
import { buildNetwork, featureLayerName, presetMetadata, type NetworkPreset } from "./network.js";
import { ParallelTrainer } from "./parallel-trainer.js";
import { lineChart } from "./svg-plot.js";
import { evaluateBatch, trainStep, type Batch } from "./train-step.js";
import { registerWasmGradientKernels } from "./wasm-gradient-kernels.js";

export interface TrainOptions {
  /** Dataset folders (or COCO .json files); frames of all are pooled. */
  data: string[];
  /** Output model directory. */
  out: string;
  epochs: number;
  /** Seed of the split, shuffling, augmentation and weight init. Default 1. */
  seed?: number;
  /** Default 32. */
  batch?: number;
  /** Adam learning rate. Default 1e-3 (3e-3 when fine-tuning). */
  learningRate?: number;
  /** Epochs without validation improvement before stopping. Default 5. */
  patience?: number;
  /** Fractions of frames held out for validation and test. Default 0.1 each. */
  valFraction?: number;
  testFraction?: number;
  /** Start from this model directory (its architecture, classes and weights). */
  from?: string;
  /** Network of a fresh model (without `from`). Default `cells` (see presetMetadata). */
  network?: NetworkPreset;
  /** With `from`: keep the conv layers, train only the dense layers on cached conv features. */
  fineTune?: boolean;
  backend?: TfjsBackendPreference;
  /** Augmentation ranges; false disables augmentation. */
  augment?: AugmentOptions | false;
  /** Stop after this many minutes (finishing the current epoch's validation and export). */
  maxMinutes?: number;
  /** Use at most this many frames of the data (after shuffling). */
  maxFrames?: number;
  /** Model id written to metadata. Default from `from` or `fovea-trained`. */
  id?: string;
  /** Show a cli-progress bar on stderr. Default true. */
  progress?: boolean;
  loss?: GridLossOptions;
  /**
   * Worker threads of data-parallel training (src/train/parallel-trainer.ts); 1 trains in this
   * thread. Default: os.availableParallelism() (at most 8) for full training on the wasm backend
   * (single-threaded in Node), else 1 (tfjs-node is multi-threaded itself; fine-tuning the dense
   * layers is too cheap per step to gain from it).
   */
  workers?: number;
  /** Weight storage type of the exported model files. Default float32. */
  weights?: "float32" | "float16";
  log?: Logger;
  /** Stops training at the next batch boundary (e.g. on SIGINT); the best model is still exported. */
  signal?: AbortSignal;
}

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  /** Object cells classified correctly (training batches, with dropout and augmentation). */
  trainAccuracy: number;
  valLoss: number;
  valAccuracy: number;
  valBackgroundAccuracy: number;
  imagesPerSecond: number;
  seconds: number;
}

export interface TrainReport {
  out: string;
  backend: string;
  /** Worker threads that trained (1: in-process). */
  workers: number;
  mode: "full" | "fine-tune";
  frames: { train: number; val: number; test: number };
  epochs: EpochRecord[];
  /** Validation accuracy against the number of training frames seen so far. */
  accuracyVsFrames: Array<{ frames: number; valAccuracy: number; valLoss: number }>;
  bestEpoch: number;
  test: { loss: number; accuracy: number; backgroundAccuracy: number };
  imagesPerSecond: number;
  stoppedBy: "epochs" | "early-stopping" | "time" | "signal";
  dataFingerprint: string;
}

interface Example {
  frame: TaggedFrame;
  root: string;
  /** Input-size RGB bytes from resizeToInput. */
  rgb: Uint8Array;
}

/** sha256 over every frame's image path and labels: identifies the training data whatever its format. */
export function dataFingerprint(frames: ReadonlyArray<{ image: string; objects: readonly LabelledObject[] }>): string {
  const h = createHash("sha256");
  for (const f of [...frames].sort((a, b) => (a.image < b.image ? -1 : a.image > b.image ? 1 : 0))) {
    h.update(f.image);
    for (const o of f.objects) h.update(`|${o.label}:${o.box.xMin.toFixed(5)},${o.box.yMin.toFixed(5)},${o.box.xMax.toFixed(5)},${o.box.yMax.toFixed(5)}`);
    h.update("\n");
  }
  return `sha256:${h.digest("hex")}`;
}

function shuffle<T>(items: T[], rng: Rng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

function ratio(a: CellAccuracy): { objects: number; background: number } {
  return { objects: a.objectCells ? a.objectCorrect / a.objectCells : 0, background: a.backgroundCells ? a.backgroundCorrect / a.backgroundCells : 0 };
}

function addAccuracy(total: CellAccuracy, a: CellAccuracy): void {
  total.objectCorrect += a.objectCorrect;
  total.objectCells += a.objectCells;
  total.backgroundCorrect += a.backgroundCorrect;
  total.backgroundCells += a.backgroundCells;
}

function checkOptions(o: TrainOptions): void {
  if (!Array.isArray(o.data) || o.data.length === 0) throw new FoveaInputError("--data", "expected at least one dataset folder");
  if (!Number.isInteger(o.epochs) || o.epochs < 1) throw new FoveaInputError("--epochs", `expected a positive integer, got ${o.epochs}`);
  if (o.batch !== undefined && (!Number.isInteger(o.batch) || o.batch < 1)) throw new FoveaInputError("--batch", `expected a positive integer, got ${o.batch}`);
  if (o.workers !== undefined && (!Number.isInteger(o.workers) || o.workers < 1)) throw new FoveaInputError("--workers", `expected a positive integer, got ${o.workers}`);
  if (o.fineTune && !o.from) throw new FoveaInputError("--fine-tune", "needs --from MODELDIR (the model whose conv layers are kept)");
  for (const [k, v] of [["valFraction", o.valFraction], ["testFraction", o.testFraction]] as const) {
    if (v !== undefined && !(v >= 0 && v < 0.5)) throw new RangeError(`options.${k}: expected 0 <= value < 0.5, got ${v}`);
  }
}

/** Train a model; see TrainOptions. Resolves with the report also written to `out`. */
export async function train(options: TrainOptions): Promise<TrainReport> {
  checkOptions(options);
  const seed = options.seed ?? 1;
  const batchSize = options.batch ?? 32;
  const patience = options.patience ?? 5;
  const log = options.log;
  const runtime = await initTfjs(options.backend ?? "auto");
  if (runtime.backend === "wasm") registerWasmGradientKernels();
  log?.info({ backend: runtime.backend, skipped: runtime.skipped }, "tfjs backend");

  // Model and metadata: a shipped model to continue from, or a fresh default network.
  let meta: ModelMetadata;
  let model: tf.LayersModel;
  const datasets = await Promise.all(options.data.map((d) => readDataset(d, { where: "--data" })));
  if (options.from) {
    meta = (await loadModelDir(options.from)).metadata;
    model = await loadLayersModel(options.from);
  } else {
    meta = presetMetadata(options.network ?? "cells", { classes: datasets[0].classes, id: options.id ?? "fovea-trained" });
    model = buildNetwork(meta, { seed });
  }
  const classSet = new Set(meta.classes);
  for (const ds of datasets) {
    for (const f of ds.frames) {
      const bad = f.objects.find((o) => !classSet.has(o.label));
      if (bad) throw new FoveaInputError(path.join(ds.root, f.image), `label '${bad.label}' is not a class of the model (${meta.classes.join(", ")})`);
    }
  }

  // Seeded split of the pooled frames.
  const rng = new Rng(seed);
  let frames = shuffle(datasets.flatMap((ds) => ds.frames.map((frame) => ({ frame, root: ds.root }))), rng);
  if (options.maxFrames) frames = frames.slice(0, options.maxFrames);
  const nVal = Math.round(frames.length * (options.valFraction ?? 0.1));
  const nTest = Math.round(frames.length * (options.testFraction ?? 0.1));
  if (frames.length - nVal - nTest < 1) throw new FoveaInputError("--data", `${frames.length} frames leave none for training after the validation/test split`);

  const params = preprocessParams(meta);
  const bar = options.progress === false ? undefined : new cliProgress.SingleBar(
    { format: "{stage} |{bar}| {value}/{total} {info}", stream: process.stderr, hideCursor: false, noTTYOutput: true, notTTYSchedule: 15_000, etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  );
  bar?.start(frames.length, 0, { stage: "decoding", info: "" });
  let decoded = 0;
  const examples: Example[] = await mapLimited(frames, 4, async ({ frame, root }) => {
    const rgb = await resizeToInput({ file: path.join(root, frame.image) }, params);
    bar?.update(++decoded);
    return { frame, root, rgb: new Uint8Array(rgb.buffer, rgb.byteOffset, rgb.length) };
  });
  bar?.stop();
  const test = examples.slice(0, nTest);
  const val = examples.slice(nTest, nTest + nVal);
  const trainSet = examples.slice(nTest + nVal);
  const fingerprint = dataFingerprint(examples.map((e) => e.frame));
  log?.info({ train: trainSet.length, val: val.length, test: test.length, fingerprint }, "split");

  const { width, height } = meta.input;
  const pixels = width * height * 3;
  const grid = { rows: meta.head.rows, cols: meta.head.cols, classes: meta.classes };
  const augmentOptions = options.augment === false ? undefined : (options.augment ?? DEFAULT_AUGMENT);
  const meanRange: [number, number] = [Infinity, -Infinity];

  /** Network input of examples (augmented when training), normalised by the runtime's function. */
  const imageBatch = (items: Example[], augmentRng?: Rng): Batch => {
    const input = new Float32Array(items.length * pixels);
    const objects: LabelledObject[][] = [];
    items.forEach((e, i) => {
      const s = augmentRng && augmentOptions ? augment({ rgb: e.rgb, width, height, objects: e.frame.objects }, augmentOptions, augmentRng) : { rgb: e.rgb, objects: e.frame.objects };
      const mean = normalise(s.rgb, input.subarray(i * pixels, (i + 1) * pixels), meta.preprocess);
      if (augmentRng) for (const m of mean) (meanRange[0] = Math.min(meanRange[0], m)), (meanRange[1] = Math.max(meanRange[1], m));
      objects.push(s.objects);
    });
    return { input, shape: [items.length, height, width, 3], targets: encodeGridTargets(objects, grid) };
  };

  // Fine-tune: a head model sharing the dense layers, fed with conv features computed once.
  const fineTune = options.fineTune === true;
  let trainModel = model;
  let features: Map<Example, Float32Array> | undefined;
  let trainable: tf.Variable[] | undefined;
  /** Shape of one cached feature map (fine-tuning): what the retrained layers take as input. */
  let featureDims: number[] = [];
  if (fineTune) {
    const featureLayer = model.getLayer(featureLayerName(meta));
    const extractor = tf.model({ inputs: model.inputs, outputs: featureLayer.output as tf.SymbolicTensor });
    featureDims = (featureLayer.outputShape as number[]).slice(1);
    const featureInput = tf.input({ shape: featureDims });
    const symbolic = new Map<string, tf.SymbolicTensor>([[featureLayer.name, featureInput]]);
    const after = model.layers.slice(model.layers.indexOf(featureLayer) + 1);
    for (const layer of after) {
      const parents = layer.inboundNodes[0].inboundLayers.map((l) => symbolic.get(l.name)!);
      symbolic.set(layer.name, layer.apply(parents.length === 1 ? parents[0] : parents) as tf.SymbolicTensor);
    }
    trainModel = tf.model({ inputs: featureInput, outputs: model.outputs.map((o) => symbolic.get(o.sourceLayer.name)!) });
    trainable = after.flatMap((l) => l.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val));
    features = new Map();
    bar?.start(examples.length, 0, { stage: "conv features", info: "" });
    for (let i = 0; i < examples.length; i += 64) {
      const chunk = examples.slice(i, i + 64);
      const out = tf.tidy(() => extractor.predict(tf.tensor(imageBatch(chunk).input, [chunk.length, height, width, 3])) as tf.Tensor);
      const data = (await out.data()) as Float32Array;
      out.dispose();
      const n = data.length / chunk.length;
      chunk.forEach((e, j) => features!.set(e, data.slice(j * n, (j + 1) * n)));
      bar?.update(i + chunk.length);
    }
    bar?.stop();
  }
  const featureBatch = (items: Example[]): Batch => {
    const n = features!.get(items[0])!.length;
    const input = new Float32Array(items.length * n);
    items.forEach((e, i) => input.set(features!.get(e)!, i * n));
    return { input, shape: [items.length, ...featureDims], targets: encodeGridTargets(items.map((e) => e.frame.objects), grid) };
  };
  const makeBatch = (items: Example[], augmentRng?: Rng) => (fineTune ? featureBatch(items) : imageBatch(items, augmentRng));

  const evaluate = async (items: Example[]) => {
    let loss = 0;
    const acc: CellAccuracy = { objectCorrect: 0, objectCells: 0, backgroundCorrect: 0, backgroundCells: 0 };
    for (let i = 0; i < items.length; i += 64) {
      const b = makeBatch(items.slice(i, i + 64));
      const r = await evaluateBatch(trainModel, b, options.loss);
      loss += r.loss * b.targets.batch;
      addAccuracy(acc, cellAccuracy(r.predClasses, b.targets));
    }
    const r = ratio(acc);
    return { loss: items.length ? loss / items.length : NaN, accuracy: r.objects, backgroundAccuracy: r.background };
  };

  const learningRate = options.learningRate ?? (fineTune ? 3e-3 : 1e-3);
  const optimizer = tf.train.adam(learningRate);
  const workers = Math.min(options.workers ?? (runtime.backend === "wasm" && !fineTune ? Math.min(8, os.availableParallelism()) : 1), batchSize);
  let parallel: ParallelTrainer | undefined;
  if (workers > 1) {
    parallel = await ParallelTrainer.create({ model: trainModel, workers, backend: runtime.backend, learningRate, maxBatch: batchSize, loss: options.loss });
  }
  log?.info({ workers }, workers > 1 ? "data-parallel training over worker threads" : "training in-process");
  /** The main thread's model holds the trained weights (for validation and checkpoints). */
  const syncWeights = async () => {
    if (parallel) await parallel.syncTo(trainModel);
  };
  const started = performance.now();
  const deadline = options.maxMinutes ? started + options.maxMinutes * 60_000 : Infinity;
  const epochs: EpochRecord[] = [];
  const curve: TrainReport["accuracyVsFrames"] = [];
  const valProbe = val.slice(0, Math.min(val.length, 256));
  let best = { loss: Infinity, epoch: 0 };
  let stoppedBy: TrainReport["stoppedBy"] = "epochs";
  let framesSeen = 0;
  let trainSeconds = 0;
  const steps = Math.ceil(trainSet.length / batchSize);
  const probeEvery = Math.max(1, Math.floor(steps / 4));
  // Per-class thresholds (`fovea eval --set-thresholds`) and an eval summary describe the weights
  // this run replaces: they are not carried over.
  const { classScoreThresholds: _staleThresholds, ...decode } = meta.decode;
  const buildMeta = (extra: Record<string, unknown>): ModelMetadata => ({
    ...meta,
    decode,
    eval: undefined,
    id: options.id ?? meta.id,
    trained: true,
    augmentation: augmentOptions && !fineTune ? augmentationEnvelope(augmentOptions, Number.isFinite(meanRange[0]) ? meanRange : undefined) : meta.augmentation,
    training: {
      dataFingerprint: fingerprint,
      data: options.data.map((d) => path.basename(path.resolve(d))),
      frames: { train: trainSet.length, val: val.length, test: test.length },
      seed,
      batch: batchSize,
      mode: fineTune ? "fine-tune" : "full",
      from: options.from ? path.basename(path.resolve(options.from)) : undefined,
      backend: runtime.backend,
      workers,
      date: new Date().toISOString(),
      ...extra,
    },
  });

  try {
    training: for (let epoch = 1; epoch <= options.epochs; epoch++) {
      const epochRng = new Rng(seed * 1000 + epoch);
      const order = shuffle(trainSet.slice(), epochRng);
      let lossSum = 0;
      const acc: CellAccuracy = { objectCorrect: 0, objectCells: 0, backgroundCorrect: 0, backgroundCells: 0 };
      const t0 = performance.now();
      let images = 0;
      let probeMs = 0;
      bar?.start(steps, 0, { stage: `epoch ${epoch}/${options.epochs}`, info: "" });
      for (let s = 0; s < steps; s++) {
        if (options.signal?.aborted) {
          stoppedBy = "signal";
          break;
        }
        if (performance.now() > deadline) {
          stoppedBy = "time";
          break;
        }
        // wasm tensor downloads resolve as microtasks: without a macrotask turn per step, timers
        // (the progress bar's redraw) and signal handlers would never run during an epoch.
        await new Promise((resolve) => setImmediate(resolve));
        const batch = makeBatch(order.slice(s * batchSize, (s + 1) * batchSize), epochRng);
        const r = parallel
          ? await parallel.step(batch, { wantPredictions: true })
          : await trainStep(trainModel, optimizer, batch, { ...options.loss, trainable, wantPredictions: true });
        if (!Number.isFinite(r.loss)) throw new Error(`training diverged at epoch ${epoch}, step ${s + 1}: loss ${r.loss}; lower --lr`);
        lossSum += r.loss * batch.targets.batch;
        images += batch.targets.batch;
        framesSeen += batch.targets.batch;
        addAccuracy(acc, cellAccuracy(r.predClasses!, batch.targets));
        const ips = images / ((performance.now() - t0 - probeMs) / 1000);
        bar?.update(s + 1, { info: `loss ${(lossSum / images).toFixed(3)} acc ${ratio(acc).objects.toFixed(3)} ${ips.toFixed(1)} img/s` });
        if ((s + 1) % probeEvery === 0 && valProbe.length) {
          const p0 = performance.now();
          await syncWeights();
          const p = await evaluate(valProbe);
          curve.push({ frames: framesSeen, valAccuracy: p.accuracy, valLoss: p.loss });
          probeMs += performance.now() - p0;
        }
      }
      bar?.stop();
      // Training time only: the validation probes are not part of the images/s figure.
      const seconds = (performance.now() - t0 - probeMs) / 1000;
      trainSeconds += seconds;
      if (images === 0) break;
      await syncWeights();
      const v = await evaluate(val);
      const record: EpochRecord = {
        epoch,
        trainLoss: lossSum / images,
        trainAccuracy: ratio(acc).objects,
        valLoss: v.loss,
        valAccuracy: v.accuracy,
        valBackgroundAccuracy: v.backgroundAccuracy,
        imagesPerSecond: images / seconds,
        seconds,
      };
      epochs.push(record);
      log?.info(record, "epoch");
      // Checkpoint: the best model so far is the output directory's model.
      if (!(v.loss >= best.loss) || val.length === 0) {
        best = { loss: v.loss, epoch };
        await exportModelDir(model, buildMeta({ epochs: epoch, bestEpoch: epoch, imagesPerSecond: framesSeen / trainSeconds, valLoss: v.loss, valAccuracy: v.accuracy }), options.out, { weightsDtype: options.weights });
        log?.info({ out: options.out, epoch }, "checkpoint exported");
      } else if (epoch - best.epoch >= patience) {
        stoppedBy = "early-stopping";
        break training;
      }
      if (stoppedBy !== "epochs") break;
    }
  } finally {
    await parallel?.close();
  }
  if (epochs.length === 0) throw new Error("training stopped before the first epoch completed; no model written");

  // The test split is scored with the exported (best) weights.
  const bestModel = await loadLayersModel(options.out);
  if (fineTune) {
    // Features are the same for the best model: its conv layers were frozen.
    model.setWeights(bestModel.getWeights());
  } else {
    trainModel = bestModel;
  }
  const testScore = await evaluate(test);
  const imagesPerSecond = framesSeen / trainSeconds;
  const bestRecord = epochs.find((e) => e.epoch === best.epoch)!;
  await exportModelDir(
    fineTune ? model : bestModel,
    buildMeta({ epochs: epochs.length, bestEpoch: best.epoch, imagesPerSecond, valLoss: bestRecord.valLoss, valAccuracy: bestRecord.valAccuracy, test: testScore, stoppedBy }),
    options.out,
    { weightsDtype: options.weights },
  );
  const report: TrainReport = {
    out: path.resolve(options.out),
    backend: runtime.backend,
    workers,
    mode: fineTune ? "fine-tune" : "full",
    frames: { train: trainSet.length, val: val.length, test: test.length },
    epochs,
    accuracyVsFrames: curve,
    bestEpoch: best.epoch,
    test: testScore,
    imagesPerSecond,
    stoppedBy,
    dataFingerprint: fingerprint,
  };
  await writeReport(report);
  bestModel.dispose();
  if (trainModel !== model && trainModel !== bestModel) trainModel.dispose();
  model.dispose();
  optimizer.dispose();
  return report;
}

/** training-report.json plus the two SVG plots, in the model directory. */
async function writeReport(report: TrainReport): Promise<void> {
  const dir = report.out;
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "training-report.json"), JSON.stringify(report, null, 2) + "\n");
  await writeFile(
    path.join(dir, "learning-curve.svg"),
    lineChart({
      title: "Learning curve",
      xLabel: "epoch",
      yLabel: "loss / accuracy",
      series: [
        { name: "train loss", points: report.epochs.map((e) => [e.epoch, e.trainLoss]) },
        { name: "val loss", points: report.epochs.map((e) => [e.epoch, e.valLoss]) },
        { name: "train accuracy", points: report.epochs.map((e) => [e.epoch, e.trainAccuracy]) },
        { name: "val accuracy", points: report.epochs.map((e) => [e.epoch, e.valAccuracy]) },
      ],
    }),
  );
  await writeFile(
    path.join(dir, "accuracy-vs-frames.svg"),
    lineChart({
      title: "Validation accuracy (object cells) vs training frames seen",
      xLabel: "training frames seen",
      yLabel: "accuracy",
      series: [{ name: "val accuracy", points: report.accuracyVsFrames.map((p) => [p.frames, p.valAccuracy]) }],
    }),
  );
}
