/**
 * `fovea eval`'s work: run a model over every frame of a tagged-frame dataset exactly as the
 * runtime would (the shared `preprocess`, an engine from `createEngine`, the runtime's grid
 * decoder and ground projection) and score the detections (eval-metrics.ts).
 */
import path from "node:path";
import type { Logger } from "pino";
import { loadCalibration, DEFAULT_CALIBRATION_FILE, type Calibration } from "../calib/calibration.js";
import type { Detection } from "../core/detection.js";
import { FoveaInputError } from "../core/errors.js";
import { readDataset } from "../dataset/read-dataset.js";
import type { Dataset, DatasetFormat } from "../dataset/tagged-frame.js";
import { Detector } from "../detect/detector.js";
import { createEngine } from "../engine/create-engine.js";
import type { DeviceName, EngineName } from "../engine/engine.js";
import { preprocess, preprocessParams } from "../preprocess/preprocess.js";
import { DetectionEvaluator, type EvalMetrics } from "./eval-metrics.js";

export interface EvaluateOptions {
  /** Model directory (contains fovea.json). */
  modelDir: string;
  /** Dataset folder / COCO .json (any format `readDataset` reads), or a dataset already read. */
  data: string | Dataset;
  /** Dataset format when `data` is a path (default: auto-detect). */
  format?: DatasetFormat | "auto";
  engine?: EngineName | "auto";
  device?: DeviceName | "auto";
  /**
   * Camera calibration for the ground projection and white balance. Default: the one the
   * dataset names, else calibration/default.json (the synthetic camera). Ground errors are only
   * computed for objects whose labels carry ground positions.
   */
  calibration?: string;
  /**
   * Confidence at which precision, recall and the confusion matrix are taken, for every class.
   * Default: the model's thresholds, decode.scoreThreshold and decode.classScoreThresholds.
   */
  scoreThreshold?: number;
  /**
   * Lowest confidence decoded for the precision-recall curve behind AP (default 0.01). With one
   * threshold, the detections at or above it are exactly the runtime's (NMS and the cap keep
   * stronger first); with per-class thresholds the cap of decode.maxDetections can differ, since
   * a class's detections below its own threshold still take places under the cap here.
   */
  curveFloor?: number;
  /**
   * Objects' boxes are enlarged to at least this fraction of the image width for matching
   * (default 0.05, the issue's rule). A larger value shows how much a model loses to the position
   * of its detections rather than to finding the objects.
   */
  minBoxFraction?: number;
  /**
   * Overlap above which the decoder drops a weaker detection of the same class (default: the
   * model's decode.nmsIou), to measure another before setting it in the model.
   */
  nmsIou?: number;
  /** Frames per engine run (default 16). */
  batch?: number;
  /** Called after each batch. */
  onProgress?(done: number, total: number): void;
  log?: Logger;
}

export interface EvalReport extends EvalMetrics {
  format: "fovea-eval";
  formatVersion: 1;
  model: { id: string; trained: boolean; dir: string };
  data: { root: string; format: DatasetFormat; frames: number; objects: number };
  engine: { engine: EngineName; device: DeviceName };
  /** Calibration file used for ground projection. */
  calibration: string;
  /** Dataset classes the model does not predict (their objects all count as missed; not in the mean AP). */
  classesUnknownToModel: string[];
  /** The decoder's non-maximum suppression overlap used. */
  nmsIou: number;
  /** Wall time of the whole evaluation, seconds (information, not a benchmark). */
  seconds: number;
}

