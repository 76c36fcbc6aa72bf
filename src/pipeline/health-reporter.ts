/**
 * The pipeline's health as the controller and the log see it: the state (STARTING, RUNNING,
 * DEGRADED while the source or a recording is in trouble, STOPPING, STOPPED), the last error, the
 * Status heartbeat and the periodic log line. The frame loop reports to it and reads nothing back;
 * the heartbeat and the log line run on their own timers, so the controller hears from fovea also
 * when no frames arrive.
 *
 * One heartbeat and one snapshot serve the whole life of a run: while the source opens (a camera
 * slow to appear, the synthetic clip rendering) it says STARTING with zero counters, and once the
 * source is attached it describes that source and the loop's counters.
 */
import type { Logger } from "pino";
import type { SourceEvents } from "../core/frame.js";
import type { PipelineCounters, PipelineObserver, PipelineState } from "../core/pipeline-types.js";
import { StatusHeartbeat, type StatusBeat, type StatusSnapshot } from "../publish/status-heartbeat.js";
import type { StageLatencyRecorder, StageLatencyTable } from "./stage-latency.js";

export interface HealthReporterOptions {
  /** Engine, device and model the Status names. */
  engine: { readonly engine: string; readonly device: string; readonly metadata: { readonly id: string } };
  /** Hand an encoded Status to the transport; must return at once. */
  sendStatus: (message: Uint8Array) => void;
  /** Read at every beat: a failed recording degrades the run, its drops go into the Status. */
  observers: readonly PipelineObserver[];
  log: Logger;
  /** Camera id published before the source says its own. */
  cameraId?: string;
  /** Status period, milliseconds (<= 1000). Default 1000. */
  statusIntervalMs?: number;
  /** Period of the fps/latency log line, milliseconds. Default 5000. */
  logIntervalMs?: number;
}

/** The running loop, as the reporter reads it once the source is open. */
export interface ReportedRun {
  /** The source's description (Status `source`). */
  source: string;
  cameraId: string;
  counters: () => PipelineCounters;
  /** Per-stage latency since the last log line; the reporter resets it after each line. */
  intervalLatency: StageLatencyRecorder;
  /** Called after each Status was sent while the loop runs (the pipeline's observers). */
  onBeat: (beat: StatusBeat) => void;
}

const ZERO: PipelineCounters = { framesIn: 0, framesProcessed: 0, framesDropped: 0, framesFailed: 0, reconnects: 0, outOfEnvelope: 0 };

export class HealthReporter {
  private state: PipelineState = "STARTING";
  private lastError = "";
  /** Why the source is degraded (it died, it stalls), null while it delivers. */
  private sourceTrouble: string | null = null;
  /** The first observer failure (a recording that cannot be written), null if none. */
  private observerTrouble: string | null = null;
  private readonly heartbeat: StatusHeartbeat;
  private run: ReportedRun | null = null;
  private logTimer: NodeJS.Timeout | null = null;
  private lastLogNs = 0n;
  private lastLogProcessed = 0;

  /** Health callbacks for the source: a dying camera turns the status DEGRADED. */
  readonly sourceEvents: SourceEvents = {
    onDegraded: (reason) => this.onDegraded(reason),
    onRecovered: () => this.onRecovered(),
    onCorrupt: (reason) => this.error(reason),
  };

  constructor(private readonly options: HealthReporterOptions) {
    this.heartbeat = new StatusHeartbeat({
      intervalMs: options.statusIntervalMs ?? 1000,
      snapshot: () => this.snapshot(),
      send: options.sendStatus,
      onBeat: (b) => this.run?.onBeat(b),
    });
  }

  get currentState(): PipelineState {
    return this.state;
  }

  /** The last error seen (corrupt frame, source failure, engine failure), empty if none. */
  get lastErrorMessage(): string {
    return this.lastError;
  }

  /** The source is opening: beat STARTING until `opened()`. */
  opening(): void {
    this.heartbeat.start();
  }

  /**
   * The source is open (or failed to open). The heartbeat pauses until `running()`: a pipeline
   * that is created and never run holds no timer.
   */
  opened(): void {
    this.heartbeat.stop();
  }

  /** The loop starts on `run`: RUNNING, or DEGRADED if trouble was reported while the source opened. */
  running(run: ReportedRun): void {
    this.run = run;
    this.state = this.troubled() ? "DEGRADED" : "RUNNING";
    this.heartbeat.start();
    this.lastLogNs = process.hrtime.bigint();
    this.logTimer = setInterval(() => this.logInterval(), this.options.logIntervalMs ?? 5000);
  }

