/**
 * `fovea eval --model DIR --data DIR`: per-class precision, recall and AP, a confusion matrix and
 * ground-position errors of a model on a tagged-frame dataset (native, YOLO or COCO).
 */
import { DEVICE_NAMES, ENGINE_NAMES } from "../engine/registry.js";
import { writeFile } from "node:fs/promises";
import { Option, type Command } from "commander";
import { SingleBar } from "cli-progress";
import { FoveaInputError } from "../core/errors.js";
import { createLogger } from "../core/log.js";
import type { DeviceName, EngineName } from "../engine/engine.js";
import { DEFAULT_MODEL_DIR } from "./run-config.js";
import { formatEvalTable } from "../train/eval-table.js";
import { evaluateModel } from "../train/evaluate.js";
import { bestF1Thresholds, writeClassScoreThresholds } from "../train/class-thresholds.js";

export interface EvalCommandOptions {
  model: string;
  data: string;
  format: "auto" | "native" | "yolo" | "coco";
  engine: EngineName | "auto";
  device: DeviceName | "auto";
  calibration?: string;
  threshold?: string;
  batch: string;
  json?: boolean;
  out?: string;
  setThresholds?: boolean;
  minBox?: string;
  nmsIou?: string;
}

function parseFraction(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0 || n > 1)
    throw new FoveaInputError(flag, `expected a number 0..1, got '${value}'`);
  return n;
}

/** The eval command's work, callable without a process; the table or JSON goes to `stdout`. */
export async function runEvalCommand(
  flags: EvalCommandOptions,
  stdout: (text: string) => void = (t) => process.stdout.write(t),
): Promise<void> {
  const scoreThreshold = flags.threshold === undefined ? undefined : parseFraction("--threshold", flags.threshold);
  const minBoxFraction = flags.minBox === undefined ? undefined : parseFraction("--min-box", flags.minBox);
  const nmsIou = flags.nmsIou === undefined ? undefined : parseFraction("--nms-iou", flags.nmsIou);
  const batch = Number(flags.batch);
  if (!Number.isInteger(batch) || batch <= 0) throw new FoveaInputError("--batch", `expected a positive integer, got '${flags.batch}'`);
  const log = createLogger({ name: "eval" });
  // Progress goes to stderr and only to a terminal, so piped JSON/table output stays clean.
  const bar = process.stderr.isTTY
    ? new SingleBar({ format: "eval {bar} {value}/{total} frames  {eta}s left", stream: process.stderr, hideCursor: true })
    : undefined;
  let started = false;
  let report;
  try {
    report = await evaluateModel({
      modelDir: flags.model,
      data: flags.data,
      format: flags.format,
      engine: flags.engine,
      device: flags.device,
      calibration: flags.calibration,
      scoreThreshold,
      minBoxFraction,
      nmsIou,
      batch,
      log,
      onProgress: (done, total) => {
        if (!bar) return;
        if (!started) bar.start(total, 0);
        started = true;
        bar.update(done);
      },
    });
  } finally {
    if (started) bar?.stop();
  }
  const json = JSON.stringify(report, null, 2) + "\n";
  if (flags.out) await writeFile(flags.out, json);
  stdout(flags.json ? json : formatEvalTable(report));
  if (flags.setThresholds) {
    const thresholds = bestF1Thresholds(report);
    const file = await writeClassScoreThresholds(flags.model, thresholds);
    const list =
      Object.entries(thresholds)
        .map(([c, t]) => `${c} ${t}`)
        .join(", ") || "none (no class has a true positive)";
    // stderr: stdout may be the JSON report a script parses.
    process.stderr.write(`per-class thresholds (best F1) written to ${file} decode.classScoreThresholds: ${list}\n`);
  }
}

/** Registers the `fovea eval` command. */
export function registerEval(program: Command): void {
  program
    .command("eval")
    .description("score a model on a tagged-frame dataset: per-class precision, recall, AP, confusion matrix, ground-position error")
    .option("--model <dir>", "model directory containing fovea.json", DEFAULT_MODEL_DIR)
    .requiredOption("--data <dir>", "dataset folder (native, YOLO or COCO) or a COCO .json file")
    .addOption(new Option("--format <format>", "dataset format").choices(["auto", "native", "yolo", "coco"]).default("auto"))
    .addOption(new Option("--engine <engine>", "inference engine").choices(["auto", ...ENGINE_NAMES]).default("auto"))
    .addOption(new Option("--device <device>", "engine device").choices(["auto", ...DEVICE_NAMES]).default("auto"))
    .option("--calibration <file>", "camera calibration for ground positions (default: the dataset's, else calibration/default.json)")
    .option("--threshold <p>", "confidence for precision, recall and the confusion matrix (default: the model's decode.scoreThreshold)")
    .option("--batch <n>", "frames per inference run", "16")
    .option(
      "--min-box <fraction>",
      "match a detection whose point lies in the object's box enlarged to at least this fraction of the image width (default 0.05); a larger value separates position errors from missed objects",
    )
    .option(
      "--nms-iou <iou>",
      "decode with this overlap above which a weaker detection of the same class is dropped (default: the model's decode.nmsIou); measure on a validation set before setting it in fovea.json",
    )
    .option("--json", "print the JSON report instead of the table")
    .option("--out <file>", "also write the JSON report to this file")
    .option(
      "--set-thresholds",
      "write each class's best-F1 confidence into the model's fovea.json (decode.classScoreThresholds), which the runtime then uses; tune on a validation set, not the test set you report",
    )
    .action(async (flags: EvalCommandOptions) => {
      await runEvalCommand(flags);
    });
}
