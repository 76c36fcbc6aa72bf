/**
 * Fault: a crowd of idle clients (issue 12, defect 4: 500 subscribers from one local client
 * pushed p50 from 4.6 to 19.5 ms, and nothing measured what idle subscribers cost). Promise:
 * `fovea bench --idle-subscribers N` repeats each pipeline run with N real ZeroMQ subscribers
 * connected to the publisher (subscribed to everything, never reading) and reports that row
 * beside the one without, its counters as complete as the other's. A small N and few frames:
 * what the rows say about latency is for a person to read, never asserted here.
 * A real `fovea bench` process over a real ffmpeg clip, real ZeroMQ sockets.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BenchReportSchema } from "../../src/bench/bench-report.js";
import { makeClip, runCli } from "./support/cli.js";

let dir: string;
let clip: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "fovea-faults-idle-"));
  clip = path.join(dir, "clip.mp4");
  await makeClip(clip, 3);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("fovea bench --idle-subscribers", () => {
  it("reports a run with N idle subscribers connected beside the run without", async () => {
    const json = path.join(dir, "bench.json");
    const { code, stdout, stderr } = await runCli([
      "bench",
      "--source",
      `file:${clip}`,
      "--frames",
      "40",
      "--warmup",
      "10",
      "--sizes",
      "320x240",
      "--modes",
      "paced30",
      "--batches",
      "",
      "--preprocess",
      "graph",
      "--idle-subscribers",
      "20",
      "--json",
      json,
    ]);
    expect(stderr).not.toMatch(/failed/);
    expect(code).toBe(0);
    const report = BenchReportSchema.parse(JSON.parse(await readFile(json, "utf8")));
    expect(report.settings.idleSubscribers).toBe(20);
    expect(report.pipelineRuns.map((r) => r.idleSubscribers ?? null)).toEqual([null, { count: 20, connected: 20 }]);
    for (const run of report.pipelineRuns) {
      expect(run.measuredFrames).toBe(40);
      expect(run.endReason).toBe("max-frames");
      const c = run.counters!;
      expect(c.framesProcessed).toBe(50);
      // Every frame the source delivered was processed, dropped or failed (one may be in flight at the stop).
      expect(c.framesIn - (c.framesProcessed + c.framesDropped + c.framesFailed)).toBeGreaterThanOrEqual(0);
      expect(c.framesIn - (c.framesProcessed + c.framesDropped + c.framesFailed)).toBeLessThanOrEqual(1);
      expect(run.stages.total.p50).toBeGreaterThan(0);
    }
    expect(stdout).toMatch(/paced30\+20 idle/);
    expect(stdout).toMatch(/\+N idle: the run repeated with N ZeroMQ subscribers/);
  });

  it("refuses a count beyond its bound with exit 2 naming the flag", async () => {
    const { code, stderr } = await runCli(["bench", "--idle-subscribers", "100000", "--frames", "1"]);
    expect(stderr).toMatch(/^fovea: --idle-subscribers: expected 1\.\.2000, got '100000'$/m);
    expect(code).toBe(2);
  });
});
