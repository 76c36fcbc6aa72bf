/**
 * Writing a model directory (layout in src/core/model-metadata.ts) from a LayersModel:
 * `tfjs/` (LayersModel, for training fine-tunes and the tfjs engine), `model.onnx` (the default
 * engine) and `fovea.json` (metadata, validated). The one way models/default and every trained
 * model are produced.
 */
import { renameSync } from "node:fs";
import { mkdir, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import * as ort from "onnxruntime-node";
import { METADATA_FILE, loadModelDir, type ModelDir } from "../core/model-dir.js";
import { ModelMetadataSchema, type ModelMetadata, type ModelMetadataInput } from "../core/model-metadata.js";
import { headOutputs } from "../core/head-outputs.js";
import { TFJS_WEIGHTS_FILE, fsSaveHandler, loadLayersModel } from "../engine/tfjs-fs-io.js";
import { exportOnnx, type WeightsDtype } from "./onnx/export-onnx.js";
import { Rng } from "../core/prng.js";
import { maxAbsDiff } from "../core/max-abs-diff.js";

export { loadLayersModel };

export interface ExportModelOptions {
  /**
   * Storage type of the weights in both files. `float16` halves the directory; both engines
   * then compute with the same (rounded) weights in float32, so they still agree. Default float32.
   */
  weightsDtype?: WeightsDtype;
  /**
   * Check the written directory: onnxruntime on model.onnx and tfjs on tfjs/model.json must give
   * the same outputs (max abs diff <= PARITY_TOLERANCE) on random inputs, else the export throws.
   * Default true; costs well under a second for the seed network.
   */
  verify?: boolean;
}

/** Folder inside a model directory where an export is written and checked before it replaces the model. */
export const STAGING_DIR = ".export-staging";

/** Largest difference between the two engines' outputs an export accepts. */
export const PARITY_TOLERANCE = 1e-4;

export interface ExportedModel extends ModelDir {
  /** Bytes written per file, relative to the directory. */
  sizes: Record<string, number>;
  /** Max abs difference between onnxruntime and tfjs per output name (absent when verify is false). */
  parity?: Record<string, number>;
}

/**
 * Run both files of a written model directory on the same random batch and compare. Uses the
 * files, not the in-memory model, so float16 storage and the tfjs IO path are part of the check.
 */
async function verifyParity(dir: ModelDir): Promise<Record<string, number>> {
  const meta = dir.metadata;
  const batch = 2;
  const shape = [batch, meta.input.height, meta.input.width, 3];
  // Deterministic pseudo-random inputs in roughly the normalised range the network sees.
  const input = new Rng(12345).fill(new Float32Array(shape.reduce((a, b) => a * b)), -0.5, 1.5);
  const session = await ort.InferenceSession.create(dir.onnxPath as string, { executionProviders: ["cpu"], intraOpNumThreads: 1 });
  const reloaded = await loadLayersModel(dir.tfjsPath as string);
  try {
    const out = await session.run({ [meta.input.name]: new ort.Tensor("float32", input, shape) });
    const predicted = tf.tidy(() =>
      (reloaded.predict(tf.tensor4d(input, shape as [number, number, number, number])) as tf.Tensor[]).map((t) => t.dataSync()),
    );
    const byName = new Map(reloaded.outputNames.map((n, i) => [n, predicted[i]]));
    return Object.fromEntries(
      headOutputs(meta).map(({ name }) => [name, maxAbsDiff(out[name].data as Float32Array, byName.get(name) ?? [])]),
    );
  } finally {
    reloaded.dispose();
    await session.release();
  }
}

/**
 * Rename `files` (relative paths) from `staging` into `dir`, as one step for a stop signal: the
 * renames run synchronously, and a SIGINT/SIGTERM that arrives meanwhile and would end the process
 * (no other handler: a second stop, or a process that never asked for a graceful one) is held
 * and raised again once every file is in place. Hand-written: neither Node nor a kept library
 * renames several files atomically.
 */
async function moveIntoPlace(staging: string, dir: string, files: string[]): Promise<void> {
  for (const rel of files) await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
  const held: NodeJS.Signals[] = [];
  const hold = (signal: NodeJS.Signals) => {
    if (process.listenerCount(signal) === 1) held.push(signal);
  };
  process.on("SIGINT", hold);
  process.on("SIGTERM", hold);
  try {
    for (const rel of files) renameSync(path.join(staging, rel), path.join(dir, rel));
  } finally {
    // A signal caught during the renames reaches the handler on a later turn of the event loop;
    // two turns take it past the poll phase that reads it.
    for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve));
    process.off("SIGINT", hold);
    process.off("SIGTERM", hold);
  }
  if (held.length > 0) process.kill(process.pid, held[0]);
}

