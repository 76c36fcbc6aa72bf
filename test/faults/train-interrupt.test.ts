/**
 * Fault: `fovea train` stopped by a signal (issue 12, defect 6: train ignored SIGTERM and kept
 * nothing when it arrived in epoch 1; item 5: a stop within a second whatever the load). After a
 * signal it used to validate, score AP, export, score the test split and export again: many
 * seconds on a real data set. Promise: SIGTERM finishes the current step and abandons a validation
 * or test pass under way, then writes `<out>/checkpoint` (weights and position) and the report
 * (stoppedBy "signal", no test score) and exits 0; a model exported at an improving epoch stays as
 * exported, and before one the report and stderr say none was; `--resume` continues from the
 * checkpoint to the end of the schedule (the checkpoint then goes away).
 * Real `fovea train` processes (and the trainer in-process, where the stop must land inside a
 * pass) on a tiny real `fovea synth` set (64x48 frames, a 32x24 heatmap network, one in-process
 * worker), so each step takes milliseconds; the time from the signal to the exit is printed, not
 * asserted.
 */
import { mkdtemp, readFile, rename, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { train, TrainingStopped } from "../../src/train/trainer.js";
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

interface Report {
  stoppedBy: string;
  exported: boolean;
  bestEpoch: number;
  test: { loss: number } | null;
  checkpoint: string | null;
  framesSeen: number;
  epochs: Array<{ epoch: number }>;
}

const readJson = async <T>(...parts: string[]): Promise<T> => JSON.parse(await readFile(path.join(...parts), "utf8")) as T;

/** SIGTERM to `run`; resolves with its exit once gone, after printing the time from the signal to the exit. */
async function stop(run: ReturnType<typeof startCli>, when: string) {
  const t0 = performance.now();
  run.child.kill("SIGTERM");
  const exit = await run.exit;
  console.log(`fovea train: SIGTERM ${when} to exit ${(performance.now() - t0).toFixed(0)} ms`);
  return exit;
}

/** The 44 training frames in steps of 2 images. */
const STEPS = 22;

/** A logger for the in-process trainer that calls `on` with each info message (the trainer's progress points). */
function listen(on: (msg: string, fields: Record<string, unknown>) => void) {
  const ignore = () => {};
  return {
    info: (fields: Record<string, unknown>, msg?: string) => on(msg ?? "", fields),
    warn: ignore,
    error: ignore,
    debug: ignore,
  } as never;
}

/** The same tiny run as `tiny()`, through the trainer in this process. */
const tinyOptions = (out: string, epochs: number) => ({
  data: [data],
  out,
  epochs,
  batch: 2,
  backend: "wasm" as const,
  workers: 1,
  progress: false,
  checkpointEvery: 2,
  valFraction: 0.13,
  testFraction: 0.13,
  networkOverrides: { input: { width: 32, height: 24, channels: 3 as const, name: "input" } },
});

describe("fovea train stopped by SIGTERM", () => {
  it("keeps a checkpoint from its first epoch, exits 0, and --resume finishes the run", async () => {
    const out = path.join(dir, "model");
    // Far more epochs than it gets to: the run is stopped long before.
    const run = startCli(tiny(out, 200));
    await until(() => /"framesSeen":2,.*"msg":"probe"/.test(run.stderr()), "the first training step", 120_000);
    const { code, signal } = await stop(run, "in epoch 1");
    expect(signal).toBeNull();
    expect(code).toBe(0);
    expect(run.stdout()).toMatch(/stopped by signal/);

    const state = await readJson<ResumeState>(out, "checkpoint", "resume.json");
    // Stopped in epoch 1, some steps after the first (the signal takes a moment to arrive).
    expect(state.epoch).toBe(1);
    expect(state.step).toBeGreaterThanOrEqual(1);
    expect(state.step).toBeLessThan(STEPS);
    expect(state.framesSeen).toBe(state.step * 2);
    await stat(path.join(out, "checkpoint", "tfjs", "model.json"));
    await stat(path.join(out, "checkpoint", "fovea.json"));

    // The report says what the stop kept: no epoch validated, no model, no test score, the checkpoint.
    const stopped = await readJson<Report>(out, "training-report.json");
    expect(stopped).toMatchObject({ stoppedBy: "signal", exported: false, bestEpoch: 0, test: null, epochs: [] });
    expect(stopped.checkpoint).toBe(path.resolve(out, "checkpoint"));
    expect(stopped.framesSeen).toBe(state.framesSeen);
    expect(run.stderr()).toMatch(/stopped by SIGTERM after \d+ training images; checkpoint kept: .*checkpoint/);
    expect(run.stderr()).toMatch(/no model exported yet .*: resume from the checkpoint/);
    await expect(stat(path.join(out, "fovea.json"))).rejects.toThrow(/ENOENT/);
    await expect(stat(path.join(out, "model.onnx"))).rejects.toThrow(/ENOENT/);

    // The resumed run finishes epoch 1 from the step it stopped before, then runs epoch 2.
    const resumed = await runCli([...tiny(out, 2), "--resume"]);
    expect(resumed.stderr).toMatch(new RegExp(`"epoch":1,"step":${state.step},.*"msg":"resuming"`));
    expect(resumed.stdout).toMatch(/stopped by epochs/);
    expect(resumed.code).toBe(0);
    const report = await readJson<Report>(out, "training-report.json");
    expect(report.epochs.map((e) => e.epoch)).toEqual([1, 2]);
    expect(report).toMatchObject({ stoppedBy: "epochs", exported: true, checkpoint: null });
    expect(report.test).not.toBeNull();
    await expect(stat(path.join(out, "checkpoint"))).rejects.toThrow(/ENOENT/);
  });

  it("after an exported epoch leaves that model as exported, without a test pass", async () => {
    const out = path.join(dir, "model-exported");
    const run = startCli(tiny(out, 200));
    await until(() => /"msg":"checkpoint exported"/.test(run.stderr()), "the first exported epoch", 120_000);
    const { code, signal } = await stop(run, "after an exported epoch");
    expect(signal).toBeNull();
    expect(code).toBe(0);

    const report = await readJson<Report>(out, "training-report.json");
    expect(report).toMatchObject({ stoppedBy: "signal", exported: true, test: null });
    expect(report.bestEpoch).toBeGreaterThanOrEqual(1);
    // The model directory is the export of the best epoch: the final export (which adds the test
    // score and how the run stopped) did not run.
    const meta = await readJson<{ training: { bestEpoch: number; test?: unknown; stoppedBy?: string } }>(out, "fovea.json");
    expect(meta.training.bestEpoch).toBe(report.bestEpoch);
    expect(meta.training.test).toBeUndefined();
    expect(meta.training.stoppedBy).toBeUndefined();
    await stat(path.join(out, "model.onnx"));
    expect(run.stderr()).not.toMatch(/"msg":"scoring the test split"/);
    expect(run.stderr()).toMatch(
      new RegExp(`the model in .* is the best so far, as exported after epoch ${report.bestEpoch} \\(no test score\\)`),
    );
    await stat(path.join(out, "checkpoint", "resume.json"));
  });
});

describe("fovea train stopped inside a validation or test pass", () => {
  // Such a pass is where a signal waited longest (a whole validation split, then the test split).
  // A signal cannot be timed to land inside one in a child process, so the trainer in this process
  // is stopped from its own progress messages, as the CLI's signal handler stops it.
  it("abandons the epoch's validation, keeps all its steps, and --resume validates it", async () => {
    const out = path.join(dir, "in-validation");
    const abort = new AbortController();
    const stopped = await train({
      ...tinyOptions(out, 2),
      signal: abort.signal,
      log: listen((msg) => msg === "validating" && abort.abort("SIGTERM")),
    });
    expect(stopped).toMatchObject({ stoppedBy: "signal", exported: false, test: null, epochs: [], framesSeen: STEPS * 2 });
    const state = await readJson<ResumeState>(out, "checkpoint", "resume.json");
    expect(state).toMatchObject({ epoch: 1, step: STEPS, framesSeen: STEPS * 2 });
    // As a second signal can leave it, killing the process between the removal of the previous
    // checkpoint and the rename of the new one into place: --resume takes the complete new one.
    await rename(path.join(out, "checkpoint"), path.join(out, "checkpoint.tmp"));

    const messages: string[] = [];
    const resumed = await train({ ...tinyOptions(out, 2), resume: true, log: listen((msg) => messages.push(msg)) });
    expect(resumed.stoppedBy).toBe("epochs");
    expect(resumed.epochs.map((e) => e.epoch)).toEqual([1, 2]);
    // Epoch 1 was validated without training it again: the run saw each epoch's images once.
    expect(resumed.framesSeen).toBe(2 * STEPS * 2);
    expect(messages.slice(messages.indexOf("resuming"), messages.indexOf("epoch") + 1)).not.toContain("probe");
    await expect(stat(path.join(out, "checkpoint"))).rejects.toThrow(/ENOENT/);
    await expect(stat(path.join(out, "checkpoint.tmp"))).rejects.toThrow(/ENOENT/);
  });

  it("abandons the test pass of a finished schedule: the model stays as exported, --resume scores it", async () => {
    const out = path.join(dir, "in-test");
    const abort = new AbortController();
    const stopped = await train({
      ...tinyOptions(out, 1),
      signal: abort.signal,
      log: listen((msg) => msg === "scoring the test split" && abort.abort("SIGTERM")),
    });
    expect(stopped).toMatchObject({ stoppedBy: "signal", exported: true, bestEpoch: 1, test: null });
    expect(stopped.checkpoint).toBe(path.resolve(out, "checkpoint"));
    expect((await readJson<ResumeState>(out, "checkpoint", "resume.json")).epoch).toBe(2);
    expect((await readJson<{ training: { test?: unknown } }>(out, "fovea.json")).training.test).toBeUndefined();

    const resumed = await train({ ...tinyOptions(out, 1), resume: true });
    expect(resumed).toMatchObject({ stoppedBy: "epochs", bestEpoch: 1, checkpoint: null });
    expect(resumed.test).not.toBeNull();
    expect((await readJson<{ training: { test?: unknown } }>(out, "fovea.json")).training.test).toEqual(resumed.test);
    await expect(stat(path.join(out, "checkpoint"))).rejects.toThrow(/ENOENT/);
  });
});

describe("fovea train stopped before its first step", () => {
  // Reading and decoding a large data set takes minutes; a stop then must not wait for the end of
  // it, nor end as a failure. A signal cannot be timed to land there in a child process, so the
  // trainer itself is given a stop that was asked for before it began.
  it("ends as a requested stop (TrainingStopped) and writes nothing", async () => {
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
