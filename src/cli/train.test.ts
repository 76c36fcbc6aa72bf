import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { pngImage, tempDir } from "../dataset/test-helpers.js";
import { confuserWeights } from "./train.js";

const REPO = path.resolve(import.meta.dirname, "..", "..");

/** The real `fovea` command (TypeScript sources through the project's test loader). */
function fovea(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", path.join(REPO, "test", "record-ts-loader.mjs"), path.join(REPO, "src", "cli", "main.ts"), ...args],
      { cwd: REPO, timeout: 60_000 },
      (err, _stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
    );
  });
}

describe("fovea train flags", () => {
  // The loss weights are read before any data is, so a typo fails at once with exit 2 and the flag's name.
  it.each([
    ["--box-weight", "0"],
    ["--positive-weight", "heavy"],
  ])("%s %s exits 2 naming the flag", async (flag, value) => {
    const r = await fovea(["train", "--data", "nowhere", "--epochs", "1", "--out", "nowhere-out", flag, value]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${flag}: expected a positive number, got '${value}'`);
  });

  it("--fit takes fill, letterbox or crop, for a fresh model only", async () => {
    const bad = await fovea(["train", "--data", "nowhere", "--epochs", "1", "--out", "nowhere-out", "--fit", "stretch"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--fit <rule>.*'stretch'.*fill, letterbox, crop/);
    const from = await fovea([
      "train",
      "--data",
      "nowhere",
      "--epochs",
      "1",
      "--out",
      "nowhere-out",
      "--from",
      "models/default",
      "--fit",
      "crop",
    ]);
    expect(from.code).toBe(2);
    expect(from.stderr).toContain("--fit");
    expect(from.stderr).toContain("--from keeps the model's own");
  });

  it("--widths takes conv/neck/head filters, for a fresh or resized model only", async () => {
    const base = ["train", "--data", "nowhere", "--epochs", "1", "--out", "nowhere-out"];
    const bad = await fovea([...base, "--widths", "16-24"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--widths: expected conv/neck/head filters like 16-24-48-64/64-64d2/32, got '16-24'");
    const fineTune = await fovea([...base, "--from", "models/default", "--fine-tune", "--widths", "16-24-48-64/64-64/32"]);
    expect(fineTune.code).toBe(2);
    expect(fineTune.stderr).toContain("--widths: --fine-tune keeps the model's network");
  });

  it("--stem takes a kernel at stride 2, for a heatmap network only", async () => {
    const base = ["train", "--data", "nowhere", "--epochs", "1", "--out", "nowhere-out"];
    const bad = await fovea([...base, "--stem", "4s4"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--stem: expected a first conv of kernel 2 to 8 at stride 2 like 4s2, got '4s4'");
    const grid = await fovea([...base, "--network", "cells", "--stem", "4s2"]);
    expect(grid.code).toBe(2);
    expect(grid.stderr).toContain("--stem: sets the first conv of a heatmap network, not of --network cells");
  });

  it("--class-weights takes class=weight pairs of the model's classes", async () => {
    const base = ["train", "--data", "nowhere", "--epochs", "1", "--out", "nowhere-out"];
    const bad = await fovea([...base, "--class-weights", "ball:2"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--class-weights: expected class=weight pairs with positive weights like ball=2,robot=2, got 'ball:2'");
  });

  it("--confuser-weights takes class:other=weight pairs", async () => {
    const base = ["train", "--data", "nowhere", "--epochs", "1", "--out", "nowhere-out"];
    const bad = await fovea([...base, "--confuser-weights", "ball=2"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(
      "--confuser-weights: expected class:other=weight pairs with positive weights like ball:robot=3,ball:obstacle=2, got 'ball=2'",
    );
  });

  // The class names are checked against the model's classes, known once the data is read: a
  // one-frame COCO set (the images are not decoded before the check).
  it("--confuser-weights names a class the model lacks, and needs a heatmap network (exit 2)", async () => {
    const { dir, cleanup } = await tempDir("confusers");
    try {
      await writeFile(path.join(dir, "a.png"), await pngImage(16, 16));
      const coco = {
        images: [{ id: 1, file_name: "a.png", width: 16, height: 16 }],
        annotations: [{ id: 1, image_id: 1, category_id: 2, bbox: [2, 2, 8, 12] }],
        categories: [
          { id: 1, name: "ball" },
          { id: 2, name: "robot" },
        ],
      };
      await writeFile(path.join(dir, "annotations.json"), JSON.stringify(coco));
      const base = ["train", "--data", dir, "--epochs", "1", "--out", path.join(dir, "out"), "--backend", "cpu", "--no-progress"];
      const unknown = await fovea([...base, "--confuser-weights", "ball:robot=3,ball:obstacle=2"]);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain("--confuser-weights: class 'obstacle' is not a class of the model (ball, robot)");
      const grid = await fovea([...base, "--network", "cells", "--confuser-weights", "ball:robot=3"]);
      expect(grid.code).toBe(2);
      expect(grid.stderr).toContain("--confuser-weights: weights a heatmap network's negative cells, not a grid head's");
    } finally {
      await cleanup();
    }
  });
});

describe("--confuser-weights parser", () => {
  it("reads pairs per class, several per class", () => {
    expect(confuserWeights("ball:robot=3,ball:obstacle=2")).toEqual({ ball: { robot: 3, obstacle: 2 } });
    expect(confuserWeights(" ball : robot = 1.5 , goal_post:robot=2e0")).toEqual({ ball: { robot: 1.5 }, goal_post: { robot: 2 } });
  });

  it.each([
    ["ball=3", "expected class:other=weight pairs with positive weights like ball:robot=3,ball:obstacle=2, got 'ball=3'"],
    ["ball:robot", "expected class:other=weight pairs"],
    ["ball:robot=3,", "expected class:other=weight pairs"],
    ["ball:robot=heavy", "expected class:other=weight pairs"],
    ["ball:ball=3", "'ball:ball=3' pairs a class with itself; expected two different classes like ball:robot=3"],
    ["ball:robot=0", "'ball:robot=0': expected a positive finite weight, got 0"],
    ["ball:robot=-2", "'ball:robot=-2': expected a positive finite weight, got -2"],
    ["ball:robot=1e999", "'ball:robot=1e999': expected a positive finite weight, got 1e999"],
  ])("rejects %s naming the flag", (v, message) => {
    expect(() => confuserWeights(v)).toThrow(`--confuser-weights: ${message}`);
  });
});
