import { spawn, type ChildProcessByStdio } from "node:child_process";
import type { Readable } from "node:stream";
import { FoveaInputError } from "../core/errors.js";
import type { Frame, FrameSource, SourceCounters, SourceEvents, SourceInfo } from "../core/frame.js";
import { epochNowNs } from "../core/clock.js";
import { LatestFrameSlot } from "../core/latest-frame-slot.js";
import { RawFrameSplitter } from "./raw-frame-splitter.js";
import { StderrTail } from "./stderr-tail.js";

/** Restart policy for a live input whose ffmpeg process dies (camera unplugged, driver reset). */
export interface ReconnectPolicy {
  /** First delay before restarting, doubled after each failed attempt. Default 100 ms. */
  minDelayMs?: number;
  /** Upper bound of the delay. Default 5000 ms. */
  maxDelayMs?: number;
}

export interface FfmpegStreamOptions {
  /**
   * ffmpeg arguments that open the input: everything before the output, ending with `-i INPUT`.
   * E.g. `["-f","v4l2","-input_format","mjpeg","-i","/dev/video0"]` or
   * `["-re","-f","lavfi","-i","testsrc2=size=320x240:rate=60"]`. The output side (raw rgb24 on
   * stdout) is always the same, so every input shares one streaming code path.
   */
  inputArgs: readonly string[];
  /** Width of the delivered frames; ffmpeg scales to it if the input differs. */
  width: number;
  /** Height of the delivered frames. */
  height: number;
  /**
   * `live`: ffmpeg runs on the input's clock; frames pass through a latest-frame slot, so a slow
   * consumer gets the newest frame and older ones are dropped (counted in `dropped`).
   * `pull`: ffmpeg is read on demand — pipe backpressure pauses it while the consumer is busy;
   * nothing is dropped.
   */
  mode: "live" | "pull";
  /** Names the input in error messages, e.g. the file path or device. */
  inputName: string;
  /** Camera identifier published with each frame's detections. */
  cameraId: string;
  /** Human-readable description for status and logs. Default: `ffmpeg:<inputName>`. */
  description?: string;
  /** Nominal frame rate if known. */
  fps?: number;
  /**
   * Restart ffmpeg when it exits while the source is open (live cameras). Off by default: a
   * file that ends, ends.
   */
  reconnect?: ReconnectPolicy | false;
  /** Health callbacks: degraded/recovered around reconnects, corrupt for truncated frames. */
  events?: SourceEvents;
  /** ffmpeg executable. Default `ffmpeg` from PATH (a custom build, e.g. with hardware decoders). */
  ffmpegPath?: string;
  /** How long `open()` waits for the first frame before giving up. Default 10000 ms. */
  firstFrameTimeoutMs?: number;
  /** How many of ffmpeg's last stderr lines to keep for error messages. Default 20. */
  stderrLines?: number;
  /**
   * Live mode: how long ffmpeg may run without delivering a frame before the source counts as
   * stalled (degraded; with `reconnect`, ffmpeg is killed and restarted with backoff). Default
   * max(3 frame intervals, 250 ms), the interval from `fps` or else from the frames seen. A
   * restarted ffmpeg gets `restartGraceMs` for its first frame. `false`: no watchdog.
   */
  stallTimeoutMs?: number | false;
  /** Time a restarted ffmpeg has to deliver its first frame (opening a camera takes a while). Default 2000 ms. */
  restartGraceMs?: number;
}

/** Stall timeout floor: below it, scheduler and pipe jitter alone would trip the watchdog. */
export const MIN_STALL_MS = 250;
/** How often the watchdog looks; bounds how late after the timeout a stall is reported. */
const WATCHDOG_PERIOD_MS = 50;

type FfmpegChild = ChildProcessByStdio<null, Readable, Readable>;

interface RunningChild {
  readonly process: FfmpegChild;
  /** Settles when the process has exited and its pipes are closed. */
  readonly closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const KILL_GRACE_MS = 400;

/**
 * Frames from ONE long-lived ffmpeg process writing raw rgb24 to a pipe. Starting a process per
 * frame (like snapshot tools do) costs tens of milliseconds each; a single stream costs nothing
 * per frame beyond the pixels themselves.
 *
 * Capture time is the moment the frame's last byte arrived on the pipe. The raw pipe carries no
 * timestamps, and that moment is the earliest at which the whole frame exists in this process —
 * with `-fflags nobuffer -flags low_delay -flush_packets 1` ffmpeg writes each frame as soon as
 * the driver hands it over, so this is close to the true capture time and never earlier (latency
 * figures measured from it are honest, not flattering).
 *
 * Sequence numbers count frames from the start of the source and continue across reconnects.
 */
export class FfmpegStreamSource implements FrameSource {
  readonly info: SourceInfo;
  readonly counters: SourceCounters = { corrupt: 0, reconnects: 0 };

