/**
 * TensorFlow.js model files on the local file system. tfjs's `file://` scheme comes with
 * @tensorflow/tfjs-node, which is not installable here, so this is the small IOHandler pair
 * it would have provided: `model.json` (topology + weights manifest) beside one weights file.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { FoveaInputError } from "../core/errors.js";
import { float32ToFloat16 } from "../core/float16.js";

export const TFJS_WEIGHTS_FILE = "weights.bin";

export interface FsSaveOptions {
  /** `float16` stores weights as half floats (tfjs dequantizes them on load). Default `float32`. */
  weightsDtype?: "float32" | "float16";
}

/** A tfjs save handler writing `<dir>/model.json` and `<dir>/weights.bin`. */
export function fsSaveHandler(dir: string, options: FsSaveOptions = {}): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      let specs = artifacts.weightSpecs ?? [];
      let data: Uint8Array = new Uint8Array(
        artifacts.weightData ? tf.io.CompositeArrayBuffer.join(artifacts.weightData) : new ArrayBuffer(0),
      );
      if (options.weightsDtype === "float16") {
        if (specs.some((s) => s.dtype !== "float32" || s.quantization))
          throw new RangeError("weightsDtype float16: every weight must be plain float32");
        data = new Uint8Array(float32ToFloat16(new Float32Array(data.buffer, data.byteOffset, data.byteLength / 4)).buffer);
        specs = specs.map((s) => ({ ...s, quantization: { dtype: "float16" as const } }));
      }
      const modelJson: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology as tf.io.ModelJSON["modelTopology"],
        format: artifacts.format ?? "layers-model",
        generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
        convertedBy: null,
        weightsManifest: [{ paths: [TFJS_WEIGHTS_FILE], weights: specs }],
        ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
        ...(artifacts.userDefinedMetadata ? { userDefinedMetadata: artifacts.userDefinedMetadata } : {}),
      };
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, TFJS_WEIGHTS_FILE), data);
      await writeFile(path.join(dir, "model.json"), JSON.stringify(modelJson));
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: "JSON",
          weightDataBytes: data.byteLength,
        },
      };
    },
  };
}

/** A tfjs load handler reading a `model.json` and the weight files its manifest names. */
export function fsLoadHandler(modelJsonPath: string): tf.io.IOHandler {
  return {
    async load(): Promise<tf.io.ModelArtifacts> {
      let json: tf.io.ModelJSON;
      try {
        json = JSON.parse(await readFile(modelJsonPath, "utf8")) as tf.io.ModelJSON;
      } catch (err) {
        const reason =
          (err as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : `expected a tfjs model.json: ${(err as Error).message}`;
        throw new FoveaInputError(modelJsonPath, reason, { cause: err });
      }
      if (!json.modelTopology || !Array.isArray(json.weightsManifest)) {
        throw new FoveaInputError(modelJsonPath, "expected a tfjs LayersModel model.json with modelTopology and weightsManifest");
      }
      return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const specs: tf.io.WeightsManifestEntry[] = [];
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const p of group.paths) {
            const file = path.join(path.dirname(modelJsonPath), p);
            const bytes = await readFile(file).catch((err: unknown) => {
              throw new FoveaInputError(file, `weights file named in ${modelJsonPath} cannot be read: ${(err as Error).message}`, {
                cause: err,
              });
            });
            buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
          }
        }
        return [specs, buffers];
      });
    },
  };
}

/**
 * Load a LayersModel from disk: `target` is a model.json, a directory holding one, or a fovea
 * model directory (then `tfjs/model.json` inside it).
 */
export async function loadLayersModel(target: string): Promise<tf.LayersModel> {
  const { stat } = await import("node:fs/promises");
  let file = target;
  const st = await stat(target).catch(() => undefined);
  if (!st) throw new FoveaInputError(target, "not found; expected a tfjs model.json or a directory containing one");
  if (st.isDirectory()) {
    const direct = path.join(target, "model.json");
    const nested = path.join(target, "tfjs", "model.json");
    file = (await stat(direct).catch(() => undefined)) ? direct : nested;
    if (!(await stat(file).catch(() => undefined))) {
      throw new FoveaInputError(target, "expected model.json or tfjs/model.json in this directory");
    }
  }
  try {
    return await tf.loadLayersModel(fsLoadHandler(file));
  } catch (err) {
    if (err instanceof FoveaInputError) throw err;
    throw new FoveaInputError(file, `not a loadable tfjs LayersModel: ${(err as Error).message}`, { cause: err });
  }
}
