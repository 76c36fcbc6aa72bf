/**
 * The first start without a cached synthetic clip says on stderr that it renders the clip (and
 * when it is done); a start from the cache says nothing. Real rendering (a small clip on one
 * thread) into a temporary cache folder.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createLogger } from "../core/log.js";
import { SyntheticSource } from "../synth/synthetic-source.js";
import { announceClipRendering } from "./run.js";

const log = createLogger({ level: "warn", name: "run-test" });
let cacheDir: string;

beforeAll(async () => {
  cacheDir = await mkdtemp(path.join(tmpdir(), "fovea-run-announce-"));
});
afterAll(async () => {
  await rm(cacheDir, { recursive: true, force: true });
});

const open = () => SyntheticSource.open({ width: 64, height: 48, frames: 4, threads: 1, cacheDir });

describe("announceClipRendering", () => {
  test("announces the first render on stderr, then that the clip is cached; a cached start is silent", async () => {
    const lines: string[] = [];
    const first = await open();
    try {
      await announceClipRendering(
        first,
        () => true,
        log,
        (l) => lines.push(l),
      );
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^fovea: rendering the synthetic clip once \(synthetic seed 1 64x48 4 frames .*cached under data\/cache\//);
      await first.ready;
      await new Promise((resolve) => setImmediate(resolve));
      expect(lines).toHaveLength(2);
      expect(lines[1]).toMatch(/^fovea: synthetic clip rendered \(4 frames, [\d.]+ s after the first\) and cached/);
    } finally {
      await first.close();
    }
    expect((await readdir(cacheDir)).some((f) => f.startsWith("synthetic-"))).toBe(true);

    const again = await open();
    try {
      await announceClipRendering(
        again,
        () => true,
        log,
        (l) => lines.push(l),
      );
      await again.ready;
      await new Promise((resolve) => setImmediate(resolve));
      expect(lines).toHaveLength(2);
    } finally {
      await again.close();
    }
  });

  test("says nothing for other sources, and no 'rendered' after the run has ended", async () => {
    const lines: string[] = [];
    await announceClipRendering(
      { info: { description: "dir:x" } },
      () => true,
      log,
      (l) => lines.push(l),
    );
    expect(lines).toEqual([]);

    const other = await SyntheticSource.open({ width: 64, height: 48, frames: 4, seed: 2, threads: 1, cacheDir });
    try {
      await announceClipRendering(
        other,
        () => false,
        log,
        (l) => lines.push(l),
      );
      await other.ready;
      await new Promise((resolve) => setImmediate(resolve));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/rendering the synthetic clip once \(synthetic seed 2 /);
    } finally {
      await other.close();
    }
  });
});
