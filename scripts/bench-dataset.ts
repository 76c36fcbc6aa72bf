/**
 * Dataset I/O and eval throughput: how long writing and reading N tagged frames takes per format
 * (YOLO reads every image header through sharp), and frames per second of `fovea eval` with the
 * shipped model.
 *
 *   node --import ./test/record-ts-loader.mjs scripts/bench-dataset.ts [--frames 2000] [--size 640x480] [--eval-frames 500]
 *
 * The images are one real 640x480 JPEG repeated (the bytes do not matter for I/O; decoding in
 * eval is as for any JPEG of that size). Prints one JSON object; nothing is asserted.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import sharp from "sharp";
import { DEFAULT_CLASSES } from "../src/core/detection.js";
import { openDatasetWriter } from "../src/dataset/open-dataset-writer.js";
import { readDataset } from "../src/dataset/read-dataset.js";
import type { DatasetFormat, TaggedFrame } from "../src/dataset/tagged-frame.js";
import { DEFAULT_MODEL_DIR } from "../src/cli/run-config.js";
import { evaluateModel } from "../src/train/evaluate.js";

const { values } = parseArgs({
  options: {
    frames: { type: "string", default: "2000" },
    size: { type: "string", default: "640x480" },
    "eval-frames": { type: "string", default: "500" },
  },
});
const n = Number(values.frames);
const [width, height] = values.size!.split("x").map(Number);
const evalFrames = Number(values["eval-frames"]);

const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
const image = await sharp({ create: { width, height, channels: 3, background: { r: 40, g: 140, b: 60 } } })
  .jpeg()
  .toBuffer();
const frames: TaggedFrame[] = Array.from({ length: n }, (_, i) => ({
  image: `images/${String(i).padStart(6, "0")}.jpg`,
  width,
  height,
  objects: Array.from({ length: 5 }, (_, k) => ({
    label: DEFAULT_CLASSES[(i + k) % DEFAULT_CLASSES.length],
    box: { xMin: 0.1 * k, yMin: 0.3, xMax: 0.1 * k + 0.05, yMax: 0.4 },
    ground: { x: 1 + k, y: 0.1 * k },
  })),
}));

const root = await mkdtemp(path.join(os.tmpdir(), "fovea-bench-dataset-"));
const results: Record<string, unknown> = { frames: n, size: values.size, objectsPerFrame: 5, cpus: os.cpus().length };
try {
  for (const format of ["native", "yolo", "coco"] as DatasetFormat[]) {
    const dir = path.join(root, format);
    let t0 = process.hrtime.bigint();
    const w = await openDatasetWriter(dir, format, [...DEFAULT_CLASSES]);
    for (const f of frames) await w.add(f, image);
    await w.close();
    const write = seconds(t0);
    t0 = process.hrtime.bigint();
    const ds = await readDataset(dir);
    const read = seconds(t0);
    t0 = process.hrtime.bigint();
    await readDataset(dir);
    const reread = seconds(t0);
    if (ds.frames.length !== n) throw new Error(`${format}: read ${ds.frames.length} frames, wrote ${n}`);
    results[format] = {
      writeFramesPerS: Math.round(n / write),
      readFramesPerS: Math.round(n / read),
      rereadFramesPerS: Math.round(n / reread),
    };
  }
  const data = await readDataset(path.join(root, "native"));
  data.frames = data.frames.slice(0, evalFrames);
  const report = await evaluateModel({ modelDir: DEFAULT_MODEL_DIR, data, engine: "onnxruntime" });
  results.eval = {
    model: report.model.id,
    engine: `${report.engine.engine}/${report.engine.device}`,
    frames: report.data.frames,
    framesPerS: Math.round(report.data.frames / report.seconds),
  };
} finally {
  await rm(root, { recursive: true, force: true });
}
console.log(JSON.stringify(results, null, 2));
