/**
 * Fault: a stop asked for while a command works (issue 12, defect 5: SIGINT/SIGTERM must stop
 * every command within a second, as they stop `fovea run`). Promise: `fovea synth` stops after the
 * frame it is rendering and exits 0, leaving a dataset that `eval`/`train` refuse as incomplete;
 * `fovea record` stops and exits 0 with a recording that ends cleanly and holds the frames it
 * reports. Before, synth died of the signal (no exit code) and left a folder that looked finished.
 * Real `fovea` processes, a real ffmpeg clip; the time from the signal to the exit is printed,
 * not asserted (the machine's load decides it).
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readDataset } from "../../src/dataset/read-dataset.js";
import { RecordingReader } from "../../src/record/recording-reader.js";
import { TOPIC_IMAGE } from "../../src/record/recording-format.js";
import { makeClip, startCli, until, type CliRun } from "./support/cli.js";

let dir: string;
let clip: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "fovea-faults-stop-"));
  clip = path.join(dir, "match.mp4");
  await makeClip(clip, 60);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Send `signal` and wait for the exit; prints how long the stop took. */
async function stop(run: CliRun, signal: NodeJS.Signals, what: string) {
  const t0 = performance.now();
  run.child.kill(signal);
  const result = await run.exit;
  console.log(`${what}: ${signal} to exit ${(performance.now() - t0).toFixed(0)} ms`);
  return result;
}

async function imageCount(folder: string): Promise<number> {
  return (await readdir(path.join(folder, "images")).catch(() => [])).length;
}

describe("a requested stop", () => {
  it.each(["SIGTERM", "SIGINT"] as const)("stops fovea synth on %s: exit 0, the dataset left incomplete and refused", async (signal) => {
    const out = path.join(dir, `synth-${signal}`);
    const run = startCli(["synth", "--out", out, "--frames", "5000", "--size", "64x48", "--format", "native", "--image-format", "png"]);
    await until(async () => (await imageCount(out)) >= 3, "synth to write frames");
    const { code, signal: killedBy } = await stop(run, signal, "fovea synth");
    expect(killedBy).toBeNull();
    expect(code).toBe(0);
    const [, done] = new RegExp(`stopped by ${signal} after (\\d+) of 5000 frames`).exec(run.stderr()) ?? [];
    expect(Number(done)).toBeGreaterThanOrEqual(3);
    expect(Number(done)).toBeLessThan(5000);
    expect(run.stderr()).toContain(`the dataset in ${out} is incomplete`);
    await expect(readDataset(out, { where: "--data" })).rejects.toThrow(/^--data: incomplete native dataset/);
  });

  it.each(["SIGTERM", "SIGINT"] as const)("stops fovea record on %s: exit 0, a recording that ends cleanly", async (signal) => {
    const out = path.join(dir, `record-${signal}.mcap`);
    // Paced at the clip's 30 fps: it would record for a minute.
    const run = startCli(["record", "--source", `file:${clip}`, "--out", out]);
    await until(() => /"framesWritten":[1-9]/.test(run.stderr()), "the recorder to write frames");
    const { code, signal: killedBy } = await stop(run, signal, "fovea record");
    expect(killedBy).toBeNull();
    expect(code).toBe(0);
    const [, written] = /recorded (\d+) frames to /.exec(run.stdout()) ?? [];
    expect(Number(written)).toBeGreaterThan(0);
    const reader = await RecordingReader.open(out);
    let frames = 0;
    for await (const _ of reader.messages(new Set([TOPIC_IMAGE]))) frames++;
    expect(reader.endsCleanly).toBe(true);
    expect(frames).toBe(Number(written));
  });
});