  private readonly options: FfmpegStreamOptions;
  private readonly frameBytes: number;
  private readonly stderr: StderrTail;
  private readonly slot = new LatestFrameSlot<Frame>();
  private readonly minDelayMs: number;
  private readonly maxDelayMs: number;
  private child: RunningChild | undefined;
  private nextSeq = 0;
  private closed = false;
  private closing: Promise<void> | undefined;
  private degraded = false;
  private delayMs: number;
  private restartTimer: NodeJS.Timeout | undefined;
  private iterated = false;
  private firstFrameWaiter: { resolve(): void; reject(err: unknown): void } | undefined;
  private pullIterator: AsyncGenerator<Frame> | undefined;
  private pullFirst: Frame | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  /** performance.now() of the last frame, or of the current ffmpeg's start before its first. */
  private lastFrameMs = 0;
  /** Frames the current ffmpeg process delivered. */
  private childFrames = 0;
  /** Smoothed interval between frames, ms (0 until two frames arrived). */
  private intervalMs = 0;
  /** The ffmpeg process the watchdog killed: its exit is the stall, already reported. */
  private stalledChild: RunningChild | undefined;

  /** Start ffmpeg and wait for its first frame, so an unreadable input fails here, not later. */
  static async open(options: FfmpegStreamOptions): Promise<FfmpegStreamSource> {
    const source = new FfmpegStreamSource(options);
    try {
      await source.start();
    } catch (err) {
      await source.close();
      throw err;
    }
    return source;
  }

  private constructor(options: FfmpegStreamOptions) {
    for (const key of ["width", "height"] as const) {
      if (!Number.isSafeInteger(options[key]) || options[key] <= 0) {
        throw new RangeError(`${key}: expected a positive integer, got ${options[key]}`);
      }
    }
    if (!Array.isArray(options.inputArgs) || !options.inputArgs.includes("-i")) {
      throw new TypeError("inputArgs: expected ffmpeg input arguments containing -i INPUT");
    }
    if (options.mode !== "live" && options.mode !== "pull") {
      throw new RangeError(`mode: expected "live" or "pull", got ${String(options.mode)}`);
    }
    if (options.reconnect && options.mode !== "live") {
      throw new RangeError("reconnect: only a live source reconnects");
    }
    const stall = options.stallTimeoutMs;
    if (stall !== undefined && stall !== false && !(Number.isFinite(stall) && stall > 0)) {
      throw new RangeError(`stallTimeoutMs: expected a positive number of milliseconds or false, got ${stall}`);
    }
    const grace = options.restartGraceMs;
    if (grace !== undefined && !(Number.isFinite(grace) && grace > 0)) {
      throw new RangeError(`restartGraceMs: expected a positive number of milliseconds, got ${grace}`);
    }
    this.options = options;
    this.frameBytes = options.width * options.height * 3;
    this.stderr = new StderrTail(options.stderrLines ?? 20);
    this.minDelayMs = (options.reconnect && options.reconnect.minDelayMs) || 100;
    this.maxDelayMs = Math.max(this.minDelayMs, (options.reconnect && options.reconnect.maxDelayMs) || 5000);
    this.delayMs = this.minDelayMs;
    this.info = {
      description: options.description ?? `ffmpeg:${options.inputName}`,
      cameraId: options.cameraId,
      fps: options.fps,
      mode: options.mode,
    };
  }

  /** Live mode: frames overwritten in the source's slot before the consumer took them. */
  get dropped(): number {
    return this.slot.dropped;
  }

  /** ffmpeg's last stderr lines, for diagnostics. */
  get stderrTail(): readonly string[] {
    return this.stderr.all;
  }

  frames(): AsyncIterable<Frame> {
    if (this.iterated) throw new Error(`${this.info.description}: frames() can be iterated only once`);
    this.iterated = true;
    return this.options.mode === "live" ? this.slot : this.pullFrames();
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    clearTimeout(this.restartTimer);
    clearInterval(this.watchdog);
    this.slot.close();
    this.firstFrameWaiter?.reject(new Error(`${this.options.inputName}: source closed before the first frame`));
    if (this.child) await stopChild(this.child);
  }

