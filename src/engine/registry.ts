/**
 * The inference engines fovea can run, in the order `--engine auto` tries them. Everything that
 * lists engines or devices (the auto ladder, config validation, every CLI `--engine`/`--device`
 * choice, the bench matrix) derives from this table, so a new engine is its implementation file
 * plus one entry here. Implementations are imported when used: a run should not load the
 * engines it does not use (@tensorflow/tfjs alone takes about a second).
 */
import type { ModelDir } from "../core/model-dir.js";
import type { InferenceEngine } from "./engine.js";

/** What an engine module provides: a `static async create()`, onnxruntime-node style. */
export interface EngineFactory {
  create(options: {
    modelDir: ModelDir;
    device: string;
    threads?: number;
    framePathThreads?: number;
    framePathSpinning?: boolean;
  }): Promise<InferenceEngine>;
}

/**
 * Engine names and their devices (execution providers, backends), preferred first. Kept apart
 * from the loaders below so the names' types do not depend on the engines' own types.
 */
export const ENGINE_DEVICES = {
  onnxruntime: ["cpu", "webgpu", "cuda", "tensorrt"],
  tfjs: ["tensorflow", "wasm", "cpu"],
} as const;

export type EngineName = keyof typeof ENGINE_DEVICES;
export type DeviceName = (typeof ENGINE_DEVICES)[EngineName][number];

export interface EngineEntry {
  readonly name: EngineName;
  readonly devices: readonly DeviceName[];
  /** The device `--device auto` asks this engine for. */
  readonly autoDevice: string;
  readonly load: () => Promise<EngineFactory>;
}

/** In the order `--engine auto` tries them. */
export const ENGINE_REGISTRY: readonly EngineEntry[] = [
  {
    name: "onnxruntime",
    devices: ENGINE_DEVICES.onnxruntime,
    autoDevice: "cpu",
    load: async () => {
      const { OnnxRuntimeEngine } = await import("./onnxruntime-engine.js");
      return { create: (o) => OnnxRuntimeEngine.create({ ...o, device: o.device as (typeof ENGINE_DEVICES.onnxruntime)[number] }) };
    },
  },
  {
    name: "tfjs",
    devices: ENGINE_DEVICES.tfjs,
    // tfjs's own ladder: tfjs-node(-gpu) when installed, else wasm, else cpu.
    autoDevice: "auto",
    load: async () => {
      const { TfjsEngine } = await import("./tfjs-engine.js");
      return { create: (o) => TfjsEngine.create({ modelDir: o.modelDir, device: o.device as "auto" }) };
    },
  },
];

export const ENGINE_NAMES = Object.keys(ENGINE_DEVICES) as EngineName[];
/** Every device of every engine, without repeats, in registry order. */
export const DEVICE_NAMES: readonly DeviceName[] = [...new Set(Object.values(ENGINE_DEVICES).flat())];

/** Every (engine, device) pair, for the bench's `--all` matrix. */
export function engineMatrix(): Array<{ engine: EngineName; device: DeviceName }> {
  return ENGINE_REGISTRY.flatMap((e) => e.devices.map((device) => ({ engine: e.name, device })));
}

export function engineEntry(name: string): EngineEntry | undefined {
  return ENGINE_REGISTRY.find((e) => e.name === name);
}
