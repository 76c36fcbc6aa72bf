/**
 * Decoding of the grid head (see GridHeadSchema in src/core/model-metadata.ts) into detections:
 * per cell the best non-background class, score threshold, per-class non-maximum suppression,
 * a cap on the number of detections.
 *
 * Hand-written: the decoding is specific to this head and a few dozen lines; NMS libraries on
 * npm either pull in a tensor runtime or allocate per call. It runs once per frame on the loop,
 * so all scratch space is allocated once per decoder and every argument is validated at
 * construction, not per frame.
 */
import type { Box, Detection } from "../core/detection.js";
import type { ModelMetadata } from "../core/model-metadata.js";
import type { EngineOutput } from "../engine/engine.js";

/** Decoding parameters; `fromMetadata` takes them from a model's `fovea.json`. */
export interface GridDecoderOptions {
  classes: readonly string[];
  rows: number;
  cols: number;
  /** Minimum class probability for a detection, 0..1. */
  scoreThreshold: number;
  /** Per class name, a minimum probability that replaces `scoreThreshold` for that class, 0..1. */
  classScoreThresholds?: Readonly<Record<string, number>>;
  /** Same-class boxes overlapping a stronger one by more than this IoU are suppressed, 0..1. */
  nmsIou: number;
  /** Detections per frame at most. */
  maxDetections: number;
}

/**
 * Threshold per class index: the class's own from `classScoreThresholds`, else `scoreThreshold`.
 * The decoder and `fovea eval` both resolve a model's thresholds here, so they apply them alike.
 */
export function thresholdsPerClass(classes: readonly string[], scoreThreshold: number, classScoreThresholds: Readonly<Record<string, number>> = {}): number[] {
  for (const [name, t] of Object.entries(classScoreThresholds)) {
    if (!classes.includes(name)) throw new RangeError(`options.classScoreThresholds.${name}: '${name}' is not one of options.classes (${classes.join(", ")})`);
    if (!(t >= 0 && t <= 1)) throw new RangeError(`options.classScoreThresholds.${name}: expected 0..1, got ${t}`);
  }
  return classes.map((name) => classScoreThresholds[name] ?? scoreThreshold);
}

export class GridDecoder {
  readonly options: Readonly<GridDecoderOptions>;
  private readonly cells: number;
  private readonly numClasses: number;
  // Scratch per candidate cell: index into the cell list, best class, score and box.
  private readonly order: Int32Array;
  private readonly candClass: Int32Array;
  private readonly candScore: Float32Array;
  private readonly candBox: Float32Array;
  private readonly suppressed: Uint8Array;
  // Threshold per class index, resolved once (float64: compared exactly as eval compares).
  private readonly thresholds: Float64Array;

  constructor(options: GridDecoderOptions) {
    const { classes, rows, cols, scoreThreshold, nmsIou, maxDetections } = options;
    if (!Array.isArray(classes) || classes.length === 0) throw new TypeError("options.classes: expected a non-empty array of class names");
    if (!Number.isInteger(rows) || rows <= 0) throw new RangeError(`options.rows: expected a positive integer, got ${rows}`);
    if (!Number.isInteger(cols) || cols <= 0) throw new RangeError(`options.cols: expected a positive integer, got ${cols}`);
    if (!(scoreThreshold >= 0 && scoreThreshold <= 1)) throw new RangeError(`options.scoreThreshold: expected 0..1, got ${scoreThreshold}`);
    if (!(nmsIou >= 0 && nmsIou <= 1)) throw new RangeError(`options.nmsIou: expected 0..1, got ${nmsIou}`);
    if (!Number.isInteger(maxDetections) || maxDetections <= 0) throw new RangeError(`options.maxDetections: expected a positive integer, got ${maxDetections}`);
    this.thresholds = Float64Array.from(thresholdsPerClass(classes, scoreThreshold, options.classScoreThresholds));
    this.options = { ...options, classes: [...classes], classScoreThresholds: { ...options.classScoreThresholds } };
    this.cells = rows * cols;
    this.numClasses = classes.length;
    this.order = new Int32Array(this.cells);
    this.candClass = new Int32Array(this.cells);
    this.candScore = new Float32Array(this.cells);
    this.candBox = new Float32Array(this.cells * 4);
    this.suppressed = new Uint8Array(this.cells);
  }

  static fromMetadata(metadata: ModelMetadata): GridDecoder {
    return new GridDecoder({
      classes: metadata.classes,
      rows: metadata.head.rows,
      cols: metadata.head.cols,
      scoreThreshold: metadata.decode.scoreThreshold,
      classScoreThresholds: metadata.decode.classScoreThresholds,
      nmsIou: metadata.decode.nmsIou,
      maxDetections: metadata.decode.maxDetections,
    });
  }

  /** Length `classes` must have for one image: rows*cols*(classes+1). */
  get classesLength(): number {
    return this.cells * (this.numClasses + 1);
  }

  /**
   * Decode the first image of a batch. Boxes are clamped to the image; detections come sorted
   * by confidence, strongest first.
   */
  decode(output: EngineOutput): Detection[] {
    const { classes: probs, boxes } = output;
    const { rows, cols, nmsIou, maxDetections, classes: names } = this.options;
    const thresholds = this.thresholds;
    const C = this.numClasses;
    const stride = C + 1;
    let n = 0;
    for (let cell = 0; cell < this.cells; cell++) {
      const base = cell * stride;
      let best = 0;
      let bestScore = probs[base];
      for (let c = 1; c < C; c++) {
        const p = probs[base + c];
        if (p > bestScore) {
          bestScore = p;
          best = c;
        }
      }
      if (!(bestScore >= thresholds[best])) continue;
      const row = (cell / cols) | 0;
      const col = cell - row * cols;
      const b = cell * 4;
      const cx = (col + boxes[b]) / cols;
      const cy = (row + boxes[b + 1]) / rows;
      const hw = boxes[b + 2] / 2;
      const hh = boxes[b + 3] / 2;
      const o = n * 4;
      this.candBox[o] = clamp01(cx - hw);
      this.candBox[o + 1] = clamp01(cy - hh);
      this.candBox[o + 2] = clamp01(cx + hw);
      this.candBox[o + 3] = clamp01(cy + hh);
      this.candClass[n] = best;
      this.candScore[n] = bestScore;
      this.order[n] = n;
      this.suppressed[n] = 0;
      n++;
    }
    if (n === 0) return [];

    // Sort candidate indices by score, descending (subarray sort: no allocation of index arrays).
    const order = this.order.subarray(0, n);
    const score = this.candScore;
    order.sort((a, b) => score[b] - score[a]);

    const out: Detection[] = [];
    const bx = this.candBox;
    for (let i = 0; i < n && out.length < maxDetections; i++) {
      const a = order[i];
      if (this.suppressed[a]) continue;
      const ao = a * 4;
      const box: Box = { xMin: bx[ao], yMin: bx[ao + 1], xMax: bx[ao + 2], yMax: bx[ao + 3] };
      const cls = this.candClass[a];
      out.push({ label: names[cls], classIndex: cls, confidence: score[a], box });
      for (let j = i + 1; j < n; j++) {
        const k = order[j];
        if (this.suppressed[k] || this.candClass[k] !== cls) continue;
        if (iou(bx, ao, k * 4) > nmsIou) this.suppressed[k] = 1;
      }
    }
    return out;
  }
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

/** One-shot decoding with a model's metadata (builds a decoder; keep a GridDecoder for a stream). */
export function decodeDetections(output: EngineOutput, metadata: ModelMetadata): Detection[] {
  return GridDecoder.fromMetadata(metadata).decode(output);
}
