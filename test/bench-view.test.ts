/**
 * `fovea bench --view`: each pipeline run is repeated with a live view and a viewer subscribed
 * to every channel, and the report says so. A short functional run; it checks that the viewer
 * really received frames, never how fast anything was.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BenchReportSchema } from "../src/bench/bench-report.js";
import { formatReport } from "../src/bench/report-table.js";
import { registerBench } from "../src/cli/bench.js";

const run = promisify(execFile);
let dir: string;
let clip: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "fovea-bench-view-"));
  clip = path.join(dir, "clip.avi");
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

describe("fovea bench --view", () => {
  it("runs each pacing mode without and then with a connected viewer", async () => {
    const json = path.join(dir, "bench.json");
    const program = new Command("fovea").exitOverride();
    registerBench(program);
    await program.parseAsync(
      [
        "bench",
        "--source",
        `file:${clip}`,
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
        "--view",
        // One preprocessing path: the viewer pairing is what this test is about.
        "--preprocess",
        "graph",
        "--json",
        json,
      ],
      { from: "user" },
    );
    const report = BenchReportSchema.parse(JSON.parse(await readFile(json, "utf8")));
    expect(report.settings.view).toBe(true);
    expect(report.pipelineRuns.map((r) => [r.mode, r.viewer === null])).toEqual([
      ["paced60", true],
      ["paced60", false],
    ]);
    const watched = report.pipelineRuns[1].viewer!;
    expect(watched.fps).toBe(10);
    expect(watched.framesSent).toBeGreaterThan(0);
    expect(watched.imagesReceived).toBeGreaterThan(0);
    expect(watched.imagesReceived).toBeLessThanOrEqual(watched.framesSent);
    expect(formatReport(report)).toMatch(/paced60\+viewer/);
  }, 120_000);
});
