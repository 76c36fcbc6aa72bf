import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { FoveaInputError } from "../core/errors.js";
import type { Frame } from "../core/frame.js";
import { FfmpegStreamSource, type FfmpegStreamOptions } from "./ffmpeg-stream-source.js";

const tmp = mkdtempSync(join(tmpdir(), "fovea-ffmpeg-stream-"));
const opened: FfmpegStreamSource[] = [];

/** Child processes of this test process still alive (none may survive a closed source). */
function childCommands(): string[] {
  const out = execFileSync("ps", ["-o", "comm=", "--ppid", String(process.pid)], { encoding: "utf8" });
  return out
    .split("\n")
    .map((l) => l.trim())
    .filter((c) => c && c !== "ps");
}

async function open(options: Partial<FfmpegStreamOptions> & Pick<FfmpegStreamOptions, "inputArgs">): Promise<FfmpegStreamSource> {
  const source = await FfmpegStreamSource.open({
    width: 160,
    height: 120,
    mode: "pull",
    inputName: "testsrc2",
    cameraId: "test",
    ...options,
  });
  opened.push(source);
  return source;
}

function lavfi(spec: string, extra: string[] = []): string[] {
  return [...extra, "-f", "lavfi", "-i", spec];
}

async function collect(source: FfmpegStreamSource, max = Infinity): Promise<Frame[]> {
  const frames: Frame[] = [];
  for await (const f of source.frames()) {
    frames.push(f);
    if (frames.length >= max) break;
  }
  return frames;
}

