/**
 * The frame loop: source -> preprocess -> engine -> detect -> publish, one frame at a time.
 *
 * Latest frame wins. A live source (paced synthetic, image folder) is pumped into a
 * LatestFrameSlot by its own async task; the loop takes the newest frame whenever it is free, so
 * frames that arrive while the engine is busy overwrite each other and are counted as dropped —
 * never queued. A source that keeps the newest frame itself off this thread (LatestFrameSource:
 * the camera and paced video, read on a worker because onnxruntime blocks this thread during a
 * run) is taken from directly. rgb24 frames go to the engine's frame path where it has one
 * (preprocessing inside the model's session, one run per frame). A pull source
 * (unpaced replay) is read directly: the next frame is produced when the loop asks for it, and is
 * preprocessed (sharp, on libuv's thread pool) while the engine runs the current one — one frame
 * ahead, never more, so throughput is set by the slower of the two stages rather than their sum.
 *
 * Nothing on the loop waits for the outside world: publishing hands bytes to ZeroMQ and returns,
 * logging is pino's async destination, observers must return at once, and the health reporter
 * (state, Status heartbeat, periodic log line) runs on its own timers.
 */
import type { Logger } from "pino";
import type { Calibration } from "../calib/calibration.js";
import { epochNowNs } from "../core/clock.js";
import { LatestFrameSlot } from "../core/latest-frame-slot.js";
import { isLatestFrameSource, type Frame, type FrameSource, type SourceEvents } from "../core/frame.js";
import type { FrameTimings, PipelineCounters, PipelineObserver, PipelineState, ProcessedFrame } from "../core/pipeline-types.js";
import { Detector } from "../detect/detector.js";
import type { EngineOutput, FrameInference, InferenceEngine } from "../engine/engine.js";
import { preprocess, preprocessParams, type PreprocessParams, type WhiteBalanceGains } from "../preprocess/preprocess.js";
import { encodeDetectionFrame } from "../publish/codec.js";
import type { StatusBeat } from "../publish/status-heartbeat.js";
import { HealthReporter, round } from "./health-reporter.js";
import { StageLatencyRecorder, type StageLatencyTable } from "./stage-latency.js";

/** What the pipeline needs from a publisher (DetectionPublisher satisfies it). */
export interface FramePublisher {
  /** Hand a DetectionFrame to the transport; must return at once. */
  publishDetections(payload: Uint8Array): boolean;
  /** Hand a Status to the transport; must return at once. */
  publishStatus(payload: Uint8Array): boolean;
}

export interface PipelineOptions {
  /**
   * The frame source, or a function that opens it given the pipeline's health callbacks (so a
   * dying camera turns the status DEGRADED). The pipeline closes the source when it stops.
   */
  source: FrameSource | ((events: SourceEvents) => Promise<FrameSource>);
  /** A ready engine; the caller owns it (disposes it after `run()` settles). */
  engine: InferenceEngine;
  /** Where DetectionFrames and Status go; the caller closes it after `run()` settles. */
  publisher: FramePublisher;
  /** Camera calibration: ground positions for detections and white balance for preprocessing. */
  calibration?: Calibration;
  /** Recorder, benchmark, ...: called synchronously on the loop, must return at once. */
  observers?: readonly PipelineObserver[];
  /** Stop after this many processed frames. Default: until the source ends or `stop()`. */
  maxFrames?: number;
  /** Published as `camera_id`. Default: the source's cameraId. */
  cameraId?: string;
  log: Logger;
  /** Status period, milliseconds (<= 1000). Default 1000. */
  statusIntervalMs?: number;
  /** Period of the fps/latency log line, milliseconds. Default 5000. */
  logIntervalMs?: number;
  /**
   * Hand rgb24 frames to the engine's frame path (InferenceEngine.framePath: preprocessing inside
   * the model's session) where it gives the trainer's pixels. Default true; false keeps
   * preprocess + run for every frame (the bench measures both).
   */
  framePath?: boolean;
}

/** What `run()` resolves with. */
export interface PipelineSummary {
  counters: PipelineCounters;
  /** Wall time of the run, seconds. */
  elapsedS: number;
  /** Processed frames per second over the run. */
  fps: number;
  /** Per-stage latency over the whole run, milliseconds. */
  latency: StageLatencyTable;
  /** The last error seen (corrupt frame, source failure, engine failure), empty if none. */
  lastError: string;
  /** Why the loop ended: source ended, maxFrames reached, or stop() was called. */
  reason: "source-ended" | "source-failed" | "max-frames" | "stopped";
}

const US_MAX = 0xffff_ffff;

