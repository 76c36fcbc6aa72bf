/**
 * Training of a fovea grid-head network from tagged-frame datasets (native, YOLO, COCO).
 *
 *   datasets -> seeded train/val/test split -> each image decoded and resized ONCE with the
 *   runtime's resizeToInput (cached bytes; labels moved into the input by the model's fit,
 *   src/core/fit.ts) -> per epoch: augment + normalise (the runtime's
 *   preprocessing) -> Adam steps -> validation -> early stopping; the best model so far is
 *   exported to the output directory after every improvement, so an interrupted run still
 *   leaves a usable model once an epoch was validated. `<out>/checkpoint` (weights and position)
 *   is written every quarter epoch and on a stop, for `--resume`.
 *
 * Fine-tune mode keeps the conv layers of a shipped model, computes the conv features of every
 * frame once, and retrains only the dense layers on the cached features.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import cliProgress from "cli-progress";
import { FoveaInputError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import { loadModelDir } from "../core/model-dir.js";
import { fitTransform, objectsToInput, type FitRule } from "../core/fit.js";
import type { ModelMetadata, ModelMetadataInput } from "../core/model-metadata.js";
import { mapLimited } from "../dataset/image-size.js";
import { readDataset } from "../dataset/read-dataset.js";
import type { LabelledObject, TaggedFrame } from "../dataset/tagged-frame.js";
import { initTfjs, type TfjsBackendPreference } from "../engine/tfjs-backend.js";
import { normalise, preprocessParams, resizeToInput, type PreprocessParams } from "../preprocess/preprocess.js";
import { Rng } from "../core/prng.js";
import { DEFAULT_AUGMENT, augment, augmentationEnvelope, type AugmentOptions } from "./augment.js";
import { exportModelDir, loadLayersModel } from "./export-model.js";
import { emptyAccuracy, trainHeadFor, type CellAccuracy, type HeadLossOptions } from "../heads/train-head.js";
import { fsSaveHandler } from "../engine/tfjs-fs-io.js";
import { buildModel, featureLayerName, presetMetadata, type NetworkPreset } from "./network.js";
import { ParallelTrainer } from "./parallel-trainer.js";
import { isGrowth, resizeHeatmapNetwork, resizeProblem } from "./resize-network.js";
import {
  formatHeatmapWidths,
  heatmapWidths,
  withHeatmapStem,
  withHeatmapWidths,
  type HeatmapStem,
  type HeatmapWidths,
} from "./heatmap-widths.js";
import { lineChart } from "./svg-plot.js";
import { evaluateBatch, trainStep, type Batch } from "./train-step.js";
import { Detector } from "../detect/detector.js";
import { headOutputs } from "../core/head-outputs.js";
import { registerHeatmapTrainingLayers } from "../heads/heatmap/network.js";
import { confuserPairs } from "../heads/heatmap/targets.js";
import { DetectionEvaluator } from "./eval-metrics.js";

/** Lowest score decoded for the AP curve (as `fovea eval` decodes). */
const AP_CURVE_FLOOR = 0.01;
import { registerWasmGradientKernels } from "./wasm-gradient-kernels.js";

export interface TrainOptions {
  /** Dataset folders (or COCO .json files); frames of all are pooled. */
  data: string[];
  /** Output model directory. */
  out: string;
  epochs: number;
  /** Seed of the split, shuffling, augmentation and weight init. Default 1. */
  seed?: number;
  /**
   * Default: the network's measured recipe (TRAINING_DEFAULTS), or with `resume` the run's own;
   * a resumed run refuses another.
   */
  batch?: number;
  /** Adam learning rate. Default as `batch`. */
  learningRate?: number;
  /** Epochs without validation improvement before stopping. Default 5. */
  patience?: number;
  /** Fractions of frames held out for validation and test. Default 0.1 each. */
  valFraction?: number;
  testFraction?: number;
  /** Start from this model directory (its architecture, classes and weights). */
  from?: string;
  /** Network of a fresh model (without `from`). Default `heatmap` (see presetMetadata). */
  network?: NetworkPreset;
  /** Replaces fields of the preset's metadata (e.g. `architecture`, `head`, `input`) for a fresh model. */
  networkOverrides?: Partial<ModelMetadataInput>;
  /**
   * Filters of the heatmap network (`--widths`): a fresh one's, or with `from` the widths the
   * model is resized to (resize-network.ts: a wider layer keeps its weights and adds channels without
   * effect, a narrower one keeps its strongest filters).
   */
  widths?: HeatmapWidths;
  /**
   * A stride-2 first conv (`--stem`, head.stem): a fresh network's, or with `from` the one the
   * model is given at twice its input, its first conv's taps spread over the larger input
   * (resize-network.ts).
   */
  stem?: HeatmapStem;
  /**
   * How frames are fitted to the input of a fresh model (`preprocess.fit`; default the preset's,
   * `fill`). A model from `from` or `resume` keeps its own.
   */
  fit?: FitRule;
  /**
   * With `from`: keep the conv blocks. A grid head retrains only its dense layers on cached conv
   * features; a heatmap head retrains its neck and outputs (conv blocks frozen) on images.
   */
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
  loss?: HeadLossOptions;
  /**
   * Learning-rate schedule: linear warm-up over this many steps, then a cosine decay to
   * `minLearningRateFraction` of the rate at the last step of `epochs`. Default 300 steps or a
   * twentieth of the run if shorter (0 for fine-tuning); `schedule: "constant"` keeps the rate fixed.
   */
  warmupSteps?: number;
  schedule?: "cosine" | "constant";
  /** Floor of the cosine decay as a fraction of the learning rate. Default 0.02. */
  minLearningRateFraction?: number;
  /**
   * Continue the run whose checkpoint is in `<out>/checkpoint` (weights, metadata, position in
   * the schedule and the report so far). Adam's moment estimates restart (a short warm-up again).
   */
  resume?: boolean;
  /** Training images between checkpoints and validation probes. Default: a quarter epoch. */
  checkpointEvery?: number;
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
  /**
   * A requested stop (SIGINT/SIGTERM): the current step is finished, a validation pass under way is
   * abandoned, the checkpoint and the report (stoppedBy "signal") are written, and nothing else
   * runs: no validation or test pass, no export. The model exported at the last improving epoch
   * stays as it is; before one, `out` holds only the checkpoint and the report.
   */
  signal?: AbortSignal;
  /** Keep `<out>/checkpoint` after a run that ended (default: removed; kept when interrupted). */
  keepCheckpoint?: boolean;
  /**
   * Validation frames scored for per-class AP (the runtime's detector and `fovea eval`'s
   * matching) at every checkpoint and epoch, written to the report as AP against images seen.
   * Default 400; 0 turns it off.
   */
  apFrames?: number;
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
  /** Validation accuracy (and AP where measured) against the number of training frames seen so far. */
  accuracyVsFrames: Array<{ frames: number; valAccuracy: number; valLoss: number; valAp?: Record<string, number> }>;
  /** Epoch of the model exported to `out` (0: none yet). */
  bestEpoch: number;
  /** Whether `out` holds a model this run exported (false: stopped before the first validated epoch). */
  exported: boolean;
  /** The test split's score with the best weights; null when a signal stopped the run (no test pass). */
  test: { loss: number; accuracy: number; backgroundAccuracy: number } | null;
  imagesPerSecond: number;
  /** Training images seen over the whole run (resumed processes included). */
  framesSeen: number;
  stoppedBy: "epochs" | "early-stopping" | "time" | "signal";
  /** `<out>/checkpoint` when the run left one to `--resume` from (a stop by signal or time), else null. */
  checkpoint: string | null;
  dataFingerprint: string;
}

