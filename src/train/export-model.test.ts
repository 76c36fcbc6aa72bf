import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FoveaInputError } from "../core/errors.js";
import { initTfjs } from "../engine/tfjs-backend.js";
import { exportModelDir, loadLayersModel } from "./export-model.js";
import { buildNetwork, defaultMetadata } from "./network.js";
import { roundToFloat16 } from "./onnx/float16.js";

let root: string;
const meta = defaultMetadata({
  id: "export-test",
  input: { width: 32, height: 32, channels: 3, name: "input" },
  architecture: { convFilters: [8, 16], kernelSize: 3, padding: "valid", dense: [32], dropout: 0.2 },
  head: { kind: "grid", rows: 3, cols: 3, classesOutput: "classes", boxesOutput: "boxes" },
});

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "fovea-export-"));
  await initTfjs("wasm");
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("exportModelDir / loadLayersModel", () => {
  it("writes tfjs/, model.onnx and fovea.json that load back to the same weights", async () => {
    const model = buildNetwork(meta, { seed: 9 });
    const out = await exportModelDir(model, meta, path.join(root, "f32"));
    expect(out.metadata).toEqual(meta);
    expect(out.parity?.classes).toBeLessThanOrEqual(1e-4);
    expect(out.parity?.boxes).toBeLessThanOrEqual(1e-4);
    expect((await exportModelDir(model, meta, path.join(root, "unverified"), { verify: false })).parity).toBeUndefined();
    expect(JSON.parse(await readFile(path.join(out.dir, "fovea.json"), "utf8"))).toEqual(meta);
    expect((await stat(path.join(out.dir, "model.onnx"))).size).toBe(out.sizes["model.onnx"]);
    for (const target of [out.dir, path.join(out.dir, "tfjs"), path.join(out.dir, "tfjs", "model.json")]) {
      const loaded = await loadLayersModel(target);
      expect(loaded.outputNames).toEqual(["classes", "boxes"]);
      const a = model.getWeights().map((w) => Array.from(w.dataSync()));
      const b = loaded.getWeights().map((w) => Array.from(w.dataSync()));
      expect(b).toEqual(a);
      loaded.dispose();
    }
    model.dispose();
  });

  it("float16 halves the files and loads as the half-rounded weights", async () => {
    const model = buildNetwork(meta, { seed: 9 });
    const f32 = await exportModelDir(model, meta, path.join(root, "a32"));
    const f16 = await exportModelDir(model, meta, path.join(root, "a16"), { weightsDtype: "float16" });
    expect(f16.sizes["tfjs/weights.bin"] * 2).toBe(f32.sizes["tfjs/weights.bin"]);
    expect(f16.sizes["model.onnx"]).toBeLessThan(f32.sizes["model.onnx"] * 0.6);
    const loaded = await loadLayersModel(f16.dir);
    const original = model.getWeights();
    loaded.getWeights().forEach((w, i) => {
      expect(Array.from(w.dataSync())).toEqual(Array.from(roundToFloat16(original[i].dataSync() as Float32Array)));
    });
    loaded.dispose();
    model.dispose();
  });

  it("rejects bad arguments and names unreadable model files", async () => {
    const model = buildNetwork(meta, { seed: 1 });
    await expect(exportModelDir(model, { ...meta, id: "" }, path.join(root, "x"))).rejects.toThrow(/^metadata: id: /);
    const file = path.join(root, "a-file");
    await writeFile(file, "x");
    await expect(exportModelDir(model, meta, file)).rejects.toThrow(/^outDir: /);
    model.dispose();
    const missing = await loadLayersModel(path.join(root, "nowhere")).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(FoveaInputError);
    await writeFile(
      path.join(root, "model.json"),
      JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: ["gone.bin"], weights: [] }] }),
    );
    const err = (await loadLayersModel(path.join(root, "model.json")).catch((e: unknown) => e)) as FoveaInputError;
    expect(err).toBeInstanceOf(FoveaInputError);
    expect(err.where).toBe(path.join(root, "gone.bin"));
  });
});
