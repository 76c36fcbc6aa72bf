/**
 * `fovea run` end to end: the built CLI as a child process over recorded footage (an ffmpeg lavfi
 * clip, a folder of images), a real ZeroMQ subscriber decoding real protobuf messages, real exit
 * codes and signals.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../src/core/package-root.js";
import { decodeDetectionFrame, type DetectionFrameMessage, type StatusMessage } from "../src/publish/codec.js";
import { subscribeVision, type VisionSubscription } from "../src/publish/subscriber.js";
import { RecordingReader } from "../src/record/recording-reader.js";
import { TOPIC_DETECTIONS as RECORDED_DETECTIONS, TOPIC_IMAGE as RECORDED_IMAGE } from "../src/record/recording-format.js";
import { freePort } from "./support.js";

const execFileAsync = promisify(execFile);
const CLI = path.join(PACKAGE_ROOT, "dist", "cli", "main.js");
const MODEL_DIR = path.join(PACKAGE_ROOT, "models", "default");
let dir: string;
let clip: string;

interface Collected {
  frames: DetectionFrameMessage[];
  statuses: StatusMessage[];
  sub: VisionSubscription;
  done: Promise<void>;
}

/** Subscribe before the CLI binds (ZeroMQ connects when it appears) and collect everything. */
function collect(endpoint: string): Collected {
  const sub = subscribeVision(endpoint);
  const c: Collected = { frames: [], statuses: [], sub, done: Promise.resolve() };
  c.done = (async () => {
    for await (const m of sub) {
      if (m.topic === "detections") c.frames.push(m.frame);
      else c.statuses.push(m.status);
    }
  })();
  return c;
}

interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  stdout: string;
}

