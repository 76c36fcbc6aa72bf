/**
 * Per-stage latency distributions of a benchmark run, kept in HdrHistograms (hdr-histogram-js):
 * constant memory however long the run, and percentiles with a fixed relative error instead of a
 * sort over every sample.
 */
import { build, type Histogram } from "hdr-histogram-js";
import type { FrameTimings } from "../core/pipeline-types.js";

/** The stages a DetectionFrame is timed in, plus end to end (capture to publish). */
export const STAGES = ["capture", "preprocess", "inference", "detect", "publish", "total"] as const;
export type StageName = (typeof STAGES)[number];

const TIMING_FIELD: Record<StageName, keyof FrameTimings> = {
  capture: "captureUs",
  preprocess: "preprocessUs",
  inference: "inferenceUs",
  detect: "detectUs",
  publish: "publishUs",
  total: "totalUs",
};

/** Latency percentiles of one stage, milliseconds. */
export interface LatencySummary {
  /** Measured samples (warm-up excluded). */
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/**
 * One latency distribution. Values are recorded in nanoseconds (integers, as the histogram
 * requires) with 3 significant digits, i.e. better than 0.1 % relative error at any magnitude.
 */
export class LatencyHistogram {
  private readonly histogram: Histogram = build({ numberOfSignificantValueDigits: 3, autoResize: true });

  /** @param ns a duration in nanoseconds, >= 0 */
  recordNs(ns: number): void {
    if (!Number.isFinite(ns) || ns < 0) throw new RangeError(`ns: expected a finite duration >= 0, got ${ns}`);
    this.histogram.recordValue(Math.round(ns));
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  /** Percentile in milliseconds, `percentile` in 0..100. */
  percentileMs(percentile: number): number {
    if (!(percentile >= 0 && percentile <= 100)) throw new RangeError(`percentile: expected 0..100, got ${percentile}`);
    const h = this.histogram;
    return h.totalCount === 0 ? 0 : Math.min(h.getValueAtPercentile(percentile), h.maxValue) / 1e6;
  }

  summary(): LatencySummary {
    const h = this.histogram;
    if (h.totalCount === 0) return { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
    const max = h.maxValue;
    // A percentile is reported as the top of its bucket, which can lie above the largest value
    // actually recorded; no percentile is larger than the maximum.
    const at = (p: number) => Math.min(h.getValueAtPercentile(p), max) / 1e6;
    return { count: h.totalCount, mean: h.mean / 1e6, p50: at(50), p90: at(90), p99: at(99), p999: at(99.9), max: max / 1e6 };
  }
}

/** Options of {@link StageHistograms}. */
export interface StageHistogramsOptions {
  /** Frames at the start that are counted but not recorded (JIT, caches, first allocations). */
  warmup: number;
  /**
   * End-to-end latencies kept in arrival order for the latency-over-time plot; beyond this many
   * the series stops growing (the histograms keep recording).
   */
  seriesLimit?: number;
}

/**
 * The per-stage histograms of one pipeline run, fed from `FrameTimings` (microseconds) as the
 * pipeline's observer reports them.
 */
export class StageHistograms {
  readonly warmup: number;
  private readonly seriesLimit: number;
  private readonly histograms = new Map<StageName, LatencyHistogram>(STAGES.map((s) => [s, new LatencyHistogram()]));
  private seen = 0;
  /** End-to-end latency of each measured frame, milliseconds, in order (for plots). */
  readonly totalSeriesMs: number[] = [];

  constructor(options: StageHistogramsOptions) {
    if (!Number.isInteger(options.warmup) || options.warmup < 0) {
      throw new RangeError(`options.warmup: expected an integer >= 0, got ${options.warmup}`);
    }
    this.warmup = options.warmup;
    this.seriesLimit = options.seriesLimit ?? 100_000;
  }

  /** Frames offered so far, warm-up included. */
  get framesSeen(): number {
    return this.seen;
  }

  /** Frames recorded in the histograms (warm-up excluded). */
  get framesMeasured(): number {
    return Math.max(0, this.seen - this.warmup);
  }

  record(timings: FrameTimings): void {
    this.seen++;
    if (this.seen <= this.warmup) return;
    for (const stage of STAGES) this.histograms.get(stage)!.recordNs(Math.max(0, timings[TIMING_FIELD[stage]]) * 1000);
    if (this.totalSeriesMs.length < this.seriesLimit) this.totalSeriesMs.push(timings.totalUs / 1000);
  }

  histogram(stage: StageName): LatencyHistogram {
    return this.histograms.get(stage)!;
  }

  summary(): Record<StageName, LatencySummary> {
    return Object.fromEntries(STAGES.map((s) => [s, this.histograms.get(s)!.summary()])) as Record<StageName, LatencySummary>;
  }
}
