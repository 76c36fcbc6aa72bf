/**
 * The figures `fovea eval` reports, accumulated frame by frame: per class precision, recall and
 * average precision, recall by object size, a confusion matrix with background and missed, and
 * the ground-position error of matched detections.
 */
import type { Detection } from "../core/detection.js";
import type { LabelledObject } from "../dataset/tagged-frame.js";
import { averagePrecision, bestF1, type OperatingPoint, type ScoredDetection } from "./eval-average-precision.js";
import { byConfidence, matchFrame } from "./eval-matching.js";
import { thresholdsPerClass } from "../heads/decoder.js";

/** Row of the confusion matrix for detections that hit no labelled object. */
export const BACKGROUND = "background";
/** Column of the confusion matrix for labelled objects no detection hit. */
export const MISSED = "missed";

export interface EvaluatorOptions {
  /** Class names, in report order (the model's classes, then dataset classes the model lacks). */
  classes: readonly string[];
  /** Detections below this confidence are not counted for precision, recall and the confusion matrix (AP uses all). */
  scoreThreshold: number;
  /** Per class name, a threshold that replaces `scoreThreshold` for that class (the model's decode.classScoreThresholds). */
  classScoreThresholds?: Readonly<Record<string, number>>;
  /** Objects' boxes are enlarged to at least this fraction of the image width for matching (default 0.05). */
  minBoxFraction?: number;
}

/**
 * Upper bounds (exclusive) of the object-size bins of `recallBySize`, in pixels of the longer side
 * of the labelled box in the source image; the last bin is open. A model's misses sort by size
 * (a ball of a few pixels at the input, a robot that fills the frame), and so do their remedies.
 */
export const SIZE_BINS_PX: readonly number[] = [16, 32, 64, 128];

/** Recall at the class's threshold of the objects of one size bin. */
export interface SizeBinRecall {
  /** Longer side of the labelled box, source-image pixels: minPixels <= side < maxPixels (null: open). */
  minPixels: number;
  maxPixels: number | null;
  objects: number;
  /** Found / objects; null without objects. */
  recall: number | null;
}

export interface GroundErrorStats {
  /** Matched detections with both a predicted and a labelled ground position. */
  count: number;
  /** Metres. */
  median: number;
  /** Metres, 90th percentile. */
  p90: number;
  /** Metres. */
  max: number;
}

export interface ClassMetrics {
  label: string;
  /** Labelled objects of this class. */
  objects: number;
  /** The confidence this class's precision, recall and confusion counts are taken at. */
  scoreThreshold: number;
  /** Detections of this class at or above its score threshold. */
  detections: number;
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  /** TP / detections; null without detections. */
  precision: number | null;
  /** TP / objects; null without objects. */
  recall: number | null;
  /** Over all detections the decoder gave, any confidence; null without objects. */
  averagePrecision: number | null;
  /**
   * Confidence threshold with the best F1 over all detections, and its precision and recall:
   * where to set decode.scoreThreshold for this class. null without a true positive.
   */
  bestF1: OperatingPoint | null;
  ground: GroundErrorStats | null;
  /** Recall at `scoreThreshold` per size bin (SIZE_BINS_PX). */
  recallBySize: SizeBinRecall[];
}

export interface ConfusionMatrix {
  /** Labelled class per row, then `background` (detections of nothing). */
  rows: string[];
  /** Detected class per column, then `missed` (objects not detected). */
  columns: string[];
  counts: number[][];
}

export interface EvalMetrics {
  frames: number;
  /** The threshold of classes without their own (each class states its own in `classes[i].scoreThreshold`). */
  scoreThreshold: number;
  minBoxFraction: number;
  classes: ClassMetrics[];
  /** Mean AP over the classes that have labelled objects; null if none has. */
  meanAveragePrecision: number | null;
  confusion: ConfusionMatrix;
  /** Over all classes. */
  ground: GroundErrorStats | null;
}