export async function evaluateModel(options: EvaluateOptions): Promise<EvalReport> {
  const started = process.hrtime.bigint();
  const batch = options.batch ?? 16;
  if (!Number.isInteger(batch) || batch <= 0) throw new RangeError(`options.batch: expected a positive integer, got ${options.batch}`);
  const curveFloor = options.curveFloor ?? 0.01;
  if (!(curveFloor >= 0 && curveFloor <= 1)) throw new RangeError(`options.curveFloor: expected 0..1, got ${options.curveFloor}`);

  const dataset =
    typeof options.data === "string"
      ? await readDataset(options.data, { format: options.format ?? "auto", where: "--data" })
      : options.data;
  if (dataset.frames.length === 0) throw new FoveaInputError(dataset.root, "the dataset has no frames to evaluate");
  const calibrationFile = path.resolve(options.calibration ?? dataset.calibration ?? DEFAULT_CALIBRATION_FILE);
  const calibration: Calibration = await loadCalibration(calibrationFile);

  const engine = await createEngine(
    { modelDir: options.modelDir, engine: options.engine ?? "auto", device: options.device ?? "auto" },
    options.log,
  );
  try {
    const meta = engine.metadata;
    const scoreThreshold = options.scoreThreshold ?? meta.decode.scoreThreshold;
    // The decoder validates it (checkDecodeOptions), as it does the model's own.
    const nmsIou = options.nmsIou ?? meta.decode.nmsIou;
    if (!(scoreThreshold >= 0 && scoreThreshold <= 1)) throw new RangeError(`options.scoreThreshold: expected 0..1, got ${scoreThreshold}`);
    // An explicit threshold is one threshold for every class; otherwise the model's own.
    const classScoreThresholds = options.scoreThreshold === undefined ? (meta.decode.classScoreThresholds ?? {}) : {};
    const lowestThreshold = Math.min(scoreThreshold, ...Object.values(classScoreThresholds));
    const unknown = dataset.classes.filter((c) => !meta.classes.includes(c));
    if (unknown.length)
      options.log?.warn({ classes: unknown }, "dataset classes the model does not predict: their objects all count as missed");
    const evaluator = new DetectionEvaluator({
      classes: [...meta.classes, ...unknown],
      scoreThreshold,
      classScoreThresholds,
      minBoxFraction: options.minBoxFraction,
    });
    const detector = new Detector(meta, {
      calibration,
      decode: { scoreThreshold: Math.min(curveFloor, lowestThreshold), classScoreThresholds: {}, nmsIou },
    });
    const params = preprocessParams(meta);
    const inputSize = params.width * params.height * 3;
    const input = new Float32Array(batch * inputSize);

    const frames = dataset.frames;
    for (let start = 0; start < frames.length; start += batch) {
      const chunk = frames.slice(start, start + batch);
      await Promise.all(
        chunk.map((f, i) =>
          preprocess({ file: path.join(dataset.root, f.image), size: f }, params, {
            whiteBalance: calibration.whiteBalance,
            out: input.subarray(i * inputSize, (i + 1) * inputSize),
          }),
        ),
      );
      const out = await engine.run(chunk.length === batch ? input : input.subarray(0, chunk.length * inputSize), chunk.length);
      chunk.forEach((f, i) => {
        const detections: Detection[] = detector.detect(out, f.width, f.height, i, f.mount);
        evaluator.addFrame({ width: f.width, height: f.height, objects: f.objects, detections });
      });
      options.onProgress?.(start + chunk.length, frames.length);
    }

    const metrics = evaluator.report();
    const known = metrics.classes.filter((c) => meta.classes.includes(c.label) && c.averagePrecision !== null);
    const meanAveragePrecision = known.length ? known.reduce((s, c) => s + c.averagePrecision!, 0) / known.length : null;
    return {
      format: "fovea-eval",
      formatVersion: 1,
      model: { id: meta.id, trained: meta.trained, dir: path.resolve(options.modelDir) },
      data: {
        root: dataset.root,
        format: dataset.format,
        frames: frames.length,
        objects: frames.reduce((s, f) => s + f.objects.length, 0),
      },
      engine: { engine: engine.engine, device: engine.device },
      calibration: calibrationFile,
      classesUnknownToModel: unknown,
      nmsIou,
      ...metrics,
      meanAveragePrecision,
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
    };
  } finally {
    await engine.dispose();
  }
}
