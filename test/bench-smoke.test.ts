/**
 * A short run of the real `fovea bench` command: real ffmpeg decoding a real video file, the real
 * Pipeline, onnxruntime on the shipped model, a real ZeroMQ PUB socket. It checks that the report
 * is written with every figure present — never how fast anything was.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BenchReportSchema, type BenchReport } from "../src/bench/bench-report.js";
import { STAGES } from "../src/bench/stage-histograms.js";
import { registerBench } from "../src/cli/bench.js";

const run = promisify(execFile);
let dir: string;
let clip: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "fovea-bench-smoke-"));
  clip = path.join(dir, "clip.avi");
  // 3 s at 60 fps; the bench loops it for as many frames as it needs.
  await run("ffmpeg", [
    "-hide_banner",
    "-loglevel",
    "error",
    "-f",
    "lavfi",
    "-i",
    "testsrc2=size=320x240:rate=60",
    "-t",
    "3",
    "-c:v",
    "mjpeg",
    "-q:v",
    "5",
    clip,
  ]);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fovea(...args: string[]): Promise<void> {
  const program = new Command("fovea").exitOverride();
  registerBench(program);
  await program.parseAsync(["bench", ...args], { from: "user" });
}

describe("fovea bench (smoke)", () => {
  it("writes a JSON report with per-stage percentiles and an HTML page with plots", async () => {
    const json = path.join(dir, "out", "bench.json");
    const html = path.join(dir, "out", "bench.html");
    await fovea(
      "--source",
      `file:${clip}`,
      "--frames",
      "150",
      "--warmup",
      "20",
      "--sizes",
      "320x240",
      "--modes",
      "paced60,unpaced",
      "--batches",
      "1,4",
      "--inference-runs",
      "40",
      "--json",
      json,
      "--html",
      html,
    );
    const report: BenchReport = BenchReportSchema.parse(JSON.parse(await readFile(json, "utf8")));
    expect(report.settings).toMatchObject({
      frames: 150,
      warmup: 20,
      sizes: ["320x240"],
      modes: ["paced60", "unpaced"],
      batches: [1, 4],
      preprocess: ["graph", "js"],
    });
    expect(report.machine.cores).toBeGreaterThan(0);
    // Each mode with the frame path asked for, then the JS path, side by side.
    expect(report.pipelineRuns.map((r) => [r.mode, r.preprocessAsked])).toEqual([
      ["paced60", "graph"],
      ["paced60", "js"],
      ["unpaced", "graph"],
      ["unpaced", "js"],
    ]);
    for (const r of report.pipelineRuns) {
      expect(r).toMatchObject({ engine: "onnxruntime", device: "cpu", width: 320, height: 240, warmupFrames: 20, measuredFrames: 150 });
      // The JS path runs as before: a core left to preprocessing. The frame path (where the model
      // has one for 320x240 frames) preprocesses inside its session, on all cores.
      expect(r.threads).toBe(Math.max(1, os.availableParallelism() - 1));
      if (r.preprocessAsked === "js") expect(r.preprocess).toBe("js");
      if (r.preprocess === "graph") expect(r.framePathThreads).toBe(os.availableParallelism());
      expect(r.gc).toBeDefined();
      expect(r.gc!.count).toBeGreaterThanOrEqual(r.gc!.major);
      expect(r.gc!.maxMs).toBeLessThanOrEqual(r.gc!.totalMs);
      for (const stage of STAGES) {
        if (stage === "capture" && r.mode === "unpaced") continue; // pulled on demand: may round to 0 us
        if (stage === "preprocess" && r.preprocess === "graph") {
          expect(r.stages.preprocess.max).toBe(0); // inside the inference stage
          continue;
        }
        expect(r.stages[stage].count, stage).toBe(150);
        expect(r.stages[stage].p50, stage).toBeGreaterThan(0);
        expect(r.stages[stage].p99, stage).toBeGreaterThanOrEqual(r.stages[stage].p50);
        expect(r.stages[stage].max, stage).toBeGreaterThanOrEqual(r.stages[stage].p999);
      }
      // End to end covers the stages after capture.
      expect(r.stages.total.max).toBeGreaterThanOrEqual(r.stages.inference.p50);
      expect(r.sustainedFps).toBeGreaterThan(0);
      expect(r.sourceDeliveredFps).toBeGreaterThanOrEqual(r.sustainedFps * 0.999);
      expect(r.endReason).toBe("max-frames");
      expect(r.resources.peakRssMiB).toBeGreaterThan(0);
      expect(r.totalSeriesMs).toHaveLength(150);
    }
    for (const r of report.pipelineRuns.slice(2)) expect(r.droppedFrames).toBe(0); // unpaced pulls: nothing can be overwritten
    expect(report.inference.map((i) => i.batch)).toEqual([1, 4]);
    for (const i of report.inference) {
      expect(i.measuredRuns).toBe(40);
      expect(i.threads).toBe(os.availableParallelism());
      expect(i.perCall.p50).toBeGreaterThan(0);
    }
    expect(report.peers).toBeNull();
    const page = await readFile(html, "utf8");
    expect(page.match(/<svg /g)).toHaveLength(2 * report.pipelineRuns.length);
  });

  it("runs a camera-shaped ffmpeg pipe (lavfi:testsrc2, read on a worker thread) at 60 fps, timing each frame from its arrival", async () => {
    const json = path.join(dir, "lavfi.json");
    await fovea(
      "--source",
      "lavfi:testsrc2",
      "--frames",
      "60",
      "--warmup",
      "10",
      "--sizes",
      "320x240",
      "--modes",
      "paced60",
      "--batches",
      "",
      "--preprocess",
      "graph",
      "--json",
      json,
    );
    const report = BenchReportSchema.parse(JSON.parse(await readFile(json, "utf8")));
    expect(report.pipelineRuns).toHaveLength(1);
    const r = report.pipelineRuns[0];
    expect(r).toMatchObject({ source: "lavfi:testsrc2", sourceFps: 60, measuredFrames: 60, endReason: "max-frames" });
    // Capture: from the frame's last byte arriving on the worker until the loop took it.
    expect(r.stages.capture.p50).toBeGreaterThan(0);
    expect(r.stages.total.p50).toBeGreaterThan(r.stages.inference.p50);
    expect(r.counters!.framesIn).toBeGreaterThanOrEqual(r.counters!.framesProcessed + r.counters!.framesDropped);
  });

  it("with --peers measures the onnxruntime/cpu reference itself when no batch was asked for", async () => {
    const json = path.join(dir, "peers.json");
    await fovea(
      "--source",
      `file:${clip}`,
      "--frames",
      "30",
      "--warmup",
      "5",
      "--sizes",
      "320x240",
      "--modes",
      "unpaced",
      "--batches",
      "",
      "--inference-runs",
      "10",
      "--max-seconds",
      "5",
      "--threads",
      "1",
      "--peers",
      "--json",
      json,
    );
    const report = BenchReportSchema.parse(JSON.parse(await readFile(json, "utf8")));
    expect(report.settings.batches).toEqual([]);
    expect(report.inference).toHaveLength(1);
    expect(report.inference[0]).toMatchObject({ engine: "onnxruntime", device: "cpu", batch: 1, measuredRuns: 10 });
    expect(report.peers).not.toBeNull();
    expect(report.peers!.reference).toMatchObject({ engine: "onnxruntime", device: "cpu", p50Ms: report.inference[0].perCall.p50 });
    // Each peer ran (with a ratio) or says why not; the whole peer step may be skipped with a reason.
    for (const p of report.peers!.peers) expect(p.available ? p.ratioToFovea! > 0 : p.reason!.length > 0).toBe(true);
    if (report.peers!.peers.length === 0) expect(report.peers!.skipped).toBeTruthy();
  });

  it("with --baseline measures another model's inference alone call by call beside the model's, with the ratio", async () => {
    const { initTfjs } = await import("../src/engine/tfjs-backend.js");
    const { buildModel, presetMetadata } = await import("../src/train/network.js");
    const { exportModelDir } = await import("../src/train/export-model.js");
    await initTfjs("wasm");
    const baseline = path.join(dir, "baseline-cells");
    const meta = presetMetadata("cells", { id: "baseline-cells" });
    await exportModelDir(buildModel(meta, { seed: 1 }), meta, baseline);
    const json = path.join(dir, "baseline.json");
    await fovea(
      "--source",
      `file:${clip}`,
      "--frames",
      "20",
      "--warmup",
      "5",
      "--sizes",
      "320x240",
      "--modes",
      "unpaced",
      "--preprocess",
      "js",
      "--batches",
      "1,2",
      "--inference-runs",
      "15",
      "--threads",
      "1",
      "--baseline",
      baseline,
      "--json",
      json,
    );
    const report = BenchReportSchema.parse(JSON.parse(await readFile(json, "utf8")));
    expect(report.inference.map((i) => [i.batch, i.model ?? report.model.id])).toEqual([
      [1, report.model.id],
      [1, "baseline-cells"],
      [2, report.model.id],
      [2, "baseline-cells"],
    ]);
    for (const [mine, theirs] of [report.inference.slice(0, 2), report.inference.slice(2)]) {
      expect(mine.p50VsBaseline).toBeCloseTo(mine.perCall.p50 / theirs.perCall.p50, 9);
      expect(theirs.measuredRuns).toBe(15);
    }
    // The pipeline ran for the model only.
    expect(report.pipelineRuns).toHaveLength(1);
    await expect(fovea("--baseline", path.join(dir, "nowhere"))).rejects.toThrow(/--baseline: .*nowhere: model directory not found/);
  });

  it("skips an engine/device that does not load, with the reason, and fails when none is left", async () => {
    // No GPU adapter on these machines: webgpu cannot load (a GPU machine would run it instead).
    const attempt = fovea(
      "--source",
      `file:${clip}`,
      "--engine",
      "onnxruntime",
      "--device",
      "webgpu",
      "--frames",
      "20",
      "--warmup",
      "0",
      "--modes",
      "unpaced",
      "--batches",
      "1",
    );
    await attempt.then(
      () => expect.fail("webgpu loaded here; this test expects a GPU-less machine"),
      (err: Error) => expect(err.message).toMatch(/no engine could be benchmarked: onnxruntime\/webgpu: \S/),
    );
  });

  it("rejects a bad flag naming it, before running anything", async () => {
    await expect(fovea("--sizes", "640by480")).rejects.toThrow(/--sizes: expected WIDTHxHEIGHT/);
    await expect(fovea("--modes", "paced25")).rejects.toThrow(/--modes: .*paced30/);
    await expect(fovea("--frames", "0")).rejects.toThrow(/--frames: expected an integer >= 1/);
    await expect(fovea("--all", "--device", "cpu")).rejects.toThrow(/--device/);
    await expect(fovea("--engine", "tfjs", "--device", "cuda")).rejects.toThrow(/--device: engine tfjs supports/);
  });
});
