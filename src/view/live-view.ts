/**
 * `fovea run --view`: what the robot sees, live, in Foxglove or the built-in page.
 *
 * A pipeline observer, so the frame loop pays a clock read and a pointer store per processed
 * frame: at most `fps` times a second, and only while someone watches, the processed frame (its
 * pixels, detections and the DetectionFrame as published) goes into a single latest-wins slot.
 * A task off the loop JPEG-encodes it with sharp (libuv's thread pool) and sends the image, its
 * annotations, the DetectionFrame and the calibration together, stamped alike, so every viewer
 * frame has its own boxes. While an encode is in flight a newer sample replaces the waiting one
 * (counted in `framesDropped`); viewers that cannot keep up lose messages in the server, never
 * time in the loop. The full-rate detection stream stays on ZeroMQ.
 */
import type { Calibration } from "../calib/calibration.js";
import type { Detection } from "../core/detection.js";
import type { Frame } from "../core/frame.js";
import type { Logger } from "../core/log.js";
import type { PipelineCounters, PipelineObserver, PipelineState, ProcessedFrame } from "../core/pipeline-types.js";
import { labelColour } from "../record/detection-annotations.js";
import { cameraCalibrationMessage, compressedImageMessage, imageAnnotationsMessage } from "../record/foxglove-messages.js";
import type { ViewAddress } from "./view-address.js";
import { ViewServer } from "./view-server.js";

export const DEFAULT_VIEW_FPS = 10;

export interface LiveViewOptions {
  address: ViewAddress;
  /** Viewers must present it. */
  token?: string;
  /** Viewer frames per second (default 10). */
  fps?: number;
  /** JPEG quality of frames that are not JPEG already (default 80). */
  jpegQuality?: number;
  calibration?: Calibration;
  /** The images' `frame_id`; can be set later with `setCameraId` (the source names it). */
  cameraId?: string;
  modelId: string;
  /** The model's classes, in order: the page's legend. */
  classes: readonly string[];
  /** Per-viewer send backlog beyond which message data is dropped (see ViewServer). */
  maxBufferedBytes?: number;
  log?: Logger;
  /** How the CLI spells the address flag, for listen errors. */
  flag?: string;
}

interface Sample {
  frame: Frame;
  detections: readonly Detection[];
  message: Uint8Array;
  publishTimeNs: bigint;
}

function hex(c: { r: number; g: number; b: number }): string {
  const byte = (v: number) =>
    Math.round(Math.min(1, Math.max(0, v)) * 255)
      .toString(16)
      .padStart(2, "0");
  return `#${byte(c.r)}${byte(c.g)}${byte(c.b)}`;
}

export class LiveView implements PipelineObserver {
  readonly fps: number;
  private readonly periodMs: number;
  private readonly jpegQuality: number;
  private readonly metadata: Record<string, string>;
  private cameraId: string;
  private nextDueMs = 0;
  private slot: Sample | undefined;
  private sending: Promise<void> | undefined;
  private closing = false;
  private closed: Promise<void> | undefined;
  private sentCount = 0;
  private droppedCount = 0;

  private constructor(
    readonly server: ViewServer,
    metadata: Record<string, string>,
    private readonly options: LiveViewOptions,
  ) {
    this.fps = options.fps ?? DEFAULT_VIEW_FPS;
    this.periodMs = 1000 / this.fps;
    this.jpegQuality = options.jpegQuality ?? 80;
    this.metadata = metadata;
    this.cameraId = options.cameraId ?? "";
  }

