import { mkdtemp, open, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import sharp from "sharp";
import { McapWriter } from "@mcap/core";
import { McapSource, recordedRate } from "./mcap-source.js";
import { McapRecorder } from "../record/mcap-recorder.js";
import { FileWritable } from "../record/file-writable.js";
import { FoveaInputError } from "../core/errors.js";
import type { Frame } from "../core/frame.js";

const W = 80;
const H = 60;
const T0 = 1_764_250_000_000_000_000n;
const N = 20;
const INTERVAL_NS = 20_000_000n; // 50 fps

function frame(seq: number): Frame {
  const data = Buffer.alloc(W * H * 3, (seq * 12) & 255);
  // Noise makes each JPEG a few kilobytes, so small chunks hold few frames.
  for (let i = 0; i < data.length; i += 7) data[i] = (i * 131 + seq * 17) & 255;
  // Recorded seqs start at 100 with a gap: replay must keep them, not renumber.
  return {
    seq: 100 + seq + (seq >= 10 ? 1 : 0),
    captureTimeNs: T0 + BigInt(seq) * INTERVAL_NS,
    width: W,
    height: H,
    encoding: "rgb24",
    data,
  };
}

async function record(file: string, options: { imageEncoding: "jpeg" | "raw"; chunkBytes?: number }): Promise<Frame[]> {
  const recorder = await McapRecorder.create(file, { modelId: "m", cameraId: "left-eye", ...options });
  const frames = [...Array(N).keys()].map(frame);
  for (const f of frames) {
    recorder.onSourceFrame(f);
    await recorder.whenIdle();
  }
  await recorder.close();
  return frames;
}

async function replay(source: McapSource, limit = Infinity): Promise<Frame[]> {
  const out: Frame[] = [];
  for await (const f of source.frames()) {
    out.push(f);
    if (out.length >= limit) break;
  }
  await source.close();
  return out;
}

let dir: string;
let jpegFile: string;
let recorded: Frame[];
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "fovea-mcap-source-"));
  jpegFile = path.join(dir, "run.mcap");
  recorded = await record(jpegFile, { imageEncoding: "jpeg", chunkBytes: 4096 });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("McapSource", () => {
  test("states the recorded rate as the median interval: a start-up gap or a dropped frame does not change it", () => {
    const ms = (v: number) => BigInt(v) * 1_000_000n;
    expect(recordedRate([0, 400, 440, 480, 560, 600, 640].map(ms))).toBe(25);
    expect(recordedRate([ms(5), ms(5)])).toBeUndefined();
    expect(recordedRate([ms(5)])).toBeUndefined();
  });

  test("says its capture times are recorded ones, not this machine's clock", async () => {
    const source = await McapSource.open(jpegFile, { unpaced: true });
    expect(source.info.recordedTimes).toBe(true);
    await source.close();
  });

  test("unpaced replay gives every recorded frame with its seq, capture time and size", async () => {
    const source = await McapSource.open(jpegFile, { unpaced: true });
    expect(source.info.mode).toBe("pull");
    expect(source.info.cameraId).toBe("left-eye");
    expect(source.info.fps).toBeCloseTo(50, 6);
    expect(source.truncated).toBe(false);
    const frames = await replay(source);
    expect(frames.map((f) => f.seq)).toEqual(recorded.map((f) => f.seq));
    expect(frames.map((f) => f.captureTimeNs)).toEqual(recorded.map((f) => f.captureTimeNs));
    for (const f of frames) {
      expect([f.width, f.height, f.encoding]).toEqual([W, H, "encoded"]);
      const { info } = await sharp(f.data).raw().toBuffer({ resolveWithObject: true });
      expect([info.width, info.height]).toEqual([W, H]);
    }
  });

  test("paced replay is a live source with the same frames", async () => {
    const source = await McapSource.open(jpegFile);
    expect(source.info.mode).toBe("live");
    const frames = await replay(source, 5);
    expect(frames.map((f) => f.seq)).toEqual(recorded.slice(0, 5).map((f) => f.seq));
  });

  test("close() ends a paced replay that is waiting for its next frame", async () => {
    const slow = path.join(dir, "slow.mcap");
    const recorder = await McapRecorder.create(slow, { modelId: "m", cameraId: "c", imageEncoding: "jpeg" });
    for (const seq of [0, 1]) {
      // One hour between the two frames: only close() can end the wait.
      recorder.onSourceFrame({ ...frame(seq), seq, captureTimeNs: T0 + BigInt(seq) * 3_600_000_000_000n });
      await recorder.whenIdle();
    }
    await recorder.close();
    const source = await McapSource.open(slow);
    const it = source.frames()[Symbol.asyncIterator]();
    expect((await it.next()).value?.seq).toBe(0);
    const second = it.next();
    await source.close();
    expect((await second).done).toBe(true);
  });

  test("loop continues seq and capture times monotonically into the next pass", async () => {
    const frames = await replay(await McapSource.open(jpegFile, { unpaced: true, loop: true }), N + 3);
    const last = recorded[N - 1];
    expect(frames.slice(N).map((f) => f.seq)).toEqual([0, 1, 2].map((i) => recorded[i].seq + last.seq + 1));
    const span = last.captureTimeNs - recorded[0].captureTimeNs + INTERVAL_NS;
    expect(frames[N].captureTimeNs).toBe(recorded[0].captureTimeNs + span);
    for (let i = 1; i < frames.length; i++) expect(frames[i].seq).toBeGreaterThan(frames[i - 1].seq);
  });

  test("raw recordings replay as rgb24 frames, bit-exact", async () => {
    const file = path.join(dir, "raw.mcap");
    await record(file, { imageEncoding: "raw" });
    const frames = await replay(await McapSource.open(file, { unpaced: true }));
    expect(frames).toHaveLength(N);
    frames.forEach((f, i) => {
      expect(f.encoding).toBe("rgb24");
      expect(Buffer.compare(f.data, recorded[i].data)).toBe(0);
    });
  });

  test("a truncated recording plays its complete chunks and says it is truncated", async () => {
    const file = path.join(dir, "cut.mcap");
    await writeFile(file, await readFile(jpegFile));
    const size = (await readFile(file)).length;
    await truncate(file, Math.floor(size * 0.6));
    const problems: string[] = [];
    const source = await McapSource.open(file, { unpaced: true, events: { onCorrupt: (r) => problems.push(r) } });
    expect(source.truncated).toBe(true);
    expect(source.info.description).toMatch(/truncated/);
    const frames = await replay(source);
    expect(frames.length).toBeGreaterThan(0);
    expect(frames.length).toBeLessThan(N);
    expect(frames.map((f) => f.seq)).toEqual(recorded.slice(0, frames.length).map((f) => f.seq));
    expect(problems.join()).toMatch(/cut\.mcap: truncated/);
    expect(source.counters.corrupt).toBe(1);
  });

  test("a file that is not MCAP is refused, naming the file", async () => {
    const file = path.join(dir, "notes.mcap");
    await writeFile(file, '{"not": "an mcap"}');
    const err = await McapSource.open(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FoveaInputError);
    expect((err as Error).message).toMatch(/notes\.mcap: is not an MCAP file/);
    await writeFile(file, "");
    await expect(McapSource.open(file)).rejects.toThrow(/notes\.mcap: is empty/);
    await expect(McapSource.open(path.join(dir, "missing.mcap"))).rejects.toThrow(/missing\.mcap: cannot open/);
  });

  test("an MCAP file without /camera/image is refused, listing what it has", async () => {
    const file = path.join(dir, "foreign.mcap");
    const writable = await FileWritable.create(file);
    const writer = new McapWriter({ writable });
    await writer.start({ profile: "", library: "test" });
    const schemaId = await writer.registerSchema({ name: "Imu", encoding: "jsonschema", data: new TextEncoder().encode("{}") });
    const channelId = await writer.registerChannel({ topic: "/imu", schemaId, messageEncoding: "json", metadata: new Map() });
    await writer.addMessage({ channelId, sequence: 0, logTime: 1n, publishTime: 1n, data: new TextEncoder().encode("{}") });
    await writer.end();
    await writable.close();
    const err = await McapSource.open(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FoveaInputError);
    expect((err as Error).message).toMatch(/foreign\.mcap: has no \/camera\/image channel.*found \/imu/);
  });

  test("a recording cut before its first chunk has no readable frame", async () => {
    const file = path.join(dir, "stub.mcap");
    const head = Buffer.alloc(200);
    const fh = await open(jpegFile, "r");
    await fh.read(head, 0, head.length, 0);
    await fh.close();
    await writeFile(file, head);
    await expect(McapSource.open(file)).rejects.toThrow(/stub\.mcap: has no \/camera\/image channel \(truncated/);
  });
});
