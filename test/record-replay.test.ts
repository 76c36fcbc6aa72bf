/**
 * The record -> replay -> compare -> retag loop through the real `fovea` command: a run over JPEG
 * frames (ffmpeg testsrc2) is recorded to MCAP, replayed with `--source mcap:` through the same
 * model, and the replay's detections must equal the recorded ones frame for frame.
 */
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { McapIndexedReader, type IReadable } from "@mcap/core";
import { RecordingReader } from "../src/record/recording-reader.js";
import { RECORDING_METADATA_NAME } from "../src/record/recording-format.js";
import { decodeDetectionFrame, type DetectionFrameMessage } from "../src/publish/codec.js";
import { readDataset } from "../src/dataset/read-dataset.js";
import { compareRecording } from "../src/replay/compare-recording.js";
import { formatComparison } from "../src/replay/compare-detections.js";
import { retagRecording } from "../src/replay/retag-recording.js";
import { createLogger } from "../src/core/log.js";
import { DEFAULT_CLASSES } from "../src/core/detection.js";

const execFileAsync = promisify(execFile);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "..");
const FRAMES = 12;

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the real `fovea` command (TypeScript sources through the test loader). */
async function fovea(...args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await execFileAsync(
      process.execPath,
      ["--import", path.join(HERE, "record-ts-loader.mjs"), path.join(ROOT, "src/cli/main.ts"), ...args],
      { cwd: ROOT, env: { ...process.env, FOVEA_LOG_LEVEL: "warn" }, timeout: 120_000, maxBuffer: 16 << 20 },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== "number") throw err;
    return { code: e.code, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

async function detectionsOf(file: string): Promise<Map<number, DetectionFrameMessage>> {
  const reader = await RecordingReader.open(file);
  const out = new Map<number, DetectionFrameMessage>();
  for await (const m of reader.messages(new Set(["/fovea/detections"]))) {
    const d = decodeDetectionFrame(m.data);
    out.set(Number(d.seq), d);
  }
  return out;
}

/** The recording's metadata record, read with @mcap/core's indexed reader. */
async function recordingMetadata(file: string): Promise<Map<string, string>> {
  const bytes = await readFile(file);
  const readable: IReadable = { size: async () => BigInt(bytes.length), read: async (o, s) => bytes.subarray(Number(o), Number(o + s)) };
  const reader = await McapIndexedReader.Initialize({ readable });
  const records = [];
  for await (const m of reader.readMetadata({ name: RECORDING_METADATA_NAME })) records.push(m);
  expect(records).toHaveLength(1);
  return records[0].metadata;
}

async function imageSeqs(file: string): Promise<number[]> {
  const reader = await RecordingReader.open(file);
  const out: number[] = [];
  for await (const m of reader.messages(new Set(["/camera/image"]))) out.push(m.sequence);
  return out;
}

let dir: string;
let framesDir: string;
let modelDir: string;
let venueModel: string;
const venueClasses = DEFAULT_CLASSES.map((c) => `venue_${c}`);
const calibration = path.join(ROOT, "calibration/default.json");
const log = createLogger({ level: "warn", name: "record-replay-test" });

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "fovea-record-replay-"));
  framesDir = path.join(dir, "frames");
  await mkdir(framesDir);
  await execFileAsync("ffmpeg", [
    "-loglevel",
    "error",
    "-f",
    "lavfi",
    "-i",
    "testsrc2=size=320x240:rate=30",
    "-frames:v",
    String(FRAMES),
    path.join(framesDir, "%04d.jpg"),
  ]);
  // The shipped stand-in model is untrained: at its 0.5 threshold it detects nothing. With a low
  // threshold its (random but deterministic) scores give several detections per frame to compare.
  modelDir = path.join(dir, "model");
  await cp(path.join(ROOT, "models/default"), modelDir, { recursive: true });
  const md = JSON.parse(await readFile(path.join(modelDir, "fovea.json"), "utf8"));
  md.id = "low-threshold";
  md.decode.scoreThreshold = 0.13;
  delete md.decode.classScoreThresholds; // one low threshold for every class
  await writeFile(path.join(modelDir, "fovea.json"), JSON.stringify(md));
  // A venue model whose class names differ from fovea's defaults (same count, so the shipped
  // ONNX graph still fits): recordings must carry these names, or retag would fall back to the
  // defaults and reject every recorded label.
  venueModel = path.join(dir, "venue-model");
  await cp(modelDir, venueModel, { recursive: true });
  await writeFile(path.join(venueModel, "fovea.json"), JSON.stringify({ ...md, id: "venue-classes", classes: venueClasses }));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("record -> replay -> compare -> retag", () => {
  let recordedA: Map<number, DetectionFrameMessage>;

  test("fovea run --record writes an MCAP with the Foxglove channels and every processed frame", async () => {
    const a = path.join(dir, "a.mcap");
    const r = await fovea(
      "run",
      "--source",
      `dir:${framesDir}`,
      "--unpaced",
      "--model",
      modelDir,
      "--calibration",
      calibration,
      "--publish",
      `ipc://${dir}/a.sock`,
      "--record",
      a,
    );
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    const bytes = await readFile(a);
    const readable: IReadable = { size: async () => BigInt(bytes.length), read: async (o, s) => bytes.subarray(Number(o), Number(o + s)) };
    const reader = await McapIndexedReader.Initialize({ readable });
    const schemaOf = Object.fromEntries([...reader.channelsById.values()].map((c) => [c.topic, reader.schemasById.get(c.schemaId)!.name]));
    expect(schemaOf["/camera/image"]).toBe("foxglove.CompressedImage");
    expect(schemaOf["/camera/annotations"]).toBe("foxglove.ImageAnnotations");
    expect(schemaOf["/camera/calibration"]).toBe("foxglove.CameraCalibration");
    const counts = Object.fromEntries(
      [...reader.statistics!.channelMessageCounts].map(([id, n]) => [reader.channelsById.get(id)!.topic, Number(n)]),
    );
    expect(counts["/fovea/detections"]).toBe(FRAMES);
    expect(counts["/camera/annotations"]).toBe(FRAMES);
    expect(counts["/camera/calibration"]).toBe(1);
    expect(counts["/fovea/status"]).toBeGreaterThanOrEqual(1);
    // Unpaced: the loop may outrun the recorder, which then drops images rather than wait.
    expect(counts["/camera/image"]).toBeGreaterThan(0);
    recordedA = await detectionsOf(a);
    const total = [...recordedA.values()].reduce((n, d) => n + d.detections.length, 0);
    expect(total).toBeGreaterThan(FRAMES);
    expect([...recordedA.values()].some((d) => d.detections.some((x) => x.ground))).toBe(true);
  });

  test("fovea run --record stores the model's classes, and retag uses them (not the defaults)", async () => {
    const v = path.join(dir, "venue.mcap");
    const r = await fovea(
      "run",
      "--source",
      `dir:${framesDir}`,
      "--model",
      venueModel,
      "--calibration",
      calibration,
      "--publish",
      `ipc://${dir}/v.sock`,
      "--record",
      v,
      "--max-frames",
      "4",
    );
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    const meta = await recordingMetadata(v);
    expect(meta.get("modelId")).toBe("venue-classes");
    expect(JSON.parse(meta.get("classes") ?? "null")).toEqual(venueClasses);

    const recorded = [...(await detectionsOf(v)).values()].flatMap((d) => d.detections.map((x) => x.label));
    expect(recorded.length).toBeGreaterThan(0);
    const out = path.join(dir, "venue-tagged");
    const retagged = await retagRecording(v, out, { format: "native" });
    expect(retagged.classes).toEqual(venueClasses);
    expect((await readDataset(out)).classes).toEqual(venueClasses);
  });

  test("fovea run --source mcap: replays the frames with their seq and capture time and gives the same detections", async () => {
    const a = path.join(dir, "a.mcap");
    const b = path.join(dir, "b.mcap");
    const r = await fovea(
      "run",
      "--source",
      `mcap:${a}`,
      "--unpaced",
      "--model",
      modelDir,
      "--calibration",
      calibration,
      "--publish",
      `ipc://${dir}/b.sock`,
      "--record",
      b,
    );
    expect(r.code).toBe(0);
    const replayed = await detectionsOf(b);
    const images = await imageSeqs(a);
    expect([...replayed.keys()]).toEqual(images);
    for (const [seq, d] of replayed) {
      const original = recordedA.get(seq)!;
      expect(d.captureTimeNs).toBe(original.captureTimeNs);
      expect(d.detections).toEqual(original.detections);
    }
  });

  test("fovea compare: no change against the replay; a re-run through the same model matches, another model changes", async () => {
    const a = path.join(dir, "a.mcap");
    const against = await fovea("compare", "--recording", a, "--against", path.join(dir, "b.mcap"), "--json");
    expect(against.code).toBe(0);
    const report = JSON.parse(against.stdout);
    expect(report.framesChanged).toBe(0);
    expect(report.framesCompared).toBe((await imageSeqs(a)).length);

    // In-process from here: the same library call the command makes, without another spawn.
    const same = await compareRecording(a, { modelDir }, { log });
    expect(same.report).toMatchObject({
      framesChanged: 0,
      framesCompared: report.framesCompared,
      onlyBaseline: FRAMES - report.framesCompared,
    });

    // Another model (the shipped default) changes frames. Whatever it finds, the per-class counts
    // must add up: every recorded detection matched or removed, every new one matched or added.
    const other = await compareRecording(a, { modelDir: path.join(ROOT, "models/default") }, { log });
    const replayedSeqs = new Set(await imageSeqs(a));
    const preTagged = [...recordedA].filter(([seq, d]) => replayedSeqs.has(seq) && d.detections.length > 0).length;
    expect(preTagged).toBeGreaterThan(0);
    expect(other.report.framesChanged).toBeGreaterThan(0);
    for (const c of Object.values(other.report.perClass)) {
      expect(c.matched + c.removed).toBe(c.baseline);
      expect(c.matched + c.added).toBe(c.candidate);
    }
    expect(formatComparison(other.report, other.names)).toMatch(/class\s+baseline\s+candidate\s+matched\s+removed\s+added/);
  });

  test("compare --record writes the re-run with its model's id and classes, and retag uses them", async () => {
    const rerun = path.join(dir, "venue-rerun.mcap");
    await compareRecording(path.join(dir, "a.mcap"), { modelDir: venueModel, recordTo: rerun }, { log });
    const meta = await recordingMetadata(rerun);
    expect(meta.get("modelId")).toBe("venue-classes");
    expect(JSON.parse(meta.get("classes") ?? "null")).toEqual(venueClasses);
    const retagged = await retagRecording(rerun, path.join(dir, "venue-rerun-tagged"), { format: "native" });
    expect(retagged.classes).toEqual(venueClasses);
    expect(retagged.preTagged).toBeGreaterThan(0);
  });

  test("retag extracts the recorded frames with the recorded detections as pre-tags", async () => {
    const out = path.join(dir, "tagged");
    const r = await retagRecording(path.join(dir, "a.mcap"), out, { format: "native" });
    const ds = await readDataset(out);
    const images = await imageSeqs(path.join(dir, "a.mcap"));
    expect(ds.frames).toHaveLength(images.length);
    expect(r.frames).toBe(images.length);
    expect(ds.classes).toContain("ball");
    for (const f of ds.frames) {
      const seq = Number(/(\d+)\.jpg$/.exec(f.image)![1]);
      const recorded = recordedA.get(seq)!;
      expect([f.width, f.height]).toEqual([320, 240]);
      expect(f.objects.map((o) => o.label)).toEqual(recorded.detections.map((d) => d.label));
      f.objects.forEach((o, i) => expect(o.box.xMin).toBeCloseTo(Math.max(0, recorded.detections[i].box.xMin), 6));
    }
    // The recorded calibration travels with the dataset (ground positions refer to it).
    expect(JSON.parse(await readFile(path.join(out, "calibration.json"), "utf8")).cameraId).toBe("head");
  });

  test("fovea record captures without inference and refuses to overwrite without --force", async () => {
    const c = path.join(dir, "c.mcap");
    const r = await fovea("record", "--source", `dir:${framesDir}`, "--unpaced", "--out", c, "--max-frames", "5");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/recorded 5 frames/);
    expect(await imageSeqs(c)).toEqual([0, 1, 2, 3, 4]);
    expect((await detectionsOf(c)).size).toBe(0);

    const again = await fovea("record", "--source", `dir:${framesDir}`, "--out", c);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(c);
    expect(again.stderr).toContain("--force");

    await expect(compareRecording(c, { modelDir }, { log })).rejects.toThrow(/c\.mcap: has no DetectionFrames.*capture-only/);
  });
});
