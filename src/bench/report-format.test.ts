import { describe, expect, it } from "vitest";
import { BenchReportSchema, type BenchReport } from "./bench-report.js";
import { renderHtml } from "./report-html.js";
import { formatReport, formatTable } from "./report-table.js";
import { StageHistograms } from "./stage-histograms.js";

/** A report whose runs come from real histograms fed with a known latency ramp. */
function sampleReport(): BenchReport {
  const h = new StageHistograms({ warmup: 10 });
  for (let i = 0; i < 210; i++) {
    const us = 1000 + (i % 100) * 10;
    h.record({ captureUs: 50, preprocessUs: 300, inferenceUs: 800, detectUs: 40, publishUs: 20, totalUs: us });
  }
  return BenchReportSchema.parse({
    format: "fovea-bench",
    formatVersion: 1,
    createdAt: "2026-11-27T18:00:00.000Z",
    command: ["fovea", "bench", "--frames", "200"],
    machine: {
      cpuModel: "Test CPU <x86>",
      cores: 2,
      availableParallelism: 2,
      totalMemoryMiB: 24576,
      platform: "linux",
      arch: "x64",
      kernel: "6.1",
      hostname: "h",
      node: "20.20.0",
      libraries: { "onnxruntime-node": "1.30.0", "@tensorflow/tfjs": null },
      loadAverageStart: [1, 1, 1],
      loadAverageEnd: [2, 2, 2],
    },
    model: { dir: "/m", id: "seed-v1", trained: true, inputWidth: 100, inputHeight: 100 },
    settings: {
      frames: 200,
      warmup: 10,
      source: "synthetic",
      sizes: ["640x480"],
      modes: ["paced60"],
      batches: [1],
      maxSecondsPerRun: 60,
      inferenceRuns: 100,
    },
    pipelineRuns: [
      {
        engine: "onnxruntime",
        device: "cpu",
        width: 640,
        height: 480,
        mode: "paced60",
        targetFps: 60,
        sourceFps: 60,
        source: "synthetic",
        warmupFrames: 10,
        measuredFrames: h.framesMeasured,
        truncated: false,
        endReason: "max-frames",
        lastError: "",
        sustainedFps: 59.9,
        sourceDeliveredFps: 59.9,
        droppedFrames: 0,
        droppedPercent: 0,
        counters: { framesIn: 210, framesProcessed: 210, framesDropped: 0, framesFailed: 0 },
        stages: h.summary(),
        resources: { wallSeconds: 3.5, cpuCores: 0.4, cpuPercentOfMachine: 20, peakRssMiB: 150, processPeakRssMiB: 160 },
        totalSeriesMs: h.totalSeriesMs,
      },
    ],
    inference: [
      {
        engine: "onnxruntime",
        device: "cpu",
        batch: 1,
        warmupRuns: 10,
        measuredRuns: 100,
        perCall: { count: 100, mean: 0.8, p50: 0.79, p90: 0.85, p99: 1.2, p999: 1.5, max: 1.5 },
        perFrameP50: 0.79,
        framesPerSecond: 1265,
      },
    ],
    skipped: [{ engine: "onnxruntime", device: "webgpu", reason: "no adapter" }],
    peers: {
      reference: { engine: "onnxruntime", device: "cpu", p50Ms: 0.79, p99Ms: 1.2 },
      runs: 100,
      warmup: 10,
      peers: [
        { name: "opencv-dnn", available: true, version: "4.6.0", measuredRuns: 100, p50Ms: 1.58, p99Ms: 2, ratioToFovea: 2 },
        { name: "pytorch", available: false, reason: "python module torch not importable" },
      ],
    },
  });
}

describe("formatTable", () => {
  it("aligns text left and numbers right under their headers", () => {
    const t = formatTable(
      ["name", "p50"],
      [
        ["a", "1.5"],
        ["long-name", "12.25"],
      ],
    ).split("\n");
    expect(t[0]).toBe("name         p50");
    expect(t[2]).toBe("a            1.5");
    expect(t[3]).toBe("long-name  12.25");
  });
});

describe("formatReport", () => {
  it("shows every run, the inference series, peers with ratios, skips and the warm-up", () => {
    const text = formatReport(sampleReport());
    expect(text).toContain("warm-up 10 frames excluded");
    expect(text).toMatch(/onnxruntime\/cpu\s+640x480\s+paced60\s+200\s+59\.9\s+59\.9/);
    expect(text).toContain("0.300/0.300"); // preprocess p50/p99
    expect(text).toMatch(/opencv-dnn\s+4\.6\.0\s+100\s+1\.580\s+2\.000\s+2\.00x/);
    expect(text).toContain("pytorch");
    expect(text).toContain("onnxruntime/webgpu: no adapter");
  });
});

describe("formatReport with both preprocessing paths", () => {
  it("labels each run with where frames were preprocessed and its threads, and gives GC pauses their own lines", () => {
    const report = sampleReport();
    const base = report.pipelineRuns[0];
    report.pipelineRuns = [
      {
        ...base,
        threads: 1,
        preprocessAsked: "graph",
        preprocess: "graph",
        framePathThreads: 2,
        framePathSpinning: false,
        gc: { count: 3, major: 0, totalMs: 1.2, maxMs: 0.6, per1000Frames: 15 },
      },
      {
        ...base,
        threads: 1,
        preprocessAsked: "js",
        preprocess: "js",
        gc: { count: 9, major: 1, totalMs: 7.5, maxMs: 4.25, per1000Frames: 45 },
      },
      { ...base, threads: 1, preprocessAsked: "graph", preprocess: "js" },
    ];
    const text = formatReport(BenchReportSchema.parse(report));
    expect(text).toMatch(/onnxruntime\/cpu x2 graph\s+640x480\s+paced60\s+200/);
    expect(text).toMatch(/onnxruntime\/cpu x1 js\s+640x480\s+paced60\s+200/);
    expect(text).toMatch(/onnxruntime\/cpu x1 js!\s+640x480/);
    expect(text).toContain("GC pauses over the measured frames");
    expect(text).toMatch(/onnxruntime\/cpu x2 graph\s+640x480\s+paced60\s+3\s+0\s+15\.0\s+1\.200\s+0\.600/);
    expect(text).toMatch(/onnxruntime\/cpu x1 js\s+640x480\s+paced60\s+9\s+1\s+45\.0\s+7\.500\s+4\.250/);
  });
});

describe("renderHtml", () => {
  it("is one self-contained page with a histogram and a timeline per run, text escaped", () => {
    const html = renderHtml(sampleReport());
    expect(html.startsWith("<!doctype html>")).toBe(true);
    expect(html.match(/<svg /g)).toHaveLength(2);
    expect(html).toContain("<polyline");
    expect(html).toContain("Test CPU &lt;x86&gt;");
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    // 200 measured frames, every one drawn as a point of the timeline.
    const points = /points="([^"]*)"/.exec(html)![1].trim().split(" ");
    expect(points).toHaveLength(200);
  });
});