/** One evaluated frame: what was labelled and what the model detected (any confidence). */
export interface EvalFrame {
  width: number;
  height: number;
  objects: readonly LabelledObject[];
  detections: readonly Pick<Detection, "label" | "confidence" | "box" | "ground">[];
}

/**
 * Percentile with linear interpolation between closest ranks (numpy's default), exact on the
 * stored values: these are a few thousand errors, and hdr-histogram would quantise them.
 */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new RangeError("sorted: expected at least one value");
  if (!(q >= 0 && q <= 1)) throw new RangeError(`q: expected 0..1, got ${q}`);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function groundStats(errors: number[]): GroundErrorStats | null {
  if (errors.length === 0) return null;
  const sorted = [...errors].sort((a, b) => a - b);
  return { count: sorted.length, median: percentile(sorted, 0.5), p90: percentile(sorted, 0.9), max: sorted[sorted.length - 1] };
}

export class DetectionEvaluator {
  private readonly classIndex: Map<string, number>;
  private readonly scored: ScoredDetection[][];
  private readonly objects: number[];
  private readonly groundErrors: number[][];
  private readonly confusion: number[][];
  /** Per class, per size bin: [objects, found at the threshold]. */
  private readonly sizes: Array<Array<[number, number]>>;
  private frames = 0;
  readonly minBoxFraction: number;
  /** Threshold per class index. */
  private readonly thresholds: number[];

  constructor(readonly options: EvaluatorOptions) {
    const { classes, scoreThreshold } = options;
    if (!Array.isArray(classes) || classes.length === 0) throw new TypeError("options.classes: expected a non-empty array of class names");
    if (new Set(classes).size !== classes.length) throw new RangeError(`options.classes: duplicate names in ${classes.join(", ")}`);
    if (classes.includes(BACKGROUND) || classes.includes(MISSED))
      throw new RangeError(`options.classes: '${BACKGROUND}' and '${MISSED}' are reserved`);
    if (!(scoreThreshold >= 0 && scoreThreshold <= 1)) throw new RangeError(`options.scoreThreshold: expected 0..1, got ${scoreThreshold}`);
    this.thresholds = thresholdsPerClass(classes, scoreThreshold, options.classScoreThresholds);
    this.minBoxFraction = options.minBoxFraction ?? 0.05;
    if (!(this.minBoxFraction >= 0 && this.minBoxFraction <= 1))
      throw new RangeError(`options.minBoxFraction: expected 0..1, got ${options.minBoxFraction}`);
    this.classIndex = new Map(classes.map((c, i) => [c, i]));
    this.scored = classes.map(() => []);
    this.objects = classes.map(() => 0);
    this.groundErrors = classes.map(() => []);
    this.confusion = Array.from({ length: classes.length + 1 }, () => new Array<number>(classes.length + 1).fill(0));
    this.sizes = classes.map(() => Array.from({ length: SIZE_BINS_PX.length + 1 }, (): [number, number] => [0, 0]));
  }

  private indexOf(label: string, where: string): number {
    const i = this.classIndex.get(label);
    if (i === undefined)
      throw new RangeError(`${where}: '${label}' is not one of the evaluated classes (${this.options.classes.join(", ")})`);
    return i;
  }

