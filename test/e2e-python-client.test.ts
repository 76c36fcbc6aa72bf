/**
 * The wire contract from another language: scripts/subscribe.py (pyzmq + protoc-generated
 * Python classes from proto/fovea/v1/vision.proto) receives what the pipeline publishes.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { pino } from "pino";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_CALIBRATION_FILE, loadCalibration } from "../src/calib/calibration.js";
import { ImageFolderSource } from "../src/capture/image-folder-source.js";
import type { ProcessedFrame } from "../src/core/pipeline-types.js";
import { createEngine } from "../src/engine/create-engine.js";
import type { InferenceEngine } from "../src/engine/engine.js";
import { Pipeline } from "../src/pipeline/pipeline.js";
import { PACKAGE_ROOT } from "../src/core/package-root.js";
import { encodeStatus, VISION_PROTO_PATH } from "../src/publish/codec.js";
import { DetectionPublisher } from "../src/publish/publisher.js";

// Debian's python3 has python3-zmq / python3-protobuf; a pyenv `python3` first on PATH may not.
const PYTHON = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
function pythonClientAvailable(): string | null {
  try {
    execFileSync(PYTHON, ["-c", "import zmq, google.protobuf"], { stdio: "ignore" });
    execFileSync("protoc", ["--version"], { stdio: "ignore" });
    return null;
  } catch {
    return "needs python3-zmq, python3-protobuf and protobuf-compiler";
  }
}
const unavailable = pythonClientAvailable();

let dir: string;
let engine: InferenceEngine;

beforeAll(async () => {
  if (unavailable) return;
  dir = await mkdtemp(path.join(tmpdir(), "fovea-py-client-"));
  execFileSync("protoc", ["-I", path.join(PACKAGE_ROOT, "proto"), `--python_out=${dir}`, VISION_PROTO_PATH]);
  // A score threshold of 0 makes the untrained stand-in model report detections to compare.
  const modelDir = path.join(dir, "model");
  await mkdir(modelDir);
  const meta = JSON.parse(await readFile(path.join(PACKAGE_ROOT, "models", "default", "fovea.json"), "utf8"));
  meta.decode = { ...meta.decode, scoreThreshold: 0, classScoreThresholds: undefined, maxDetections: 5 };
  await writeFile(path.join(modelDir, "fovea.json"), JSON.stringify(meta));
  await writeFile(path.join(modelDir, "model.onnx"), await readFile(path.join(PACKAGE_ROOT, "models", "default", "model.onnx")));
  engine = await createEngine({ modelDir, engine: "onnxruntime", device: "cpu", threads: 1 });
});
afterAll(async () => {
  await engine?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(unavailable)(`a Python subscriber (${unavailable ?? "pyzmq + protobuf"})`, () => {
  it("decodes the DetectionFrames and Status fovea publishes", async () => {
    const folder = path.join(dir, "frames");
    await mkdir(folder);
    for (let i = 0; i < 5; i++) {
      await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 50 * i, g: 150, b: 70 } } })
        .png()
        .toFile(path.join(folder, `${i}.png`));
    }
    const pub = await DetectionPublisher.create({ endpoint: "tcp://127.0.0.1:*" });
    const py = spawn(PYTHON, [path.join(PACKAGE_ROOT, "scripts", "subscribe.py"), pub.endpoint, "5"], {
      env: { ...process.env, PYTHONPATH: dir },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    py.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => py.once("close", resolve));
    const lines: Array<Record<string, unknown>> = [];
    let connected: () => void = () => {};
    const isConnected = new Promise<void>((r) => (connected = r));
    createInterface({ input: py.stdout }).on("line", (line) => {
      const m = JSON.parse(line) as Record<string, unknown>;
      if (m.model_id === "probe") connected();
      else lines.push(m);
    });
    // Until the Python side shows it is subscribed, everything published would be lost.
    const probe = encodeStatus({
      state: "STARTING",
      fps: 0,
      framesIn: 0n,
      framesProcessed: 0n,
      framesDropped: 0n,
      framesFailed: 0n,
      engine: "",
      device: "",
      modelId: "probe",
      lastError: "",
      timeNs: 0n,
      cameraId: "",
      source: "",
      reconnects: 0n,
      recordingDropped: 0n,
      outOfEnvelope: 0n,
    });
    const timer = setInterval(() => pub.publishStatus(probe), 20);
    try {
      await Promise.race([isConnected, exited.then((code) => Promise.reject(new Error(`subscribe.py exited ${code}: ${stderr}`)))]);
    } finally {
      clearInterval(timer);
    }

    const processed: ProcessedFrame[] = [];
    const pipeline = await Pipeline.create({
      source: await ImageFolderSource.open({ path: folder, unpaced: true, cameraId: "py-cam" }),
      engine,
      publisher: pub,
      calibration: await loadCalibration(DEFAULT_CALIBRATION_FILE),
      observers: [{ onProcessed: (p) => processed.push(p) }],
      log: pino({ level: "silent" }),
    });
    await pipeline.run();
    expect(await exited).toBe(0);
    await pub.close();

    const frames = lines.filter((l) => l.topic === "detections");
    expect(frames.map((f) => f.seq)).toEqual([0, 1, 2, 3, 4]);
    expect(lines.some((l) => l.topic === "status" && l.model_id === engine.metadata.id)).toBe(true);
    frames.forEach((f, i) => {
      const p = processed[i];
      expect(f).toMatchObject({ camera_id: "py-cam", model_id: engine.metadata.id, size: [320, 240], inference_us: p.timings.inferenceUs });
      const dets = f.detections as Array<{ label: string; confidence: number; box: number[]; ground?: number[] }>;
      expect(dets.map((d) => d.label)).toEqual(p.detections.map((d) => d.label));
      dets.forEach((d, j) => {
        const e = p.detections[j];
        expect(d.confidence).toBeCloseTo(e.confidence, 3);
        expect(d.box[3]).toBeCloseTo(e.box.yMax, 5);
        if (e.ground) {
          expect(d.ground![0]).toBeCloseTo(e.ground.x, 4);
          expect(d.ground![1]).toBeCloseTo(e.ground.y, 4);
        } else {
          expect(d.ground).toBeUndefined();
        }
      });
    });
  });
});
