import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initTfjs } from "../engine/tfjs-backend.js";
import { buildNetwork, defaultMetadata } from "../train/network.js";
import { exportOnnx } from "../train/onnx/export-onnx.js";
import { FoveaInputError } from "./errors.js";
import { loadModelDir } from "./model-dir.js";

let root: string;
const small = defaultMetadata({
  id: "small",
  input: { width: 24, height: 24, channels: 3, name: "input" },
  architecture: { convFilters: [4, 8], kernelSize: 3, padding: "valid", dense: [16], dropout: 0 },
  head: { kind: "grid", rows: 2, cols: 2, classesOutput: "classes", boxesOutput: "boxes" },
});
let onnx: Uint8Array;

async function modelDir(name: string, metadata: unknown, withOnnx = true): Promise<string> {
  const dir = path.join(root, name);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "fovea.json"), JSON.stringify(metadata));
  if (withOnnx) await writeFile(path.join(dir, "model.onnx"), onnx);
  return dir;
}

async function failure(dir: string): Promise<FoveaInputError> {
  const err = await loadModelDir(dir).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(FoveaInputError);
  return err as FoveaInputError;
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "fovea-modeldir-"));
  await initTfjs("wasm");
  const model = buildNetwork(small, { seed: 1 });
  onnx = exportOnnx(model, small);
  model.dispose();
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("loadModelDir", () => {
  it("opens a valid directory with its metadata and files", async () => {
    const dir = await modelDir("ok", small);
    const m = await loadModelDir(dir);
    expect(m.metadata).toEqual(small);
    expect(m.onnxPath).toBe(path.join(dir, "model.onnx"));
    expect(m.tfjsPath).toBeUndefined();
  });

  it("validates the shipped model and its honest label", async () => {
    const m = await loadModelDir("models/default");
    // Either the untrained stand-in, labelled as such, or a trained model with its provenance.
    if (m.metadata.trained) expect(m.metadata.training?.dataFingerprint).toMatch(/^sha256:/);
    else expect(m.metadata.description).toMatch(/UNTRAINED/);
    expect(m.onnxPath && m.tfjsPath).toBeTruthy();
  });

  it("names a missing directory or fovea.json", async () => {
    const missing = path.join(root, "absent");
    expect((await failure(missing)).where).toBe(missing);
    const empty = path.join(root, "empty");
    await mkdir(empty);
    const err = await failure(empty);
    expect(err.where).toBe(path.join(empty, "fovea.json"));
    expect(err.problem).toMatch(/not found/);
  });

  it("names the field of invalid metadata", async () => {
    const dir = await modelDir("bad-field", { ...small, head: { ...small.head, rows: -1 } });
    const err = await failure(dir);
    expect(err.where).toBe(path.join(dir, "fovea.json"));
    expect(err.problem).toMatch(/^head\.rows: /);
    await writeFile(path.join(dir, "fovea.json"), "{ not json");
    expect((await failure(dir)).problem).toMatch(/expected JSON/);
  });

  it("names a per-class threshold of a class the model does not have, or out of range", async () => {
    const dir = await modelDir("bad-class-threshold", {
      ...small,
      decode: { ...small.decode, classScoreThresholds: { ball: 0.3, basketball: 0.4 } },
    });
    const err = await failure(dir);
    expect(err.problem).toMatch(/^decode\.classScoreThresholds\.basketball: 'basketball' is not one of the model's classes \(ball, /);
    await writeFile(
      path.join(dir, "fovea.json"),
      JSON.stringify({ ...small, decode: { ...small.decode, classScoreThresholds: { ball: 1.5 } } }),
    );
    expect((await failure(dir)).problem).toMatch(/^decode\.classScoreThresholds\.ball: /);
  });

  it("needs a model file", async () => {
    const dir = await modelDir("no-files", small, false);
    expect((await failure(dir)).problem).toMatch(/files: neither files\.onnx .* nor files\.tfjs/);
  });

  it("names the ONNX file and the output when the graph does not match the metadata", async () => {
    const dir = await modelDir("more-classes", { ...small, classes: [...small.classes, "referee"] });
    const err = await failure(dir);
    expect(err.where).toBe(path.join(dir, "model.onnx"));
    expect(err.problem).toContain("output 'classes' has shape [N, 4, 9], fovea.json implies [N, 4, 10]");
    const renamed = await modelDir("renamed-input", { ...small, input: { ...small.input, name: "image" } });
    expect((await failure(renamed)).problem).toContain("expected input 'image' (from fovea.json), found inputs 'input'");
    const junk = await modelDir("junk-onnx", small);
    await writeFile(path.join(junk, "model.onnx"), Buffer.from(await readFile(path.join(junk, "fovea.json"))));
    expect((await failure(junk)).where).toBe(path.join(junk, "model.onnx"));
  });
});
