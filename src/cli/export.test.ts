import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FoveaInputError } from "../core/errors.js";
import { loadModelDir } from "../core/model-dir.js";
import { OnnxRuntimeEngine } from "../engine/onnxruntime-engine.js";
import { initTfjs } from "../engine/tfjs-backend.js";
import { fsSaveHandler } from "../engine/tfjs-fs-io.js";
import { buildNetwork } from "../train/network.js";
import { runExport, untrainedMetadata } from "./export.js";

const REPO = path.resolve(import.meta.dirname, "..", "..");

/** The real `fovea` command (TypeScript sources through the project's test loader). */
function fovea(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", path.join(REPO, "test", "record-ts-loader.mjs"), path.join(REPO, "src", "cli", "main.ts"), ...args],
      { cwd: REPO, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "fovea-cli-export-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const base = { seed: 3, weights: "float32" as const };

describe("fovea export", () => {
  it("--untrained writes an honestly labelled stand-in that --from re-exports to the same scores", async () => {
    const a = await runExport({ ...base, untrained: true, out: path.join(root, "untrained") });
    expect(a.metadata.trained).toBe(false);
    expect(a.metadata.id).toBe("fovea-untrained-seed3");
    expect(a.metadata.description).toMatch(/^UNTRAINED/);
    expect(a.parity?.classes).toBeLessThanOrEqual(1e-4);
    const b = await runExport({ ...base, from: a.dir, out: path.join(root, "re-exported"), id: "copy" });
    expect((await loadModelDir(b.dir)).metadata.id).toBe("copy");
    const input = Float32Array.from({ length: 30000 }, (_, i) => (i % 97) / 97);
    const [ea, eb] = await Promise.all([
      OnnxRuntimeEngine.create({ modelDir: a.dir, threads: 1 }),
      OnnxRuntimeEngine.create({ modelDir: b.dir, threads: 1 }),
    ]);
    expect(Array.from((await eb.run(input)).classes)).toEqual(Array.from((await ea.run(input)).classes));
    await Promise.all([ea.dispose(), eb.dispose()]);
  });

  it("--from a bare tfjs checkpoint with --metadata writes a full model directory", async () => {
    await initTfjs("wasm");
    const meta = { ...(await untrainedMetadata(7)), id: "from-checkpoint" };
    const model = buildNetwork(meta, { seed: 7 });
    const ckpt = path.join(root, "ckpt");
    await model.save(fsSaveHandler(ckpt));
    model.dispose();
    const metaFile = path.join(root, "meta.json");
    await writeFile(metaFile, JSON.stringify(meta));
    const r = await runExport({ ...base, from: ckpt, metadata: metaFile, out: path.join(root, "from-ckpt") });
    const dir = await loadModelDir(r.dir);
    expect([dir.metadata.id, Boolean(dir.onnxPath), Boolean(dir.tfjsPath)]).toEqual(["from-checkpoint", true, true]);
    expect(r.parity?.boxes).toBeLessThanOrEqual(1e-4);
    await expect(runExport({ ...base, from: ckpt, metadata: path.join(root, "nope.json"), out: path.join(root, "x") })).rejects.toThrow(
      /^--metadata: file not found/,
    );
  });

  it("names the flag at fault", async () => {
    const both = await runExport({ ...base, untrained: true, from: root, out: path.join(root, "x") }).catch((e: unknown) => e);
    expect(both).toBeInstanceOf(FoveaInputError);
    expect((both as FoveaInputError).where).toBe("--from/--untrained");
    await expect(runExport({ ...base, out: path.join(root, "x") })).rejects.toThrow(/^--from\/--untrained: expected exactly one/);
    await expect(runExport({ ...base, from: path.join(root, "missing"), out: path.join(root, "x") })).rejects.toThrow(/^--from: not found/);
    await expect(runExport({ ...base, from: root, out: path.join(root, "x") })).rejects.toThrow(/^--from: no fovea\.json/);
  });
});

describe("fovea export (process)", () => {
  // One child process only: each one transpiles the whole CLI's sources on start.
  it("exits 2 naming the flag when --from does not exist", async () => {
    const bad = await fovea(["export", "--from", path.join(root, "missing"), "--out", path.join(root, "y")]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`fovea: --from: not found: ${path.join(root, "missing")}`);
  }, 120_000);
});
