import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, describe, expect, it } from "vitest";
import { FoveaInputError } from "../core/errors.js";
import { ImageFolderSource } from "./image-folder-source.js";
import { openSource, parseSourceSpec } from "./open-source.js";
import { inputError } from "../../test/support/input-error.js";
import { childPids, makeClip, until } from "../../test/faults/support/cli.js";

const tmp = mkdtempSync(join(tmpdir(), "fovea-open-source-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("parseSourceSpec", () => {
  it("parses every accepted form", () => {
    expect(parseSourceSpec("camera:/dev/video0")).toEqual({ kind: "camera", target: "/dev/video0" });
    expect(parseSourceSpec("file:C:/match 1.mp4")).toEqual({ kind: "file", target: "C:/match 1.mp4" });
    expect(parseSourceSpec("dir:frames/")).toEqual({ kind: "dir", target: "frames/" });
    expect(parseSourceSpec("webcam")).toEqual({ kind: "webcam", target: "" });
    expect(parseSourceSpec("webcam:/dev/video1")).toEqual({ kind: "webcam", target: "/dev/video1" });
    expect(parseSourceSpec("synthetic")).toEqual({ kind: "synthetic", target: "" });
    expect(parseSourceSpec("synthetic:rgb24")).toEqual({ kind: "synthetic", target: "rgb24" });
    expect(parseSourceSpec("synthetic:jpeg")).toEqual({ kind: "synthetic", target: "jpeg" });
    expect(parseSourceSpec("mcap:run.mcap")).toEqual({ kind: "mcap", target: "run.mcap" });
  });

  it.each(["", "video.mp4", "camera:", "file:", "rtsp://cam/1", "synthetic:x", "dir"])(
    "rejects %j naming --source and listing the forms",
    (spec) => {
      let err: unknown;
      try {
        parseSourceSpec(spec);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(FoveaInputError);
      expect((err as FoveaInputError).where).toBe("--source");
      expect((err as Error).message).toContain(
        "camera:/dev/videoN, file:PATH, dir:PATH, webcam[:DEVICE], synthetic[:jpeg|:rgb24], mcap:PATH",
      );
    },
  );
});

describe("openSource", () => {
  it("rejects bad option values naming the flag", async () => {
    expect((await inputError(openSource("dir:x", { width: 0 }))).where).toBe("--width");
    expect((await inputError(openSource("dir:x", { height: 2.5 }))).where).toBe("--height");
    expect((await inputError(openSource("dir:x", { fps: -30 }))).where).toBe("--fps");
    expect((await inputError(openSource("camera:/dev/video0", { pixelFormat: "h264" as never }))).where).toBe("--pixel-format");
    expect((await inputError(openSource("camera:/dev/video0", { stallTimeoutMs: 0 }))).where).toBe("--stall-timeout");
    expect((await inputError(openSource("file:x.mp4", { stallTimeoutMs: Number.NaN }))).where).toBe("--stall-timeout");
  });

  it("names the missing device, file, folder or recording", async () => {
    expect((await inputError(openSource("camera:/dev/video-fovea-none"))).where).toBe("/dev/video-fovea-none");
    // A character device that is not a camera: the real v4l2 path through ffmpeg refuses it.
    const notCamera = await inputError(openSource("camera:/dev/null"));
    expect(notCamera.where).toBe("/dev/null");
    expect(notCamera.message).toMatch(/ffmpeg reading \/dev\/null exited with code [1-9]/);
    const missing = join(tmp, "missing");
    expect((await inputError(openSource(`file:${missing}.mp4`))).where).toBe(`${missing}.mp4`);
    expect((await inputError(openSource(`dir:${missing}`))).where).toBe(missing);
    expect((await inputError(openSource(`mcap:${missing}.mcap`))).message).toContain(`${missing}.mcap`);
  });

  it("opens a folder source with the options that apply to it", async () => {
    await sharp({ create: { width: 8, height: 8, channels: 3, background: "#0a0" } })
      .png()
      .toFile(join(tmp, "a.png"));
    const source = await openSource(`dir:${tmp}`, { unpaced: true, loop: true, cameraId: "head", fps: 12 });
    try {
      expect(source).toBeInstanceOf(ImageFolderSource);
      expect(source.info).toMatchObject({ cameraId: "head", mode: "pull" });
      const it = source.frames()[Symbol.asyncIterator]();
      expect((await it.next()).value.seq).toBe(0);
      expect((await it.next()).value.seq).toBe(1);
    } finally {
      await source.close();
    }
  });
});

describe("stallTimeoutMs (--stall-timeout)", () => {
  // Real ffmpeg read on the capture worker, as `fovea run` opens it; kill -STOP makes it go silent
  // while alive, and the watchdog's report names the timeout it applied.
  it.each([
    ["lavfi:testsrc2", /^lavfi:testsrc2: no frame for \d+ ms \(expected 30 fps; stall timeout 700 ms\); .*, restarting it$/],
    ["file:", /: no frame for \d+ ms \(expected 25 fps; stall timeout 700 ms\); ffmpeg pid \d+ is running but sends nothing$/],
  ])("reaches the stall watchdog of %s through the capture worker", async (kind, report) => {
    const clip = join(tmp, "stall.mp4");
    if (kind === "file:") await makeClip(clip, 1, "160x120", 25);
    const spec = kind === "file:" ? `file:${clip}` : kind;
    const before = new Set(await childPids(process.pid, "ffmpeg"));
    const degraded: string[] = [];
    const source = await openSource(spec, {
      width: 160,
      height: 120,
      fps: 30,
      loop: true,
      stallTimeoutMs: 700,
      events: { onDegraded: (reason) => degraded.push(reason) },
    });
    const ffmpeg = (await childPids(process.pid, "ffmpeg")).filter((p) => !before.has(p));
    try {
      expect(ffmpeg).toHaveLength(1);
      process.kill(ffmpeg[0], "SIGSTOP");
      await until(() => degraded.length > 0, "a stall report");
      expect(degraded[0]).toMatch(report);
    } finally {
      // The paced file is not restarted: let its ffmpeg act on close()'s SIGTERM.
      try {
        process.kill(ffmpeg[0], "SIGCONT");
      } catch {
        // lavfi's was killed and restarted by the watchdog
      }
      await source.close();
    }
  });
});
