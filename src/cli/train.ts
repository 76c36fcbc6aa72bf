/**
 * `fovea train --data DIR [--data DIR2] --epochs N --out MODELDIR [--seed S] [--batch B]
 *  [--input WxH] [--fit RULE] [--from MODEL --fine-tune] [--workers N]`: train a detection network
 * on tagged frames (native, YOLO or COCO) and write the model directory with its training report
 * (JSON + SVG learning curves).
 */
import { onStopSignals } from "./stop-signals.js";
import { InvalidArgumentError, Option, type Command } from "commander";
import { FIT_RULES, type FitRule } from "../core/fit.js";
import { createLogger } from "../core/log.js";
import type { TfjsBackendPreference } from "../engine/tfjs-backend.js";
import { NETWORK_PRESETS, type NetworkPreset } from "../train/network-presets.js";
import { parseHeatmapStem, parseHeatmapWidths, type HeatmapStem, type HeatmapWidths } from "../train/heatmap-widths.js";

function positiveInt(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${flag}: expected a positive integer, got '${v}'`);
    return n;
  };
}

function positiveNumber(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${flag}: expected a positive number, got '${v}'`);
    return n;
  };
}

function inputSize(v: string): { width: number; height: number } {
  const m = /^(\d+)x(\d+)$/.exec(v);
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1)
    throw new InvalidArgumentError(`--input: expected WIDTHxHEIGHT in pixels, e.g. 160x120, got '${v}'`);
  return { width: Number(m[1]), height: Number(m[2]) };
}

/** A parser that names `flag` in its RangeError as commander's bad-argument error (exit 2). */
function flagParser<T>(parse: (flag: string, v: string) => T, flag: string) {
  return (v: string): T => {
    try {
      return parse(flag, v);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };
}

function classWeights(v: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of v.split(",")) {
    const m = /^\s*([A-Za-z0-9_-]+)\s*=\s*([0-9.eE+-]+)\s*$/.exec(part);
    const w = Number(m?.[2]);
    if (!m || !(w > 0 && Number.isFinite(w)))
      throw new InvalidArgumentError(`--class-weights: expected class=weight pairs with positive weights like ball=2,robot=2, got '${v}'`);
    out[m[1]] = w;
  }
  return out;
}

/**
 * `--confuser-weights ball:robot=3,ball:obstacle=2`: per class, the weight of its negative heatmap
 * cells inside another class's boxes. Whether the names are the model's classes is checked by the
 * trainer, which knows them.
 */
export function confuserWeights(v: string): Record<string, Record<string, number>> {
  const expected = "expected class:other=weight pairs with positive weights like ball:robot=3,ball:obstacle=2";
  // Maps, not object keys: a name like __proto__ must reach the trainer's class check as a name.
  const out = new Map<string, Map<string, number>>();
  for (const part of v.split(",")) {
    const m = /^\s*([A-Za-z0-9_-]+)\s*:\s*([A-Za-z0-9_-]+)\s*=\s*([0-9.eE+-]+)\s*$/.exec(part);
    if (!m) throw new InvalidArgumentError(`--confuser-weights: ${expected}, got '${v}'`);
    const [, cls, other, text] = m;
    if (cls === other)
      throw new InvalidArgumentError(
        `--confuser-weights: '${part.trim()}' pairs a class with itself; expected two different classes like ball:robot=3`,
      );
    const w = Number(text);
    if (!(w > 0 && Number.isFinite(w)))
      throw new InvalidArgumentError(`--confuser-weights: '${part.trim()}': expected a positive finite weight, got ${text}`);
    if (!out.has(cls)) out.set(cls, new Map());
    out.get(cls)!.set(other, w);
  }
  return Object.fromEntries([...out].map(([cls, inside]) => [cls, Object.fromEntries(inside)]));
}

function fraction(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!(n >= 0 && n < 0.5)) throw new InvalidArgumentError(`${flag}: expected a number from 0 to below 0.5, got '${v}'`);
    return n;
  };
}