  /** Start listening; errors (port in use, foreign address) name `options.flag` (default `--view`). */
  static async start(options: LiveViewOptions): Promise<LiveView> {
    const fps = options.fps ?? DEFAULT_VIEW_FPS;
    if (!(Number.isFinite(fps) && fps > 0)) throw new RangeError(`LiveView.start: options.fps must be a positive number, got ${fps}`);
    const q = options.jpegQuality;
    if (q !== undefined && !(Number.isInteger(q) && q >= 1 && q <= 100))
      throw new RangeError(`LiveView.start: options.jpegQuality must be an integer 1..100, got ${q}`);
    // serverInfo carries what the page needs before the first frame; the object stays live so
    // the camera id, known once the source is open, reaches later viewers.
    const metadata: Record<string, string> = {
      modelId: options.modelId,
      cameraId: options.cameraId ?? "",
      viewFps: String(fps),
      classes: JSON.stringify(options.classes.map((name) => ({ name, colour: hex(labelColour(name)) }))),
    };
    const server = await ViewServer.start(
      { ...options.address, token: options.token, metadata, maxBufferedBytes: options.maxBufferedBytes, log: options.log },
      options.flag,
    );
    return new LiveView(server, metadata, options);
  }

  /** The page's address. */
  get url(): string {
    return this.server.url;
  }

  /** Viewer frames sent (to at least one viewer). */
  get framesSent(): number {
    return this.sentCount;
  }

  /** Samples replaced by a newer one while the previous was still being encoded. */
  get framesDropped(): number {
    return this.droppedCount;
  }

  setCameraId(cameraId: string): void {
    this.cameraId = cameraId;
    this.metadata.cameraId = cameraId;
  }

  onProcessed(p: ProcessedFrame): void {
    if (this.closing || !this.server.watched) return;
    const now = performance.now();
    if (now < this.nextDueMs) return;
    // Due times advance by the period, so the rate holds on average whatever the source's rate;
    // after a pause the schedule restarts from now rather than catching up.
    this.nextDueMs = Math.max(this.nextDueMs + this.periodMs, now);
    if (this.slot) this.droppedCount++;
    this.slot = { frame: p.frame, detections: p.detections.slice(), message: p.message, publishTimeNs: p.publishTimeNs };
    // setImmediate: even the synchronous part of sending runs after the loop got its turn back.
    this.sending ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.drain());
  }

  onStatus(status: { state: PipelineState; counters: PipelineCounters; message: Uint8Array; timeNs: bigint }): void {
    if (this.closing && status.state !== "STOPPED") return;
    const { message, timeNs } = status;
    setImmediate(() => this.server.send("status", timeNs, message));
  }

  /** Send what is in flight, say goodbye to the viewers and stop listening. Idempotent. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing = true;
      while (this.sending) await this.sending;
      // The final STOPPED status was queued with setImmediate; let it go out first.
      await new Promise((resolve) => setImmediate(resolve));
      await this.server.close();
      this.options.log?.info({ framesSent: this.sentCount, framesDropped: this.droppedCount, ...this.server.stats }, "view: closed");
    })();
    return this.closed;
  }

  private async drain(): Promise<void> {
    try {
      for (let s = this.slot; s; s = this.slot) {
        this.slot = undefined;
        try {
          await this.send(s);
        } catch (err) {
          // A frame sharp cannot encode costs that viewer frame, not the view.
          this.options.log?.warn({ err: (err as Error).message, seq: s.frame.seq }, "view: frame not sent");
        }
      }
    } finally {
      this.sending = undefined;
    }
  }

  private async send(s: Sample): Promise<void> {
    const { frame, publishTimeNs: t } = s;
    const server = this.server;
    const frameId = this.cameraId;
    const image = server.subscribed("image") ? await compressedImageMessage(frame, frameId, this.jpegQuality) : undefined;
    // Everything of one frame goes out together, after the image is ready, so a viewer never
    // sees boxes before (or without) the picture they belong to, unless it dropped the picture.
    if (server.subscribed("annotations")) server.send("annotations", t, imageAnnotationsMessage(s.detections, frame));
    server.send("detections", t, s.message);
    const calibration = this.options.calibration;
    if (calibration && server.subscribed("calibration"))
      server.send("calibration", t, cameraCalibrationMessage(calibration, frame, frameId));
    if (image) server.send("image", t, image);
    this.sentCount++;
  }
}
