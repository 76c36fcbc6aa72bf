/**
 * The Status heartbeat: a timer publishes the pipeline's state and counters at a fixed rate
 * (>= 1 Hz), independent of the frame loop, so the controller hears from fovea also when no
 * frames arrive (camera lost, engine stuck).
 */
import type { PipelineCounters, PipelineState } from "../core/pipeline-types.js";
import { encodeStatus, type StatusMessage } from "./codec.js";

/** What the heartbeat reads from the pipeline at every beat. */
export interface StatusSnapshot {
  state: PipelineState;
  counters: Readonly<PipelineCounters>;
  engine: string;
  device: string;
  modelId: string;
  cameraId: string;
  source: string;
  lastError: string;
  /** Frames the recorder dropped, if one runs. */
  recordingDropped: number;
}

/** A beat: the Status as sent, its bytes, and the pipeline state it reports. */
export interface StatusBeat {
  status: StatusMessage;
  message: Uint8Array;
  state: PipelineState;
  counters: PipelineCounters;
}

export interface StatusHeartbeatOptions {
  /** Read the pipeline's current state; called on every beat, must be cheap. */
  snapshot: () => StatusSnapshot;
  /** Send the encoded Status (e.g. DetectionPublisher.publishStatus). Must not block. */
  send: (message: Uint8Array) => void;
  /** Called after each beat was sent (observers, logging). */
  onBeat?: (beat: StatusBeat) => void;
  /** Milliseconds between beats, 1..1000 (the contract is at least 1 Hz). Default 1000. */
  intervalMs?: number;
  /** Epoch-nanosecond clock; default wall clock. */
  now?: () => bigint;
}

export class StatusHeartbeat {
  readonly intervalMs: number;
  private timer: NodeJS.Timeout | null = null;
  private lastProcessed = 0;
  private lastBeatNs = 0n;
  private readonly now: () => bigint;

  constructor(private readonly options: StatusHeartbeatOptions) {
    if (typeof options?.snapshot !== "function") throw new TypeError("options.snapshot: expected a function");
    if (typeof options.send !== "function") throw new TypeError("options.send: expected a function");
    const intervalMs = options.intervalMs ?? 1000;
    if (!(intervalMs >= 1 && intervalMs <= 1000))
      throw new RangeError(`options.intervalMs: expected 1..1000 (at least 1 Hz), got ${intervalMs}`);
    this.intervalMs = intervalMs;
    this.now = options.now ?? (() => BigInt(Date.now()) * 1_000_000n);
  }

  /** Beat now and then every `intervalMs` until `stop()`. */
  start(): void {
    if (this.timer) return;
    this.beat();
    this.timer = setInterval(() => this.beat(), this.intervalMs);
  }

  /**
   * Publish a Status now (also used on state changes so DEGRADED/STOPPED go out at once).
   * fps is the processed-frame rate since the previous beat.
   */
  beat(): StatusBeat {
    const s = this.options.snapshot();
    const timeNs = this.now();
    const processed = s.counters.framesProcessed;
    let fps = 0;
    if (this.lastBeatNs > 0n && timeNs > this.lastBeatNs) {
      fps = ((processed - this.lastProcessed) * 1e9) / Number(timeNs - this.lastBeatNs);
    }
    this.lastProcessed = processed;
    this.lastBeatNs = timeNs;
    const c = s.counters;
    const status: StatusMessage = {
      state: s.state,
      fps,
      framesIn: BigInt(c.framesIn),
      framesProcessed: BigInt(c.framesProcessed),
      framesDropped: BigInt(c.framesDropped),
      framesFailed: BigInt(c.framesFailed),
      engine: s.engine,
      device: s.device,
      modelId: s.modelId,
      lastError: s.lastError,
      timeNs,
      cameraId: s.cameraId,
      source: s.source,
      reconnects: BigInt(c.reconnects),
      recordingDropped: BigInt(s.recordingDropped),
      outOfEnvelope: BigInt(c.outOfEnvelope),
    };
    const message = encodeStatus(status);
    this.options.send(message);
    const beat: StatusBeat = { status, message, state: s.state, counters: { ...c } };
    this.options.onBeat?.(beat);
    return beat;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
