/**
 * Decoding of the heatmap head (HeatmapHeadSchema): a detection at every cell whose heat reaches
 * its class's threshold and is the largest in its 3x3 neighbourhood (CenterNet's max-pool peak
 * test, done here on the few cells above threshold rather than as a graph op over all of them),
 * centred at the cell plus the predicted offset, sized by the predicted log width and height;
 * then the shared candidate list (per-class NMS, cap).
 */
import type { Detection } from "../../core/detection.js";
import type { ModelMetadata } from "../../core/model-metadata.js";
import { Candidates, checkDecodeOptions, type DecodeOptions, type EngineOutput, type HeadDecoder } from "../decoder.js";

export interface HeatmapDecoderOptions extends DecodeOptions {
  /** Output grid (input size / stride). */
  rows: number;
  cols: number;
  heatmapOutput?: string;
  regressionOutput?: string;
}

/** Candidates kept per frame before NMS; more peaks than this above threshold are not decoded. */
const MAX_CANDIDATES = 1024;

export class HeatmapDecoder implements HeadDecoder {
  readonly classes: readonly string[];
  readonly options: Readonly<HeatmapDecoderOptions>;
  private readonly thresholds: Float64Array;
  private readonly candidates: Candidates;
  private readonly heatName: string;
  private readonly regName: string;

  constructor(options: HeatmapDecoderOptions) {
    this.thresholds = checkDecodeOptions(options);
    const { rows, cols } = options;
    if (!Number.isInteger(rows) || rows <= 0) throw new RangeError(`options.rows: expected a positive integer, got ${rows}`);
    if (!Number.isInteger(cols) || cols <= 0) throw new RangeError(`options.cols: expected a positive integer, got ${cols}`);
    this.options = { ...options, classes: [...options.classes] };
    this.classes = this.options.classes;
    this.candidates = new Candidates(MAX_CANDIDATES, this.classes, options.nmsIou, options.maxDetections);
    this.heatName = options.heatmapOutput ?? "heatmap";
    this.regName = options.regressionOutput ?? "regression";
  }

  static fromMetadata(metadata: ModelMetadata, overrides: Partial<DecodeOptions> = {}): HeatmapDecoder {
    const head = metadata.head;
    if (head.kind !== "heatmap") throw new TypeError(`metadata.head.kind: expected 'heatmap', got '${head.kind}'`);
    return new HeatmapDecoder({
      classes: metadata.classes,
      rows: metadata.input.height / head.stride,
      cols: metadata.input.width / head.stride,
      scoreThreshold: metadata.decode.scoreThreshold,
      classScoreThresholds: metadata.decode.classScoreThresholds,
      nmsIou: metadata.decode.nmsIou,
      maxDetections: metadata.decode.maxDetections,
      heatmapOutput: head.heatmapOutput,
      regressionOutput: head.regressionOutput,
      ...overrides,
    });
  }

  decode(output: EngineOutput, image = 0): Detection[] {
    const heat = output[this.heatName];
    const reg = output[this.regName];
    const { rows, cols } = this.options;
    const C = this.classes.length;
    const thresholds = this.thresholds;
    const cells = rows * cols;
    const h0 = image * cells * C;
    const r0 = image * cells * 4;
    for (let row = 0; row < rows; row++) {
      for (let col = 0; col < cols; col++) {
        const base = h0 + (row * cols + col) * C;
        for (let c = 0; c < C; c++) {
          const v = heat[base + c];
          if (!(v >= thresholds[c])) continue;
          if (!this.isPeak(heat, h0, row, col, c, v)) continue;
          const r = r0 + (row * cols + col) * 4;
          this.candidates.add(
            c,
            v,
            (col + reg[r]) / cols,
            (row + reg[r + 1]) / rows,
            Math.exp(reg[r + 2]) / cols,
            Math.exp(reg[r + 3]) / rows,
          );
        }
      }
    }
    return this.candidates.finish();
  }

  /** No neighbour is larger; of equal neighbours only the first in row-major order counts. */
  private isPeak(heat: Float32Array, h0: number, row: number, col: number, c: number, v: number): boolean {
    const { rows, cols } = this.options;
    const C = this.classes.length;
    for (let dy = -1; dy <= 1; dy++) {
      const y = row + dy;
      if (y < 0 || y >= rows) continue;
      for (let dx = -1; dx <= 1; dx++) {
        const x = col + dx;
        if ((dx === 0 && dy === 0) || x < 0 || x >= cols) continue;
        const n = heat[h0 + (y * cols + x) * C + c];
        if (n > v || (n === v && (dy < 0 || (dy === 0 && dx < 0)))) return false;
      }
    }
    return true;
  }
}
