/**
 * The camera's streaming path end to end with a real stream: the exact options a V4L2 camera runs
 * with (live, latest frame wins, reconnecting), with ffmpeg's testsrc2 — paced to real time by
 * `-re`, as a camera is — injected in place of `-f v4l2 ... -i /dev/videoN`.
 */
import { execFileSync } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { cameraInputArgs, cameraStreamOptions } from "../src/capture/camera-source.js";
import { FfmpegStreamSource } from "../src/capture/ffmpeg-stream-source.js";
import type { Frame } from "../src/core/frame.js";

const opened: FfmpegStreamSource[] = [];

function childCommands(): string[] {
  const out = execFileSync("ps", ["-o", "comm=", "--ppid", String(process.pid)], { encoding: "utf8" });
  return out
    .split("\n")
    .map((l) => l.trim())
    .filter((c) => c && c !== "ps");
}

async function openCameraLike(
  inputArgs: string[],
  events: Parameters<typeof cameraStreamOptions>[0]["events"] = {},
): Promise<FfmpegStreamSource> {
  const options = cameraStreamOptions({
    device: "/dev/video0",
    width: 320,
    height: 240,
    fps: 60,
    events,
    reconnect: { minDelayMs: 50, maxDelayMs: 400 },
  });
  const source = await FfmpegStreamSource.open({ ...options, inputArgs });
  opened.push(source);
  return source;
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
  expect(childCommands()).toEqual([]);
});

describe("camera streaming path (testsrc2 in place of V4L2)", () => {
  it("builds low-latency V4L2 input arguments from the camera options", () => {
    expect(cameraInputArgs({ device: "/dev/video2", width: 1280, height: 720, fps: 60, pixelFormat: "yuyv422" })).toEqual([
      "-f",
      "v4l2",
      "-input_format",
      "yuyv422",
      "-video_size",
      "1280x720",
      "-framerate",
      "60",
      "-fflags",
      "nobuffer",
      "-flags",
      "low_delay",
      "-probesize",
      "32",
      "-analyzeduration",
      "0",
      "-i",
      "/dev/video2",
    ]);
    expect(() => cameraInputArgs({ device: "/dev/video0", fps: 0 })).toThrow(/^fps:/);
    expect(cameraStreamOptions({ device: "/dev/v4l/by-id/usb-cam" })).toMatchObject({
      mode: "live",
      cameraId: "usb-cam",
      width: 640,
      height: 480,
    });
  });

  it("streams real 320x240 frames with increasing seq and capture time, newest first", async () => {
    const source = await openCameraLike(["-re", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=60"]);
    expect(source.info).toMatchObject({ mode: "live", cameraId: "video0", fps: 60 });
    const frames: Frame[] = [];
    for await (const f of source.frames()) {
      frames.push(f);
      if (frames.length === 45) break;
    }
    for (const [i, f] of frames.entries()) {
      expect([f.width, f.height, f.encoding, f.data.length]).toEqual([320, 240, "rgb24", 320 * 240 * 3]);
      expect(f.data.some((b) => b !== 0)).toBe(true);
      if (i > 0) {
        expect(f.seq).toBeGreaterThan(frames[i - 1].seq);
        expect(f.captureTimeNs).toBeGreaterThan(frames[i - 1].captureTimeNs);
        expect(f.data.equals(frames[i - 1].data)).toBe(false);
      }
    }
    // Each sequence number skipped up to the last delivered frame was a frame dropped in favour
    // of a newer one (latest wins) — none lost otherwise.
    expect(frames.at(-1)!.seq + 1 - frames.length).toBeLessThanOrEqual(source.dropped);
    expect(source.counters).toEqual({ corrupt: 0, reconnects: 0 });
  });

  it("a camera that dies is restarted: degraded, recovered, reconnects counted, seq continues", async () => {
    const events: string[] = [];
    // This "camera" dies after 12 frames each time it is started.
    const source = await openCameraLike(["-re", "-t", "0.2", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=60"], {
      onDegraded: () => events.push("degraded"),
      onRecovered: () => events.push("recovered"),
    });
    const seqs: number[] = [];
    for await (const f of source.frames()) {
      seqs.push(f.seq);
      if (source.counters.reconnects >= 1 && f.seq >= 24) break;
    }
    expect(events.slice(0, 2)).toEqual(["degraded", "recovered"]);
    expect(seqs.every((s, i) => i === 0 || s > seqs[i - 1])).toBe(true);
    expect(seqs.at(-1)).toBeGreaterThanOrEqual(24);
  });
});
