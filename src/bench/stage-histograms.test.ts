import { describe, expect, it } from "vitest";
import type { FrameTimings } from "../core/pipeline-types.js";
import { LatencyHistogram, StageHistograms, STAGES } from "./stage-histograms.js";

/** mulberry32: a seeded PRNG so the sampled distributions are the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function timings(us: number): FrameTimings {
  return { captureUs: us, preprocessUs: 2 * us, inferenceUs: 3 * us, detectUs: 4 * us, publishUs: 5 * us, totalUs: 15 * us };
}

describe("LatencyHistogram", () => {
  it("gives the exact order statistics of a uniform 1..10000 us ladder within 0.1 %", () => {
    const h = new LatencyHistogram();
    for (let us = 1; us <= 10_000; us++) h.recordNs(us * 1000);
    const s = h.summary();
    expect(s.count).toBe(10_000);
    // Nearest-rank percentiles of 1..10000 us, in ms.
    expect(s.p50).toBeCloseTo(5.0, 2);
    expect(Math.abs(s.p90 - 9.0) / 9.0).toBeLessThan(1e-3);
    expect(Math.abs(s.p99 - 9.9) / 9.9).toBeLessThan(1e-3);
    expect(Math.abs(s.p999 - 9.99) / 9.99).toBeLessThan(1e-3);
    expect(Math.abs(s.max - 10.0) / 10.0).toBeLessThan(1e-3);
    expect(Math.abs(s.mean - 5.0005) / 5.0005).toBeLessThan(1e-3);
  });

  it("recovers the quantiles of an exponential distribution (mean 2 ms)", () => {
    const rand = prng(42);
    const h = new LatencyHistogram();
    const n = 200_000;
    const meanNs = 2e6;
    for (let i = 0; i < n; i++) h.recordNs(-Math.log(1 - rand()) * meanNs);
    // Quantile of Exp: -ln(1-p) * mean.
    const q = (p: number) => (-Math.log(1 - p) * meanNs) / 1e6;
    const s = h.summary();
    expect(Math.abs(s.p50 - q(0.5)) / q(0.5)).toBeLessThan(0.02);
    expect(Math.abs(s.p90 - q(0.9)) / q(0.9)).toBeLessThan(0.02);
    expect(Math.abs(s.p99 - q(0.99)) / q(0.99)).toBeLessThan(0.03);
    expect(Math.abs(s.p999 - q(0.999)) / q(0.999)).toBeLessThan(0.08);
    expect(Math.abs(s.mean - 2) / 2).toBeLessThan(0.02);
    expect(s.max).toBeGreaterThan(s.p999);
  });

  it("sees a rare long tail that the median hides", () => {
    const h = new LatencyHistogram();
    for (let i = 0; i < 9990; i++) h.recordNs(1e6);
    for (let i = 0; i < 10; i++) h.recordNs(50e6);
    const s = h.summary();
    expect(s.p50).toBeCloseTo(1, 2);
    expect(s.p99).toBeCloseTo(1, 2);
    expect(s.p999).toBeCloseTo(1, 2);
    expect(Math.abs(s.max - 50) / 50).toBeLessThan(1e-3);
    expect(h.percentileMs(99.95)).toBeGreaterThan(49);
  });

  it("reports zeros when empty and rejects bad values", () => {
    const h = new LatencyHistogram();
    expect(h.summary()).toEqual({ count: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 });
    expect(() => h.recordNs(-1)).toThrow(RangeError);
    expect(() => h.recordNs(Number.NaN)).toThrow(/ns/);
    expect(() => h.percentileMs(101)).toThrow(/percentile/);
  });
});

describe("StageHistograms", () => {
  it("excludes the warm-up frames and keeps each stage apart", () => {
    const s = new StageHistograms({ warmup: 5 });
    // Warm-up frames are huge: if they leaked in, max would show it.
    for (let i = 0; i < 5; i++) s.record(timings(1_000_000));
    for (let i = 0; i < 100; i++) s.record(timings(100));
    expect(s.framesSeen).toBe(105);
    expect(s.framesMeasured).toBe(100);
    const sum = s.summary();
    expect(Object.keys(sum)).toEqual([...STAGES]);
    expect(sum.capture.count).toBe(100);
    expect(sum.capture.max).toBeCloseTo(0.1, 3);
    expect(sum.preprocess.p50).toBeCloseTo(0.2, 3);
    expect(sum.inference.p50).toBeCloseTo(0.3, 3);
    expect(sum.detect.p50).toBeCloseTo(0.4, 3);
    expect(sum.publish.p50).toBeCloseTo(0.5, 3);
    expect(sum.total.p99).toBeCloseTo(1.5, 2);
    expect(s.totalSeriesMs).toHaveLength(100);
    expect(s.totalSeriesMs[0]).toBeCloseTo(1.5, 6);
  });

  it("caps the plotted series but not the histograms", () => {
    const s = new StageHistograms({ warmup: 0, seriesLimit: 10 });
    for (let i = 1; i <= 50; i++) s.record(timings(i));
    expect(s.totalSeriesMs).toHaveLength(10);
    expect(s.summary().total.count).toBe(50);
  });

  it("rejects a negative warm-up", () => {
    expect(() => new StageHistograms({ warmup: -1 })).toThrow(/options\.warmup/);
  });
});

describe("LatencyHistogram percentiles and max", () => {
  it("never reports a percentile above the largest recorded value", () => {
    const h = new LatencyHistogram();
    // 36.425 ms lies inside a bucket whose top is higher: the raw percentile would exceed max.
    for (let i = 0; i < 1000; i++) h.recordNs(1e6 + i * 35_425);
    const s = h.summary();
    expect(s.max).toBeCloseTo(1 + 999 * 0.035425, 6);
    expect(s.p999).toBeLessThanOrEqual(s.max);
    expect(h.percentileMs(100)).toBe(s.max);
  });
});
