/**
 * Both engines on the same randomly initialised network, exported by our own exporter: same
 * scores (max abs diff <= 1e-4), for float32 and float16 weight files, batch 1 and 3.
 */
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FoveaInputError } from "../core/errors.js";
import { headOutputs } from "../core/head-outputs.js";
import { exportModelDir } from "../train/export-model.js";
import { buildNetwork, defaultMetadata } from "../train/network.js";
import { createEngine } from "./create-engine.js";
import { OnnxRuntimeEngine } from "./onnxruntime-engine.js";
import { initTfjs } from "./tfjs-backend.js";
import { TfjsEngine } from "./tfjs-engine.js";
import { Rng } from "../core/prng.js";
import { maxAbsDiff } from "../core/max-abs-diff.js";

let root: string;
const dirs: Record<"f32" | "f16", string> = { f32: "", f16: "" };
const meta = defaultMetadata({ id: "engine-parity" });
const N = 100 * 100 * 3;

function randomInput(n: number, seed: number): Float32Array {
  return new Rng(seed).fill(new Float32Array(n));
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "fovea-engines-"));
  await initTfjs("wasm");
  const model = buildNetwork(meta, { seed: 42 });
  dirs.f32 = (await exportModelDir(model, meta, path.join(root, "f32"))).dir;
  dirs.f16 = (await exportModelDir(model, meta, path.join(root, "f16"), { weightsDtype: "float16" })).dir;
  model.dispose();
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("engine parity", () => {
  for (const dtype of ["f32", "f16"] as const) {
    it(`onnxruntime cpu and tfjs wasm give the same scores (${dtype} weights)`, async () => {
      const ortEngine = await OnnxRuntimeEngine.create({ modelDir: dirs[dtype], device: "cpu", threads: 2 });
      const tfEngine = await TfjsEngine.create({ modelDir: dirs[dtype], device: "wasm" });
      expect([ortEngine.engine, ortEngine.device, tfEngine.engine, tfEngine.device]).toEqual(["onnxruntime", "cpu", "tfjs", "wasm"]);
      for (const [batch, seed] of [
        [1, 1],
        [3, 2],
      ]) {
        const input = randomInput(batch * N, seed);
        const a = await ortEngine.run(input, batch);
        const b = await tfEngine.run(input, batch);
        expect(a.classes.length).toBe(batch * 100 * 9);
        expect(a.boxes.length).toBe(batch * 100 * 4);
        expect(maxAbsDiff(a.classes, b.classes)).toBeLessThanOrEqual(1e-4);
        expect(maxAbsDiff(a.boxes, b.boxes)).toBeLessThanOrEqual(1e-4);
        // The scores are not a constant: cells and classes differ, so the comparison has teeth.
        expect(Math.max(...a.classes) - Math.min(...a.classes)).toBeGreaterThan(1e-2);
      }
      await ortEngine.dispose();
      await tfEngine.dispose();
    });
  }

  it("the shipped models/default agrees between engines", async () => {
    const ortEngine = await OnnxRuntimeEngine.create({ modelDir: "models/default", threads: 1 });
    const tfEngine = await TfjsEngine.create({ modelDir: "models/default", device: "wasm" });
    const { input: size } = ortEngine.metadata;
    const input = randomInput(size.width * size.height * 3, 11);
    const [a, b] = [await ortEngine.run(input), await tfEngine.run(input)];
    const names = headOutputs(ortEngine.metadata).map((o) => o.name);
    expect(Object.keys(a).sort()).toEqual([...names].sort());
    for (const name of names) expect(maxAbsDiff(a[name], b[name]), name).toBeLessThanOrEqual(1e-4);
    await Promise.all([ortEngine.dispose(), tfEngine.dispose()]);
  });

  it("reuses the input tensor for the same buffer yet sees its new contents", async () => {
    const e = await OnnxRuntimeEngine.create({ modelDir: dirs.f32, threads: 1 });
    const buf = randomInput(N, 5);
    const first = Float32Array.from((await e.run(buf)).classes);
    buf.set(randomInput(N, 6));
    const second = (await e.run(buf)).classes;
    const fresh = (await e.run(randomInput(N, 6))).classes;
    expect(first.length).toBe(second.length);
    expect(maxAbsDiff(first, second)).toBeGreaterThan(1e-4);
    expect(maxAbsDiff(second, fresh)).toBe(0);
    await expect(e.run(new Float32Array(10))).rejects.toThrow(/input: expected 30000 floats/);
    await e.dispose();
  });
});

