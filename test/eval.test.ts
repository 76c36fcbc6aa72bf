/**
 * `fovea eval` end to end: real sharp preprocessing, real onnxruntime and tfjs engines, the
 * runtime's decoder and ground projection, over datasets written to disk.
 *
 * The known-answer part uses a model built for the test whose convolution and dense weights are
 * all zero: its output is then its biases, the same for every image, so the detections are known
 * and the figures can be worked out by hand (see the comments).
 */
import { execFile } from "node:child_process";
import { cp, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_CALIBRATION_FILE, loadCalibration } from "../src/calib/calibration.js";
import { CameraModel } from "../src/calib/camera-model.js";
import { openDatasetWriter } from "../src/dataset/open-dataset-writer.js";
import { readDataset } from "../src/dataset/read-dataset.js";
import { pngImage, tempDir } from "../src/dataset/test-helpers.js";
import { PACKAGE_ROOT } from "../src/core/package-root.js";
import { evaluateModel, type EvalReport } from "../src/train/evaluate.js";
import { runEvalCommand } from "../src/cli/eval.js";
import { DEFAULT_MODEL_DIR } from "../src/cli/run-config.js";
import { exportModelDir } from "../src/train/export-model.js";
import { buildNetwork, defaultMetadata } from "../src/train/network.js";

const execFileAsync = promisify(execFile);
const LOADER = path.join(PACKAGE_ROOT, "test", "record-ts-loader.mjs");
const MAIN = path.join(PACKAGE_ROOT, "src", "cli", "main.ts");
const W = 64;
const H = 48;

let dir: string;
let cleanup: () => Promise<void>;

/**
 * 2x2 grid, classes ball/robot (+ background). Class logits per cell [ball, robot, background]:
 *   cell 0 (top-left):     [5, 0, 0]   -> ball  e^5/(e^5+2)  = 0.9867
 *   cell 1 (top-right):    [0, 2, 0]   -> robot e^2/(e^2+2)  = 0.7870
 *   cell 2 (bottom-left):  [0, 0, 10]  -> background
 *   cell 3 (bottom-right): [0, 0, 0]   -> ball 1/3 (argmax tie -> first class), below the 0.5 threshold
 * Box biases 0 -> sigmoid 0.5: centre of the cell, w = h = 0.5 of the image.
 */
async function writeConstantModel(out: string): Promise<void> {
  await tf.setBackend("cpu");
  const meta = defaultMetadata({
    id: "constant-test-model",
    classes: ["ball", "robot"],
    input: { width: 16, height: 16, channels: 3, name: "input" },
    architecture: { convFilters: [4], kernelSize: 3, padding: "valid", dense: [8], dropout: 0 },
    head: { kind: "grid", rows: 2, cols: 2, classesOutput: "classes", boxesOutput: "boxes" },
  });
  const model = buildNetwork(meta, { seed: 1 });
  const logits = [5, 0, 0, 0, 2, 0, 0, 0, 10, 0, 0, 0];
  for (const layer of model.layers) {
    const weights = layer.getWeights();
    if (weights.length === 0) continue;
    const [kernel, bias] = weights;
    const newBias = layer.name === "classes_logits" ? tf.tensor1d(logits) : tf.zerosLike(bias);
    layer.setWeights([tf.zerosLike(kernel), newBias]);
  }
  await exportModelDir(model, meta, out);
}

/**
 * Frame a.png: ball at the top-left detection, robot at the top-right one, a second ball under the
 * weak bottom-right detection (labelled ground = projected + (0.3, 0.4) -> error 0.5 m).
 * Frame b.png: nothing labelled.
 */