/** Nanoseconds between two hrtime readings as whole microseconds, clamped to the wire's uint32. */
function usBetween(from: bigint, to: bigint): number {
  const us = Number(to - from) / 1000;
  return us <= 0 ? 0 : us >= US_MAX ? US_MAX : Math.round(us);
}

export class Pipeline {
  private readonly counters: PipelineCounters = {
    framesIn: 0,
    framesProcessed: 0,
    framesDropped: 0,
    framesFailed: 0,
    reconnects: 0,
    outOfEnvelope: 0,
  };
  private preprocessFailed = 0;
  private stopping = false;
  private stopReason: PipelineSummary["reason"] = "source-ended";
  private slot: LatestFrameSlot<Frame> | null = null;
  private readonly runLatency = new StageLatencyRecorder();
  private readonly intervalLatency = new StageLatencyRecorder();
  private readonly detector: Detector;
  private readonly params: PreprocessParams;
  /**
   * Two input tensors and their Prepared records: one being inferred while the other is filled
   * with the next pull frame.
   */
  private readonly tensors: [Float32Array, Float32Array];
  private readonly prepared: [Prepared, Prepared];
  private nextTensor = 0;
  /** The engine's frame path for the last rgb24 frame size seen (path null: none for that size). */
  private frameInference: { width: number; height: number; path: FrameInference | null } | undefined;
  private readonly whiteBalance?: WhiteBalanceGains;
  private readonly observers: readonly PipelineObserver[];
  private readonly cameraId: string;
  /** The source replays recorded capture times (SourceInfo.recordedTimes): fixed for the run. */
  private readonly recordedTimes: boolean;
  private readonly log: Logger;
  private running: Promise<PipelineSummary> | null = null;

  private constructor(
    readonly source: FrameSource,
    private readonly engine: InferenceEngine,
    private readonly publisher: FramePublisher,
    private readonly options: PipelineOptions,
    private readonly health: HealthReporter,
  ) {
    const md = engine.metadata;
    this.detector = new Detector(md, { calibration: options.calibration });
    this.params = preprocessParams(md);
    const n = md.input.width * md.input.height * 3;
    this.tensors = [new Float32Array(n), new Float32Array(n)];
    this.prepared = [emptyPrepared(this.tensors[0]), emptyPrepared(this.tensors[1])];
    this.whiteBalance = options.calibration?.whiteBalance;
    this.observers = options.observers ?? [];
    this.cameraId = options.cameraId ?? source.info.cameraId;
    this.recordedTimes = source.info.recordedTimes === true;
    this.log = options.log;
  }

  /**
   * Validate the options and open the source (when given as a function). The pipeline is ready
   * to `run()`; nothing runs before that.
   */
  static async create(options: PipelineOptions): Promise<Pipeline> {
    if (!options || typeof options !== "object") throw new TypeError("options: expected an object");
    const { engine, publisher, log, maxFrames } = options;
    if (!engine || typeof engine.run !== "function" || !engine.metadata) throw new TypeError("options.engine: expected an InferenceEngine");
    if (!publisher || typeof publisher.publishDetections !== "function" || typeof publisher.publishStatus !== "function") {
      throw new TypeError("options.publisher: expected a publisher with publishDetections() and publishStatus()");
    }
    if (!log || typeof log.info !== "function") throw new TypeError("options.log: expected a pino logger");
    if (maxFrames !== undefined && (!Number.isInteger(maxFrames) || maxFrames <= 0)) {
      throw new RangeError(`options.maxFrames: expected a positive integer, got ${maxFrames}`);
    }
    const health = new HealthReporter({
      engine,
      sendStatus: (m) => publisher.publishStatus(m),
      observers: options.observers ?? [],
      log,
      cameraId: options.cameraId,
      statusIntervalMs: options.statusIntervalMs,
      logIntervalMs: options.logIntervalMs,
    });
    let source: FrameSource;
    if (typeof options.source === "function") {
      // Opening can take long (a camera that is slow to appear, the synthetic clip rendering):
      // the controller hears STARTING meanwhile, at the same rate as the running heartbeat, and
      // hears DEGRADED at once if the source reports trouble while it opens.
      health.opening();
      try {
        source = await options.source(health.sourceEvents);
      } finally {
        health.opened();
      }
    } else {
      source = options.source;
    }
    if (!source || typeof source.frames !== "function" || !source.info) throw new TypeError("options.source: expected a FrameSource");
    return new Pipeline(source, engine, publisher, options, health);
  }

  /** The engine's frame path the loop used for the last rgb24 frame size, null if none (preprocess + run). */
  get framePathUsed(): FrameInference | null {
    return this.frameInference?.path ?? null;
  }

