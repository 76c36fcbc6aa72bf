/**
 * Decoding of the grid head (GridHeadSchema in src/core/model-metadata.ts): per cell the best
 * non-background class, the class's threshold, then the shared candidate list (per-class NMS,
 * cap; src/heads/decoder.ts).
 */
import type { Detection } from "../../core/detection.js";
import type { ModelMetadata } from "../../core/model-metadata.js";
import { Candidates, checkDecodeOptions, type DecodeOptions, type EngineOutput, type HeadDecoder } from "../decoder.js";

/** Decoding parameters; `fromMetadata` takes them from a model's `fovea.json`. */
export interface GridDecoderOptions extends DecodeOptions {
  rows: number;
  cols: number;
  /** Output names (default `classes` and `boxes`). */
  classesOutput?: string;
  boxesOutput?: string;
}

export class GridDecoder implements HeadDecoder {
  readonly options: Readonly<GridDecoderOptions>;
  readonly classes: readonly string[];
  private readonly cells: number;
  private readonly candidates: Candidates;
  private readonly thresholds: Float64Array;
  private readonly classesOutput: string;
  private readonly boxesOutput: string;

  constructor(options: GridDecoderOptions) {
    const { rows, cols } = options;
    this.thresholds = checkDecodeOptions(options);
    if (!Number.isInteger(rows) || rows <= 0) throw new RangeError(`options.rows: expected a positive integer, got ${rows}`);
    if (!Number.isInteger(cols) || cols <= 0) throw new RangeError(`options.cols: expected a positive integer, got ${cols}`);
    this.options = { ...options, classes: [...options.classes], classScoreThresholds: { ...options.classScoreThresholds } };
    this.classes = this.options.classes;
    this.cells = rows * cols;
    this.candidates = new Candidates(this.cells, this.classes, options.nmsIou, options.maxDetections);
    this.classesOutput = options.classesOutput ?? "classes";
    this.boxesOutput = options.boxesOutput ?? "boxes";
  }

  static fromMetadata(metadata: ModelMetadata, overrides: Partial<DecodeOptions> = {}): GridDecoder {
    if (metadata.head.kind !== "grid") throw new TypeError(`metadata.head.kind: expected 'grid', got '${metadata.head.kind}'`);
    return new GridDecoder({
      classes: metadata.classes,
      rows: metadata.head.rows,
      cols: metadata.head.cols,
      scoreThreshold: metadata.decode.scoreThreshold,
      classScoreThresholds: metadata.decode.classScoreThresholds,
      nmsIou: metadata.decode.nmsIou,
      maxDetections: metadata.decode.maxDetections,
      classesOutput: metadata.head.classesOutput,
      boxesOutput: metadata.head.boxesOutput,
      ...overrides,
    });
  }

  /** Length `classes` must have for one image: rows*cols*(classes+1). */
  get classesLength(): number {
    return this.cells * (this.classes.length + 1);
  }

  decode(output: EngineOutput, image = 0): Detection[] {
    const probs = output[this.classesOutput];
    const boxes = output[this.boxesOutput];
    const { rows, cols } = this.options;
    const thresholds = this.thresholds;
    const C = this.classes.length;
    const stride = C + 1;
    const first = image * this.cells;
    for (let cell = 0; cell < this.cells; cell++) {
      const base = (first + cell) * stride;
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
      const b = (first + cell) * 4;
      this.candidates.add(best, bestScore, (col + boxes[b]) / cols, (row + boxes[b + 1]) / rows, boxes[b + 2], boxes[b + 3]);
    }
    return this.candidates.finish();
  }
}
