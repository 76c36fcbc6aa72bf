/**
 * Per-stage latency of the running pipeline in HdrHistograms (hdr-histogram-js): constant memory
 * however long fovea runs, percentiles without sorting samples. One set covers the whole run
 * (the summary), another the current log interval (reset after each periodic log line).
 */
import { build, type Histogram } from "hdr-histogram-js";
import type { FrameTimings } from "../core/pipeline-types.js";

export const PIPELINE_STAGES = ["capture", "preprocess", "inference", "detect", "publish", "total"] as const;
export type PipelineStage = (typeof PIPELINE_STAGES)[number];

/** Milliseconds. */
export interface StageLatency {
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

export type StageLatencyTable = Record<PipelineStage, StageLatency>;

export class StageLatencyRecorder {
  // Microsecond values, 3 significant digits; autoResize so a multi-second stall is still recorded.
  private readonly histograms: Histogram[] = PIPELINE_STAGES.map(() => build({ numberOfSignificantValueDigits: 3, autoResize: true }));

  get count(): number {
    return this.histograms[0].totalCount;
  }

  record(t: FrameTimings): void {
    const h = this.histograms;
    h[0].recordValue(t.captureUs);
    h[1].recordValue(t.preprocessUs);
    h[2].recordValue(t.inferenceUs);
    h[3].recordValue(t.detectUs);
    h[4].recordValue(t.publishUs);
    h[5].recordValue(t.totalUs);
  }

  table(): StageLatencyTable {
    const out = {} as StageLatencyTable;
    PIPELINE_STAGES.forEach((stage, i) => {
      const h = this.histograms[i];
      out[stage] =
        h.totalCount === 0
          ? { p50: 0, p99: 0, max: 0, mean: 0 }
          : { p50: h.getValueAtPercentile(50) / 1000, p99: h.getValueAtPercentile(99) / 1000, max: h.maxValue / 1000, mean: h.mean / 1000 };
    });
    return out;
  }

  reset(): void {
    for (const h of this.histograms) h.reset();
  }

  destroy(): void {
    for (const h of this.histograms) h.destroy();
  }
}
