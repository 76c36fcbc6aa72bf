import { execFile } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";

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
});
