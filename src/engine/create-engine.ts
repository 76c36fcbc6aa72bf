/**
 * Engine selection. `auto` takes the first engine of the registry (src/engine/registry.ts) that
 * loads on the device asked for — onnxruntime (cpu unless a GPU device was asked for), then
 * tfjs — and logs which one runs and why the others did not.
 */
import type { Logger } from "pino";
import { FoveaInputError } from "../core/errors.js";
import { loadModelDir } from "../core/model-dir.js";
import type { EngineOptions, InferenceEngine } from "./engine.js";
import { DEVICE_NAMES, ENGINE_NAMES, ENGINE_REGISTRY, engineEntry, type EngineEntry } from "./registry.js";

/** Create the inference engine `options` ask for; throws FoveaInputError naming what could not load. */
export async function createEngine(options: EngineOptions, log?: Logger): Promise<InferenceEngine> {
  const engine = options.engine ?? "auto";
  const device = options.device ?? "auto";
  if (engine !== "auto" && !engineEntry(engine))
    throw new RangeError(`options.engine: expected auto, ${ENGINE_NAMES.join(", ")}, got '${engine}'`);
  if (device !== "auto" && !(DEVICE_NAMES as readonly string[]).includes(device)) {
    throw new RangeError(`options.device: expected auto, ${DEVICE_NAMES.join(", ")}, got '${device}'`);
  }
  const dir = await loadModelDir(options.modelDir);
  const make = async (e: EngineEntry) =>
    (await e.load()).create({
      modelDir: dir,
      device: device === "auto" ? e.autoDevice : device,
      threads: options.threads,
      framePathThreads: options.framePathThreads,
      framePathSpinning: options.framePathSpinning,
    });

  if (engine !== "auto") {
    const entry = engineEntry(engine)!;
    if (device !== "auto" && !entry.devices.includes(device)) {
      const owners = ENGINE_REGISTRY.filter((e) => (e.devices as readonly string[]).includes(device)).map((e) => e.name);
      throw new FoveaInputError(
        "device",
        `'${device}' is a device of ${owners.join(", ")}; ${entry.name} devices are ${entry.devices.join(", ")}`,
      );
    }
    return announce(await make(entry), log);
  }

  const candidates = ENGINE_REGISTRY.filter((e) => device === "auto" || (e.devices as readonly string[]).includes(device));
  const failures: string[] = [];
  for (const entry of candidates) {
    try {
      const e = await make(entry);
      if (failures.length)
        log?.warn({ skipped: failures }, `engine auto: ${failures.length} engine(s) did not load, using ${e.engine}/${e.device}`);
      return announce(e, log);
    } catch (err) {
      failures.push(`${entry.name}: ${(err as Error).message}`);
    }
  }
  throw new FoveaInputError("engine auto", `no engine could load ${dir.dir}: ${failures.join("; ")}`);
}

function announce(e: InferenceEngine, log?: Logger): InferenceEngine {
  log?.info(
    { engine: e.engine, device: e.device, model: e.metadata.id, trained: e.metadata.trained },
    `inference engine ${e.engine}/${e.device}`,
  );
  return e;
}
