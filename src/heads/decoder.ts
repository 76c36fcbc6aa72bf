/**
 * The runtime side of a head plug-in: a decoder turns one image's named engine outputs into
 * detections. Every head ends in the same candidate list here (class, score, box), which does the
 * per-class non-maximum suppression and the cap, so detections leave every head the same way.
 *
 * Hand-written: decoding is specific to each head and a few dozen lines; NMS libraries on npm
 * either pull in a tensor runtime or allocate per call. It runs once per frame on the loop, so
 * all scratch space is allocated once per decoder and arguments are validated at construction.
 */
import type { Box, Detection } from "../core/detection.js";

/** Named raw outputs of an engine run, batch-major (shapes: src/heads/outputs.ts). */
export type EngineOutput = Readonly<Record<string, Float32Array>>;

export interface HeadDecoder {
  /** Class names in output order. */
  readonly classes: readonly string[];
  /**
   * Detections of image `image` (default 0) of a batch's outputs, strongest first, boxes
   * normalised to the image and clamped to it.
   */
  decode(output: EngineOutput, image?: number): Detection[];
}

/** Decoding parameters common to every head (from a model's `decode` metadata). */
export interface DecodeOptions {
  classes: readonly string[];
  /** Minimum score for a detection, 0..1. */
  scoreThreshold: number;
  /** Per class name, a minimum score that replaces `scoreThreshold` for that class, 0..1. */
  classScoreThresholds?: Readonly<Record<string, number>>;
  /** Same-class boxes overlapping a stronger one by more than this IoU are suppressed, 0..1. */
  nmsIou: number;
  /** Detections per frame at most. */
  maxDetections: number;
}

/**
 * Threshold per class index: the class's own from `classScoreThresholds`, else `scoreThreshold`.
 * The decoders and `fovea eval` both resolve a model's thresholds here, so they apply them alike.
 */
export function thresholdsPerClass(
  classes: readonly string[],
  scoreThreshold: number,
  classScoreThresholds: Readonly<Record<string, number>> = {},
): number[] {
  for (const [name, t] of Object.entries(classScoreThresholds)) {
    if (!classes.includes(name))
      throw new RangeError(`options.classScoreThresholds.${name}: '${name}' is not one of options.classes (${classes.join(", ")})`);
    if (!(t >= 0 && t <= 1)) throw new RangeError(`options.classScoreThresholds.${name}: expected 0..1, got ${t}`);
  }
  return classes.map((name) => classScoreThresholds[name] ?? scoreThreshold);
}

/** Validates the common options; returns the threshold per class index. */
export function checkDecodeOptions(options: DecodeOptions): Float64Array {
  const { classes, scoreThreshold, nmsIou, maxDetections } = options;
  if (!Array.isArray(classes) || classes.length === 0) throw new TypeError("options.classes: expected a non-empty array of class names");
  if (!(scoreThreshold >= 0 && scoreThreshold <= 1)) throw new RangeError(`options.scoreThreshold: expected 0..1, got ${scoreThreshold}`);
  if (!(nmsIou >= 0 && nmsIou <= 1)) throw new RangeError(`options.nmsIou: expected 0..1, got ${nmsIou}`);
  if (!Number.isInteger(maxDetections) || maxDetections <= 0)
    throw new RangeError(`options.maxDetections: expected a positive integer, got ${maxDetections}`);
  // float64: compared exactly as eval compares.
  return Float64Array.from(thresholdsPerClass(classes, scoreThreshold, options.classScoreThresholds));
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

/** IoU of two boxes stored as (xMin, yMin, xMax, yMax) at offsets `a` and `b` of `boxes`. */
function iou(boxes: Float32Array, a: number, b: number): number {
  const ix = Math.min(boxes[a + 2], boxes[b + 2]) - Math.max(boxes[a], boxes[b]);
  const iy = Math.min(boxes[a + 3], boxes[b + 3]) - Math.max(boxes[a + 1], boxes[b + 1]);
  if (ix <= 0 || iy <= 0) return 0;
  const inter = ix * iy;
  const areaA = (boxes[a + 2] - boxes[a]) * (boxes[a + 3] - boxes[a + 1]);
  const areaB = (boxes[b + 2] - boxes[b]) * (boxes[b + 3] - boxes[b + 1]);
  return inter / (areaA + areaB - inter);
}

/**
 * A frame's candidate detections, at most `capacity`, in preallocated scratch; `finish` sorts
 * them by score, applies per-class NMS and the cap, and starts the next frame.
 */
export class Candidates {
  private n = 0;
  private readonly order: Int32Array;
  private readonly cls: Int32Array;
  private readonly score: Float32Array;
  private readonly box: Float32Array;
  private readonly suppressed: Uint8Array;

  constructor(
    readonly capacity: number,
    private readonly names: readonly string[],
    private readonly nmsIou: number,
    private readonly maxDetections: number,
  ) {
    this.order = new Int32Array(capacity);
    this.cls = new Int32Array(capacity);
    this.score = new Float32Array(capacity);
    this.box = new Float32Array(capacity * 4);
    this.suppressed = new Uint8Array(capacity);
  }

  /** Adds a candidate by its centre and size (normalised); ignored when full. */
  add(cls: number, score: number, cx: number, cy: number, w: number, h: number): void {
    if (this.n >= this.capacity) return;
    const n = this.n++;
    const o = n * 4;
    this.box[o] = clamp01(cx - w / 2);
    this.box[o + 1] = clamp01(cy - h / 2);
    this.box[o + 2] = clamp01(cx + w / 2);
    this.box[o + 3] = clamp01(cy + h / 2);
    this.cls[n] = cls;
    this.score[n] = score;
    this.order[n] = n;
    this.suppressed[n] = 0;
  }

  finish(): Detection[] {
    const n = this.n;
    this.n = 0;
    if (n === 0) return [];
    // Sort candidate indices by score, descending (subarray sort: no allocation of index arrays).
    const order = this.order.subarray(0, n);
    const score = this.score;
    order.sort((a, b) => score[b] - score[a]);
    const out: Detection[] = [];
    const bx = this.box;
    for (let i = 0; i < n && out.length < this.maxDetections; i++) {
      const a = order[i];
      if (this.suppressed[a]) continue;
      const ao = a * 4;
      const box: Box = { xMin: bx[ao], yMin: bx[ao + 1], xMax: bx[ao + 2], yMax: bx[ao + 3] };
      const cls = this.cls[a];
      out.push({ label: this.names[cls], classIndex: cls, confidence: score[a], box });
      for (let j = i + 1; j < n; j++) {
        const k = order[j];
        if (this.suppressed[k] || this.cls[k] !== cls) continue;
        if (iou(bx, ao, k * 4) > this.nmsIou) this.suppressed[k] = 1;
      }
    }
    return out;
  }
}
