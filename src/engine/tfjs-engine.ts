/**
 * The reference/fallback engine: the model directory's tfjs LayersModel on a TensorFlow.js backend
 * (tensorflow via tfjs-node[-gpu] when installed, else wasm, else cpu).
 */
import type * as tfjs from "@tensorflow/tfjs";
import { FoveaInputError } from "../core/errors.js";
import { loadModelDir, type ModelDir } from "../core/model-dir.js";
import { headOutputs } from "../core/head-outputs.js";
import type { ModelMetadata } from "../core/model-metadata.js";
import type { EngineOutput, InferenceEngine } from "./engine.js";
import { initTfjs, type TfjsBackendName, type TfjsBackendPreference } from "./tfjs-backend.js";
import { loadLayersModel } from "./tfjs-fs-io.js";

export interface TfjsEngineOptions {
  /** Model directory path, or one already opened with loadModelDir. */
  modelDir: string | ModelDir;
  /** Backend; `auto` takes the fastest that loads. Default auto. */
  device?: TfjsBackendPreference;
}

export class TfjsEngine implements InferenceEngine {
  readonly engine = "tfjs" as const;

  private constructor(
    private readonly tf: typeof tfjs,
    private readonly model: tfjs.LayersModel,
    readonly metadata: ModelMetadata,
    readonly device: TfjsBackendName,
    /** Backends `auto` skipped and why (for the log). */
    readonly skipped: string[],
  ) {}

  static async create(options: TfjsEngineOptions): Promise<TfjsEngine> {
    const preference = options.device ?? "auto";
    const dir = typeof options.modelDir === "string" ? await loadModelDir(options.modelDir) : options.modelDir;
    if (!dir.tfjsPath)
      throw new FoveaInputError(dir.metadataPath, `files.tfjs: ${dir.metadata.files.tfjs} does not exist; the tfjs engine needs it`);
    const { tf, backend, skipped } = await initTfjs(preference);
    const model = await loadLayersModel(dir.tfjsPath);
    const names = model.outputNames;
    const expected = headOutputs(dir.metadata).map((o) => o.name);
    if (names.length !== expected.length || expected.some((n) => !names.includes(n))) {
      model.dispose();
      throw new FoveaInputError(
        dir.tfjsPath,
        `expected outputs ${expected.map((n) => `'${n}'`).join(" and ")} (from fovea.json), found ${names.map((n) => `'${n}'`).join(", ")}`,
      );
    }
    return new TfjsEngine(tf, model, dir.metadata, backend, skipped);
  }

  async run(input: Float32Array, batch = 1): Promise<EngineOutput> {
    const inp = this.metadata.input;
    const per = inp.height * inp.width * 3;
    if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`batch: expected a positive integer, got ${batch}`);
    if (input.length !== per * batch)
      throw new RangeError(`input: expected ${per * batch} floats (batch ${batch} x ${inp.height}x${inp.width}x3), got ${input.length}`);
    const tf = this.tf;
    const outputs = tf.tidy(() => this.model.predict(tf.tensor4d(input, [batch, inp.height, inp.width, 3])) as tfjs.Tensor[]);
    try {
      const data = await Promise.all(outputs.map((t) => t.data()));
      return Object.fromEntries(this.model.outputNames.map((n, i) => [n, data[i] as Float32Array]));
    } finally {
      for (const t of outputs) t.dispose();
    }
  }

  async dispose(): Promise<void> {
    this.model.dispose();
  }
}