async function writeDataset(root: string, format: "native" | "yolo"): Promise<void> {
  const camera = new CameraModel(await loadCalibration(DEFAULT_CALIBRATION_FILE), W, H);
  // The ball detection's box is 0..0.5 x 0..0.5; a ball stands on the ground at its bottom centre.
  const g = camera.pixelToGround(0.25 * W, 0.5 * H);
  if (!g) throw new Error("test set-up: the ball's ground point must lie below the horizon");
  const w = await openDatasetWriter(root, format, ["ball", "robot"]);
  await w.add(
    {
      image: "images/a.png",
      width: W,
      height: H,
      objects: [
        { label: "ball", box: { xMin: 0.2, yMin: 0.2, xMax: 0.3, yMax: 0.3 }, ground: { x: g.x + 0.3, y: g.y + 0.4 } },
        { label: "robot", box: { xMin: 0.6, yMin: 0.1, xMax: 0.9, yMax: 0.4 } },
        { label: "ball", box: { xMin: 0.7, yMin: 0.7, xMax: 0.8, yMax: 0.8 } },
      ],
    },
    await pngImage(W, H, 30),
  );
  await w.add({ image: "images/b.png", width: W, height: H, objects: [] }, await pngImage(W, H, 200));
  await w.close();
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir("eval-e2e"));
  await writeConstantModel(path.join(dir, "model"));
  await writeDataset(path.join(dir, "native"), "native");
  await writeDataset(path.join(dir, "yolo"), "yolo");
});
afterAll(() => cleanup());

function expectKnownAnswer(r: EvalReport): void {
  const [ball, robot] = r.classes;
  // ball at >= 0.5: a.png 0.987 TP, b.png 0.987 FP -> P 1/2; 2 balls labelled -> R 1/2.
  // AP: tie group at 0.987 (TP, FP) -> P .5 R .5; tie group at 1/3 (TP, FP) -> P 2/4 R 1 -> .5*.5 + .5*.5 = .5
  expect(ball).toMatchObject({
    objects: 2,
    detections: 2,
    truePositives: 1,
    falsePositives: 1,
    falseNegatives: 1,
    precision: 0.5,
    recall: 0.5,
  });
  expect(ball.averagePrecision).toBeCloseTo(0.5, 12);
  // robot: a.png 0.787 TP, b.png 0.787 FP -> P 1/2, R 1, AP .5
  expect(robot).toMatchObject({
    objects: 1,
    detections: 2,
    truePositives: 1,
    falsePositives: 1,
    falseNegatives: 0,
    precision: 0.5,
    recall: 1,
  });
  expect(robot.averagePrecision).toBeCloseTo(0.5, 12);
  expect(r.meanAveragePrecision).toBeCloseTo(0.5, 12);
  expect(r.confusion.counts).toEqual([
    [1, 0, 1], // ball: one found, the other's only detection is below the threshold
    [0, 1, 0], // robot found
    [1, 1, 0], // background: both strong detections on the empty frame
  ]);
}

describe("fovea eval on a model with known outputs", () => {
  it("scores the onnxruntime engine's detections as worked out by hand, with the ground error", async () => {
    const r = await evaluateModel({ modelDir: path.join(dir, "model"), data: path.join(dir, "native"), engine: "onnxruntime" });
    // The model's own suppression overlap unless --nms-iou gives another.
    expect(r.nmsIou).toBe(0.3);
    expect(r.engine).toEqual({ engine: "onnxruntime", device: "cpu" });
    expect(r.data).toMatchObject({ format: "native", frames: 2, objects: 3 });
    expectKnownAnswer(r);
    expect(r.classes[0].ground?.count).toBe(1);
    expect(r.classes[0].ground?.median).toBeCloseTo(0.5, 4);
    expect(r.ground?.p90).toBeCloseTo(0.5, 4);
  });

  it("gives the same figures through the tfjs engine and from the YOLO copy (no ground there)", async () => {
    const r = await evaluateModel({ modelDir: path.join(dir, "model"), data: path.join(dir, "yolo"), engine: "tfjs", batch: 1 });
    expect(r.engine.engine).toBe("tfjs");
    expect(r.data.format).toBe("yolo");
    expectKnownAnswer(r);
    expect(r.ground).toBeNull();
  });
});

