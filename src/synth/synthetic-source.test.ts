import { describe, expect, it } from "vitest";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { SyntheticSource } from "./synthetic-source.js";
import type { Frame } from "../core/frame.js";

async function take(source: SyntheticSource, n: number): Promise<Frame[]> {
  const out: Frame[] = [];
  for await (const f of source.frames()) {
    out.push(f);
    if (out.length === n) break;
  }
  return out;
}

describe("SyntheticSource", () => {
  it("renders a clip once, caches it, and replays it in a loop on demand (pull mode)", async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), "fovea-synth-cache-"));
    const options = { seed: 5, width: 160, height: 120, frames: 8, unpaced: true, cacheDir, cameraId: "test-cam" };
    await writeFile(join(cacheDir, "synthetic-v0-old-clip.bin"), "stale");
    const source = await SyntheticSource.open(options);
    expect(source.info.mode).toBe("pull");
    expect(source.info.cameraId).toBe("test-cam");
    const frames = await take(source, 20);
    await source.ready;
    await source.close();
    expect(frames.map((f) => f.seq)).toEqual([...Array(20).keys()]);
    for (let i = 1; i < frames.length; i++) expect(frames[i].captureTimeNs).toBeGreaterThanOrEqual(frames[i - 1].captureTimeNs);
    const meta = await sharp(frames[3].data).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(["jpeg", 160, 120]);
    expect(frames[0].encoding).toBe("encoded");
    // loops after 8 frames; consecutive frames of a walking camera differ
    expect(frames[8].data.equals(frames[0].data)).toBe(true);
    expect(frames[1].data.equals(frames[0].data)).toBe(false);

    // one clip cached, the older renderer's clip pruned
    expect((await readdir(cacheDir)).filter((f) => f.endsWith(".bin"))).toHaveLength(1);
    const again = await SyntheticSource.open(options);
    expect(again.clip.length).toBe(8);
    again.clip.forEach((f, i) => expect(f.equals(source.clip[i])).toBe(true));
    await again.close();
  });

  it("delivers live frames on its clock and ends the iteration on close", async () => {
    const source = await SyntheticSource.open({ seed: 2, width: 64, height: 48, frames: 4, fps: 60, cacheDir: false });
    await source.ready;
    expect(source.info.mode).toBe("live");
    expect(source.info.fps).toBe(60);
    const seen: Frame[] = [];
    const done = (async () => {
      for await (const f of source.frames()) {
        seen.push(f);
        if (seen.length === 5) void source.close();
      }
    })();
    await done;
    expect(seen.length).toBeGreaterThanOrEqual(5);
    for (let i = 1; i < seen.length; i++) expect(seen[i].seq).toBeGreaterThan(seen[i - 1].seq);
  });

  it("starts delivering before the whole clip is rendered, and closes cleanly mid-render", async () => {
    const source = await SyntheticSource.open({ seed: 3, width: 96, height: 72, frames: 60, unpaced: true, cacheDir: false });
    expect(source.clip.length).toBeLessThan(60);
    const first = await take(source, 3);
    expect(first.map((f) => f.seq)).toEqual([0, 1, 2]);
    await source.close();
    await source.ready;
  });

  it("delivers rgb24 frames decoded once at open, identical to decoding the clip's JPEG frames", async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), "fovea-synth-rgb-"));
    try {
      const options = { seed: 6, width: 96, height: 72, frames: 5, unpaced: true, cacheDir };
      const jpeg = await SyntheticSource.open(options);
      await jpeg.ready;
      await jpeg.close();
      // rendered (cache miss) and cached paths both decode before delivering
      for (const cache of [false, cacheDir] as const) {
        const source = await SyntheticSource.open({ ...options, cacheDir: cache, encoding: "rgb24" });
        expect(source.info.description).toContain("rgb24");
        const frames = await take(source, 7);
        await source.close();
        expect(frames.map((f) => [f.seq, f.encoding, f.width, f.height, f.data.length])).toEqual(
          [...Array(7).keys()].map((i) => [i, "rgb24", 96, 72, 96 * 72 * 3]),
        );
        const expected = await sharp(jpeg.clip[2]).raw().toBuffer();
        expect(frames[2].data.equals(expected)).toBe(true);
        expect(frames[5].data.equals(frames[0].data)).toBe(true);
      }
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  });

  it("stamps live frames when their tick fired, before the loop received them", async () => {
    const source = await SyntheticSource.open({ seed: 2, width: 64, height: 48, frames: 4, fps: 50, cacheDir: false, encoding: "rgb24" });
    const seen: Array<{ frame: Frame; receivedNs: bigint }> = [];
    for await (const frame of source.frames()) {
      seen.push({ frame, receivedNs: BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6)) });
      if (seen.length === 4) break;
    }
    await source.close();
    for (const { frame, receivedNs } of seen) {
      expect(frame.encoding).toBe("rgb24");
      expect(frame.captureTimeNs).toBeLessThanOrEqual(receivedNs + 1000n);
    }
  });

  it("rejects bad options naming them", async () => {
    await expect(SyntheticSource.open({ width: 3 })).rejects.toThrow(/width/);
    await expect(SyntheticSource.open({ fps: 0 })).rejects.toThrow(/fps/);
    await expect(SyntheticSource.open({ encoding: "png" as "jpeg" })).rejects.toThrow(/encoding/);
  });
});
