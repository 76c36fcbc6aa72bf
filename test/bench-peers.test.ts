/**
 * scripts/peers.py through the bench's runner: the shipped ONNX model in OpenCV DNN and PyTorch
 * with Debian's python3 modules. Where a module is absent (CI installs only ffmpeg) the peer must
 * be reported as skipped with the reason, not fail the run.
 */
import { describe, expect, it } from "vitest";
import path from "node:path";
import { PACKAGE_ROOT } from "../src/core/package-root.js";
import { benchInput } from "../src/bench/inference-bench.js";
import { runPeers } from "../src/bench/run-peers.js";
import type { InferenceRun } from "../src/bench/bench-report.js";

const onnxPath = path.join(PACKAGE_ROOT, "models", "default", "model.onnx");
const reference: InferenceRun = {
  engine: "onnxruntime",
  device: "cpu",
  batch: 1,
  warmupRuns: 5,
  measuredRuns: 20,
  perCall: { count: 20, mean: 1, p50: 1, p90: 1, p99: 1, p999: 1, max: 1 },
  perFrameP50: 1,
  framesPerSecond: 1000,
};

describe("runPeers", () => {
  it("times each peer on the same input and gives its ratio to fovea, or says why it was skipped", async () => {
    const report = await runPeers({ onnxPath, input: benchInput(100 * 100 * 3), runs: 15, warmup: 3, threads: 1, reference });
    expect(report.reference).toEqual({ engine: "onnxruntime", device: "cpu", p50Ms: 1, p99Ms: 1 });
    if (report.skipped) {
      // No usable interpreter at all: the reason names it.
      expect(report.skipped).toMatch(/python|peers\.py/i);
      return;
    }
    expect(report.peers.map((p) => p.name)).toEqual(["opencv-dnn", "pytorch"]);
    for (const p of report.peers) {
      if (p.available) {
        expect(p.measuredRuns).toBeGreaterThan(0);
        expect(p.measuredRuns).toBeLessThanOrEqual(15);
        expect(p.p50Ms).toBeGreaterThan(0);
        expect(p.p99Ms).toBeGreaterThanOrEqual(p.p50Ms!);
        // reference p50 is 1 ms, so the ratio is the peer's p50 in ms.
        expect(p.ratioToFovea).toBeCloseTo(p.p50Ms!, 9);
      } else {
        expect(p.reason).toMatch(/not importable|failed|ONNX ops/);
      }
    }
    if (report.peers.every((p) => p.available)) {
      // Two independent runtimes computing the same network must agree.
      const diffs = (report.agreement as { maxAbsDiff: Record<string, number> }).maxAbsDiff;
      expect(Object.keys(diffs).sort()).toEqual(["boxes", "classes"]);
      for (const d of Object.values(diffs)) expect(d).toBeLessThan(1e-4);
    }
  });

  it("reports a missing model as a skip with peers.py's message", async () => {
    const report = await runPeers({
      onnxPath: "/nonexistent/model.onnx",
      input: benchInput(30000),
      runs: 5,
      warmup: 1,
      threads: 1,
      reference: null,
    });
    expect(report.skipped).toMatch(/--model: no such file '\/nonexistent\/model.onnx'/);
    expect(report.reference).toBeNull();
  });
});
