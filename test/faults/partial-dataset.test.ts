/**
 * Fault: `fovea synth` killed mid-run (issue 12, defect 6: an interrupted synth left a partial
 * dataset that eval accepted as complete). Promise: each writer adds the file that marks a
 * dataset finished last (native fovea-dataset.json, YOLO classes.txt, COCO annotations.json), so
 * what a killed synth leaves is refused by `fovea eval` and `fovea train` with exit 2 and a
 * message that names --data and says the dataset is incomplete.
 * Real `fovea synth` processes killed with SIGKILL (nothing of theirs runs after it), real
 * `fovea eval` and `fovea train` processes reading what they left.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, startCli, until } from "./support/cli.js";

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "fovea-faults-partial-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const INCOMPLETE = {
  native: /^fovea: --data: incomplete native dataset: labels\.jsonl without fovea-dataset\.json, .*was fovea synth interrupted\?/m,
  yolo: /^fovea: --data: incomplete YOLO dataset: labels\/ without a classes file \(classes\.txt\), .*was fovea synth interrupted\?/m,
  coco: /^fovea: --data: incomplete dataset: images\/ without labels \(.*COCO annotations\.json; .*was fovea synth interrupted\?/m,
} as const;

/** A `fovea synth` killed once it has written a few frames; returns its output folder. */
async function killedSynth(format: keyof typeof INCOMPLETE): Promise<string> {
  const out = path.join(dir, format);
  const run = startCli(["synth", "--out", out, "--frames", "5000", "--size", "64x48", "--format", format, "--image-format", "png"]);
  await until(
    async () => (await readdir(path.join(out, "images")).catch(() => [])).length >= 3,
    `synth --format ${format} to write frames`,
  );
  run.child.kill("SIGKILL");
  expect((await run.exit).signal).toBe("SIGKILL");
  return out;
}

describe("a dataset whose fovea synth was killed", () => {
  it.each(Object.keys(INCOMPLETE) as Array<keyof typeof INCOMPLETE>)("%s: fovea eval refuses it as incomplete (exit 2)", async (format) => {
    const out = await killedSynth(format);
    const { code, stderr } = await runCli(["eval", "--model", "models/default", "--data", out]);
    expect(stderr).toMatch(INCOMPLETE[format]);
    expect(code).toBe(2);
  });

  it("native: fovea train refuses it as incomplete (exit 2) and writes no model", async () => {
    const out = path.join(dir, "native");
    const model = path.join(dir, "model");
    const { code, stderr } = await runCli(["train", "--data", out, "--epochs", "1", "--out", model, "--backend", "cpu", "--no-progress"]);
    expect(stderr).toMatch(INCOMPLETE.native);
    expect(code).toBe(2);
    await expect(readdir(model)).rejects.toThrow(/ENOENT/);
  });
});
