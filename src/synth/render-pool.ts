/**
 * Renders frames on worker threads (one per core by default): the ray caster is CPU-bound
 * JavaScript, so threads are what makes a 20,000-frame set take minutes on 2 cores.
 * Results come back in job order. When the compiled worker is not available (running from
 * TypeScript sources under vitest/tsx) or `threads` is 0, frames render on this thread; output
 * is identical either way, because every frame is seeded on its own.
 */
import { availableParallelism } from "node:os";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { Calibration } from "../calib/calibration.js";
import { FrameRenderer, type FrameJob, type RenderedFrame } from "./render-frame.js";

export interface RenderPoolOptions {
  calibration: Calibration;
  width: number;
  height: number;
  /** Worker threads; default: one per core. 0 renders on the calling thread. */
  threads?: number;
}

interface Pending {
  resolve(frame: RenderedFrame): void;
  reject(err: Error): void;
}

export class RenderPool {
  readonly threads: number;
  private readonly workers: Worker[];
  private readonly local: FrameRenderer | undefined;
  private readonly pending = new Map<number, Pending>();
  private next = 0;

  private constructor(workers: Worker[], local: FrameRenderer | undefined) {
    this.workers = workers;
    this.local = local;
    this.threads = workers.length;
    for (const w of workers) {
      w.on("message", (msg: { ok: true; frame: RenderedFrame & { data: Uint8Array } } | { ok: false; index: number; message: string }) => {
        const index = msg.ok ? msg.frame.index : msg.index;
        const p = this.pending.get(index);
        if (!p) return;
        this.pending.delete(index);
        if (msg.ok) {
          const d = msg.frame.data;
          p.resolve({ ...msg.frame, data: Buffer.from(d.buffer, d.byteOffset, d.byteLength) });
        } else p.reject(new Error(`rendering frame ${index} failed: ${msg.message}`));
      });
      w.on("error", (err) => this.failAll(err));
    }
  }

  static async create(options: RenderPoolOptions): Promise<RenderPool> {
    const { width, height } = options;
    if (!Number.isInteger(width) || width <= 0) throw new RangeError(`width must be a positive integer, got ${width}`);
    if (!Number.isInteger(height) || height <= 0) throw new RangeError(`height must be a positive integer, got ${height}`);
    const threads = options.threads ?? availableParallelism();
    if (!Number.isInteger(threads) || threads < 0) throw new RangeError(`threads must be a non-negative integer, got ${threads}`);
    const script = new URL("./render-worker.js", import.meta.url);
    if (threads === 0 || !existsSync(fileURLToPath(script))) {
      return new RenderPool([], new FrameRenderer(options.calibration, width, height));
    }
    const workers = Array.from(
      { length: threads },
      () => new Worker(script, { workerData: { calibration: options.calibration, width, height } }),
    );
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            w.once("online", () => resolve());
            w.once("error", reject);
          }),
      ),
    );
    return new RenderPool(workers, undefined);
  }

  /** Render one frame. Jobs go round-robin to the workers. */
  render(job: FrameJob): Promise<RenderedFrame> {
    if (this.local) return this.local.render(job);
    if (this.pending.has(job.index)) throw new RangeError(`job.index ${job.index} is already being rendered`);
    const worker = this.workers[this.next++ % this.workers.length];
    return new Promise<RenderedFrame>((resolve, reject) => {
      this.pending.set(job.index, { resolve, reject });
      worker.postMessage(job);
    });
  }

  /**
   * Render jobs, at most `2 x threads` in flight, yielding frames in job order (a dataset
   * writer needs them in order; the bound keeps memory flat for any frame count).
   */
  async *renderAll(jobs: Iterable<FrameJob>): AsyncGenerator<RenderedFrame> {
    const window = Math.max(1, 2 * this.threads);
    const inFlight: Promise<RenderedFrame>[] = [];
    for (const job of jobs) {
      const frame = this.render(job);
      // Awaited in order below; a rejection (pool closed) must not surface as unhandled meanwhile.
      frame.catch(() => undefined);
      inFlight.push(frame);
      if (inFlight.length >= window) yield await inFlight.shift()!;
    }
    while (inFlight.length) yield await inFlight.shift()!;
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  async close(): Promise<void> {
    this.failAll(new Error("render pool closed"));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