/**
 * Write `model` with `metadata` to `outDir` (created if needed; existing model files are
 * replaced). Returns the directory as `loadModelDir` sees it, so a broken export fails here.
 */
export async function exportModelDir(
  model: tf.LayersModel,
  metadata: ModelMetadata | ModelMetadataInput,
  outDir: string,
  options: ExportModelOptions = {},
): Promise<ExportedModel> {
  const parsed = ModelMetadataSchema.safeParse(metadata);
  if (!parsed.success) throw new TypeError(`metadata: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  const meta = parsed.data;
  const dir = path.resolve(outDir);
  const existing = await stat(dir).catch(() => undefined);
  if (existing && !existing.isDirectory()) throw new TypeError(`outDir: expected a directory, '${outDir}' is a file`);
  await mkdir(dir, { recursive: true });
  // Everything is written and checked in a staging folder inside the directory, then moved into
  // place file by file (a rename replaces a file atomically): a process ended mid-export (a second
  // stop signal, a kill) leaves the previous model.onnx, tfjs/ and fovea.json in step, not a mix.
  const staging = path.join(dir, STAGING_DIR);
  await rm(staging, { recursive: true, force: true });
  const onnxRel = meta.files.onnx;
  const tfjsDirRel = path.dirname(meta.files.tfjs);
  if (path.basename(meta.files.tfjs) !== "model.json")
    throw new TypeError(`metadata.files.tfjs: expected a path ending in model.json, got '${meta.files.tfjs}'`);

  const onnx = exportOnnx(model, meta, { weightsDtype: options.weightsDtype });
  await mkdir(path.dirname(path.join(staging, onnxRel)), { recursive: true });
  await writeFile(path.join(staging, onnxRel), onnx);
  const saved = await model.save(fsSaveHandler(path.join(staging, tfjsDirRel), { weightsDtype: options.weightsDtype }));
  await writeFile(path.join(staging, METADATA_FILE), JSON.stringify(meta, null, 2) + "\n");

  let parity: Record<string, number> | undefined;
  if (options.verify ?? true) {
    parity = await verifyParity(await loadModelDir(staging));
    if (!Object.values(parity).every((d) => d <= PARITY_TOLERANCE)) {
      await rm(staging, { recursive: true, force: true });
      const diffs = Object.entries(parity)
        .map(([n, d]) => `${n} ${d}`)
        .join(", ");
      throw new Error(
        `export to ${dir}: model.onnx and tfjs/ disagree (max abs diff ${diffs}, tolerance ${PARITY_TOLERANCE}); the exporter does not support this model`,
      );
    }
  }
  await moveIntoPlace(
    staging,
    dir,
    // The weights before the model.json naming them, fovea.json last: it is what a loader opens first.
    [path.join(tfjsDirRel, TFJS_WEIGHTS_FILE), path.join(tfjsDirRel, "model.json"), onnxRel, METADATA_FILE],
  );
  await rm(staging, { recursive: true, force: true });
  const loaded = await loadModelDir(dir);
  return {
    ...loaded,
    ...(parity ? { parity } : {}),
    sizes: {
      [meta.files.onnx]: onnx.byteLength,
      [path.join(path.dirname(meta.files.tfjs), "weights.bin")]: saved.modelArtifactsInfo.weightDataBytes ?? 0,
    },
  };
}