  private async start(): Promise<void> {
    const timeoutMs = this.options.firstFrameTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new FoveaInputError(this.options.inputName, `ffmpeg delivered no frame within ${timeoutMs} ms: ${this.stderr}`)),
        timeoutMs,
      );
    });
    try {
      if (this.options.mode === "live") {
        const first = new Promise<void>((resolve, reject) => (this.firstFrameWaiter = { resolve, reject }));
        first.catch(() => {}); // observed through the race below; never an unhandled rejection
        this.spawnLive();
        await Promise.race([first, timeout]);
        this.startWatchdog();
      } else {
        this.pullIterator = this.readPull();
        const first = await Promise.race([this.pullIterator.next(), timeout]).catch((err: unknown) => {
          // Failing before the first frame means the input itself is unusable: bad input, exit 2.
          throw err instanceof FoveaInputError ? err : new FoveaInputError(this.options.inputName, (err as Error).message, { cause: err });
        });
        if (first.done) {
          throw new FoveaInputError(this.options.inputName, `ffmpeg decoded no video frames: ${this.stderr}`);
        }
        this.pullFirst = first.value;
      }
    } finally {
      clearTimeout(timer);
      this.firstFrameWaiter = undefined;
    }
  }

  private spawn(): RunningChild {
    const { width, height } = this.options;
    const args = [
      "-hide_banner",
      "-nostdin",
      "-nostats",
      "-loglevel",
      "warning",
      ...this.options.inputArgs,
      "-an",
      "-sn",
      "-dn",
      // Each input frame exactly once: no duplication/dropping to a constant output rate.
      "-fps_mode",
      "passthrough",
      "-f",
      "rawvideo",
      "-pix_fmt",
      "rgb24",
      "-s",
      `${width}x${height}`,
      // Never leave a frame's tail in ffmpeg's I/O buffer until the next frame arrives. The default
      // (auto) happens to flush on pipes; with 0, frames arrived one period (+33 ms at 30 fps) later.
      "-flush_packets",
      "1",
      "pipe:1",
    ];
    const proc = spawn(this.options.ffmpegPath ?? "ffmpeg", args, { stdio: ["ignore", "pipe", "pipe"] });
    this.stderr.follow(proc.stderr);
    proc.on("error", (err) => this.stderr.add(`spawn ${this.options.ffmpegPath ?? "ffmpeg"}: ${err.message}`));
    const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      proc.once("close", (code, signal) => resolve({ code, signal })),
    );
    const child = { process: proc, closed };
    this.child = child;
    return child;
  }

  private makeFrame(data: Buffer): Frame {
    return {
      seq: this.nextSeq++,
      captureTimeNs: epochNowNs(),
      width: this.options.width,
      height: this.options.height,
      encoding: "rgb24",
      data,
      origin: this.options.inputName,
    };
  }

  private countTruncated(splitter: RawFrameSplitter, child?: RunningChild): void {
    const discarded = splitter.end();
    // A partial frame cut off by our own close() (e.g. --max-frames reached) or by the watchdog
    // killing a stalled ffmpeg is not corruption.
    if (discarded === 0 || this.closed || (child && child === this.stalledChild)) return;
    this.counters.corrupt++;
    this.options.events?.onCorrupt?.(
      `${this.options.inputName}: truncated last frame discarded (${discarded} of ${this.frameBytes} bytes)`,
    );
  }

  private exitReason(code: number | null, signal: NodeJS.Signals | null): string {
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    return `ffmpeg reading ${this.options.inputName} ${how}: ${this.stderr}`;
  }

  // ---- live: flowing pipe -> splitter -> latest-frame slot --------------------------------------

  private spawnLive(): void {
    const child = this.spawn();
    this.lastFrameMs = performance.now();
    this.childFrames = 0;
    const splitter = new RawFrameSplitter(this.frameBytes, (data) => {
      const frame = this.makeFrame(data);
      const now = performance.now();
      if (this.childFrames++ > 0)
        this.intervalMs = this.intervalMs === 0 ? now - this.lastFrameMs : 0.9 * this.intervalMs + 0.1 * (now - this.lastFrameMs);
      this.lastFrameMs = now;
      if (this.firstFrameWaiter) this.firstFrameWaiter.resolve();
      if (this.degraded) {
        this.degraded = false;
        this.delayMs = this.minDelayMs;
        this.options.events?.onRecovered?.();
      }
      this.slot.put(frame);
    });
    child.process.stdout.on("data", (chunk: Buffer) => splitter.push(chunk));
    void child.closed.then(({ code, signal }) => {
      this.countTruncated(splitter, child);
      if (this.closed) return;
      if (child === this.stalledChild) {
        // Degraded already, with the stall as the reason; restart (with backoff) like a crash.
        this.stalledChild = undefined;
        this.scheduleRestart();
        return;
      }
      const reason = this.exitReason(code, signal);
      if (this.nextSeq === 0) {
        // Never delivered a frame: wrong device, format or file. A configuration error, not a fault.
        this.firstFrameWaiter?.reject(new FoveaInputError(this.options.inputName, reason));
        return;
      }
      if (!this.options.reconnect) {
        this.slot.close(code === 0 ? undefined : new Error(reason));
        return;
      }
      if (!this.degraded) {
        this.degraded = true;
        this.options.events?.onDegraded?.(reason);
      }
      this.scheduleRestart();
    });
  }

  /** The stall timeout now: fixed, or max(3 frame intervals, 250 ms). */
  private stallLimitMs(): number {
    const fixed = this.options.stallTimeoutMs;
    if (typeof fixed === "number") return fixed;
    const interval = this.options.fps ? 1000 / this.options.fps : this.intervalMs;
    return Math.max(3 * interval, MIN_STALL_MS);
  }

  /**
   * Live mode: a camera can stop sending while its ffmpeg stays alive (a hung USB device, a
   * driver waiting forever, a process stopped). Without a frame for the stall timeout the source
   * is degraded; with reconnect, the silent ffmpeg is killed and restarted with backoff.
   */
  private startWatchdog(): void {
    if (this.options.mode !== "live" || this.options.stallTimeoutMs === false || this.closed) return;
    this.watchdog = setInterval(() => this.checkStall(), WATCHDOG_PERIOD_MS);
    this.watchdog.unref();
  }

  private checkStall(): void {
    const child = this.child;
    // Between a crash and its restart the exit already made the source degraded.
    if (this.closed || !child || child === this.stalledChild || child.process.exitCode !== null || child.process.signalCode !== null)
      return;
    const silentMs = performance.now() - this.lastFrameMs;
    const limit = this.childFrames > 0 ? this.stallLimitMs() : Math.max(this.stallLimitMs(), this.options.restartGraceMs ?? 2000);
    if (silentMs <= limit) return;
    const expected = this.options.fps
      ? `${this.options.fps} fps`
      : this.intervalMs > 0
        ? `a frame every ${Math.round(this.intervalMs)} ms`
        : "frames";
    const reason =
      `${this.options.inputName}: no frame for ${Math.round(silentMs)} ms (expected ${expected}; stall timeout ${Math.round(limit)} ms); ` +
      `ffmpeg pid ${child.process.pid} is running but sends nothing${this.options.reconnect ? ", restarting it" : ""}`;
    if (!this.degraded) {
      this.degraded = true;
      this.options.events?.onDegraded?.(reason);
    }
    if (!this.options.reconnect) {
      // A replay cannot be restarted where it stopped: stay degraded until frames come again.
      this.lastFrameMs = performance.now();
      return;
    }
    this.stalledChild = child;
    // SIGKILL: a stopped or hung process never acts on SIGTERM.
    child.process.kill("SIGKILL");
  }

  private scheduleRestart(): void {
    const delay = this.delayMs;
    this.delayMs = Math.min(this.delayMs * 2, this.maxDelayMs);
    this.restartTimer = setTimeout(() => {
      if (this.closed) return;
      this.counters.reconnects++;
      this.spawnLive();
    }, delay);
  }

  // ---- pull: async iteration over the pipe, backpressure pauses ffmpeg --------------------------

  private async *pullFrames(): AsyncGenerator<Frame> {
    if (this.pullFirst) {
      const first = this.pullFirst;
      this.pullFirst = undefined;
      yield first;
    }
    const it = this.pullIterator;
    if (!it) return;
    try {
      for (;;) {
        const next = await it.next();
        if (next.done) return;
        yield next.value;
      }
    } finally {
      // A consumer that stops early ends the reader, which stops ffmpeg.
      await it.return(undefined);
    }
  }

  private async *readPull(): AsyncGenerator<Frame> {
    const child = this.spawn();
    // Frames completed by one chunk; with small frames one 64 KiB chunk can hold several.
    const ready: Frame[] = [];
    const splitter = new RawFrameSplitter(this.frameBytes, (data) => ready.push(this.makeFrame(data)));
    try {
      for await (const chunk of child.process.stdout) {
        splitter.push(chunk as Buffer);
        while (ready.length) yield ready.shift() as Frame;
      }
    } catch (err) {
      if (!this.closed) throw err;
    } finally {
      if (!this.closed) await stopChild(child);
    }
    const { code, signal } = await child.closed;
    this.countTruncated(splitter);
    if (this.closed) return;
    if (code !== 0) throw new Error(this.exitReason(code, signal));
  }
}

/** SIGTERM, then SIGKILL if ffmpeg has not exited within the grace period; resolves once it has. */
async function stopChild(child: RunningChild): Promise<void> {
  const proc = child.process;
  if (proc.exitCode === null && proc.signalCode === null) {
    // A write blocked on a full pipe would delay SIGTERM handling; closing our end unblocks it.
    proc.stdout.destroy();
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), KILL_GRACE_MS);
    await child.closed;
    clearTimeout(timer);
  } else {
    await child.closed;
  }
}
