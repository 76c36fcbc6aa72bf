/**
 * Writing a model directory (layout in src/core/model-metadata.ts) from a LayersModel:
 * `tfjs/` (LayersModel, for training fine-tunes and the tfjs engine), `model.onnx` (the default
 * engine) and `fovea.json` (metadata, validated). The one way models/default and every trained
 * model are produced.
 */
import { mkdir, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import type * as tf from "@tensorflow/tfjs";
import { METADATA_FILE, loadModelDir, type ModelDir } from "../core/model-dir.js";
import { ModelMetadataSchema, type ModelMetadata, type ModelMetadataInput } from "../core/model-metadata.js";
import { fsSaveHandler, loadLayersModel } from "../engine/tfjs-fs-io.js";
import { exportOnnx, type WeightsDtype } from "./onnx/export-onnx.js";

export { loadLayersModel };

export interface ExportModelOptions {
  /**
   * Storage type of the weights in both files. `float16` halves the directory; both engines
   * then compute with the same (rounded) weights in float32, so they still agree. Default float32.
   */
  weightsDtype?: WeightsDtype;
}

export interface ExportedModel extends ModelDir {
  /** Bytes written per file, relative to the directory. */
  sizes: Record<string, number>;
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

  const onnx = exportOnnx(model, meta, { weightsDtype: options.weightsDtype });
  const onnxPath = path.resolve(dir, meta.files.onnx);
  await mkdir(path.dirname(onnxPath), { recursive: true });
  await writeFile(onnxPath, onnx);

  const tfjsPath = path.resolve(dir, meta.files.tfjs);
  if (path.basename(tfjsPath) !== "model.json") throw new TypeError(`metadata.files.tfjs: expected a path ending in model.json, got '${meta.files.tfjs}'`);
  const saved = await model.save(fsSaveHandler(path.dirname(tfjsPath), { weightsDtype: options.weightsDtype }));

  await writeFile(path.join(dir, METADATA_FILE), JSON.stringify(meta, null, 2) + "\n");
  const loaded = await loadModelDir(dir);
  return {
    ...loaded,
    sizes: {
      [meta.files.onnx]: onnx.byteLength,
      [path.join(path.dirname(meta.files.tfjs), "weights.bin")]: saved.modelArtifactsInfo.weightDataBytes ?? 0,
    },
  };
}
