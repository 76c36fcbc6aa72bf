/**
 * The runtime's embedded default source: a rendered match clip replayed in a loop. The clip is
 * rendered once (on worker threads) and cached as JPEG frames under data/cache/, so later starts
 * load it in milliseconds. Frames are delivered encoded, as an MJPEG camera delivers them, or
 * (`encoding: "rgb24"`) decoded in advance, as a camera behind ffmpeg delivers them (`camera:`
 * sources: ffmpeg decodes in its own process and the pipeline receives rgb24).
 * Without a cache, delivery starts as soon as the first frame is rendered: the first pass plays
 * at rendering speed while the rest of the clip is still being made (JPEG only; rgb24 waits for
 * the whole clip).
 *
 * Live delivery is clocked by a FrameTicker (a worker thread, sub-millisecond) and each frame is
 * stamped with the moment its tick fired — the moment it became available, as a camera's would —
 * so time it spends waiting for a busy loop counts as latency and timer jitter does not.
 */
import { randomUUID } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import path from "node:path";
import type { Frame, FrameSource, OpenSourceOptions, SourceCounters, SourceInfo } from "../core/frame.js";
import { DEFAULT_CALIBRATION_FILE, loadCalibration, type Calibration } from "../calib/calibration.js";
import sharp from "sharp";
import { FoveaInputError } from "../core/errors.js";
import { LatestFrameSlot } from "../core/latest-frame-slot.js";
import { epochNowNs } from "../core/clock.js";
import { FrameTicker } from "../core/frame-ticker.js";
import { frameJobs } from "./frame-jobs.js";
import { RenderPool } from "./render-pool.js";
import type { FrameJob } from "./render-frame.js";

export interface SyntheticSourceOptions {
  /** Clip seed; the same seed gives the same clip. Default 1. */
  seed?: number;
  /** Image width in pixels. Default 640. */
  width?: number;
  /** Image height in pixels. Default 480. */
  height?: number;
  /** Frame rate of the clip and of live delivery. Default 30. */
  fps?: number;
  /** Deliver frames as fast as the consumer pulls (pull mode) instead of at `fps` (live mode). */
  unpaced?: boolean;
  /** Length of the clip in frames before it loops. Default 300 (10 s at 30 fps). */
  frames?: number;
  /** Camera id published with the detections. Default: the calibration's. */
  cameraId?: string;
  /** Calibration the clip is rendered through. Default: the shipped calibration/default.json. */
  calibration?: Calibration;
  /** Folder of the clip cache; `false` disables caching. Default: data/cache/ in the package. */
  cacheDir?: string | false;
  /** Render threads when the clip is not cached (default one per core). */
  threads?: number;
  /**
   * `jpeg` (default): frames as an MJPEG camera sends them; the pipeline decodes them.
   * `rgb24`: decoded once at open, as a camera behind ffmpeg delivers them. Decoded frames are
   * held in memory up to RGB24_BUDGET_BYTES; a longer clip loops over its first frames.
   */
  encoding?: SyntheticEncoding;
}

export type SyntheticEncoding = "jpeg" | "rgb24";

/** Memory for decoded rgb24 frames: all 300 frames of a 640x480 clip (264 MiB), 91 at 1280x960. */
export const RGB24_BUDGET_BYTES = 288 * 1024 * 1024;

const DEFAULT_CACHE_DIR = fileURLToPath(new URL("../../data/cache/", import.meta.url));
/** Bump when the renderer's output changes, so stale cached clips are not replayed. */
const CACHE_VERSION = 6;

export class SyntheticSource implements FrameSource {
  readonly info: SourceInfo;
  readonly counters: SourceCounters = { corrupt: 0, reconnects: 0 };
  readonly width: number;
  readonly height: number;
  /** Resolves when the whole clip is in memory (and cached); rejects if rendering failed. */
  readonly ready: Promise<void>;
  private readonly clipFrames: Buffer[];
  private readonly length: number;
  private readonly fps: number;
  /** rgb24 mode: the decoded frames delivered (the clip's first ones, within the memory budget). */
  private decoded: Buffer[] | undefined;
  private ticker: FrameTicker | undefined;
  private seq = 0;
  private readonly slot = new LatestFrameSlot<Frame>();
  private iterated = false;
  private closed = false;
  private failure: Error | undefined;
  private arrived = signal();
  private pool: RenderPool | undefined;

  private constructor(
    clip: Buffer[],
    length: number,
    o: { width: number; height: number; fps: number; unpaced: boolean; cameraId: string; seed: number; encoding: SyntheticEncoding },
  ) {
    this.clipFrames = clip;
    this.length = length;
    this.width = o.width;
    this.height = o.height;
    this.fps = o.fps;
    this.ready = Promise.resolve();
    this.info = {
      description: `synthetic seed ${o.seed} ${o.width}x${o.height} ${length} frames ${o.encoding}${o.unpaced ? " unpaced" : ` @${o.fps}`} loop`,
      cameraId: o.cameraId,
      fps: o.unpaced ? undefined : o.fps,
      mode: o.unpaced ? "pull" : "live",
    };
  }