  addFrame(frame: EvalFrame): void {
    const { width, height, objects, detections } = frame;
    if (!(width > 0 && height > 0)) throw new RangeError(`frame.width/height: expected positive pixel sizes, got ${width}x${height}`);
    const objClass = objects.map((o, i) => this.indexOf(o.label, `frame.objects[${i}].label`));
    const detClass = detections.map((d, i) => this.indexOf(d.label, `frame.detections[${i}].label`));
    const opts = { width, height, minBoxFraction: this.minBoxFraction };
    this.frames++;
    objClass.forEach((c) => this.objects[c]++);

    // Strongest first, so the matches of the detections above the threshold are exactly those a
    // run with only those detections would make: one matching serves AP and the threshold figures.
    const match = matchFrame(detections, objects, opts);
    detections.forEach((d, di) => {
      const oi = match.objectOfDetection[di];
      this.scored[detClass[di]].push({ confidence: d.confidence, truePositive: oi >= 0 });
      const g = objects[oi]?.ground;
      if (oi >= 0 && d.confidence >= this.thresholds[detClass[di]] && d.ground && g) {
        this.groundErrors[detClass[di]].push(Math.hypot(d.ground.x - g.x, d.ground.y - g.y));
      }
    });

    // Confusion at the threshold: same-class matches on the diagonal; a leftover detection whose
    // point lies on a leftover object of another class confuses the two; the rest is background
    // (detections) or missed (objects).
    const B = this.options.classes.length;
    const below = detections.map((d, di) => d.confidence < this.thresholds[detClass[di]]);
    const matchedObj = objects.map((_, oi) => {
      const di = match.detectionOfObject[oi];
      return di >= 0 && !below[di];
    });
    const usedDet = detections.map((_, di) => below[di] || match.objectOfDetection[di] >= 0);
    for (const di of byConfidence(detections)) {
      if (!below[di] && match.objectOfDetection[di] >= 0) this.confusion[objClass[match.objectOfDetection[di]]][detClass[di]]++;
    }
    const cross = matchFrame(detections, objects, opts, { detections: usedDet, objects: matchedObj, sameClass: false });
    detections.forEach((_, di) => {
      if (usedDet[di]) return;
      const oi = cross.objectOfDetection[di];
      this.confusion[oi >= 0 ? objClass[oi] : B][detClass[di]]++;
    });
    objects.forEach((_, oi) => {
      if (!matchedObj[oi] && cross.detectionOfObject[oi] < 0) this.confusion[objClass[oi]][B]++;
    });
    objects.forEach((o, oi) => {
      const side = Math.max((o.box.xMax - o.box.xMin) * width, (o.box.yMax - o.box.yMin) * height);
      let bin = 0;
      while (bin < SIZE_BINS_PX.length && side >= SIZE_BINS_PX[bin]) bin++;
      const counts = this.sizes[objClass[oi]][bin];
      counts[0]++;
      if (matchedObj[oi]) counts[1]++;
    });
  }

  report(): EvalMetrics {
    const { classes, scoreThreshold } = this.options;
    const perClass = classes.map((label, c): ClassMetrics => {
      const atThreshold = this.scored[c].filter((s) => s.confidence >= this.thresholds[c]);
      const tp = atThreshold.filter((s) => s.truePositive).length;
      const objects = this.objects[c];
      return {
        label,
        objects,
        scoreThreshold: this.thresholds[c],
        detections: atThreshold.length,
        truePositives: tp,
        falsePositives: atThreshold.length - tp,
        falseNegatives: objects - tp,
        precision: atThreshold.length > 0 ? tp / atThreshold.length : null,
        recall: objects > 0 ? tp / objects : null,
        averagePrecision: averagePrecision(this.scored[c], objects),
        bestF1: bestF1(this.scored[c], objects),
        ground: groundStats(this.groundErrors[c]),
        recallBySize: this.sizes[c].map(([n, found], b) => ({
          minPixels: b === 0 ? 0 : SIZE_BINS_PX[b - 1],
          maxPixels: b < SIZE_BINS_PX.length ? SIZE_BINS_PX[b] : null,
          objects: n,
          recall: n > 0 ? found / n : null,
        })),
      };
    });
    const aps = perClass.map((c) => c.averagePrecision).filter((ap): ap is number => ap !== null);
    return {
      frames: this.frames,
      scoreThreshold,
      minBoxFraction: this.minBoxFraction,
      classes: perClass,
      meanAveragePrecision: aps.length > 0 ? aps.reduce((a, b) => a + b, 0) / aps.length : null,
      confusion: { rows: [...classes, BACKGROUND], columns: [...classes, MISSED], counts: this.confusion.map((r) => [...r]) },
      ground: groundStats(this.groundErrors.flat()),
    };
  }
}
