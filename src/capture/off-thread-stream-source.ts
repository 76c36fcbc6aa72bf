/**
 * A live ffmpeg stream (camera) read on a worker thread. onnxruntime-node runs a session on the JS
 * thread, so a pipe read there is not drained while a frame is inferred: ffmpeg blocks on the full
 * pipe, the camera's own buffers overflow unseen, and the next frame the loop gets is an old one
 * that nobody counted as dropped. Here the worker (src/capture/stream-worker.ts) keeps reading,
 * stamps each frame when its last byte arrives and publishes it into a shared FrameRing; the frame
 * loop takes the newest one (`takeLatest`), and every frame overwritten in between is counted.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { FoveaInputError } from "../core/errors.js";
import type { Frame, LatestFrameSource, SourceCounters, SourceInfo } from "../core/frame.js";
import type { FfmpegStreamOptions } from "./ffmpeg-stream-source.js";
import { FrameRing, type RingFrame } from "./frame-ring.js";
import type { StreamWorkerData, StreamWorkerMessage } from "./stream-worker.js";

/** Compiled `stream-worker.js` beside this module (dist/), else the TS source through the repo's loader (tests). */
function workerEntry(): { url: URL; execArgv?: string[] } {
  const js = new URL("./stream-worker.js", import.meta.url);
  if (existsSync(fileURLToPath(js))) return { url: js };
  return {
    url: new URL("./stream-worker.ts", import.meta.url),
    execArgv: ["--import", new URL("../../test/record-ts-loader.mjs", import.meta.url).href],
  };
}

/** How long close() waits for the worker to stop ffmpeg and exit before terminating it. */
const CLOSE_GRACE_MS = 1500;

export class OffThreadStreamSource implements LatestFrameSource {
  readonly info: SourceInfo;
  readonly counters: SourceCounters;
  private readonly ring: FrameRing;
  private readonly worker: Worker;
  private readonly options: FfmpegStreamOptions;
  private readonly taken: RingFrame = { seq: 0, captureTimeNs: 0n, data: Buffer.alloc(0) };
  private failure: Error | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly exited: Promise<void>;
  /** Settles when the worker said its last word ("ended" or "failed" after opening) or exited. */
  private readonly finished: Promise<void>;
  private iterated = false;

  /**
   * Start the worker, which starts ffmpeg and waits for its first frame, so an unreadable input
   * fails here (a FoveaInputError naming it, as FfmpegStreamSource.open would).
   */
  static async open(options: FfmpegStreamOptions): Promise<OffThreadStreamSource> {
    if (options.mode !== "live") throw new RangeError(`mode: an off-thread stream is live, got ${String(options.mode)}`);
    const source = new OffThreadStreamSource(options);
    try {
      await source.opened;
    } catch (err) {
      await source.close();
      throw err;
    }
    return source;
  }

  private readonly opened: Promise<void>;

  private constructor(options: FfmpegStreamOptions) {
    for (const key of ["width", "height"] as const) {
      if (!Number.isSafeInteger(options[key]) || options[key] <= 0)
        throw new RangeError(`${key}: expected a positive integer, got ${options[key]}`);
    }
    this.options = options;
    this.info = {
      description: options.description ?? `ffmpeg:${options.inputName}`,
      cameraId: options.cameraId,
      fps: options.fps,
      mode: "live",
    };
    this.ring = FrameRing.create(options.width * options.height * 3);
    const ring = this.ring;
    this.counters = {
      get corrupt() {
        return ring.counter("corrupt");
      },
      get reconnects() {
        return ring.counter("reconnects");
      },
    } as SourceCounters;
    const { events: _events, ...plain } = options;
    const entry = workerEntry();
    const data: StreamWorkerData = { options: plain, ring: this.ring.memory };
    this.worker = new Worker(entry.url, { workerData: data, execArgv: entry.execArgv });
    let opened!: () => void;
    let openFailed!: (err: Error) => void;
    this.opened = new Promise<void>((resolve, reject) => ((opened = resolve), (openFailed = reject)));
    let finished!: () => void;
    this.finished = new Promise<void>((resolve) => (finished = resolve));
    this.exited = new Promise<void>((resolve) => this.worker.once("exit", () => resolve()));
    void this.exited.then(() => {
      openFailed(new Error(`${options.inputName}: capture worker exited before the first frame`));
      finished();
    });
    this.worker.on("error", (err) => {
      this.failure ??= new Error(`${options.inputName}: capture worker failed: ${err.message}`, { cause: err });
      openFailed(this.failure);
      finished();
      this.ring.wake();
    });
    this.worker.on("message", (m: StreamWorkerMessage) => {
      switch (m.type) {
        case "open":
          opened();
          break;
        case "degraded":
          options.events?.onDegraded?.(m.reason);
          break;
        case "recovered":
          options.events?.onRecovered?.();
          break;
        case "corrupt":
          options.events?.onCorrupt?.(m.reason);
          break;
        case "failed": {
          const err = m.where !== undefined && m.problem !== undefined ? new FoveaInputError(m.where, m.problem) : new Error(m.message);
          if (m.beforeOpen) openFailed(err);
          else this.failure ??= err;
          finished();
          break;
        }
        case "ended":
          finished();
          break;
      }
    });
  }

  /** Frames overwritten before the loop took them: in the ring, or (rarely) in the worker's own slot. */
  get dropped(): number {
    return this.ring.dropped + this.ring.counter("sourceDropped");
  }

  /** Frames that arrived from ffmpeg so far. */
  get arrived(): number {
    return this.ring.counter("arrived");
  }

  /**
   * The newest frame, at once if one arrived since the last take, else when the next arrives;
   * undefined once the source is closed or ended, and it throws if the stream failed. The
   * frame's bytes are the ring's: valid until the next take (the pipeline copies for observers).
   */
  async takeLatest(): Promise<Frame | undefined> {
    for (;;) {
      if (this.closed) return undefined;
      const seen = this.ring.publishedCount;
      const f = this.ring.tryTake(this.taken);
      if (f) {
        return {
          seq: f.seq,
          captureTimeNs: f.captureTimeNs,
          width: this.options.width,
          height: this.options.height,
          encoding: "rgb24",
          data: f.data,
          origin: this.options.inputName,
        };
      }
      if (this.ring.ended || this.failure) {
        await this.finished;
        if (this.failure && !this.closed) throw this.failure;
        return undefined;
      }
      await this.ring.waitForPublish(seen);
    }
  }

  /** Every consumer but the frame loop: frames as copies (immutable), newest first, drops counted. */
  frames(): AsyncIterable<Frame> {
    if (this.iterated) throw new Error(`${this.info.description}: frames() can be iterated only once`);
    this.iterated = true;
    const take = () => this.takeLatest();
    return {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          const frame = await take();
          if (!frame) return;
          yield { ...frame, data: Buffer.from(frame.data) };
        }
      },
    };
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    this.ring.wake();
    this.worker.postMessage("close");
    const timer = setTimeout(() => void this.worker.terminate(), CLOSE_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }
}
