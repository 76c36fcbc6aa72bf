import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { FoveaInputError } from "../core/errors.js";
import { calibrationFileFor, DEFAULT_ENDPOINT, parseRunConfig } from "./run-config.js";

function inputError(fn: () => unknown): FoveaInputError {
  try {
    fn();
  } catch (err) {
    if (err instanceof FoveaInputError) return err;
    throw err;
  }
  throw new Error("expected a FoveaInputError");
}

describe("parseRunConfig", () => {
  it("fills the defaults of the quick start", () => {
    const c = parseRunConfig({});
    expect(c).toMatchObject({
      source: "synthetic",
      engine: "auto",
      device: "auto",
      publish: DEFAULT_ENDPOINT,
      unpaced: false,
      force: false,
    });
    expect(c.model).toMatch(/models[/\\]default$/);
    expect(c.maxFrames).toBeUndefined();
  });

  it("converts numeric flags and keeps given values", () => {
    const c = parseRunConfig({ source: "dir:/tmp/x", maxFrames: "200", threads: "2", publish: "tcp://0.0.0.0:5600", unpaced: true });
    expect(c).toMatchObject({ source: "dir:/tmp/x", maxFrames: 200, threads: 2, publish: "tcp://0.0.0.0:5600", unpaced: true });
  });

  it.each([
    [{ maxFrames: "ten" }, "--max-frames", /positive integer.*"ten"/],
    [{ maxFrames: "1.5" }, "--max-frames", /positive integer/],
    [{ maxFrames: "0" }, "--max-frames", /positive integer/],
    [{ source: "video.mp4" }, "--source", /video\.mp4.*file:PATH/],
    [{ fps: "fast" }, "--fps", /positive number/],
    [{ pixelFormat: "rgb" }, "--pixel-format", /mjpeg or yuyv422/],
    [{ engine: "torch" }, "--engine", /onnxruntime.*"torch"/],
    [{ device: "tpu" }, "--device", /webgpu.*"tpu"/],
    [{ publish: "localhost:5555" }, "--publish", /ZeroMQ endpoint.*"localhost:5555"/],
    [{ record: "out.bag" }, "--record", /\.mcap/],
    [{ stallTimeout: "soon" }, "--stall-timeout", /^expected a positive number of milliseconds, got "soon"$/],
    [{ stallTimeout: "0" }, "--stall-timeout", /^expected a positive number of milliseconds, got "0"$/],
    [{ stallTimeout: "-500" }, "--stall-timeout", /^expected a positive number of milliseconds/],
    [{ stallTimeout: "Infinity" }, "--stall-timeout", /^expected a positive number of milliseconds/],
    [{ stallTimeout: "" }, "--stall-timeout", /^expected a positive number of milliseconds/],
    [{ stallTimeout: "100" }, "--stall-timeout", /^expected at least 250 milliseconds .*, got "100"$/],
  ])("names the flag for %j", (flags, where, problem) => {
    const err = inputError(() => parseRunConfig(flags));
    expect(err.where).toBe(where);
    expect(err.problem).toMatch(problem);
    expect(err.exitCode).toBe(2);
  });

  it("reads a config file under the flags and names the file and field on errors", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "fovea-run-config-"));
    const good = path.join(dir, "run.json");
    writeFileSync(good, JSON.stringify({ source: "file:match.mp4", maxFrames: 50, unpaced: true }));
    expect(parseRunConfig({ maxFrames: "7" }, { configFile: good })).toMatchObject({
      source: "file:match.mp4",
      maxFrames: 7,
      unpaced: true,
    });

    const bad = path.join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ maxFrames: -3 }));
    const e1 = inputError(() => parseRunConfig({}, { configFile: bad }));
    expect(e1.where).toBe(`${bad}: maxFrames`);
    expect(e1.problem).toMatch(/positive integer, got -3/);

    const unknown = path.join(dir, "unknown.json");
    writeFileSync(unknown, JSON.stringify({ frameRate: 30 }));
    expect(inputError(() => parseRunConfig({}, { configFile: unknown })).message).toMatch(/unknown\.json.*frameRate/);

    const notJson = path.join(dir, "broken.json");
    writeFileSync(notJson, "{ source: ");
    expect(inputError(() => parseRunConfig({}, { configFile: notJson })).where).toBe(notJson);
    expect(inputError(() => parseRunConfig({}, { configFile: path.join(dir, "missing.json") })).problem).toMatch(/cannot read/);
  });

  it("takes --stall-timeout in milliseconds from the flag or the file's stallTimeout, with any source", () => {
    expect(parseRunConfig({}).stallTimeout).toBeUndefined();
    expect(parseRunConfig({ source: "camera:/dev/video0", stallTimeout: "1500" }).stallTimeout).toBe(1500);
    expect(parseRunConfig({ source: "file:match.mp4", stallTimeout: " 250.5 " }).stallTimeout).toBe(250.5);
    // Sources without a stall watchdog ignore it, as they ignore --pixel-format: one config file
    // serves the robot's camera and the replays of its recordings.
    for (const source of ["dir:frames", "mcap:match.mcap", "synthetic", "webcam"]) {
      expect(parseRunConfig({ source, stallTimeout: "5000" }).stallTimeout).toBe(5000);
    }

    const dir = mkdtempSync(path.join(tmpdir(), "fovea-run-config-"));
    const file = path.join(dir, "robot.json");
    writeFileSync(file, JSON.stringify({ source: "camera:/dev/video0", stallTimeout: 2000 }));
    expect(parseRunConfig({}, { configFile: file }).stallTimeout).toBe(2000);
    expect(parseRunConfig({ stallTimeout: "3000" }, { configFile: file }).stallTimeout).toBe(3000);
    const bad = path.join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ stallTimeout: "2s" }));
    const err = inputError(() => parseRunConfig({}, { configFile: bad }));
    expect(err.where).toBe(`${bad}: stallTimeout`);
    expect(err.problem).toBe('expected a positive number of milliseconds, got "2s"');
  });

  it("uses the default calibration only for the synthetic source", () => {
    expect(calibrationFileFor(parseRunConfig({}), "/cal.json")).toBe("/cal.json");
    expect(calibrationFileFor(parseRunConfig({ source: "dir:x" }), "/cal.json")).toBeUndefined();
    expect(calibrationFileFor(parseRunConfig({ source: "dir:x", calibration: "mine.json" }), "/cal.json")).toBe("mine.json");
  });
});