function nonNegativeInt(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${flag}: expected a non-negative integer, got '${v}'`);
    return n;
  };
}

interface TrainFlags {
  data: string[];
  widths?: HeatmapWidths;
  stem?: HeatmapStem;
  epochs: number;
  out: string;
  seed: number;
  batch?: number;
  lr?: number;
  patience: number;
  from?: string;
  fineTune?: boolean;
  backend: TfjsBackendPreference;
  augment: boolean;
  maxMinutes?: number;
  maxFrames?: number;
  id?: string;
  weights: "float32" | "float16";
  progress: boolean;
  workers?: number;
  network: NetworkPreset;
  positiveWeight?: number;
  classWeights?: Record<string, number>;
  confuserWeights?: Record<string, Record<string, number>>;
  boxWeight?: number;
  resume?: boolean;
  input?: { width: number; height: number };
  fit?: FitRule;
  valFraction?: number;
  testFraction?: number;
  warmupSteps?: number;
  checkpointEvery?: number;
}

/** Registers the `fovea train` command. */
export function registerTrain(program: Command): void {
  program
    .command("train")
    .description("train the detection network on tagged frames; writes a model directory with a training report")
    .requiredOption(
      "--data <dir>",
      "tagged-frame dataset (native, YOLO or COCO); repeat to pool several",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .requiredOption("--epochs <n>", "maximum number of epochs", positiveInt("--epochs"))
    .requiredOption("--out <dir>", "model directory to write (the best model so far is exported after every improving epoch)")
    .option(
      "--resume",
      "continue the interrupted run in --out from its checkpoint (same --data and --seed; another --epochs re-plans the schedule)",
    )
    .option(
      "--input <WxH>",
      "network input size of a fresh model (default: the preset's, 160x120 for heatmap; a heatmap input must divide by 8)",
      inputSize,
    )
    .addOption(
      new Option(
        "--fit <rule>",
        "how frames are fitted to the input of a fresh model: fill = stretch, letterbox = keep the aspect ratio and pad with black, crop = keep the aspect ratio and cut the overflow (default fill; --from and --resume keep the model's)",
      ).choices([...FIT_RULES]),
    )
    .option("--val-fraction <f>", "fraction of frames held out for validation (default 0.1)", fraction("--val-fraction"))
    .option("--test-fraction <f>", "fraction of frames held out for the test split (default 0.1)", fraction("--test-fraction"))
    .option(
      "--warmup-steps <n>",
      "learning-rate warm-up steps before the cosine decay (default 300; again after --resume)",
      nonNegativeInt("--warmup-steps"),
    )
    .option(
      "--checkpoint-every <images>",
      "training images between checkpoints and validation probes (default: a quarter epoch)",
      positiveInt("--checkpoint-every"),
    )
    .option("--seed <n>", "seed of the split, shuffling, augmentation and initial weights", positiveInt("--seed"), 1)
    .option(
      "--batch <n>",
      "batch size (default 16 for a heatmap network, 32 for a grid head; --resume keeps the run's)",
      positiveInt("--batch"),
    )
    .option(
      "--lr <rate>",
      "Adam learning rate (default 2e-3 for a heatmap network, 1e-3 for a grid head, 3e-3 to fine-tune a grid head; --resume keeps the run's)",
      positiveNumber("--lr"),
    )
    .option("--patience <n>", "early stopping: epochs without validation improvement", positiveInt("--patience"), 5)
    .option("--from <model>", "start from this model directory (architecture, classes, weights)")
    .option(
      "--widths <conv/neck/head>",
      "filters of a heatmap network, e.g. 16-24-48-64/64-64/32 (a neck conv written 64d2 is dilated by 2); with --from, the trained model is resized to them: a wider layer keeps its weights and its new channels start without effect, a narrower one keeps its strongest filters (train on to recover)",
      flagParser(parseHeatmapWidths, "--widths"),
    )
    .option(
      "--stem <KsS>",
      "first conv of a heatmap network at stride 2, e.g. 4s2 (a 4x4 kernel): it reads the input at full resolution and the blocks run at half of it; with --from, the input doubles and the trained first conv is spread over it (6s2 computes exactly what the model did; train on after a smaller kernel); a fresh model takes the larger size from --input",
      flagParser(parseHeatmapStem, "--stem"),
    )
    .addOption(
      new Option(
        "--network <preset>",
        "network of a fresh model (without --from): heatmap = per-class centre heatmaps at stride 4 (CenterNet-style), seed = the lecture's dense grid head, cells = per-cell grid head with shared weights",
      )
        .choices([...NETWORK_PRESETS])
        .default("heatmap"),
    )
    .option(
      "--positive-weight <w>",
      "weight of an object cell's class loss against a background cell's (default 3)",
      positiveNumber("--positive-weight"),
    )
    .option(
      "--class-weights <list>",
      "weights of named classes' heatmap loss, the others 1, e.g. ball=2,goal_post=2,robot=2 (a network short of capacity spends it on the classes that weigh more)",
      classWeights,
    )
    .option(
      "--confuser-weights <list>",
      "weights of a heatmap class's negative cells inside other classes' boxes, e.g. ball:robot=3,ball:obstacle=2 (a ball fired on a robot costs 3 times one fired on the field; training only, the network is unchanged)",
      confuserWeights,
    )
    .option(
      "--box-weight <w>",
      "weight of the box (position and size) loss against the class loss (default 5)",
      positiveNumber("--box-weight"),
    )
    .option("--fine-tune", "with --from: keep the conv layers, retrain only the dense layers on cached conv features")
    .addOption(new Option("--backend <name>", "tfjs backend").choices(["auto", "tensorflow", "wasm", "cpu"]).default("auto"))
    .option("--no-augment", "train without augmentation")
    .option("--max-minutes <m>", "stop after this many minutes (the best model so far is kept)", positiveNumber("--max-minutes"))
    .option("--max-frames <n>", "use at most this many frames of the data", positiveInt("--max-frames"))
    .option("--id <id>", "model id written to the metadata")
    .addOption(
      new Option("--weights <dtype>", "weight storage type of the exported files").choices(["float32", "float16"]).default("float32"),
    )
    .option("--no-progress", "no progress bar")
    .option(
      "--workers <n>",
      "data-parallel training over N worker threads, the same gradient steps as 1 (default: the CPU count for full training on wasm, else 1; 1 = in this thread)",
      positiveInt("--workers"),
    )
    .action(async (flags: TrainFlags) => {
      const log = createLogger({ name: "train" });
      // First SIGINT/SIGTERM: finish the current step, write the checkpoint and the report, and
      // nothing more (no validation, test or export), so the stop takes about a second whatever the
      // data; a second signal ends the process at once.
      const stop = onStopSignals((signal) =>
        log.info({ signal }, "stopping after the current step (a second signal ends the process at once)"),
      );
      try {
        // Imported here: loading the trainer loads TensorFlow.js (~1 s), which `--help` should not pay.
        const { train, TrainingStopped } = await import("../train/trainer.js");
        const report = await train({
          data: flags.data,
          out: flags.out,
          epochs: flags.epochs,
          seed: flags.seed,
          batch: flags.batch,
          learningRate: flags.lr,
          patience: flags.patience,
          from: flags.from,
          fineTune: flags.fineTune,
          backend: flags.backend,
          augment: flags.augment ? undefined : false,
          maxMinutes: flags.maxMinutes,
          maxFrames: flags.maxFrames,
          id: flags.id,
          weights: flags.weights,
          progress: flags.progress,
          workers: flags.workers,
          network: flags.network,
          widths: flags.widths,
          stem: flags.stem,
          networkOverrides: flags.input ? { input: { ...flags.input, channels: 3 } } : undefined,
          fit: flags.fit,
          resume: flags.resume,
          valFraction: flags.valFraction,
          testFraction: flags.testFraction,
          warmupSteps: flags.warmupSteps,
          checkpointEvery: flags.checkpointEvery,
          loss:
            flags.positiveWeight === undefined &&
            flags.boxWeight === undefined &&
            flags.classWeights === undefined &&
            flags.confuserWeights === undefined
              ? undefined
              : {
                  positiveWeight: flags.positiveWeight,
                  boxWeight: flags.boxWeight,
                  classWeights: flags.classWeights,
                  confuserWeights: flags.confuserWeights,
                },
          log,
          signal: stop.signal,
        }).catch((err: unknown) => {
          // A stop asked for before anything was trained is still a requested stop: exit 0.
          if (!(err instanceof TrainingStopped)) throw err;
          process.stderr.write(`fovea train: ${err.message} (${String(stop.signal.reason)})\n`);
          return null;
        });
        if (!report) return;
        const last = report.epochs[report.epochs.length - 1];
        process.stdout.write(
          `trained ${report.mode} on ${report.frames.train} frames (${report.backend}${report.workers > 1 ? ` x ${report.workers} workers` : ""}, ${report.imagesPerSecond.toFixed(1)} images/s): ` +
            `${report.epochs.length} epoch(s), best ${report.exported ? report.bestEpoch : "none"}, stopped by ${report.stoppedBy}; ` +
            (last ? `last val loss ${last.valLoss.toFixed(4)}, val object-cell accuracy ${last.valAccuracy.toFixed(3)}; ` : "") +
            (report.test
              ? `test loss ${report.test.loss.toFixed(4)}, test object-cell accuracy ${report.test.accuracy.toFixed(3)}`
              : "test split not scored") +
            `\n${report.out}\n`,
        );
        if (report.stoppedBy === "signal") {
          process.stderr.write(
            `fovea train: stopped by ${String(stop.signal.reason)} after ${report.framesSeen} training images; ` +
              `checkpoint kept: ${report.checkpoint} (the same command with --resume continues from it); ` +
              (report.exported
                ? `the model in ${report.out} is the best so far, as exported after epoch ${report.bestEpoch} (no test score)\n`
                : `no model exported yet (the first epoch was not validated): resume from the checkpoint\n`),
          );
        }
      } finally {
        stop.dispose();
      }
    });
}
