import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp, { type Sharp } from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FoveaInputError } from "../core/errors.js";
import type { Frame } from "../core/frame.js";
import { ImageFolderSource } from "./image-folder-source.js";

const root = mkdtempSync(join(tmpdir(), "fovea-folder-"));
const folder = join(root, "match");

function image(seed: number, width = 48, height = 32): Sharp {
  const pixels = Buffer.alloc(width * height * 3, seed * 40);
  return sharp(pixels, { raw: { width, height, channels: 3 } });
}

async function collect(source: ImageFolderSource, max = Infinity): Promise<Frame[]> {
  const frames: Frame[] = [];
  for await (const f of source.frames()) {
    frames.push(f);
    if (frames.length >= max) break;
  }
  await source.close();
  return frames;
}

beforeAll(async () => {
  mkdirSync(folder);
  await image(1).png().toFile(join(folder, "frame1.png"));
  await image(2).jpeg().toFile(join(folder, "frame2.jpg"));
  // Not an image at all, and a JPEG cut before its dimensions: both skipped.
  writeFileSync(join(folder, "frame3.jpg"), randomBytes(2000));
  const jpeg = await image(4).jpeg().toBuffer();
  writeFileSync(join(folder, "frame4.jpeg"), jpeg.subarray(0, 100));
  await image(5, 64, 40).webp().toFile(join(folder, "frame5.webp"));
  await image(6).png().toFile(join(folder, "frame10.PNG"));
  writeFileSync(join(folder, "notes.txt"), "not a frame");
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("ImageFolderSource", () => {
  it("unpaced: delivers the images encoded, in numeric name order, skipping and counting corrupt ones", async () => {
    const corrupt: string[] = [];
    const source = await ImageFolderSource.open({ path: folder, unpaced: true, events: { onCorrupt: (r) => corrupt.push(r) } });
    expect(source.info.mode).toBe("pull");
    expect(source.files.map((f) => f.slice(folder.length + 1))).toEqual([
      "frame1.png",
      "frame2.jpg",
      "frame3.jpg",
      "frame4.jpeg",
      "frame5.webp",
      "frame10.PNG",
    ]);
    const frames = await collect(source);
    // Positions 2 and 3 were corrupt: gaps in seq.
    expect(frames.map((f) => f.seq)).toEqual([0, 1, 4, 5]);
    expect(frames.map((f) => [f.width, f.height])).toEqual([
      [48, 32],
      [48, 32],
      [64, 40],
      [48, 32],
    ]);
    for (const f of frames) {
      expect(f.encoding).toBe("encoded");
      expect(f.data.equals(readFileSync(f.origin!))).toBe(true);
    }
    expect(source.counters.corrupt).toBe(2);
    expect(corrupt[0]).toContain("frame3.jpg");
    expect(corrupt[1]).toContain("frame4.jpeg");
  });

  it("loops with sequence numbers continuing across passes", async () => {
    const source = await ImageFolderSource.open({ path: folder, unpaced: true, loop: true });
    const frames = await collect(source, 9);
    expect(frames.map((f) => f.seq)).toEqual([0, 1, 4, 5, 6, 7, 10, 11, 12]);
    expect(frames[4].data.equals(frames[0].data)).toBe(true);
  });

  it("paced: live mode on the fps clock, seq and capture times increasing", async () => {
    const fps = 50;
    const source = await ImageFolderSource.open({ path: folder, fps });
    expect(source.info).toMatchObject({ mode: "live", fps });
    const frames = await collect(source);
    expect(frames.length + source.dropped).toBe(4);
    for (let i = 1; i < frames.length; i++) {
      expect(frames[i].seq).toBeGreaterThan(frames[i - 1].seq);
      // No wall-clock bound: a late frame followed by an on-time one is closer than a period,
      // and durations are measured by the benchmark, never asserted.
      expect(frames[i].captureTimeNs).toBeGreaterThan(frames[i - 1].captureTimeNs);
    }
  });

  it("close() ends a paced playback that would loop forever", async () => {
    const source = await ImageFolderSource.open({ path: folder, fps: 200, loop: true });
    const frames: Frame[] = [];
    const consumer = (async () => {
      for await (const f of source.frames()) frames.push(f);
    })();
    while (frames.length < 3) await new Promise((r) => setTimeout(r, 5));
    await source.close();
    await consumer;
    expect(frames.length).toBeGreaterThanOrEqual(3);
  });

  it("a folder whose images are all unreadable fails instead of looping forever", async () => {
    const bad = join(root, "bad");
    mkdirSync(bad);
    writeFileSync(join(bad, "a.jpg"), randomBytes(500));
    const source = await ImageFolderSource.open({ path: bad, unpaced: true, loop: true });
    await expect(collect(source)).rejects.toThrow(/none of its images could be read/);
    expect(source.counters.corrupt).toBe(1);
  });

  it("a missing, empty or image-less folder is a FoveaInputError naming it", async () => {
    const empty = join(root, "empty");
    mkdirSync(empty);
    const textOnly = join(root, "text");
    mkdirSync(textOnly);
    writeFileSync(join(textOnly, "readme.txt"), "x");
    for (const [path, problem] of [
      [join(root, "nope"), /no such folder/],
      [empty, /contains no images/],
      [textOnly, /contains no images/],
      [join(folder, "frame1.png"), /not a folder/],
    ] as const) {
      const err = await ImageFolderSource.open({ path }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FoveaInputError);
      expect((err as FoveaInputError).where).toBe(path);
      expect((err as Error).message).toMatch(problem);
    }
    await expect(ImageFolderSource.open({ path: folder, fps: 0 })).rejects.toThrow(RangeError);
  });
});
