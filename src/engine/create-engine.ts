/**
 * Engine selection. `auto` takes the first engine that loads — onnxruntime (cpu unless a GPU
 * device was asked for), then tfjs — and logs which one runs and why the others did not.
 */
import type { Logger } from "pino";
import { FoveaInputError } from "../core/errors.js";
import { loadModelDir } from "../core/model-dir.js";
import type { EngineOptions, InferenceEngine } from "./engine.js";
import { ONNX_DEVICES, OnnxRuntimeEngine, type OnnxDevice } from "./onnxruntime-engine.js";
import type { TfjsBackendPreference } from "./tfjs-backend.js";

const TFJS_DEVICES: readonly string[] = ["tensorflow", "wasm", "cpu"];

/** Create the inference engine `options` ask for; throws FoveaInputError naming what could not load. */
export async function createEngine(options: EngineOptions, log?: Logger): Promise<InferenceEngine> {
  const engine = options.engine ?? "auto";
  const device = options.device ?? "auto";
  if (!["auto", "onnxruntime", "tfjs"].includes(engine)) throw new RangeError(`options.engine: expected auto, onnxruntime or tfjs, got '${engine}'`);
  if (device !== "auto" && !ONNX_DEVICES.includes(device as OnnxDevice) && !TFJS_DEVICES.includes(device)) {
    throw new RangeError(`options.device: expected auto, ${[...ONNX_DEVICES, "tensorflow", "wasm"].join(", ")}, got '${device}'`);
  }
  const dir = await loadModelDir(options.modelDir);

  const onnx = () =>
    OnnxRuntimeEngine.create({ modelDir: dir, device: device === "auto" ? "cpu" : (device as OnnxDevice), threads: options.threads });
  // Imported only when tfjs is tried: @tensorflow/tfjs takes about a second to load, which an
  // onnxruntime run (the default) should not pay at start.
  const tfjs = async () => {
    const { TfjsEngine } = await import("./tfjs-engine.js");
    return TfjsEngine.create({ modelDir: dir, device: device === "auto" ? "auto" : (device as TfjsBackendPreference) });
  };

  if (engine === "onnxruntime") {
    if (device !== "auto" && !ONNX_DEVICES.includes(device as OnnxDevice)) {
      throw new FoveaInputError("device", `'${device}' is a tfjs backend; onnxruntime devices are ${ONNX_DEVICES.join(", ")}`);
    }
    return announce(await onnx(), log);
  }
  if (engine === "tfjs") {
    if (device !== "auto" && !TFJS_DEVICES.includes(device)) {
      throw new FoveaInputError("device", `'${device}' is an onnxruntime provider; tfjs devices are ${TFJS_DEVICES.join(", ")}`);
    }
    return announce(await tfjs(), log);
  }

  const candidates: Array<[string, () => Promise<InferenceEngine>]> = [];
  if (device === "auto" || ONNX_DEVICES.includes(device as OnnxDevice)) candidates.push(["onnxruntime", onnx]);
  if (device === "auto" || TFJS_DEVICES.includes(device)) candidates.push(["tfjs", tfjs]);
  const failures: string[] = [];
  for (const [name, make] of candidates) {
    try {
      const e = await make();
      if (failures.length) log?.warn({ skipped: failures }, `engine auto: ${failures.length} engine(s) did not load, using ${e.engine}/${e.device}`);
      return announce(e, log);
    } catch (err) {
      failures.push(`${name}: ${(err as Error).message}`);
    }
  }
  throw new FoveaInputError("engine auto", `no engine could load ${dir.dir}: ${failures.join("; ")}`);
}

function announce(e: InferenceEngine, log?: Logger): InferenceEngine {
  log?.info({ engine: e.engine, device: e.device, model: e.metadata.id, trained: e.metadata.trained }, `inference engine ${e.engine}/${e.device}`);
  return e;
}