/**
 * Thrown between the chunks of a validation or test pass when `options.signal` aborted: on a large
 * split a pass takes far longer than the second a stop may take, so it is abandoned.
 */
class PassAbandoned extends Error {
  constructor() {
    super("validation pass abandoned: a stop was asked for");
    this.name = "PassAbandoned";
  }
}

interface Example {
  frame: TaggedFrame;
  root: string;
  /** Input-size RGB bytes from resizeToInput. */
  rgb: Uint8Array;
  /** The frame's labels moved into the input as resizeToInput placed its pixels (the model's fit). */
  objects: LabelledObject[];
}

/** sha256 over every frame's image path and labels: identifies the training data whatever its format. */
export function dataFingerprint(frames: ReadonlyArray<{ image: string; objects: readonly LabelledObject[] }>): string {
  const h = createHash("sha256");
  for (const f of [...frames].sort((a, b) => (a.image < b.image ? -1 : a.image > b.image ? 1 : 0))) {
    h.update(f.image);
    for (const o of f.objects)
      h.update(`|${o.label}:${o.box.xMin.toFixed(5)},${o.box.yMin.toFixed(5)},${o.box.xMax.toFixed(5)},${o.box.yMax.toFixed(5)}`);
    h.update("\n");
  }
  return `sha256:${h.digest("hex")}`;
}

/**
 * A tagged frame's labels in the model input, placed as resizeToInput places its pixels (the
 * model's fit): what the head's targets are built from. A crop drops the objects it cuts off.
 */
export function labelsAtInput(frame: Pick<TaggedFrame, "width" | "height" | "objects">, params: PreprocessParams): LabelledObject[] {
  return objectsToInput(frame.objects, fitTransform(params.spec.fit, frame.width, frame.height, params.width, params.height));
}