  /** Current state (STARTING until `run()`, then RUNNING / DEGRADED, STOPPING, STOPPED). */
  get currentState(): PipelineState {
    return this.health.currentState;
  }

  /**
   * Run until the source ends, `maxFrames` frames were processed, or `stop()`. Publishes one
   * DetectionFrame per processed frame and a Status at least every second; the final Status says
   * STOPPED. Rejects only on an engine failure (after stopping cleanly); a failing source ends
   * the run with reason `source-failed`; corrupt frames are skipped and counted.
   */
  run(): Promise<PipelineSummary> {
    if (this.running) return Promise.reject(new Error("Pipeline.run: already running (a pipeline runs once)"));
    this.running = this.runOnce();
    return this.running;
  }

  /** Ask the loop to end: closes the source, the current frame finishes. Resolves when stopped. */
  async stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      this.stopReason = "stopped";
      this.slot?.close();
      await this.closeSource();
    }
    if (this.running) await this.running.catch(() => undefined);
  }

  private sourceClosed: Promise<void> | null = null;
  private closeSource(): Promise<void> {
    this.sourceClosed ??= this.source.close().catch((err: unknown) => {
      this.log.warn({ err }, "closing the source failed");
    });
    return this.sourceClosed;
  }

  private async runOnce(): Promise<PipelineSummary> {
    const startNs = process.hrtime.bigint();
    const md = this.engine.metadata;
    this.health.running({
      source: this.source.info.description,
      cameraId: this.cameraId,
      counters: () => this.snapshotCounters(),
      intervalLatency: this.intervalLatency,
      onBeat: (b) => this.notifyStatus(b),
    });
    this.log.info(
      {
        source: this.source.info.description,
        mode: this.source.info.mode,
        engine: this.engine.engine,
        device: this.engine.device,
        model: md.id,
      },
      "pipeline running",
    );

    let failure: unknown;
    let pump: Promise<void> | null = null;
    try {
      if (isLatestFrameSource(this.source)) {
        // The source keeps the newest frame itself, off this thread: take from it directly.
        const source = this.source;
        // Its buffers are reused once the next frame is taken; observers that may keep pixels
        // get a copy (the recorder, the live view), the others (the bench) the frame as it is.
        const copyForObservers = this.observers.some((o) => o.keepsFramePixels !== false);
        for (;;) {
          let frame: Frame | undefined;
          try {
            frame = await source.takeLatest();
          } catch (err) {
            this.sourceFailed(err);
            break;
          }
          if (frame === undefined || this.stopping) break;
          if (copyForObservers) frame = { ...frame, data: Buffer.from(frame.data) };
          this.counters.framesIn++;
          this.notifySource(frame);
          if (await this.process(frame)) break;
        }
      } else if (this.source.info.mode === "live") {
        const slot = new LatestFrameSlot<Frame>();
        this.slot = slot;
        pump = this.pump(slot);
        for (;;) {
          const frame = await slot.take();
          if (frame === undefined || this.stopping) break;
          if (await this.process(frame)) break;
        }
      } else {
        const it = this.source.frames()[Symbol.asyncIterator]();
        // Read and preprocess the next frame; resolves "done" when the source ended or failed,
        // null when the frame was skipped (preprocessing failed, counted).
        const pull = async (): Promise<Prepared | null | "done"> => {
          let r: IteratorResult<Frame>;
          try {
            r = await it.next();
          } catch (err) {
            this.sourceFailed(err);
            return "done";
          }
          if (r.done || this.stopping) return "done";
          this.counters.framesIn++;
          this.notifySource(r.value);
          return this.prepare(r.value);
        };
        // Frame N+1 is read and preprocessed while frame N is inferred: one frame ahead, never
        // more, and only for pull sources, which drop nothing and have no live clock to fall
        // behind. Two tensors suffice: the next pull starts only after frame N finished.
        let ahead = pull();
        while (!this.stopping) {
          const prepared = await ahead;
          if (prepared === "done" || this.stopping) break;
          ahead = pull();
          if (prepared !== null && (await this.finish(prepared))) break;
        }
        // The read-ahead may still be pending; closing the source (below) ends it.
        ahead.catch(() => undefined);
      }
    } catch (err) {
      failure = err;
      this.health.error(`${(err as Error).message ?? String(err)}`);
      this.log.error({ err }, "pipeline failed");
    }

    this.health.stopping();
    this.slot?.close();
    await this.closeSource();
    if (pump) await pump;
    await this.frameInference?.path?.dispose();
    this.health.stopped();
    for (const o of this.observers) {
      try {
        await o.close?.();
      } catch (err) {
        this.log.warn({ err }, "observer failed to close");
      }
    }
    const elapsedS = Number(process.hrtime.bigint() - startNs) / 1e9;
    const summary: PipelineSummary = {
      counters: this.snapshotCounters(),
      elapsedS,
      fps: elapsedS > 0 ? this.counters.framesProcessed / elapsedS : 0,
      latency: this.runLatency.table(),
      lastError: this.health.lastErrorMessage,
      reason: this.stopReason,
    };
    this.runLatency.destroy();
    this.intervalLatency.destroy();
    this.log.info({ counters: summary.counters, fps: round(summary.fps), reason: summary.reason }, "pipeline stopped");
    if (failure !== undefined) throw failure;
    return summary;
  }

  /** Live sources: read frames as they come and keep only the newest for the loop. */
  private async pump(slot: LatestFrameSlot<Frame>): Promise<void> {
    try {
      for await (const frame of this.source.frames()) {
        this.counters.framesIn++;
        this.notifySource(frame);
        if (!slot.put(frame)) break;
      }
      slot.close();
    } catch (err) {
      this.sourceFailed(err);
      slot.close();
    }
  }

  /** A source that throws ends the run (reason `source-failed`, the error in the status). */
  private sourceFailed(err: unknown): void {
    this.health.error(`source ${this.source.info.description}: ${(err as Error).message ?? String(err)}`);
    if (!this.stopping) this.stopReason = "source-failed";
    this.log.error({ err }, "source failed");
  }

  /** Process one frame; returns true when `maxFrames` is reached. */
  private async process(frame: Frame): Promise<boolean> {
    const prepared = await this.prepare(frame);
    return prepared !== null && this.finish(prepared);
  }

  /**
   * Preprocess a frame into the next free tensor; null when preprocessing failed (the frame is
   * skipped and counted).
   */
  private async prepare(frame: Frame): Promise<Prepared | null> {
    const prepared = this.prepared[this.nextTensor];
    const tensor = this.tensors[this.nextTensor];
    this.nextTensor ^= 1;
    const t0 = process.hrtime.bigint();
    const takenNs = epochNowNs();
    if (frame.encoding === "rgb24" && this.options.framePath !== false && this.engine.framePath) {
      const fi = this.frameInference;
      const path =
        fi && fi.width === frame.width && fi.height === frame.height ? fi.path : await this.openFramePath(frame.width, frame.height);
      if (path) {
        // Preprocessing runs inside the engine's session, in finish().
        prepared.frame = frame;
        prepared.path = path;
        prepared.takenNs = takenNs;
        prepared.t0 = t0;
        prepared.t1 = t0;
        return prepared;
      }
    }
    let channelMean: [number, number, number];
    try {
      channelMean = (await preprocess(frame, this.params, { whiteBalance: this.whiteBalance, out: tensor })).channelMean;
    } catch (err) {
      this.preprocessFailed++;
      const message = (err as Error).message ?? String(err);
      this.health.error(message);
      this.log.warn({ seq: frame.seq, origin: frame.origin, err: message }, "frame skipped: preprocessing failed");
      return null;
    }
    prepared.frame = frame;
    prepared.path = null;
    prepared.channelMean = channelMean;
    prepared.takenNs = takenNs;
    prepared.t0 = t0;
    prepared.t1 = process.hrtime.bigint();
    return prepared;
  }

  /**
   * The engine's frame path for frames of one size, opened when the first such frame arrives;
   * null where the engine has none (the frames then take preprocess + run). A frame path that
   * fails its own check is logged and not used.
   */
  private async openFramePath(width: number, height: number): Promise<FrameInference | null> {
    const old = this.frameInference;
    this.frameInference = undefined;
    await old?.path?.dispose();
    let path: FrameInference | null = null;
    try {
      path = (await this.engine.framePath?.(width, height, this.whiteBalance)) ?? null;
    } catch (err) {
      this.log.warn(
        { err: (err as Error).message ?? String(err), width, height },
        "frame path not used: preprocessing stays outside the engine",
      );
    }
    if (path) this.log.info({ width, height, threads: path.threads }, "frame path: preprocessing runs inside the model's session");
    this.frameInference = { width, height, path };
    return path;
  }

  /** Inference, detection and publishing of a preprocessed frame; true when `maxFrames` is reached. */
  private async finish(prepared: Prepared): Promise<boolean> {
    const { frame, takenNs, t0, t1 } = prepared;
    const inferStart = process.hrtime.bigint();
    let output: EngineOutput;
    let channelMean: ArrayLike<number>;
    if (prepared.path) {
      const r = await prepared.path.run(frame.data);
      output = r.output;
      channelMean = r.channelMean;
    } else {
      output = await this.engine.run(prepared.tensor, 1);
      channelMean = prepared.channelMean;
    }
    const t2 = process.hrtime.bigint();
    const detections = this.detector.detect(output, frame.width, frame.height);
    if (this.detector.outsideEnvelope(channelMean)) this.counters.outOfEnvelope++;
    const t3 = process.hrtime.bigint();

    const publishTimeNs = epochNowNs();
    // A replayed recording carries its recorded capture times (the source says so; one beyond the
    // wire's uint32 microseconds, over an hour ago, can only be one too): then the capture stage
    // is unknown (0) and the end-to-end figure starts when the frame reached the loop.
    const sinceCapture = usBetween(frame.captureTimeNs, takenNs);
    const replayed = this.recordedTimes || sinceCapture === US_MAX;
    const timings: FrameTimings = {
      captureUs: replayed ? 0 : sinceCapture,
      preprocessUs: usBetween(t0, t1),
      inferenceUs: usBetween(inferStart, t2),
      detectUs: usBetween(t2, t3),
      publishUs: 0,
      totalUs: usBetween(replayed ? takenNs : frame.captureTimeNs, publishTimeNs),
    };
    const message = encodeDetectionFrame({
      seq: BigInt(frame.seq),
      cameraId: this.cameraId,
      captureTimeNs: frame.captureTimeNs,
      publishTimeNs,
      imageWidth: frame.width,
      imageHeight: frame.height,
      modelId: this.engine.metadata.id,
      detections,
      timings,
    });
    this.publisher.publishDetections(message);
    timings.publishUs = usBetween(t3, process.hrtime.bigint());
    this.counters.framesProcessed++;
    this.runLatency.record(timings);
    this.intervalLatency.record(timings);
    if (this.observers.length > 0) this.notifyProcessed({ frame, detections, timings, publishTimeNs, message });
    const max = this.options.maxFrames;
    if (max !== undefined && this.counters.framesProcessed >= max) {
      this.stopReason = "max-frames";
      return true;
    }
    return false;
  }

  private snapshotCounters(): PipelineCounters {
    const sourceDropped = this.source.dropped ?? 0;
    return {
      // Frames a live source dropped internally (its own latest-frame slot) were captured too:
      // counting them keeps in = processed + dropped + failed (+ the one in flight).
      framesIn: this.counters.framesIn + sourceDropped,
      framesProcessed: this.counters.framesProcessed,
      framesDropped: (this.slot?.dropped ?? 0) + sourceDropped,
      framesFailed: this.preprocessFailed + this.source.counters.corrupt,
      reconnects: this.source.counters.reconnects,
      outOfEnvelope: this.counters.outOfEnvelope,
    };
  }

  private notifySource(frame: Frame): void {
    this.notify("onSourceFrame", frame);
  }

  private notifyProcessed(p: ProcessedFrame): void {
    this.notify("onProcessed", p);
  }

  private notifyStatus(b: StatusBeat): void {
    this.notify("onStatus", { state: b.state, counters: b.counters, message: b.message, timeNs: b.status.timeNs });
  }

  /** Call one hook on every observer that has it; an observer that throws never stops the loop. */
  private notify<K extends "onSourceFrame" | "onProcessed" | "onStatus">(
    hook: K,
    arg: Parameters<NonNullable<PipelineObserver[K]>>[0],
  ): void {
    for (const o of this.observers) {
      const fn = o[hook] as ((a: typeof arg) => void) | undefined;
      if (!fn) continue;
      try {
        fn.call(o, arg);
      } catch (err) {
        this.health.error(`observer: ${(err as Error).message ?? String(err)}`);
        this.log.error({ err }, "pipeline observer threw");
      }
    }
  }
}

/** A frame after preprocessing, waiting for (or in) inference. */
interface Prepared {
  frame: Frame;
  tensor: Float32Array;
  /** Set when the frame goes to the engine's frame path, which preprocesses it (tensor unused). */
  path: FrameInference | null;
  channelMean: [number, number, number];
  /** When the loop took the frame (epoch ns): the end of the capture stage. */
  takenNs: bigint;
  /** Preprocessing start and end (hrtime). */
  t0: bigint;
  t1: bigint;
}

function emptyPrepared(tensor: Float32Array): Prepared {
  const frame: Frame = { seq: -1, captureTimeNs: 0n, width: 0, height: 0, encoding: "rgb24", data: Buffer.alloc(0) };
  return { frame, tensor, path: null, channelMean: [0, 0, 0], takenNs: 0n, t0: 0n, t1: 0n };
}