  /** The clip's frames rendered so far, JPEG-encoded. */
  get clip(): readonly Buffer[] {
    return this.clipFrames;
  }

  /** Load the clip from the cache, or start rendering it; returns once the first frame exists. */
  static async open(options: SyntheticSourceOptions = {}): Promise<SyntheticSource> {
    const seed = options.seed ?? 1,
      width = options.width ?? 640,
      height = options.height ?? 480;
    const fps = options.fps ?? 30,
      frames = options.frames ?? 300;
    const encoding = options.encoding ?? "jpeg";
    if (encoding !== "jpeg" && encoding !== "rgb24") throw new RangeError(`encoding: expected jpeg or rgb24, got ${String(encoding)}`);
    if (!Number.isInteger(seed) || seed < 0) throw new RangeError(`seed: expected a non-negative integer, got ${seed}`);
    if (!Number.isInteger(width) || width < 16) throw new RangeError(`width: expected an integer >= 16, got ${width}`);
    if (!Number.isInteger(height) || height < 16) throw new RangeError(`height: expected an integer >= 16, got ${height}`);
    if (!Number.isFinite(fps) || fps <= 0) throw new RangeError(`fps: expected a positive number, got ${fps}`);
    if (!Number.isInteger(frames) || frames < 1) throw new RangeError(`frames: expected a positive integer, got ${frames}`);
    const calibration = options.calibration ?? (await loadCalibration(DEFAULT_CALIBRATION_FILE));
    const cacheDir = options.cacheDir === undefined ? DEFAULT_CACHE_DIR : options.cacheDir;
    const key = `synthetic-v${CACHE_VERSION}-${calibrationKey(calibration)}-s${seed}-${width}x${height}-${frames}f-${fps}fps.bin`;
    const o = { width, height, fps, unpaced: options.unpaced ?? false, cameraId: options.cameraId ?? calibration.cameraId, seed, encoding };
    const cached = cacheDir ? await readClip(path.join(cacheDir, key), frames) : undefined;
    if (cached) {
      const source = new SyntheticSource(cached, frames, o);
      if (encoding === "rgb24") await source.decode();
      return source;
    }

    const source = new SyntheticSource([], frames, o);
    const pool = await RenderPool.create({ calibration, width, height, threads: options.threads });
    source.pool = pool;
    const jobs = frameJobs({ frames, seed, mount: calibration.mount, output: "jpeg", sequence: true, fps });
    (source as { ready: Promise<void> }).ready = source.fill(pool, jobs, cacheDir ? path.join(cacheDir, key) : undefined);
    source.ready.catch(() => undefined); // reported through frames()
    if (encoding === "rgb24") {
      try {
        await source.ready;
        await source.decode();
      } catch (err) {
        await source.close();
        throw err;
      }
      return source;
    }
    await Promise.race([source.arrived.promise, source.ready]);
    if (source.failure) throw source.failure;
    return source;
  }

