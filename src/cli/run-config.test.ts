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

  it("uses the default calibration only for the synthetic source", () => {
    expect(calibrationFileFor(parseRunConfig({}), "/cal.json")).toBe("/cal.json");
    expect(calibrationFileFor(parseRunConfig({ source: "dir:x" }), "/cal.json")).toBeUndefined();
    expect(calibrationFileFor(parseRunConfig({ source: "dir:x", calibration: "mine.json" }), "/cal.json")).toBe("mine.json");
  });
});
