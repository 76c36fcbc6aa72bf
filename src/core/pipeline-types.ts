/**
 * What the frame loop tells the parts beside it (publisher, recorder, benchmark, status).
 * Observers are called synchronously on the frame loop: they must copy what they need and
 * return at once — anything slow (disk, encoding) goes off the hot path, and when it cannot keep
 * up it drops and counts rather than delays the loop.
 */
import type { Detection } from "./detection.js";
import type { Frame } from "./frame.js";

/** Per-stage durations of one processed frame, microseconds. */
export interface FrameTimings {
  /** From capture time to the frame leaving the latest-frame slot into preprocess. */
  captureUs: number;
  preprocessUs: number;
  inferenceUs: number;
  /** Head decoding, NMS, ground projection. */
  detectUs: number;
  /** Encoding + handing the message to the socket (never waits for the network). */
  publishUs: number;
  /** Capture time to publish time. */
  totalUs: number;
}

export interface ProcessedFrame {
  readonly frame: Frame;
  readonly detections: readonly Detection[];
  readonly timings: FrameTimings;
  readonly publishTimeNs: bigint;
  /** The encoded DetectionFrame exactly as published (recorders store these bytes). */
  readonly message: Uint8Array;
}

export type PipelineState = "STARTING" | "RUNNING" | "DEGRADED" | "STOPPING" | "STOPPED";

export interface PipelineCounters {
  framesIn: number;
  framesProcessed: number;
  /** Overwritten in the latest-frame slot by a newer frame while the engine was busy. */
  framesDropped: number;
  /** Corrupt/undecodable frames skipped (source- or preprocess-detected). */
  framesFailed: number;
  reconnects: number;
  outOfEnvelope: number;
}

export interface PipelineObserver {
  /** Recorders: frames they could not keep up with (summed into Status `recording_dropped`). */
  readonly recordingDropped?: number;
  /**
   * Set once the observer has failed for good (a recording whose writes fail): the pipeline
   * reads it at every status beat and turns DEGRADED with it in `last_error`.
   */
  readonly error?: Error;
  /** The file the observer writes, named in `last_error` when it fails. */
  readonly file?: string;
  /**
   * false when the observer never reads a frame's pixels after its hook returned (it keeps only
   * seq, sizes, times): the loop then hands it frames whose buffers a source reuses (an
   * off-thread camera ring) without copying them. Absent means it may, and gets immutable copies.
   */
  readonly keepsFramePixels?: false;
  /** Every frame the source delivers, before the latest-frame slot (recording raw capture). */
  onSourceFrame?(frame: Frame): void;
  /** Each processed frame, after its DetectionFrame was handed to the publisher. */
  onProcessed?(p: ProcessedFrame): void;
  /** Each status heartbeat (>= 1 Hz), with the encoded Status bytes as published. */
  onStatus?(status: { state: PipelineState; counters: PipelineCounters; message: Uint8Array; timeNs: bigint }): void;
  /** The pipeline has stopped; flush and close. */
  close?(): Promise<void>;
}