function startCli(args: string[], env: Record<string, string> = {}): { child: ChildProcess; result: Promise<CliResult> } {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: dir,
    env: { ...process.env, FOVEA_LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  let stdout = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  const result = new Promise<CliResult>((resolve) => child.once("close", (code, signal) => resolve({ code, signal, stderr, stdout })));
  return { child, result };
}

async function finish(c: Collected): Promise<void> {
  // The publisher lingers briefly on close; give the last messages time to arrive.
  await new Promise((r) => setTimeout(r, 150));
  c.sub.close();
  await c.done;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "fovea-e2e-run-"));
  clip = path.join(dir, "clip.mp4");
  await execFileAsync("ffmpeg", [
    "-loglevel",
    "error",
    "-y",
    "-f",
    "lavfi",
    "-i",
    "testsrc2=size=320x240:rate=30",
    "-frames:v",
    "60",
    "-pix_fmt",
    "yuv420p",
    clip,
  ]);
}, 180_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("fovea run (built CLI)", () => {
  it("publishes one DetectionFrame per frame of a video, in order, with timings, and Status until STOPPED", async () => {
    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    const c = collect(endpoint);
    const { result } = startCli([
      "run",
      "--source",
      `file:${clip}`,
      "--unpaced",
      "--max-frames",
      "40",
      "--publish",
      endpoint,
      "--camera-id",
      "e2e-cam",
    ]);
    const r = await result;
    await finish(c);
    expect(r.stderr).not.toMatch(/"level":50/);
    expect(r.code).toBe(0);
    // The run says whether the shipped model is trained, as its fovea.json does.
    const shipped = JSON.parse(await readFile(path.join(PACKAGE_ROOT, "models/default/fovea.json"), "utf8")) as {
      trained: boolean;
      decode: { scoreThreshold: number; classScoreThresholds?: Record<string, number> };
    };
    expect(r.stderr).toMatch(shipped.trained ? /"trained":true/ : /UNTRAINED/);
    expect(r.stderr).toMatch(/done: 40 frames/);

    // Messages sent before the subscription reached the socket may be lost (ZeroMQ PUB); what
    // arrives is the tail of the stream, in order, without holes (pull source: nothing dropped).
    const seqs = c.frames.map((f) => Number(f.seq));
    expect(seqs.length).toBeGreaterThanOrEqual(30);
    expect(seqs.at(-1)).toBe(39);
    seqs.forEach((s, i) => i > 0 && expect(s).toBe(seqs[i - 1] + 1));
    for (const f of c.frames) {
      expect(f.cameraId).toBe("e2e-cam");
      expect(f.modelId).toBe(JSON.parse(await readFile(path.join(MODEL_DIR, "fovea.json"), "utf8")).id);
      expect([f.imageWidth, f.imageHeight]).toEqual([320, 240]);
      expect(f.timings.inferenceUs).toBeGreaterThan(0);
      expect(f.timings.totalUs).toBeGreaterThanOrEqual(f.timings.inferenceUs);
      expect(f.publishTimeNs).toBeGreaterThan(f.captureTimeNs);
      for (const d of f.detections) {
        expect(d.confidence).toBeGreaterThanOrEqual(shipped.decode.classScoreThresholds?.[d.label] ?? shipped.decode.scoreThreshold);
        expect(d.box.xMin).toBeLessThanOrEqual(d.box.xMax);
        expect(d.ground).toBeUndefined(); // no calibration given for a file source
      }
    }
    expect(c.statuses.length).toBeGreaterThanOrEqual(1);
    const last = c.statuses.at(-1)!;
    expect(last).toMatchObject({ state: "STOPPED", engine: "onnxruntime", cameraId: "e2e-cam", framesProcessed: 40n, framesFailed: 0n });
    expect(last.source).toContain(clip);
  });

  it("skips a corrupt image in a folder and counts it in Status.framesFailed", async () => {
    const folder = path.join(dir, "frames");
    await mkdir(folder, { recursive: true });
    for (let i = 0; i < 8; i++) {
      await sharp({ create: { width: 160, height: 120, channels: 3, background: { r: 30 * i, g: 120, b: 40 } } })
        .jpeg()
        .toFile(path.join(folder, `${i}.jpg`));
    }
    const good = await readFile(path.join(folder, "3.jpg"));
    await writeFile(path.join(folder, "3.jpg"), good.subarray(0, good.length >> 1)); // truncated mid-scan
    await writeFile(path.join(folder, "5.jpg"), "not a jpeg"); // not an image at all
    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    const c = collect(endpoint);
    // Paced at 5 fps (1.6 s): an unpaced run of 8 small frames can end before the subscriber's
    // connection is up, and the final STOPPED status would be lost (ZeroMQ PUB drops until then).
    const r = await startCli(["run", "--source", `dir:${folder}`, "--fps", "5", "--publish", endpoint]).result;
    await finish(c);
    expect(r.code).toBe(0);
    const last = c.statuses.at(-1)!;
    expect(last.state).toBe("STOPPED");
    expect(last.framesProcessed).toBe(6n);
    expect(last.framesFailed).toBe(2n);
    expect(c.frames.map((f) => Number(f.seq))).not.toContain(3);
    expect(c.frames.map((f) => Number(f.seq))).not.toContain(5);
  });

  it("--record writes the published DetectionFrames and the frames to an MCAP file; an existing file needs --force", async () => {
    const file = path.join(dir, "run.mcap");
    const args = ["run", "--source", `file:${clip}`, "--unpaced", "--max-frames", "20", "--record", file];
    const r = await startCli([...args, "--publish", `tcp://127.0.0.1:${await freePort()}`]).result;
    expect(r.code).toBe(0);
    const reader = await RecordingReader.open(file);
    const seqs: number[] = [];
    let images = 0;
    for await (const m of reader.messages(new Set([RECORDED_DETECTIONS, RECORDED_IMAGE]))) {
      if (m.topic === RECORDED_DETECTIONS) seqs.push(Number(decodeDetectionFrame(m.data).seq));
      else images++;
    }
    expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(images).toBeGreaterThan(0);

    const again = await startCli([...args, "--publish", `tcp://127.0.0.1:${await freePort()}`]).result;
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("--force");
  });

  it("stops cleanly on SIGINT with a final STOPPED status", async () => {
    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    const c = collect(endpoint);
    // Paced (live) replay of a looping clip: it would run forever.
    const { child, result } = startCli(["run", "--source", `file:${clip}`, "--loop", "--publish", endpoint]);
    while (c.frames.length < 5) {
      const early = await Promise.race([result, new Promise((r) => setTimeout(r, 50, null))]);
      if (early) throw new Error(`fovea run exited early: ${JSON.stringify(early)}`);
    }
    child.kill("SIGINT");
    const r = await result;
    await finish(c);
    expect(r.signal).toBeNull();
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/did not stop/);
    expect(c.statuses.at(-1)!.state).toBe("STOPPED");
  });

  // Each of these starts the CLI; they are independent, so they run side by side.
  it("exits 2 naming the file for a missing model or one whose metadata does not match its ONNX graph, and the flag for bad flags", async () => {
    const missing = path.join(dir, "no-such-model");
    const meta = JSON.parse(await readFile(path.join(MODEL_DIR, "fovea.json"), "utf8"));
    const wrongClasses = path.join(dir, "wrong-classes-model");
    await mkdir(wrongClasses, { recursive: true });
    await writeFile(
      path.join(wrongClasses, "fovea.json"),
      JSON.stringify({ ...meta, classes: ["ball", "goal_post"], decode: { ...meta.decode, classScoreThresholds: undefined } }),
    ); // the ONNX head has 8 + background
    await copyFile(path.join(MODEL_DIR, "model.onnx"), path.join(wrongClasses, "model.onnx"));
    const badField = path.join(dir, "bad-field-model");
    await mkdir(badField, { recursive: true });
    await writeFile(path.join(badField, "fovea.json"), JSON.stringify({ ...meta, input: { ...meta.input, channels: 4 } }));
    await copyFile(path.join(MODEL_DIR, "model.onnx"), path.join(badField, "model.onnx"));
    const nowhere = path.join(dir, "nowhere");
    const pub = async () => ["--publish", `tcp://127.0.0.1:${await freePort()}`];

    const [noModel, classes, field, maxFrames, noDir] = await Promise.all([
      startCli(["run", "--model", missing, "--source", `file:${clip}`, ...(await pub())]).result,
      startCli(["run", "--model", wrongClasses, "--source", `file:${clip}`, ...(await pub())]).result,
      startCli(["run", "--model", badField, "--source", `file:${clip}`, ...(await pub())]).result,
      // Every flag's validation is unit-tested in src/cli/run-config.test.ts; here the exit path.
      startCli(["run", "--max-frames", "many"]).result,
      startCli(["run", "--source", `dir:${nowhere}`, ...(await pub())]).result,
    ]);
    expect(noModel.code).toBe(2);
    expect(noModel.stderr).toContain(missing);
    expect(classes.code).toBe(2);
    expect(classes.stderr).toContain(path.join(wrongClasses, "model.onnx"));
    expect(classes.stderr).toMatch(/classes/);
    expect(field.code).toBe(2);
    expect(field.stderr).toContain(path.join(badField, "fovea.json"));
    expect(field.stderr).toMatch(/input\.channels/);
    expect(maxFrames.code).toBe(2);
    expect(maxFrames.stderr).toMatch(/--max-frames: expected a positive integer/);
    expect(noDir.code).toBe(2);
    expect(noDir.stderr).toContain(nowhere);
  });
});
