/**
 * Fault: a COCO file whose image size contradicts the image (issue 12, defect 6: it was
 * accepted, and every pixel box of that image was normalised by the wrong size, so the labels
 * moved without any box lying outside). Promise: like any other malformed label, it stops the
 * read with exit 2 and a message naming the annotations file and line, the image and both sizes.
 * A real `fovea synth --format coco` dataset with one size edited, read by real `fovea eval` and
 * `fovea train` processes.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./support/cli.js";

let dir: string;
let data: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "fovea-faults-coco-"));
  data = path.join(dir, "coco");
  const synth = await runCli(["synth", "--out", data, "--frames", "3", "--size", "64x48", "--format", "coco", "--seed", "4"]);
  expect(synth.code).toBe(0);
  // The second image claims twice its size: its boxes would all shrink to half, none outside.
  const file = path.join(data, "annotations.json");
  const text = await readFile(file, "utf8");
  const edited = text.replace(/("id":2,"file_name":"[^"]+",)"width":64,"height":48/, '$1"width":128,"height":96');
  expect(edited).not.toBe(text);
  await writeFile(file, edited);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("a COCO image size that contradicts the image", () => {
  it.each([
    ["eval", ["--model", "models/default"]],
    ["train", ["--epochs", "1", "--backend", "cpu", "--no-progress"]],
  ])("fovea %s exits 2 naming the file, the line, the image and both sizes", async (command, flags) => {
    const out = path.join(dir, `out-${command}`);
    const { code, stderr } = await runCli([command, "--data", data, ...flags, ...(command === "train" ? ["--out", out] : [])]);
    const annotations = path.join(data, "annotations.json");
    const line = (await readFile(annotations, "utf8")).split("\n").findIndex((l) => l.includes('"id":2,"file_name"')) + 1;
    expect(stderr).toContain(
      `fovea: ${annotations}:${line}: images.1: width x height 128x96 contradicts the image ${path.join(data, "images", "000001.jpg")}, which is 64x48`,
    );
    expect(code).toBe(2);
  });
});
