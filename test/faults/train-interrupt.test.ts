/**
 * Fault: `fovea train` stopped in its first epoch (issue 12, defect 6: train ignored SIGTERM and
 * kept nothing when it arrived in epoch 1). Promise: SIGTERM stops at the next step with exit 0,
 * `<out>/checkpoint` holds the weights and the position in the run, and `--resume` continues
 * from there to the end of the schedule (the checkpoint then goes away).
 * A real `fovea train` process on a tiny real `fovea synth` set (64x48 frames, a 32x24 heatmap
 * network, one in-process worker), so each step takes milliseconds; the time from the signal to
 * the exit is printed, not asserted.
 */
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, startCli, until } from "./support/cli.js";

let dir: string;
let data: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "fovea-faults-train-"));
  data = path.join(dir, "data");
  const synth = await runCli(["synth", "--out", data, "--frames", "60", "--size", "64x48", "--image-format", "png", "--seed", "3"]);
  expect(synth.code).toBe(0);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Tiny training: 44 training frames in steps of 2 images (22 an epoch), a checkpoint after every step. */
const tiny = (out: string, epochs: number) => [
  "train",
  "--data",
  data,
  "--out",
  out,
  "--epochs",
  String(epochs),
  "--input",
  "32x24",
  "--batch",
  "2",
  "--workers",
  "1",
  "--backend",
  "wasm",
  "--no-progress",
  "--checkpoint-every",
  "2",
  "--val-fraction",
  "0.13",
  "--test-fraction",
  "0.13",
];

interface ResumeState {
  epoch: number;
  step: number;
  framesSeen: number;
}

describe("fovea train stopped by SIGTERM", () => {
  it("keeps a checkpoint from its first epoch, exits 0, and --resume finishes the run", async () => {
    const out = path.join(dir, "model");
    // Far more epochs than it gets to: the run is stopped long before.
    const run = startCli(tiny(out, 200));
    await until(() => /"framesSeen":2,.*"msg":"probe"/.test(run.stderr()), "the first training step", 120_000);
    const t0 = performance.now();
    run.child.kill("SIGTERM");
    const { code, signal } = await run.exit;
    console.log(`fovea train: SIGTERM to exit ${(performance.now() - t0).toFixed(0)} ms`);
    expect(signal).toBeNull();
    expect(code).toBe(0);
    expect(run.stdout()).toMatch(/stopped by signal/);

    const state = JSON.parse(await readFile(path.join(out, "checkpoint", "resume.json"), "utf8")) as ResumeState;
    // Stopped in epoch 1, some steps after the first (the signal takes a moment to arrive).
    expect(state.epoch).toBe(1);
    expect(state.step).toBeGreaterThanOrEqual(1);
    expect(state.framesSeen).toBe(state.step * 2);
    await stat(path.join(out, "checkpoint", "tfjs", "model.json"));
    await stat(path.join(out, "checkpoint", "fovea.json"));

    // The resumed run finishes epoch 1 from the step it stopped before, then runs epoch 2.
    const resumed = await runCli([...tiny(out, 2), "--resume"]);
    expect(resumed.stderr).toMatch(new RegExp(`"epoch":1,"step":${state.step},.*"msg":"resuming"`));
    expect(resumed.stdout).toMatch(/stopped by epochs/);
    expect(resumed.code).toBe(0);
    const report = JSON.parse(await readFile(path.join(out, "training-report.json"), "utf8")) as { epochs: Array<{ epoch: number }> };
    expect(report.epochs.map((e) => e.epoch)).toEqual([1, 2]);
    await expect(stat(path.join(out, "checkpoint"))).rejects.toThrow(/ENOENT/);
  });
});

describe("fovea train stopped before its first step", () => {
  // Reading and decoding a large data set takes minutes; a stop then must not wait for the end of
  // it, nor end as a failure. A signal cannot be timed to land there in a child process, so the
  // trainer itself is given a stop that was asked for before it began.
  it("ends as a requested stop (TrainingStopped) and writes nothing", async () => {
    const { train, TrainingStopped } = await import("../../src/train/trainer.js");
    const out = path.join(dir, "never");
    const stopped = train({
      data: [data],
      out,
      epochs: 1,
      backend: "wasm",
      workers: 1,
      progress: false,
      networkOverrides: { input: { width: 32, height: 24, channels: 3, name: "input" } },
      signal: AbortSignal.abort("SIGTERM"),
    });
    await expect(stopped).rejects.toThrow(TrainingStopped);
    await expect(stopped).rejects.toThrow(
      /^stopped while loading TensorFlow\.js, before the first training step: nothing trained, nothing written$/,
    );
    await expect(stat(out)).rejects.toThrow(/ENOENT/);
  });
});