describe("dataset classes the model does not know", () => {
  it("count as missed, are listed, and stay out of the mean AP", async () => {
    const ds = await readDataset(path.join(dir, "native"));
    ds.classes.push("goal_post");
    ds.frames[1].objects.push({ label: "goal_post", box: { xMin: 0.4, yMin: 0.1, xMax: 0.45, yMax: 0.9 } });
    const r = await evaluateModel({ modelDir: path.join(dir, "model"), data: ds, engine: "onnxruntime" });
    expect(r.classesUnknownToModel).toEqual(["goal_post"]);
    expect(r.classes.map((c) => c.label)).toEqual(["ball", "robot", "goal_post"]);
    expect(r.classes[2]).toMatchObject({ objects: 1, detections: 0, recall: 0, averagePrecision: 0 });
    // Mean over ball and robot only (0.5 each), not (0.5 + 0.5 + 0) / 3.
    expect(r.meanAveragePrecision).toBeCloseTo(0.5, 12);
    expect(r.confusion.counts[2]).toEqual([0, 0, 0, 1]);
  });
});

describe("the shipped model", () => {
  it("runs over a dataset end to end (figures not asserted: it may be untrained)", async () => {
    const report = await evaluateModel({ modelDir: DEFAULT_MODEL_DIR, data: path.join(dir, "yolo") });
    expect(report.data.frames).toBe(2);
    // Whatever the model detects, the confusion matrix accounts for every object and detection.
    report.classes.forEach((c, i) => {
      expect(report.confusion.counts[i].reduce((a, b) => a + b, 0)).toBe(c.objects);
      expect(report.confusion.counts.reduce((s, row) => s + row[i], 0)).toBe(c.detections);
      expect(report.confusion.counts[i][i]).toBe(c.truePositives);
    });
  });
});

