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

export interface EngineEntry {
  readonly name: string;
  /** Devices (execution providers, backends) it runs on, preferred first. */
  readonly devices: readonly string[];
  /** The device `--device auto` asks this engine for. */
  readonly autoDevice: string;
  readonly load: () => Promise<EngineFactory>;
}

/** In the order `--engine auto` tries them. */
export const ENGINE_REGISTRY = [
  {
    name: "onnxruntime",
    devices: ["cpu", "webgpu", "cuda", "tensorrt"],
    autoDevice: "cpu",
    load: async (): Promise<EngineFactory> => {
      const { OnnxRuntimeEngine } = await import("./onnxruntime-engine.js");
      return { create: (o) => OnnxRuntimeEngine.create({ ...o, device: o.device as "cpu" }) };
    },
  },
  {
    name: "tfjs",
    devices: ["tensorflow", "wasm", "cpu"],
    // tfjs's own ladder: tfjs-node(-gpu) when installed, else wasm, else cpu.
    autoDevice: "auto",
    load: async (): Promise<EngineFactory> => {
      const { TfjsEngine } = await import("./tfjs-engine.js");
      return { create: (o) => TfjsEngine.create({ modelDir: o.modelDir, device: o.device as "auto" }) };
    },
  },
] as const satisfies readonly EngineEntry[];

export type EngineName = (typeof ENGINE_REGISTRY)[number]["name"];
export type DeviceName = (typeof ENGINE_REGISTRY)[number]["devices"][number];
/** Each engine's devices, by engine name. */
export const ENGINE_DEVICES = Object.fromEntries(ENGINE_REGISTRY.map((e) => [e.name, e.devices])) as {
  readonly [E in (typeof ENGINE_REGISTRY)[number] as E["name"]]: E["devices"];
};

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