describe("createEngine", () => {
  function captureLog() {
    const lines: Array<Record<string, unknown>> = [];
    const stream = new Writable({
      write(chunk, _enc, cb) {
        lines.push(JSON.parse(String(chunk)));
        cb();
      },
    });
    return { log: pino({ level: "info" }, stream), lines };
  }

  it("auto picks onnxruntime on cpu and says so", async () => {
    const { log, lines } = captureLog();
    const e = await createEngine({ modelDir: dirs.f16, threads: 2 }, log);
    expect([e.engine, e.device]).toEqual(["onnxruntime", "cpu"]);
    expect(lines.some((l) => l.engine === "onnxruntime" && l.device === "cpu")).toBe(true);
    await e.dispose();
  });

  it("auto falls back to tfjs when onnxruntime cannot load, and logs why", async () => {
    const tfjsOnly = path.join(root, "tfjs-only");
    await cp(dirs.f16, tfjsOnly, { recursive: true });
    await rm(path.join(tfjsOnly, "model.onnx"));
    const { log, lines } = captureLog();
    const e = await createEngine({ modelDir: tfjsOnly, device: "auto" }, log);
    expect(e.engine).toBe("tfjs");
    const warning = lines.find((l) => l.level === 40);
    expect(String((warning?.skipped as string[])[0])).toMatch(/^onnxruntime: .*model\.onnx does not exist/);
    expect(lines.at(-1)?.engine).toBe("tfjs");
    await e.dispose();
  });

  it("explains how to install a missing GPU provider", async () => {
    for (const device of ["cuda", "tensorrt"] as const) {
      const err = await createEngine({ modelDir: dirs.f16, engine: "onnxruntime", device }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FoveaInputError);
      expect((err as FoveaInputError).where).toBe(`onnxruntime device ${device}`);
      expect((err as Error).message).toContain("npm install onnxruntime-node --onnxruntime-node-install=cuda12");
    }
  });

  it("runs on webgpu where an adapter exists, else says why it cannot", async () => {
    const made = await OnnxRuntimeEngine.create({ modelDir: dirs.f16, device: "webgpu" }).catch((e: unknown) => e);
    if (made instanceof OnnxRuntimeEngine) {
      const input = randomInput(N, 8);
      const cpu = await OnnxRuntimeEngine.create({ modelDir: dirs.f16, device: "cpu", threads: 1 });
      expect(maxAbsDiff((await made.run(input)).classes, (await cpu.run(input)).classes)).toBeLessThanOrEqual(1e-3);
      await Promise.all([made.dispose(), cpu.dispose()]);
    } else {
      expect(made).toBeInstanceOf(FoveaInputError);
      expect((made as FoveaInputError).problem).toMatch(/^no WebGPU adapter was found .*; use device cpu/);
    }
  });

  it("rejects devices of the other engine and unknown names", async () => {
    await expect(createEngine({ modelDir: dirs.f16, engine: "onnxruntime", device: "wasm" })).rejects.toThrow(
      /'wasm' is a device of tfjs; onnxruntime devices are cpu, webgpu, cuda, tensorrt/,
    );
    await expect(createEngine({ modelDir: dirs.f16, engine: "tfjs", device: "cuda" })).rejects.toThrow(
      /'cuda' is a device of onnxruntime; tfjs devices are tensorflow, wasm, cpu/,
    );
    await expect(createEngine({ modelDir: dirs.f16, device: "tpu" as never })).rejects.toThrow(RangeError);
    await expect(createEngine({ modelDir: path.join(root, "nope") })).rejects.toThrow(FoveaInputError);
  });
});