describe("fovea eval CLI", () => {
  const cli = (args: string[]) =>
    execFileAsync(process.execPath, ["--import", LOADER, MAIN, "eval", ...args], {
      cwd: dir,
      env: { ...process.env, FOVEA_LOG_LEVEL: "warn" },
    }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );

  it("prints the JSON report with --json and writes it with --out; the table otherwise", async () => {
    const out = path.join(dir, "report.json");
    const json = await cli(["--model", path.join(dir, "model"), "--data", path.join(dir, "native"), "--json", "--out", out]);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as EvalReport;
    expectKnownAnswer(report);
    expect(JSON.parse(await readFile(out, "utf8"))).toEqual(report);

    const table = await cli(["--model", path.join(dir, "model"), "--data", path.join(dir, "yolo"), "--threshold", "0.9"]);
    expect(table.code).toBe(0);
    // At 0.9 only the ball detections (0.987) count: robot has none -> precision "-". The best-F1
    // column looks at every confidence, so it is the same whatever --threshold is.
    expect(table.stdout).toMatch(/^ball\s+2\s+2\s+1\s+1\s+1\s+0\.500\s+0\.500\s+0\.500\s+0\.67 @ 0\.33\s+-$/m);
    expect(table.stdout).toMatch(/^robot\s+1\s+0\s+0\s+0\s+1\s+-\s+0\.000\s+0\.500\s+0\.67 @ 0\.79\s+-$/m);
    expect(table.stdout).toMatch(/mean AP 0\.500/);
  });

  it("--set-thresholds writes each class's best-F1 confidence into fovea.json, and the next eval uses them", async () => {
    const tuned = path.join(dir, "model-tuned");
    await cp(path.join(dir, "model"), tuned, { recursive: true });
    const set = await cli(["--model", tuned, "--data", path.join(dir, "native"), "--set-thresholds"]);
    expect(set.code).toBe(0);
    // best F1: ball 0.67 @ 1/3 (rounded down to 0.333 so the 1/3 detection still passes), robot @ 0.787.
    expect(set.stderr).toContain("decode.classScoreThresholds: ball 0.333, robot 0.786");
    const meta = JSON.parse(await readFile(path.join(tuned, "fovea.json"), "utf8"));
    expect(meta.decode).toMatchObject({ scoreThreshold: 0.5, classScoreThresholds: { ball: 0.333, robot: 0.786 } });

    const r = await evaluateModel({ modelDir: tuned, data: path.join(dir, "native") });
    const [ball, robot] = r.classes;
    // ball now also counts the 1/3 detections: a.png's finds the second ball, b.png's is a false alarm.
    expect(ball).toMatchObject({
      scoreThreshold: 0.333,
      detections: 4,
      truePositives: 2,
      falsePositives: 2,
      falseNegatives: 0,
      precision: 0.5,
      recall: 1,
    });
    expect(robot).toMatchObject({ scoreThreshold: 0.786, detections: 2, truePositives: 1, falsePositives: 1 });
    expect(r.confusion.counts).toEqual([
      [2, 0, 0],
      [0, 1, 0],
      [2, 1, 0],
    ]);
    // --threshold is one threshold for every class again.
    const uniform = await evaluateModel({ modelDir: tuned, data: path.join(dir, "native"), scoreThreshold: 0.5 });
    expect(uniform.classes[0]).toMatchObject({ scoreThreshold: 0.5, detections: 2 });
    const table = await cli(["--model", tuned, "--data", path.join(dir, "native")]);
    expect(table.stdout).toContain("precision/recall at each class's confidence threshold (column 'at conf')");
    expect(table.stdout).toMatch(/^ball\s+2\s+0\.333\s+4\s+2\s+2\s+0\s+0\.500\s+1\.000\s/m);
  });

  it("exits 2 naming the flag or file on bad input", async () => {
    const missing = await cli(["--model", path.join(dir, "model"), "--data", path.join(dir, "nope")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--data: .*nope' does not exist/);
    // Flag validation in-process (a process per bad flag would only re-test the exit-code plumbing).
    const base = {
      model: path.join(dir, "model"),
      data: path.join(dir, "yolo"),
      format: "auto",
      engine: "auto",
      device: "auto",
      batch: "16",
    } as const;
    await expect(runEvalCommand({ ...base, threshold: "1.5" })).rejects.toThrow(/^--threshold: expected a number 0\.\.1, got '1\.5'$/);
    await expect(runEvalCommand({ ...base, batch: "0" })).rejects.toThrow(/^--batch: expected a positive integer, got '0'$/);
    await expect(runEvalCommand({ ...base, minBox: "5%" })).rejects.toThrow(/^--min-box: expected a number 0\.\.1, got '5%'$/);
    await expect(runEvalCommand({ ...base, nmsIou: "2" })).rejects.toThrow(/^--nms-iou: expected a number 0\.\.1, got '2'$/);
    let json = "";
    await runEvalCommand({ ...base, nmsIou: "0.7", json: true }, (t) => (json += t));
    expect((JSON.parse(json) as EvalReport).nmsIou).toBe(0.7);
    let table = "";
    await runEvalCommand({ ...base, minBox: "0.3" }, (t) => (table += t));
    expect(table).toContain("enlarged to >= 30% of the image width");
    await expect(runEvalCommand({ ...base, data: path.join(dir, "model", "fovea.json") })).rejects.toThrow(/fovea\.json: .*images/);
    // A native dataset whose labels record another size than its image has.
    const wrong = path.join(dir, "native-wrong-size");
    await cp(path.join(dir, "native"), wrong, { recursive: true });
    const labels = path.join(wrong, "labels.jsonl");
    const lines = (await readFile(labels, "utf8")).trimEnd().split("\n");
    const rewritten = lines.map((l) => {
      const row = JSON.parse(l) as { image?: string; width?: number };
      return row.image === "images/a.png" ? JSON.stringify({ ...row, width: W * 2 }) : l;
    });
    await writeFile(labels, rewritten.join("\n") + "\n");
    const sized = await cli(["--model", path.join(dir, "model"), "--data", wrong]);
    expect(sized.code).toBe(2);
    expect(sized.stderr).toContain(`images/a.png: the dataset records ${W * 2}x${H} for this image, but it is ${W}x${H}`);
  });
});