  /** The loop ended: STOPPING goes out at once. */
  stopping(): void {
    this.state = "STOPPING";
    this.heartbeat.beat();
  }

  /** Everything is closed: the last log line, then STOPPED as the final Status. */
  stopped(): void {
    if (this.logTimer) clearInterval(this.logTimer);
    this.logTimer = null;
    this.heartbeat.stop();
    this.logInterval();
    this.state = "STOPPED";
    this.heartbeat.beat();
  }

  /** Record an error for the Status' `last_error` (the state is unchanged). */
  error(message: string): void {
    this.lastError = message;
  }

  private troubled(): boolean {
    return this.sourceTrouble !== null || this.observerTrouble !== null;
  }

  private snapshot(): StatusSnapshot {
    this.checkObservers();
    const { engine, cameraId } = this.options;
    const run = this.run;
    let recordingDropped = 0;
    for (const o of this.options.observers) recordingDropped += o.recordingDropped ?? 0;
    return {
      state: this.state,
      counters: run ? run.counters() : ZERO,
      engine: engine.engine,
      device: engine.device,
      modelId: engine.metadata.id,
      cameraId: run?.cameraId ?? cameraId ?? "",
      source: run?.source ?? "opening",
      lastError: this.lastError,
      recordingDropped,
    };
  }

  /**
   * DEGRADED while the source is in trouble (died and reconnecting, or stalled) or an observer
   * failed (the recording); RUNNING otherwise. A change goes out as a Status at once.
   */
  private setHealth(beat: boolean): void {
    if (this.state === "STOPPING" || this.state === "STOPPED") return;
    const troubled = this.troubled();
    const next = troubled ? "DEGRADED" : this.state === "STARTING" ? "STARTING" : "RUNNING";
    if (next === this.state) return;
    this.state = next;
    if (troubled) this.options.log.warn({ reason: this.lastError }, "degraded");
    else this.options.log.info("healthy again");
    if (beat) this.heartbeat.beat();
  }

  private onDegraded(reason: string): void {
    this.sourceTrouble = reason;
    this.lastError = reason;
    this.options.log.warn({ reason }, "source degraded");
    this.setHealth(true);
  }

  private onRecovered(): void {
    if (this.sourceTrouble === null) return;
    this.sourceTrouble = null;
    this.options.log.info("source recovered");
    // The error that still holds stays the one the controller reads.
    if (this.observerTrouble !== null) this.lastError = this.observerTrouble;
    this.setHealth(true);
  }

  /** Observers that failed for good (a recording that cannot be written) degrade the run; read at every beat. */
  private checkObservers(): void {
    if (this.observerTrouble !== null) return;
    for (const o of this.options.observers) {
      const err = o.error;
      if (!err) continue;
      this.observerTrouble = `${o.file ? `recording ${o.file}` : "pipeline observer"} failed: ${err.message}`;
      this.lastError = this.observerTrouble;
      this.options.log.error({ err }, this.observerTrouble);
      // Called from inside a beat, which then carries the new state.
      this.setHealth(false);
      return;
    }
  }

  /** The periodic log line: fps and per-stage p50/p99 over the interval since the last one. */
  private logInterval(): void {
    const run = this.run;
    if (!run) return;
    const counters = run.counters();
    const now = process.hrtime.bigint();
    const fps = now > this.lastLogNs ? ((counters.framesProcessed - this.lastLogProcessed) * 1e9) / Number(now - this.lastLogNs) : 0;
    this.lastLogNs = now;
    this.lastLogProcessed = counters.framesProcessed;
    const log = this.options.log;
    if (run.intervalLatency.count === 0 && fps === 0) {
      log.info({ state: this.state, counters }, "no frames processed in the last interval");
      return;
    }
    const t = run.intervalLatency.table();
    const ms = (s: keyof StageLatencyTable) => `${round(t[s].p50)}/${round(t[s].p99)}`;
    log.info(
      {
        fps: round(fps),
        state: this.state,
        counters,
        // p50/p99 milliseconds per stage over the interval.
        latencyMs: {
          capture: ms("capture"),
          preprocess: ms("preprocess"),
          inference: ms("inference"),
          detect: ms("detect"),
          publish: ms("publish"),
          total: ms("total"),
        },
      },
      `fps ${round(fps)} | p50/p99 ms: preprocess ${ms("preprocess")} inference ${ms("inference")} detect ${ms("detect")} total ${ms("total")}`,
    );
    run.intervalLatency.reset();
  }
}

export function round(v: number): number {
  return Math.round(v * 100) / 100;
}
