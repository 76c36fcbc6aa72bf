/**
 * A precise frame clock for paced replay, on a worker thread.
 *
 * Node's timers run on the loop's millisecond clock: even on an idle loop `setTimeout` fires up
 * to about a millisecond late, more when the loop is busy. A paced source that stamped its
 * frames when such a timer ran would hide that lateness from the latency figures; one that
 * stamped the due time would add timer jitter a camera does not have. The worker sleeps with
 * `Atomics.wait` (sub-millisecond) and posts each tick with the time it fired; the message wakes
 * an idle loop at once and, like a camera frame arriving on a file descriptor, waits while the
 * loop is busy — that wait is latency and is counted, because the frame is stamped with the tick.
 */
import { Worker } from "node:worker_threads";
import { epochNowNs } from "./clock.js";

// Plain CommonJS for `eval: true`; it never returns to its own event loop, so stopping is a
// shared flag plus a notify that cuts the current wait short.
const WORKER_CODE = `
const { parentPort, workerData } = require("node:worker_threads");
const stop = new Int32Array(workerData.stop);
const periodNs = BigInt(Math.round(1e9 / workerData.fps));
(function tick() {
let start = process.hrtime.bigint();
for (let tick = 0; Atomics.load(stop, 0) === 0; tick++) {
  const due = start + BigInt(tick) * periodNs;
  for (;;) {
    if (Atomics.load(stop, 0) !== 0) return;
    const left = due - process.hrtime.bigint();
    if (left <= 0n) break;
    Atomics.wait(stop, 0, 0, Number(left) / 1e6);
  }
  const now = process.hrtime.bigint();
  // Descheduled for more than a period: restart the schedule rather than burst to catch up.
  if (now - due > periodNs) start += now - due;
  parentPort.postMessage(now);
}
})();
`;

export class FrameTicker {
  private readonly worker: Worker;
  private readonly stopFlag: Int32Array;
  private readonly exited: Promise<void>;

  /**
   * Start ticking at `fps`; `onTick(captureTimeNs)` runs on the loop for every tick, with the
   * epoch time (ns) the tick fired on the worker. It must return at once. `onError` hears a
   * worker that failed (no more ticks come).
   */
  constructor(fps: number, onTick: (captureTimeNs: bigint) => void, onError?: (err: Error) => void) {
    if (!Number.isFinite(fps) || fps <= 0) throw new RangeError(`fps: expected a positive number, got ${fps}`);
    const shared = new SharedArrayBuffer(4);
    this.stopFlag = new Int32Array(shared);
    this.worker = new Worker(WORKER_CODE, { eval: true, workerData: { fps, stop: shared } });
    this.worker.on("message", (firedHr: bigint) => {
      // hrtime is one monotonic clock for all threads; convert to the epoch clock frames carry.
      onTick(epochNowNs() - (process.hrtime.bigint() - firedHr));
    });
    this.exited = new Promise((resolve) => this.worker.once("exit", () => resolve()));
    // A worker that cannot start (out of memory, thread limit) ends the ticks: the owner hears it
    // (a source fails its iteration, naming the reason) instead of going silently quiet.
    this.worker.on("error", (err) => onError?.(new Error(`frame clock worker failed: ${err.message}`, { cause: err })));
  }

  /** Stop ticking; resolves when the worker has exited. Idempotent. */
  stop(): Promise<void> {
    Atomics.store(this.stopFlag, 0, 1);
    Atomics.notify(this.stopFlag, 0);
    return this.exited;
  }
}