function shuffle<T>(items: T[], rng: Rng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

function ratio(a: CellAccuracy): { objects: number; background: number } {
  return {
    objects: a.objectCells ? a.objectCorrect / a.objectCells : 0,
    background: a.backgroundCells ? a.backgroundCorrect / a.backgroundCells : 0,
  };
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
  if (o.batch !== undefined && (!Number.isInteger(o.batch) || o.batch < 1))
    throw new FoveaInputError("--batch", `expected a positive integer, got ${o.batch}`);
  if (o.workers !== undefined && (!Number.isInteger(o.workers) || o.workers < 1))
    throw new FoveaInputError("--workers", `expected a positive integer, got ${o.workers}`);
  if (o.fineTune && !o.from) throw new FoveaInputError("--fine-tune", "needs --from MODELDIR (the model whose conv layers are kept)");
  // Under --resume, --widths and --fit may repeat the run's own (the stop message says "the same
  // command with --resume"); train() checks them against the checkpoint.
  if (o.widths && o.fineTune)
    throw new FoveaInputError("--widths", "--fine-tune keeps the model's network; --widths sets a fresh or resized one");
  if (o.widths && !o.from && (o.network ?? "heatmap") !== "heatmap")
    throw new FoveaInputError("--widths", `sets the filters of a heatmap network, not of --network ${o.network}`);
  if (o.stem && o.fineTune)
    throw new FoveaInputError("--stem", "--fine-tune keeps the model's network; --stem sets a fresh or resized one");
  if (o.stem && !o.from && (o.network ?? "heatmap") !== "heatmap")
    throw new FoveaInputError("--stem", `sets the first conv of a heatmap network, not of --network ${o.network}`);
  // The weights learned the pixels of the model's own fit: another would show them other images.
  if (o.fit !== undefined && o.from && !o.resume)
    throw new FoveaInputError("--fit", "sets the fit of a fresh model; --from keeps the model's own (preprocess.fit)");
  for (const [k, v] of [
    ["valFraction", o.valFraction],
    ["testFraction", o.testFraction],
  ] as const) {
    if (v !== undefined && !(v >= 0 && v < 0.5)) throw new RangeError(`options.${k}: expected 0 <= value < 0.5, got ${v}`);
  }
}

const LOSS_WEIGHT_FLAGS = { classWeights: "--class-weights", confuserWeights: "--confuser-weights" } as const;

/** `ball=7,robot=3` or `ball:robot=3`, keys sorted, so two spellings of the same weights compare equal. */
function formatWeights(w: Readonly<Record<string, number | Readonly<Record<string, number>>>>): string {
  return Object.keys(w)
    .sort()
    .map((k) => {
      const v = w[k];
      return typeof v === "number" ? `${k}=${v}` : formatWeights(Object.fromEntries(Object.entries(v).map(([o, n]) => [`${k}:${o}`, n])));
    })
    .join(",");
}

/**
 * A resumed run keeps the class and confuser weights its checkpoint records: without the flags
 * it trains on with them (as it keeps its batch), and other weights are refused, since the
 * model's record would then name weights that trained only part of it.
 */
export function resumedLossOptions(
  asked: HeadLossOptions | undefined,
  training: Record<string, unknown> | undefined,
  checkpointDir: string,
): HeadLossOptions {
  const out: HeadLossOptions = { ...asked };
  for (const [key, flag] of Object.entries(LOSS_WEIGHT_FLAGS) as [keyof typeof LOSS_WEIGHT_FLAGS, string][]) {
    const ran = training?.[key] as HeadLossOptions[typeof key] | undefined;
    const want = asked?.[key];
    if (want === undefined) {
      if (ran !== undefined) Object.assign(out, { [key]: ran });
      continue;
    }
    const ranText = ran === undefined ? `no ${flag}` : formatWeights(ran);
    if (ran === undefined || ranText !== formatWeights(want))
      throw new FoveaInputError(
        flag,
        `the run in ${checkpointDir} trains with ${ranText}, got ${formatWeights(want)}: resume with its weights or without ${flag}`,
      );
  }
  return out;
}

/** A resumed run keeps its network and fit: --widths and --fit may only repeat them. */
function checkResumedNetwork(o: TrainOptions, meta: ModelMetadata, checkpointDir: string): void {
  if (o.widths) {
    const ran = meta.head.kind === "heatmap" ? formatHeatmapWidths(heatmapWidths(meta)) : `a ${meta.head.kind} head`;
    const asked = formatHeatmapWidths(o.widths);
    if (ran !== asked)
      throw new FoveaInputError(
        "--widths",
        `the run in ${checkpointDir} trains ${ran}, got ${asked}: resume with its widths or without --widths`,
      );
  }
  if (o.stem) {
    const ran =
      meta.head.kind === "heatmap" && meta.head.stem ? `${meta.head.stem.kernelSize}s${meta.head.stem.stride}` : "no stride-2 first conv";
    const asked = `${o.stem.kernelSize}s${o.stem.stride}`;
    if (ran !== asked)
      throw new FoveaInputError(
        "--stem",
        `the run in ${checkpointDir} trains ${ran}, got ${asked}: resume with its stem or without --stem`,
      );
  }
  const fit = meta.preprocess.fit;
  if (o.fit !== undefined && o.fit !== fit)
    throw new FoveaInputError(
      "--fit",
      `the run in ${checkpointDir} fits frames by '${fit}', got '${o.fit}': resume with its fit or without --fit`,
    );
}

/**
 * `options.signal` aborted before the first training step of this process: nothing was trained
 * and nothing written (a checkpoint being resumed is left as it was). A requested stop, not a failure.
 */
export class TrainingStopped extends Error {
  constructor(when: string) {
    super(`stopped ${when}, before the first training step: nothing trained, nothing written`);
    this.name = "TrainingStopped";
  }
}

/** Train a model; see TrainOptions. Resolves with the report also written to `out`. */
export async function train(options: TrainOptions): Promise<TrainReport> {
  checkOptions(options);
  // Reading and decoding a large data set takes a while: a stop asked for meanwhile ends it there.
  const stopIfAsked = (when: string) => {
    if (options.signal?.aborted) throw new TrainingStopped(when);
  };
  const seed = options.seed ?? 1;
  const patience = options.patience ?? 5;
  const log = options.log;
  const runtime = await initTfjs(options.backend ?? "auto");
  if (runtime.backend === "wasm") registerWasmGradientKernels();
  // A checkpoint loaded to resume trains with the heatmap network's own layers too (batch norm, dilated convs).
  registerHeatmapTrainingLayers();
  log?.info({ backend: runtime.backend, skipped: runtime.skipped }, "tfjs backend");
  stopIfAsked("while loading TensorFlow.js");

  // Model and metadata: a shipped model to continue from, or a fresh default network.
  let meta: ModelMetadata;
  let model: tf.LayersModel;
  const datasets = await Promise.all(options.data.map((d) => readDataset(d, { where: "--data" })));
  stopIfAsked("while reading --data");
  const checkpointDir = path.join(options.out, CHECKPOINT_DIR);
  let resumed: ResumeState | undefined;
  if (options.resume) {
    resumed = await readResumeState(checkpointDir);
    meta = (await loadModelDir(checkpointDir)).metadata;
    checkResumedNetwork(options, meta, checkpointDir);
    model = await loadLayersModel(checkpointDir);
    log?.info({ checkpoint: checkpointDir, framesSeen: resumed.framesSeen, epoch: resumed.epoch, step: resumed.step }, "resuming");
  } else if (options.from) {
    meta = (await loadModelDir(options.from)).metadata;
    model = await loadLayersModel(options.from);
    if (options.widths || options.stem) {
      const flag = options.widths ? "--widths" : "--stem";
      if (meta.head.kind !== "heatmap")
        throw new FoveaInputError(flag, `resizes a heatmap network; ${options.from} has a ${meta.head.kind} head`);
      let resizedMeta = options.widths ? withHeatmapWidths(meta, options.widths) : meta;
      if (options.stem) resizedMeta = withHeatmapStem(resizedMeta, options.stem, true);
      const problem = resizeProblem(meta, resizedMeta);
      if (problem) throw new FoveaInputError(flag, problem);
      const resized = resizeHeatmapNetwork(model, meta, resizedMeta, seed);
      const grown = isGrowth(meta, resizedMeta);
      const input = `${resizedMeta.input.width}x${resizedMeta.input.height}`;
      log?.info(
        {
          widths: formatHeatmapWidths(heatmapWidths(resizedMeta)),
          stem: resizedMeta.head.kind === "heatmap" ? resizedMeta.head.stem : undefined,
          input,
          preservesOutput: grown,
        },
        options.stem
          ? `first conv spread over a ${input} input: it starts close to the model's accuracy`
          : grown
            ? "network grown: it starts at the model's accuracy"
            : "network narrowed: training on recovers what the cut lost",
      );
      model.dispose();
      [meta, model] = [resizedMeta, resized];
    }
  } else {
    meta = presetMetadata(options.network ?? "heatmap", {
      classes: datasets[0].classes,
      id: options.id ?? "fovea-trained",
      ...options.networkOverrides,
    });
    if (options.fit) meta = { ...meta, preprocess: { ...meta.preprocess, fit: options.fit } };
    if (options.widths) meta = withHeatmapWidths(meta, options.widths);
    if (options.stem) meta = withHeatmapStem(meta, options.stem, false);
    try {
      model = buildModel(meta, { seed });
    } catch (err) {
      // A size the preset's blocks cannot divide is bad input, not a failure of the run.
      if (err instanceof RangeError && options.networkOverrides?.input) throw new FoveaInputError("--input", err.message);
      // A stem doubles the deepest stride: the preset's input may no longer divide by it.
      if (err instanceof RangeError && options.stem)
        throw new FoveaInputError("--stem", `${err.message}; give a fresh network with a stem its larger input with --input, e.g. 320x240`);
      throw err;
    }
  }
  const lossOptions = resumed ? resumedLossOptions(options.loss, meta.training, checkpointDir) : options.loss;
  if (lossOptions?.classWeights && meta.head.kind !== "heatmap")
    throw new FoveaInputError("--class-weights", `weights a heatmap network's class loss, not a ${meta.head.kind} head's`);
  if (lossOptions?.confuserWeights) {
    if (meta.head.kind !== "heatmap")
      throw new FoveaInputError("--confuser-weights", `weights a heatmap network's negative cells, not a ${meta.head.kind} head's`);
    try {
      confuserPairs(meta.classes, lossOptions.confuserWeights);
    } catch (err) {
      if (err instanceof RangeError) throw new FoveaInputError("--confuser-weights", err.message);
      throw err;
    }
  }
  let head: ReturnType<typeof trainHeadFor>;
  try {
    head = trainHeadFor(meta, lossOptions);
  } catch (err) {
    if (err instanceof RangeError && lossOptions?.classWeights) throw new FoveaInputError("--class-weights", err.message);
    throw err;
  }
  // Batch and rate, resolved before the frames are decoded so a bad flag fails at once.
  const fineTune = options.fineTune === true;
  // Grid heads fine-tune on cached conv features (dense layers only); a heatmap head keeps its
  // conv blocks frozen and retrains neck and outputs on images, augmentation included.
  const cachedFeatures = fineTune && meta.head.kind === "grid";
  const recipe = cachedFeatures ? TRAINING_DEFAULTS.gridFineTune : TRAINING_DEFAULTS[meta.head.kind];
  const ran = resumed ? (meta.training as { batch?: unknown; learningRate?: unknown } | undefined) : undefined;
  const ranBatch = typeof ran?.batch === "number" ? ran.batch : undefined;
  const ranRate = typeof ran?.learningRate === "number" ? ran.learningRate : undefined;
  // Another batch would re-cut the epoch's steps under the checkpoint's position in it.
  if (ranBatch !== undefined && options.batch !== undefined && options.batch !== ranBatch)
    throw new FoveaInputError("--batch", `the run in ${checkpointDir} uses batch ${ranBatch}, got ${options.batch}: resume with its batch`);
  const batchSize = options.batch ?? ranBatch ?? recipe.batch;
  // A checkpoint without its run's rate: the default may not be that rate, so ask rather than guess.
  if (resumed && ranRate === undefined && options.learningRate === undefined)
    throw new FoveaInputError("--lr", `the run in ${checkpointDir} does not record its learning rate: give the run's --lr to resume it`);
  const learningRate = options.learningRate ?? ranRate ?? recipe.learningRate;
  const classSet = new Set(meta.classes);
  for (const ds of datasets) {
    for (const f of ds.frames) {
      const bad = f.objects.find((o) => !classSet.has(o.label));
      if (bad)
        throw new FoveaInputError(
          path.join(ds.root, f.image),
          `label '${bad.label}' is not a class of the model (${meta.classes.join(", ")})`,
        );
    }
  }

  // Seeded split of the pooled frames.
  const rng = new Rng(seed);
  let frames = shuffle(
    datasets.flatMap((ds) => ds.frames.map((frame) => ({ frame, root: ds.root }))),
    rng,
  );
  if (options.maxFrames) frames = frames.slice(0, options.maxFrames);
  const nVal = Math.round(frames.length * (options.valFraction ?? 0.1));
  const nTest = Math.round(frames.length * (options.testFraction ?? 0.1));
  if (frames.length - nVal - nTest < 1)
    throw new FoveaInputError("--data", `${frames.length} frames leave none for training after the validation/test split`);

  const params = preprocessParams(meta);
  const bar =
    options.progress === false
      ? undefined
      : new cliProgress.SingleBar(
          {
            format: "{stage} |{bar}| {value}/{total} {info}",
            stream: process.stderr,
            hideCursor: false,
            noTTYOutput: true,
            notTTYSchedule: 15_000,
            etaBuffer: 50,
          },
          cliProgress.Presets.shades_classic,
        );
  bar?.start(frames.length, 0, { stage: "decoding", info: "" });
  let decoded = 0;
  let examples: Example[];
  try {
    examples = await mapLimited(frames, 4, async ({ frame, root }) => {
      stopIfAsked("while decoding the frames");
      const rgb = await resizeToInput({ file: path.join(root, frame.image), size: frame }, params);
      bar?.update(++decoded);
      return { frame, root, rgb: new Uint8Array(rgb.buffer, rgb.byteOffset, rgb.length), objects: labelsAtInput(frame, params) };
    });
  } finally {
    // Its redraw timer would keep the process alive after a failed or stopped decode.
    bar?.stop();
  }
  const test = examples.slice(0, nTest);
  const val = examples.slice(nTest, nTest + nVal);
  const trainSet = examples.slice(nTest + nVal);
  const fingerprint = dataFingerprint(examples.map((e) => e.frame));
  log?.info({ train: trainSet.length, val: val.length, test: test.length, fingerprint }, "split");

  const { width, height } = meta.input;
  const pixels = width * height * 3;
  const augmentOptions = options.augment === false ? undefined : (options.augment ?? DEFAULT_AUGMENT);
  const meanRange: [number, number] = [Infinity, -Infinity];

  /** Network input of examples (augmented when training), normalised by the runtime's function. */
  const imageBatch = (items: Example[], augmentRng?: Rng): Batch => {
    const input = new Float32Array(items.length * pixels);
    const objects: LabelledObject[][] = [];
    items.forEach((e, i) => {
      const s =
        augmentRng && augmentOptions
          ? augment({ rgb: e.rgb, width, height, objects: e.objects }, augmentOptions, augmentRng)
          : { rgb: e.rgb, objects: e.objects };
      const mean = normalise(s.rgb, input.subarray(i * pixels, (i + 1) * pixels), meta.preprocess);
      if (augmentRng) {
        for (const m of mean) {
          meanRange[0] = Math.min(meanRange[0], m);
          meanRange[1] = Math.max(meanRange[1], m);
        }
      }
      objects.push(s.objects);
    });
    return { input, shape: [items.length, height, width, 3], targets: head.encode(objects) };
  };

  // Fine-tune: a head model sharing the dense layers, fed with conv features computed once.
  let trainModel = model;
  let features: Map<Example, Float32Array> | undefined;
  let trainable: tf.Variable[] | undefined;
  /** Shape of one cached feature map (fine-tuning): what the retrained layers take as input. */
  let featureDims: number[] = [];
  if (fineTune && !cachedFeatures) {
    for (const layer of model.layers) if (/^conv\d+$/.test(layer.name)) layer.trainable = false;
  }
  if (cachedFeatures) {
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
      // Every frame's features take minutes on a large data set: a stop asked for meanwhile ends it.
      await macrotask();
      if (options.signal?.aborted) {
        bar?.stop();
        stopIfAsked("while computing the conv features");
      }
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
    return { input, shape: [items.length, ...featureDims], targets: head.encode(items.map((e) => e.objects)) };
  };
  const makeBatch = (items: Example[], augmentRng?: Rng) => (cachedFeatures ? featureBatch(items) : imageBatch(items, augmentRng));

  /** Between the chunks of a pass: let a signal's handler run, and abandon the pass if it asked for a stop. */
  const abandonIfAsked = async () => {
    await macrotask();
    if (options.signal?.aborted) throw new PassAbandoned();
  };

  const evaluate = async (items: Example[]) => {
    let loss = 0;
    const acc = emptyAccuracy();
    for (let i = 0; i < items.length; i += 64) {
      await abandonIfAsked();
      const b = makeBatch(items.slice(i, i + 64));
      const r = await evaluateBatch(trainModel, b, head);
      loss += r.loss * b.targets.batch;
      addAccuracy(acc, head.accuracy(r.predClasses, b.targets));
    }
    const r = ratio(acc);
    return { loss: items.length ? loss / items.length : NaN, accuracy: r.objects, backgroundAccuracy: r.background };
  };

  const optimizer = tf.train.adam(learningRate);
  const workers = Math.min(
    options.workers ?? (runtime.backend === "wasm" && !cachedFeatures ? Math.min(8, os.availableParallelism()) : 1),
    batchSize,
  );
  let parallel: ParallelTrainer | undefined;
  if (workers > 1) {
    parallel = await ParallelTrainer.create({
      model: trainModel,
      workers,
      backend: runtime.backend,
      learningRate,
      maxBatch: batchSize,
      meta,
      loss: lossOptions,
    });
    // The workers take a while to load TensorFlow.js; a stop asked for meanwhile must not leave them running.
    if (options.signal?.aborted) {
      await parallel.close();
      stopIfAsked("while starting the training workers");
    }
  }
  log?.info({ workers }, workers > 1 ? "data-parallel training over worker threads" : "training in-process");
  /** The main thread's model holds the trained weights (for validation and checkpoints). */
  const syncWeights = async () => {
    if (parallel) await parallel.syncTo(trainModel);
  };
  const started = performance.now();
  const deadline = options.maxMinutes ? started + options.maxMinutes * 60_000 : Infinity;
  // An interrupted epoch's partial record is replaced by the record of its resumed run.
  const epochs: EpochRecord[] = (resumed?.epochs ?? []).filter((e) => e.epoch < (resumed?.epoch ?? Infinity));
  const curve: TrainReport["accuracyVsFrames"] = resumed?.curve ?? [];
  const valProbe = val.slice(0, Math.min(val.length, 256));
  // Fine-tuning feeds cached features, not images: AP needs the whole network on images.
  const apProbe = cachedFeatures ? [] : val.slice(0, Math.min(val.length, options.apFrames ?? 400));
  /** Per-class AP (and the mean as `mean`) of the main thread's weights on `items`. */
  const validationAp = async (items: Example[]): Promise<Record<string, number>> => {
    const detector = new Detector(meta, { decode: { scoreThreshold: AP_CURVE_FLOOR, classScoreThresholds: {} } });
    const evaluator = new DetectionEvaluator({ classes: meta.classes, scoreThreshold: meta.decode.scoreThreshold });
    const names = headOutputs(meta).map((o) => o.name);
    for (let i = 0; i < items.length; i += 32) {
      await abandonIfAsked();
      const chunk = items.slice(i, i + 32);
      const outs = tf.tidy(() => model.predict(tf.tensor(imageBatch(chunk).input, [chunk.length, height, width, 3])) as tf.Tensor[]);
      const data = await Promise.all(outs.map((t) => t.data()));
      tf.dispose(outs);
      const byName = Object.fromEntries(names.map((n, k) => [n, data[k] as Float32Array]));
      chunk.forEach((e, k) =>
        evaluator.addFrame({
          width: e.frame.width,
          height: e.frame.height,
          objects: e.frame.objects,
          detections: detector.detect(byName, e.frame.width, e.frame.height, k),
        }),
      );
    }
    const report = evaluator.report();
    const ap: Record<string, number> = {};
    for (const c of report.classes) if (c.averagePrecision !== null) ap[c.label] = Math.round(c.averagePrecision * 1e4) / 1e4;
    const known = Object.values(ap);
    if (known.length) ap.mean = Math.round((known.reduce((a, b) => a + b, 0) / known.length) * 1e4) / 1e4;
    return ap;
  };
  let best = resumed?.best ?? { loss: Infinity, epoch: 0 };
  let stoppedBy: TrainReport["stoppedBy"] = "epochs";
  let framesSeen = resumed?.framesSeen ?? 0;
  let trainSeconds = resumed?.trainSeconds ?? 0;
  const steps = Math.ceil(trainSet.length / batchSize);
  const probeEvery = Math.max(1, options.checkpointEvery ? Math.round(options.checkpointEvery / batchSize) : Math.floor(steps / 4));
  const totalSteps = options.epochs * steps;
  // A short run (a test, a small fine-tune) warms up over at most a twentieth of its steps.
  const warmup = options.warmupSteps ?? (cachedFeatures ? 0 : Math.min(300, Math.round(totalSteps / 20)));
  const minFraction = options.minLearningRateFraction ?? 0.02;
  let globalStep = resumed ? (resumed.epoch - 1) * steps + resumed.step : 0;
  /** Warm-up (again after a resume: Adam's moments restart) then cosine decay over the whole run. */
  const rateAt = (stepNo: number, sinceStart: number): number => {
    const warm = warmup > 0 ? Math.min(1, (sinceStart + 1) / warmup) : 1;
    if (options.schedule === "constant") return learningRate * warm;
    const progress = Math.min(1, stepNo / Math.max(1, totalSteps));
    return learningRate * warm * (minFraction + (1 - minFraction) * 0.5 * (1 + Math.cos(Math.PI * progress)));
  };
  let stepsThisProcess = 0;
  // Per-class thresholds (`fovea eval --set-thresholds`) and an eval summary describe the weights
  // this run replaces: they are not carried over.
  const { classScoreThresholds: _staleThresholds, ...decode } = meta.decode;
  const buildMeta = (extra: Record<string, unknown>): ModelMetadata => ({
    ...meta,
    decode,
    eval: undefined,
    id: options.id ?? meta.id,
    trained: true,
    augmentation:
      augmentOptions && !cachedFeatures
        ? augmentationEnvelope(augmentOptions, Number.isFinite(meanRange[0]) ? meanRange : undefined)
        : meta.augmentation,
    training: {
      dataFingerprint: fingerprint,
      data: options.data.map((d) => path.basename(path.resolve(d))),
      frames: { train: trainSet.length, val: val.length, test: test.length },
      seed,
      batch: batchSize,
      learningRate,
      ...(lossOptions?.classWeights ? { classWeights: lossOptions.classWeights } : {}),
      ...(lossOptions?.confuserWeights ? { confuserWeights: lossOptions.confuserWeights } : {}),
      mode: fineTune ? "fine-tune" : "full",
      from: options.from ? path.basename(path.resolve(options.from)) : undefined,
      backend: runtime.backend,
      workers,
      date: new Date().toISOString(),
      ...extra,
    },
  });

  /** Where the run is: what a checkpoint written now records. */
  let at = {
    epoch: resumed?.epoch ?? 1,
    step: resumed?.step ?? 0,
    lossSum: resumed?.epochLossSum ?? 0,
    images: resumed?.epochImages ?? 0,
    seconds: resumed?.epochSeconds ?? 0,
    accuracy: resumed?.epochAccuracy ?? emptyAccuracy(),
  };
  /** globalStep of the checkpoint on disk (written, or resumed from): a stop there need not write it again. */
  let checkpointAt = resumed ? globalStep : -1;
  /** Whether this process wrote a checkpoint or a model: a stop then ends with a report, not TrainingStopped. */
  let wrote = false;
  const saveCheckpoint = async (bestNow = best) => {
    await writeCheckpoint(model, buildMeta({ framesSeen }), checkpointDir, {
      epoch: at.epoch,
      step: at.step,
      framesSeen,
      trainSeconds,
      epochLossSum: at.lossSum,
      epochImages: at.images,
      epochSeconds: at.seconds,
      epochAccuracy: at.accuracy,
      best: bestNow,
      epochs,
      curve,
    });
    checkpointAt = globalStep;
    wrote = true;
  };

  try {
    training: for (let epoch = resumed?.epoch ?? 1; epoch <= options.epochs; epoch++) {
      const epochRng = new Rng(seed * 1000 + epoch);
      const order = shuffle(trainSet.slice(), epochRng);
      /** The checkpoint's state when this is the epoch it stopped in. */
      const here = resumed?.epoch === epoch ? resumed : undefined;
      const firstStep = here?.step ?? 0;
      // This epoch's training before the stop that this process resumes (older checkpoints lack its time).
      const before =
        here?.epochSeconds !== undefined ? { seconds: here.epochSeconds, images: here.epochImages } : { seconds: 0, images: 0 };
      at = {
        epoch,
        step: firstStep,
        lossSum: here?.epochLossSum ?? 0,
        images: here?.epochImages ?? 0,
        seconds: before.seconds,
        accuracy: here?.epochAccuracy ?? emptyAccuracy(),
      };
      const secondsBefore = trainSeconds;
      const t0 = performance.now();
      let imagesHere = 0;
      let secondsHere = 0;
      let probeMs = 0;
      bar?.start(steps, firstStep, { stage: `epoch ${epoch}/${options.epochs}`, info: "" });
      for (let s = firstStep; s < steps; s++) {
        if (performance.now() > deadline) {
          stoppedBy = "time";
          break;
        }
        // wasm tensor downloads resolve as microtasks: without a macrotask turn per step, timers
        // (the progress bar's redraw) and signal handlers would never run during an epoch.
        await macrotask();
        // Checked after the turn in which a signal's handler runs, so a stop never starts another step.
        if (options.signal?.aborted) {
          stoppedBy = "signal";
          break;
        }
        const batch = makeBatch(order.slice(s * batchSize, (s + 1) * batchSize), epochRng);
        const rate = rateAt(globalStep, stepsThisProcess);
        const r = parallel
          ? await parallel.step(batch, { wantPredictions: true, learningRate: rate })
          : await trainStep(
              trainModel,
              (((optimizer as unknown as { learningRate: number }).learningRate = rate), optimizer),
              batch,
              head,
              { trainable, wantPredictions: true },
            );
        globalStep++;
        stepsThisProcess++;
        if (!Number.isFinite(r.loss)) throw new Error(`training diverged at epoch ${epoch}, step ${s + 1}: loss ${r.loss}; lower --lr`);
        at.step = s + 1;
        at.lossSum += r.loss * batch.targets.batch;
        at.images += batch.targets.batch;
        imagesHere += batch.targets.batch;
        framesSeen += batch.targets.batch;
        addAccuracy(at.accuracy, head.accuracy(r.predClasses!, batch.targets));
        // Training time only: the validation probes are not part of the images/s figure.
        secondsHere = (performance.now() - t0 - probeMs) / 1000;
        at.seconds = before.seconds + secondsHere;
        trainSeconds = secondsBefore + secondsHere;
        bar?.update(s + 1, {
          info: `loss ${(at.lossSum / at.images).toFixed(3)} acc ${ratio(at.accuracy).objects.toFixed(3)} lr ${rate.toExponential(2)} ${(imagesHere / secondsHere).toFixed(1)} img/s`,
        });
        if ((s + 1) % probeEvery === 0 && s + 1 < steps) {
          const p0 = performance.now();
          try {
            await syncWeights();
            if (valProbe.length) {
              const p = await evaluate(valProbe);
              const valAp = apProbe.length ? await validationAp(apProbe) : undefined;
              curve.push({ frames: framesSeen, valAccuracy: p.accuracy, valLoss: p.loss, ...(valAp ? { valAp } : {}) });
              log?.info({ framesSeen, valLoss: p.loss, valAccuracy: p.accuracy, valAp, lr: rate }, "probe");
            }
            await saveCheckpoint();
          } catch (err) {
            // A stop during the probe abandons it; the stop's checkpoint is written below.
            if (!(err instanceof PassAbandoned)) throw err;
            stoppedBy = "signal";
            break;
          } finally {
            probeMs += performance.now() - p0;
          }
        }
      }
      bar?.stop();
      if (stoppedBy === "signal") break;
      // Stopped by --max-minutes before this epoch's first step: nothing new to validate.
      if (imagesHere === 0 && firstStep < steps) break;
      let v: Awaited<ReturnType<typeof evaluate>>;
      let valAp: Record<string, number> | undefined;
      try {
        await syncWeights();
        log?.info({ epoch, frames: val.length }, "validating");
        v = await evaluate(val);
        valAp = apProbe.length ? await validationAp(apProbe) : undefined;
      } catch (err) {
        // A stop during the validation pass abandons it; the stop's checkpoint records this
        // epoch's steps as done, so --resume validates the epoch and goes on.
        if (!(err instanceof PassAbandoned)) throw err;
        stoppedBy = "signal";
        break;
      }
      const seconds = before.seconds + secondsHere;
      const record: EpochRecord = {
        epoch,
        trainLoss: at.lossSum / at.images,
        trainAccuracy: ratio(at.accuracy).objects,
        valLoss: v.loss,
        valAccuracy: v.accuracy,
        valBackgroundAccuracy: v.backgroundAccuracy,
        imagesPerSecond: (before.images + imagesHere) / seconds,
        seconds,
      };
      epochs.push(record);
      log?.info(record, "epoch");
      if (valAp) {
        curve.push({ frames: framesSeen, valAccuracy: v.accuracy, valLoss: v.loss, valAp });
        log?.info({ framesSeen, valAp }, "validation AP");
      }
      const improved = !(v.loss >= best.loss) || val.length === 0;
      // An epoch stopped by --max-minutes resumes at the step it stopped before; a completed one at the next epoch.
      if (at.step >= steps) at = { epoch: epoch + 1, step: 0, lossSum: 0, images: 0, seconds: 0, accuracy: emptyAccuracy() };
      await saveCheckpoint(improved ? { loss: v.loss, epoch } : best);
      // The best model so far is the output directory's model.
      if (improved) {
        best = { loss: v.loss, epoch };
        await exportModelDir(
          model,
          buildMeta({
            epochs: epoch,
            bestEpoch: epoch,
            imagesPerSecond: framesSeen / trainSeconds,
            valLoss: v.loss,
            valAccuracy: v.accuracy,
          }),
          options.out,
          { weightsDtype: options.weights },
        );
        log?.info({ out: options.out, epoch }, "checkpoint exported");
      } else if (epoch - best.epoch >= patience) {
        stoppedBy = "early-stopping";
        break training;
      }
      if (stoppedBy !== "epochs") break;
    }
    // A stop keeps the position after the last finished step, unless the checkpoint on disk has it.
    if (stoppedBy === "signal" && stepsThisProcess > 0 && checkpointAt !== globalStep) {
      await syncWeights();
      await saveCheckpoint();
      log?.info({ checkpoint: checkpointDir, epoch: at.epoch, step: at.step, framesSeen }, "checkpoint written on stop");
    }
  } finally {
    await parallel?.close();
  }
  if (stoppedBy === "signal" && stepsThisProcess === 0 && !wrote) throw new TrainingStopped("while preparing");

  const finish = async (testScore: TrainReport["test"]): Promise<TrainReport> => {
    const ended = stoppedBy === "epochs" || stoppedBy === "early-stopping";
    const report: TrainReport = {
      out: path.resolve(options.out),
      backend: runtime.backend,
      workers,
      mode: fineTune ? "fine-tune" : "full",
      frames: { train: trainSet.length, val: val.length, test: test.length },
      epochs,
      accuracyVsFrames: curve,
      bestEpoch: best.epoch,
      exported: best.epoch > 0,
      test: testScore,
      imagesPerSecond: framesSeen / trainSeconds,
      framesSeen,
      stoppedBy,
      checkpoint: ended && !options.keepCheckpoint ? null : path.resolve(checkpointDir),
      dataFingerprint: fingerprint,
    };
    await writeReport(report);
    if (trainModel !== model) trainModel.dispose();
    model.dispose();
    optimizer.dispose();
    return report;
  };
  // A stop by signal runs no validation, test or export: the checkpoint and the report are what it keeps.
  if (stoppedBy === "signal") return finish(null);
  if (epochs.length === 0) throw new Error("training stopped before the first epoch completed; no model written");

  // The test split is scored with the exported (best) weights.
  const bestModel = await loadLayersModel(options.out);
  if (cachedFeatures) {
    // Features are the same for the best model: its conv layers were frozen.
    model.setWeights(bestModel.getWeights());
  } else {
    trainModel = bestModel;
  }
  let testScore: TrainReport["test"] = null;
  try {
    log?.info({ frames: test.length, bestEpoch: best.epoch }, "scoring the test split");
    testScore = await evaluate(test);
  } catch (err) {
    // A stop during the test pass: the model stays as exported, the checkpoint stays for --resume.
    if (!(err instanceof PassAbandoned)) throw err;
    stoppedBy = "signal";
  }
  if (testScore) {
    const bestRecord = epochs.find((e) => e.epoch === best.epoch)!;
    await exportModelDir(
      cachedFeatures ? model : bestModel,
      buildMeta({
        epochs: epochs.length,
        bestEpoch: best.epoch,
        imagesPerSecond: framesSeen / trainSeconds,
        valLoss: bestRecord.valLoss,
        valAccuracy: bestRecord.valAccuracy,
        test: testScore,
        stoppedBy,
      }),
      options.out,
      { weightsDtype: options.weights },
    );
    // A finished run needs no resume; an interrupted one (--max-minutes) keeps it. Removed only
    // now: a stop during the test pass leaves it to resume from.
    if (!options.keepCheckpoint && (stoppedBy === "epochs" || stoppedBy === "early-stopping"))
      await rm(checkpointDir, { recursive: true, force: true });
  }
  const report = await finish(testScore);
  if (cachedFeatures) bestModel.dispose();
  return report;
}

/**
 * A turn of the event loop: wasm tensor downloads resolve as microtasks, so without one a signal's
 * handler (and the progress bar's timer) would not run until the loop awaiting them ends.
 */
function macrotask(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Where a run keeps what `--resume` needs, inside the output directory. */
export const CHECKPOINT_DIR = "checkpoint";
/**
 * Batch and Adam learning rate of a run that names neither, per head. The heatmap network's is
 * its measured recipe (models/default/README.md): with batch norm, smaller batches at a higher
 * rate reach a given validation AP in fewer images.
 */
export const TRAINING_DEFAULTS = {
  heatmap: { batch: 16, learningRate: 2e-3 },
  grid: { batch: 32, learningRate: 1e-3 },
  /** A grid head's dense layers retrained on cached conv features (`fineTune`). */
  gridFineTune: { batch: 32, learningRate: 3e-3 },
} as const;

const RESUME_FILE = "resume.json";

/** The trainer's position in a run, written with every checkpoint. */
interface ResumeState {
  /**
   * Epoch to continue in (1-based) and the step within it to start at. A step past the epoch's
   * last (a stop during its validation pass) resumes with that validation.
   */
  epoch: number;
  step: number;
  framesSeen: number;
  trainSeconds: number;
  epochLossSum: number;
  epochImages: number;
  /** Training seconds and cell accuracy of `epoch` so far (absent in older checkpoints). */
  epochSeconds?: number;
  epochAccuracy?: CellAccuracy;
  best: { loss: number; epoch: number };
  epochs: EpochRecord[];
  curve: TrainReport["accuracyVsFrames"];
}

/**
 * The current weights (tfjs only: cheap, and the exporter's parity check runs on the best model)
 * with metadata and position. Written to a temporary folder (resume.json last) and renamed, so an
 * interrupted write leaves the previous checkpoint intact; a process killed between removing the
 * previous one and the rename leaves the new one complete in the temporary folder, which
 * readResumeState then puts in place.
 */
async function writeCheckpoint(model: tf.LayersModel, meta: ModelMetadata, dir: string, state: ResumeState): Promise<void> {
  const tmp = `${dir}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  await model.save(fsSaveHandler(path.join(tmp, "tfjs")));
  await writeFile(path.join(tmp, "fovea.json"), JSON.stringify(meta, null, 2) + "\n");
  await writeFile(path.join(tmp, RESUME_FILE), JSON.stringify(state, (_k, v) => (v === Infinity ? "Infinity" : v), 2) + "\n");
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
}

async function readResumeState(dir: string): Promise<ResumeState> {
  const file = path.join(dir, RESUME_FILE);
  const tmp = `${dir}.tmp`;
  const complete = (text: string | undefined) => {
    try {
      return text !== undefined && JSON.parse(text) !== null;
    } catch {
      return false;
    }
  };
  // A second signal during a stop can kill the process between writeCheckpoint's rm and rename.
  if (!existsSync(file) && complete(await readFile(path.join(tmp, RESUME_FILE), "utf8").catch(() => undefined))) {
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
  }
  const text = await readFile(file, "utf8").catch((err: NodeJS.ErrnoException) => {
    throw new FoveaInputError(
      "--resume",
      `no checkpoint to resume: cannot read ${file} (${err.code ?? err.message}); a run writes it with its first checkpoint`,
    );
  });
  try {
    return JSON.parse(text, (_k, v) => (v === "Infinity" ? Infinity : v)) as ResumeState;
  } catch (err) {
    throw new FoveaInputError(file, `not valid JSON (${(err as Error).message})`);
  }
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
  const withAp = report.accuracyVsFrames.filter((p) => p.valAp);
  if (withAp.length) {
    const names = Object.keys(withAp[withAp.length - 1].valAp!);
    await writeFile(
      path.join(dir, "ap-vs-images.svg"),
      lineChart({
        title: "Validation AP vs training images seen",
        xLabel: "training images seen",
        yLabel: "AP",
        series: names.map((name) => ({
          name,
          points: withAp.filter((p) => p.valAp![name] !== undefined).map((p) => [p.frames, p.valAp![name]] as [number, number]),
        })),
      }),
    );
  }
}