function expectRealPixels(frames: Frame[], width: number, height: number): void {
  for (const f of frames) {
    expect(f.encoding).toBe("rgb24");
    expect(f.width).toBe(width);
    expect(f.height).toBe(height);
    expect(f.data.length).toBe(width * height * 3);
    expect(f.data.some((b) => b !== 0)).toBe(true);
  }
  // testsrc2 moves: consecutive frames differ.
  for (let i = 1; i < frames.length; i++) expect(frames[i].data.equals(frames[i - 1].data)).toBe(false);
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
  expect(childCommands()).toEqual([]);
});

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("FfmpegStreamSource", () => {
  it("pull mode delivers every frame of a finite stream, in order, then ends", async () => {
    const source = await open({ inputArgs: lavfi("testsrc2=size=160x120:rate=30", ["-t", "1"]) });
    expect(source.info.mode).toBe("pull");
    const frames = await collect(source);
    expect(frames.map((f) => f.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expectRealPixels(frames, 160, 120);
    expect(source.counters).toEqual({ corrupt: 0, reconnects: 0 });
  });

  it("scales to the requested size", async () => {
    const source = await open({ inputArgs: lavfi("testsrc2=size=320x240:rate=30", ["-t", "0.2"]), width: 64, height: 48 });
    const frames = await collect(source);
    expect(frames.length).toBe(6);
    expectRealPixels(frames, 64, 48);
  });

  it("live mode accounts for every frame as delivered or dropped, with increasing seq and capture time", async () => {
    const source = await open({ mode: "live", inputArgs: lavfi("testsrc2=size=160x120:rate=60", ["-re", "-t", "0.5"]) });
    const frames = await collect(source);
    expect(frames.length + source.dropped).toBe(30);
    for (let i = 1; i < frames.length; i++) {
      expect(frames[i].seq).toBeGreaterThan(frames[i - 1].seq);
      expect(frames[i].captureTimeNs).toBeGreaterThan(frames[i - 1].captureTimeNs);
    }
    expectRealPixels(frames, 160, 120);
  });

  it("an input ffmpeg cannot open is a FoveaInputError naming it and quoting ffmpeg", async () => {
    const missing = join(tmp, "missing.mp4");
    const err = await FfmpegStreamSource.open({
      inputArgs: ["-i", `file:${missing}`],
      width: 16,
      height: 16,
      mode: "live",
      inputName: missing,
      cameraId: "x",
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FoveaInputError);
    expect((err as FoveaInputError).where).toBe(missing);
    expect((err as Error).message).toMatch(/No such file or directory/);
  });

  it("a missing ffmpeg executable is reported with the input", async () => {
    const err = await FfmpegStreamSource.open({
      inputArgs: lavfi("testsrc2"),
      width: 16,
      height: 16,
      mode: "pull",
      inputName: "cam",
      cameraId: "x",
      ffmpegPath: join(tmp, "no-ffmpeg"),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FoveaInputError);
    expect((err as Error).message).toMatch(/ENOENT/);
  });

  it("a stream cut mid-frame discards the truncated frame and counts it corrupt", async () => {
    // Real ffmpeg whose pipe is cut after 2.5 frames, as when a process dies mid-write.
    const frameBytes = 160 * 120 * 3;
    const cut = join(tmp, "cut-ffmpeg.sh");
    writeFileSync(cut, `#!/bin/sh\nffmpeg "$@" | head -c ${Math.floor(frameBytes * 2.5)}\n`);
    chmodSync(cut, 0o755);
    const corrupt: string[] = [];
    const source = await open({
      inputArgs: lavfi("testsrc2=size=160x120:rate=30", ["-t", "1"]),
      ffmpegPath: cut,
      events: { onCorrupt: (r) => corrupt.push(r) },
    });
    const frames = await collect(source);
    expect(frames.length).toBe(2);
    expect(source.counters.corrupt).toBe(1);
    expect(corrupt).toHaveLength(1);
    expect(corrupt[0]).toMatch(/truncated/);
  });

  it("reconnects a dying live input with backoff; seq continues; degraded then recovered", async () => {
    const events: string[] = [];
    const source = await open({
      mode: "live",
      // Each run of this "camera" dies after 10 frames.
      inputArgs: lavfi("testsrc2=size=160x120:rate=40", ["-re", "-t", "0.25"]),
      reconnect: { minDelayMs: 50, maxDelayMs: 200 },
      events: { onDegraded: (r) => events.push(`degraded ${r}`), onRecovered: () => events.push("recovered") },
    });
    const frames: Frame[] = [];
    for await (const f of source.frames()) {
      frames.push(f);
      if (source.counters.reconnects >= 2 && f.seq >= 25) break;
    }
    for (let i = 1; i < frames.length; i++) expect(frames[i].seq).toBeGreaterThan(frames[i - 1].seq);
    expect(frames.at(-1)!.seq).toBeGreaterThanOrEqual(25);
    expect(events[0]).toMatch(/^degraded ffmpeg reading testsrc2 exited with code 0/);
    expect(events[1]).toBe("recovered");
    expect(events.filter((e) => e === "recovered").length).toBeGreaterThanOrEqual(2);
    expect(source.counters.reconnects).toBeGreaterThanOrEqual(2);
    expect(source.counters.corrupt).toBe(0);
  });

  it("keeps retrying with backoff while the input stays gone, and recovers when it is back", async () => {
    const clip = join(tmp, "clip.mkv");
    const away = join(tmp, "clip-unplugged.mkv");
    execFileSync("ffmpeg", [
      "-hide_banner",
      "-loglevel",
      "error",
      "-f",
      "lavfi",
      "-i",
      "testsrc2=size=160x120:rate=25",
      "-frames:v",
      "5",
      "-y",
      clip,
    ]);
    const events: string[] = [];
    const source = await open({
      mode: "live",
      inputArgs: ["-re", "-i", `file:${clip}`],
      inputName: clip,
      reconnect: { minDelayMs: 20, maxDelayMs: 80 },
      events: { onDegraded: () => events.push("degraded"), onRecovered: () => events.push("recovered") },
    });
    // "Unplug": the running process finishes its clip, every restart then fails.
    renameSync(clip, away);
    let replugged = false;
    const seqs: number[] = [];
    for await (const f of source.frames()) {
      seqs.push(f.seq);
      if (!replugged) {
        while (source.counters.reconnects < 3) await new Promise((r) => setTimeout(r, 10));
        expect(source.stderrTail.join("\n")).toMatch(/No such file or directory/);
        expect(events).toEqual(["degraded"]);
        renameSync(away, clip);
        replugged = true;
      } else if (events.includes("recovered")) {
        break;
      }
    }
    expect(events).toEqual(["degraded", "recovered"]);
    expect(seqs.at(-1)).toBeGreaterThanOrEqual(5);
    expect(seqs.every((s, i) => i === 0 || s > seqs[i - 1])).toBe(true);
  });

  it("close() stops a live stream and ends a waiting consumer", async () => {
    const source = await open({ mode: "live", inputArgs: lavfi("testsrc2=size=160x120:rate=30", ["-re"]), reconnect: {} });
    const iterator = source.frames()[Symbol.asyncIterator]();
    expect((await iterator.next()).done).toBe(false);
    expect(childCommands()).toContain("ffmpeg");
    await source.close();
    expect(childCommands()).toEqual([]);
    // Drain what was already in the slot; then the iteration ends.
    let result = await iterator.next();
    if (!result.done) result = await iterator.next();
    expect(result.done).toBe(true);
  });

  it("close() stops a pull stream whose ffmpeg is blocked on a full pipe", async () => {
    const source = await open({ inputArgs: lavfi("testsrc2=size=320x240:rate=30"), width: 320, height: 240 });
    const iterator = source.frames()[Symbol.asyncIterator]();
    await iterator.next();
    await iterator.next();
    // Not pulling: ffmpeg fills the pipe and blocks in write().
    await new Promise((r) => setTimeout(r, 200));
    await source.close();
    expect(childCommands()).toEqual([]);
    expect((await iterator.next()).done).toBe(true);
  });

  it("rejects bad arguments by name", async () => {
    await expect(
      FfmpegStreamSource.open({ inputArgs: lavfi("testsrc2"), width: 0, height: 10, mode: "pull", inputName: "x", cameraId: "x" }),
    ).rejects.toThrow(RangeError);
    await expect(
      FfmpegStreamSource.open({ inputArgs: ["-f", "lavfi"], width: 10, height: 10, mode: "pull", inputName: "x", cameraId: "x" }),
    ).rejects.toThrow(/inputArgs/);
    await expect(
      FfmpegStreamSource.open({
        inputArgs: lavfi("testsrc2"),
        width: 10,
        height: 10,
        mode: "pull",
        inputName: "x",
        cameraId: "x",
        reconnect: {},
      }),
    ).rejects.toThrow(/reconnect/);
  });
});