  /** rgb24 mode: decode the clip's frames (within the memory budget) once, before delivery. */
  private async decode(): Promise<void> {
    const bytes = this.width * this.height * 3;
    const count = Math.max(1, Math.min(this.length, Math.floor(RGB24_BUDGET_BYTES / bytes)));
    const decoded: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      const { data, info } = await sharp(this.clipFrames[i])
        .removeAlpha()
        .toColourspace("srgb")
        .raw()
        .toBuffer({ resolveWithObject: true });
      if (info.width !== this.width || info.height !== this.height || info.channels !== 3) {
        throw new FoveaInputError(
          `synthetic#${i}`,
          `expected a ${this.width}x${this.height} RGB frame, decoded ${info.width}x${info.height}x${info.channels}`,
        );
      }
      decoded.push(data);
    }
    this.decoded = decoded;
  }

  private async fill(pool: RenderPool, jobs: Iterable<FrameJob>, cacheFile: string | undefined): Promise<void> {
    try {
      for await (const f of pool.renderAll(jobs)) {
        if (this.closed) return;
        this.clipFrames.push(f.data);
        this.arrived.resolve();
        this.arrived = signal();
      }
      // The cache only saves the next start some seconds: a read-only install must still play.
      if (cacheFile) await writeClip(cacheFile, this.clipFrames).catch(() => undefined);
    } catch (err) {
      if (this.closed) return;
      this.failure = err as Error;
      this.arrived.resolve();
      throw err;
    } finally {
      this.pool = undefined;
      await pool.close();
    }
  }

  frames(): AsyncIterable<Frame> {
    if (this.iterated) throw new Error(`${this.info.description}: frames() can be iterated only once`);
    this.iterated = true;
    if (this.info.mode === "pull") return this.pull();
    this.ticker = new FrameTicker(
      this.fps,
      (captureTimeNs) => this.tick(captureTimeNs),
      (err) => this.slot.close(this.closed ? undefined : err),
    );
    return this.slot;
  }

  /** Frames overwritten in the live slot before the consumer took them. */
  get dropped(): number {
    return this.slot.dropped;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.slot.close();
    this.arrived.resolve();
    await this.pool?.close();
    await this.ticker?.stop();
  }

  /** The frame for `seq`, waiting while the first pass is still being rendered; undefined once closed. */
  private async frame(seq: number): Promise<Frame | undefined> {
    const index = seq % this.length;
    while (index >= this.clipFrames.length) {
      if (this.failure) throw this.failure;
      if (this.closed) return undefined;
      await this.arrived.promise;
    }
    return this.make(seq, epochNowNs());
  }

  private make(seq: number, captureTimeNs: bigint): Frame {
    const decoded = this.decoded;
    if (decoded) {
      const index = seq % decoded.length;
      return {
        seq,
        captureTimeNs,
        width: this.width,
        height: this.height,
        encoding: "rgb24",
        data: decoded[index],
        origin: `synthetic#${index}`,
      };
    }
    const index = seq % this.length;
    return {
      seq,
      captureTimeNs,
      width: this.width,
      height: this.height,
      encoding: "encoded",
      data: this.clipFrames[index],
      origin: `synthetic#${index}`,
    };
  }

  private async *pull(): AsyncGenerator<Frame> {
    for (let seq = 0; !this.closed; seq++) {
      const frame = await this.frame(seq);
      if (!frame) return;
      yield frame;
    }
  }

  /**
   * One tick of live delivery. A frame not rendered yet (first pass, still rendering) is not
   * due: the tick passes and delivery resumes at the next one, rather than bursting to catch up.
   */
  private tick(captureTimeNs: bigint): void {
    if (this.closed) return;
    if (this.failure) {
      this.slot.close(this.failure);
      void this.ticker?.stop();
      return;
    }
    if (!this.decoded && this.seq % this.length >= this.clipFrames.length) return;
    this.slot.put(this.make(this.seq++, captureTimeNs));
  }
}

/** A one-shot wake-up (Promise.withResolvers is not in Node 20). */
function signal(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function calibrationKey(c: Calibration): string {
  let h = 2166136261;
  for (const ch of JSON.stringify(c)) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return (h >>> 0).toString(16);
}

/** Cache file: u32 frame count, then per frame u32 length + JPEG bytes (little-endian). */
async function readClip(file: string, frames: number): Promise<Buffer[] | undefined> {
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch {
    return undefined;
  }
  try {
    const n = data.readUInt32LE(0);
    const clip: Buffer[] = [];
    let at = 4;
    for (let i = 0; i < n; i++) {
      const len = data.readUInt32LE(at);
      clip.push(data.subarray(at + 4, at + 4 + len));
      at += 4 + len;
      if (at > data.length) return undefined;
    }
    return clip.length === frames ? clip : undefined;
  } catch {
    return undefined; // truncated cache: render again
  }
}

async function writeClip(file: string, clip: Buffer[]): Promise<void> {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(4);
  head.writeUInt32LE(clip.length);
  parts.push(head);
  for (const f of clip) {
    const len = Buffer.alloc(4);
    len.writeUInt32LE(f.length);
    parts.push(len, f);
  }
  await mkdir(path.dirname(file), { recursive: true });
  // Write then rename: a concurrent reader never sees a half-written cache. The temp name is unique
  // per call because two sources of one process (one pid) may render the same clip at once.
  const tmp = `${file}.${randomUUID()}.tmp`;
  await writeFile(tmp, Buffer.concat(parts));
  await rename(tmp, file);
  // Clips of older renderer versions are never read again: drop them so the cache does not grow.
  const dir = path.dirname(file);
  for (const name of await readdir(dir)) {
    if (/^synthetic-v\d+-.*\.bin$/.test(name) && !name.startsWith(`synthetic-v${CACHE_VERSION}-`))
      await rm(path.join(dir, name), { force: true });
  }
}

/** `--source synthetic[:jpeg|:rgb24]`. */
export async function openFromSpec(encoding: string, o: OpenSourceOptions): Promise<SyntheticSource> {
  return SyntheticSource.open({
    unpaced: o.unpaced,
    width: o.width,
    height: o.height,
    fps: o.fps,
    cameraId: o.cameraId,
    encoding: encoding === "rgb24" ? "rgb24" : "jpeg",
  });
}
