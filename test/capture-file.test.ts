/**
 * Video files through `openSource`, with a real file made by ffmpeg: paced (live, at the file's
 * rate), unpaced (pull, every frame), looped, scaled; and the errors for a missing or broken file.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSource } from "../src/capture/open-source.js";
import { probeVideo } from "../src/capture/video-file-source.js";
import { epochNowNs } from "../src/core/clock.js";
import { FoveaInputError } from "../src/core/errors.js";
import type { Frame, FrameSource } from "../src/core/frame.js";

const tmp = mkdtempSync(join(tmpdir(), "fovea-capture-file-"));
const video = join(tmp, "match clip.mp4");

beforeAll(() => {
  // 24 frames at 30 fps, 160x120, H.264.
  execFileSync("ffmpeg", [
    "-hide_banner",
    "-loglevel",
    "error",
    "-f",
    "lavfi",
    "-i",
    "testsrc2=size=160x120:rate=30",
    "-frames:v",
    "24",
    "-pix_fmt",
    "yuv420p",
    "-y",
    video,
  ]);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function collect(source: FrameSource, max = Infinity): Promise<Frame[]> {
  const frames: Frame[] = [];
  try {
    for await (const f of source.frames()) {
      frames.push(f);
      if (frames.length >= max) break;
    }
  } finally {
    await source.close();
  }
  return frames;
}

describe("file: source", () => {
  it("probes the file", async () => {
    expect(await probeVideo(video)).toEqual({ width: 160, height: 120, fps: 30, codec: "h264" });
  });

  it("unpaced: pulls every frame exactly once, in order", async () => {
    const source = await openSource(`file:${video}`, { unpaced: true });
    expect(source.info).toMatchObject({ mode: "pull", cameraId: "match clip.mp4", fps: 30 });
    const frames = await collect(source);
    expect(frames.map((f) => f.seq)).toEqual([...Array(24).keys()]);
    expect(frames.every((f) => f.data.length === 160 * 120 * 3 && f.encoding === "rgb24")).toBe(true);
    expect(frames[5].data.equals(frames[6].data)).toBe(false);
  });

  it("paced: live at the file's rate, every frame delivered or dropped, capture times spread over the clip", async () => {
    const opened = epochNowNs();
    const source = await openSource(`file:${video}`);
    expect(source.info.mode).toBe("live");
    const frames = await collect(source);
    expect(frames.length + (source as FrameSource & { dropped: number }).dropped).toBe(24);
    const spanMs = Number(frames.at(-1)!.captureTimeNs - opened) / 1e6;
    // Lower bound only: -re never runs ahead of the clip's own clock, counted from ffmpeg's start.
    // Not from the first frame's arrival: a loaded machine can hold the first frames back and
    // deliver them with the rest, which shortens that span without anything running ahead.
    expect(spanMs).toBeGreaterThan((frames.at(-1)!.seq * 1000) / 30 - 50);
  });

  it("loops and scales on request, seq continuing past the end of the clip", async () => {
    const source = await openSource(`file:${video}`, { unpaced: true, loop: true, width: 80, height: 60, cameraId: "replay" });
    const frames = await collect(source, 60);
    expect(frames.map((f) => f.seq)).toEqual([...Array(60).keys()]);
    expect(frames.every((f) => f.width === 80 && f.height === 60 && f.data.length === 80 * 60 * 3)).toBe(true);
    // The loop restarts the same content.
    expect(frames[24].data.equals(frames[0].data)).toBe(true);
    expect(source.info.cameraId).toBe("replay");
  });

  it("a missing or undecodable file is a FoveaInputError naming the file", async () => {
    const missing = join(tmp, "nope.mp4");
    const broken = join(tmp, "broken.mp4");
    writeFileSync(broken, "this is not a video");
    for (const [path, problem] of [
      [missing, /no such video file/],
      [broken, /cannot be decoded as video: .*Invalid data/],
    ] as const) {
      const err = await openSource(`file:${path}`).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FoveaInputError);
      expect((err as FoveaInputError).where).toBe(path);
      expect((err as Error).message).toMatch(problem);
    }
  });
});
