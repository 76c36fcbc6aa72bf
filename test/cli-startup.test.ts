/**
 * Start-up cost of the `fovea` command: a run on onnxruntime (the default) must not import
 * @tensorflow/tfjs, which alone takes about a second to load, and a run on a camera or a folder
 * loads only that source (no synthetic renderer, no MCAP reader). Checked on the real command
 * (TypeScript sources through the test loader) by a preload that reports which @tensorflow files
 * the process loaded and by the loader's module log; the tfjs engine run and the mcap source show
 * the probes do see modules when they load.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

const execFileAsync = promisify(execFile);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "..");
const PROBE = path.join(HERE, "support", "report-tensorflow-modules.cjs");

/** Run `fovea ...args` and return how many @tensorflow files it loaded, with its output. */
async function tensorflowModulesLoadedBy(...args: string[]): Promise<{ loaded: number; stderr: string }> {
  const { stderr } = await execFileAsync(
    process.execPath,
    ["--require", PROBE, "--import", path.join(HERE, "record-ts-loader.mjs"), path.join(ROOT, "src/cli/main.ts"), ...args],
    { cwd: ROOT, env: { ...process.env, FOVEA_LOG_LEVEL: "warn" }, timeout: 120_000, maxBuffer: 16 << 20 },
  );
  const m = /FOVEA_TEST_TENSORFLOW_MODULES=(\d+)/.exec(stderr);
  if (!m) throw new Error(`the preload ${PROBE} reported nothing; stderr:\n${stderr}`);
  return { loaded: Number(m[1]), stderr };
}

/**
 * Run `fovea ...args` and return the fovea sources and packages it loaded (URLs, from the test
 * loader's module log). A run that fails (a missing camera: exit 2) still reports what it loaded.
 */
async function modulesLoadedBy(log: string, ...args: string[]): Promise<string[]> {
  await rm(log, { force: true });
  await execFileAsync(
    process.execPath,
    ["--import", path.join(HERE, "record-ts-loader.mjs"), path.join(ROOT, "src/cli/main.ts"), ...args],
    {
      cwd: ROOT,
      env: { ...process.env, FOVEA_LOG_LEVEL: "warn", FOVEA_TEST_MODULE_LOG: log },
      timeout: 120_000,
      maxBuffer: 16 << 20,
    },
  ).catch((err: { code?: unknown; stderr?: string }) => {
    if (err.code !== 2) throw err;
  });
  return (await readFile(log, "utf8")).split("\n").filter(Boolean);
}

const renderer = (url: string) => url.includes("/src/synth/");
const mcap = (url: string) =>
  url.includes("/@mcap/") || url.includes("/src/capture/mcap-source.ts") || url.includes("/src/record/recording-reader.ts");

let dir: string;
let frames: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "fovea-startup-"));
  frames = path.join(dir, "frames");
  await mkdir(frames);
  await execFileAsync("ffmpeg", [
    "-loglevel",
    "error",
    "-f",
    "lavfi",
    "-i",
    "testsrc2=size=160x120:rate=30",
    "-frames:v",
    "2",
    path.join(frames, "%04d.jpg"),
  ]);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("fovea start-up imports", () => {
  test("run on onnxruntime and run --help do not load @tensorflow/tfjs", async () => {
    const run = await tensorflowModulesLoadedBy(
      "run",
      "--engine",
      "onnxruntime",
      "--source",
      `dir:${frames}`,
      "--max-frames",
      "1",
      "--publish",
      `ipc://${dir}/a.sock`,
    );
    expect(run.loaded).toBe(0);
    expect((await tensorflowModulesLoadedBy("run", "--help")).loaded).toBe(0);
  });

  test("fovea --help and train --help do not load it either (the trainer is imported when training starts)", async () => {
    expect((await tensorflowModulesLoadedBy("--help")).loaded).toBe(0);
    expect((await tensorflowModulesLoadedBy("train", "--help")).loaded).toBe(0);
  });

  test("run --engine tfjs loads it (the probe sees tfjs when it is there)", async () => {
    const run = await tensorflowModulesLoadedBy(
      "run",
      "--engine",
      "tfjs",
      "--device",
      "wasm",
      "--source",
      `dir:${frames}`,
      "--max-frames",
      "1",
      "--publish",
      `ipc://${dir}/b.sock`,
    );
    expect(run.loaded).toBeGreaterThan(0);
  });

  test("run on a camera or a folder loads no renderer and no MCAP module; mcap: loads the reader", async () => {
    const log = path.join(dir, "modules.log");
    const camera = await modulesLoadedBy(
      log,
      "run",
      "--source",
      "camera:/dev/video-fovea-none",
      "--max-frames",
      "1",
      "--publish",
      `ipc://${dir}/c.sock`,
    );
    expect(camera.some((url) => url.includes("/src/capture/camera-source.ts"))).toBe(true);
    expect(camera.filter(renderer)).toEqual([]);
    expect(camera.filter(mcap)).toEqual([]);

    const folder = await modulesLoadedBy(log, "run", "--source", `dir:${frames}`, "--max-frames", "1", "--publish", `ipc://${dir}/d.sock`);
    expect(folder.some((url) => url.includes("/src/capture/image-folder-source.ts"))).toBe(true);
    expect(folder.filter(renderer)).toEqual([]);
    expect(folder.filter(mcap)).toEqual([]);

    const recording = await modulesLoadedBy(
      log,
      "run",
      "--source",
      `mcap:${dir}/missing.mcap`,
      "--max-frames",
      "1",
      "--publish",
      `ipc://${dir}/e.sock`,
    );
    expect(recording.some((url) => url.includes("/@mcap/"))).toBe(true);
  });
});
