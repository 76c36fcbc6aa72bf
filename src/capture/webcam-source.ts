import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import NodeWebcam from "node-webcam";
import { FoveaInputError } from "../core/errors.js";
import type { Frame, FrameSource, OpenSourceOptions, SourceCounters, SourceEvents, SourceInfo } from "../core/frame.js";
import { epochNowNs } from "../core/clock.js";
import { LatestFrameSlot } from "../core/latest-frame-slot.js";

export interface WebcamOptions {
  /** Camera to use (as the snapshot tool names it). Default: the system's default camera. */
  device?: string;
  /** Snapshot width. Default 640. */
  width?: number;
  /** Snapshot height. Default 480. */
  height?: number;
  /** Upper bound on snapshots per second; the real rate is whatever the snapshot tool manages. Default 5. */
  fps?: number;
  /** Camera identifier in published messages. Default `webcam`. */
  cameraId?: string;
  /** Degraded/recovered when snapshots start/stop failing. */
  events?: SourceEvents;
}

/** How long to wait before retrying after a failed snapshot. */
const RETRY_MS = 500;

/**
 * Webcam snapshots through node-webcam (fswebcam on Linux, imagesnap on macOS, CommandCam on
 * Windows), for laptops where V4L2 and ffmpeg are not at hand.
 *
 * Low rate by construction: node-webcam starts one process per snapshot, which opens the camera,
 * waits for exposure, grabs one JPEG, closes the camera and writes a file — roughly 1-5 fps with
 * a lot of latency per frame. That is exactly why the robot's camera source (`camera:`) is one
 * long-lived ffmpeg stream instead. Frames are delivered `encoded` (JPEG).
 */
export class WebcamSource implements FrameSource {
  readonly info: SourceInfo;
  readonly counters: SourceCounters = { corrupt: 0, reconnects: 0 };

  private readonly slot = new LatestFrameSlot<Frame>();
  private readonly stop = new AbortController();
  private producer: Promise<void> | undefined;
  private iterated = false;
  private closed = false;
  private nextSeq = 0;

  /**
   * Validate the options and take a first snapshot, so a missing camera or snapshot tool fails
   * here as a FoveaInputError naming `webcam`.
   */
  static async open(options: WebcamOptions = {}): Promise<WebcamSource> {
    const width = options.width ?? 640;
    const height = options.height ?? 480;
    const fps = options.fps ?? 5;
    for (const [name, v] of [
      ["width", width],
      ["height", height],
    ] as const) {
      if (!Number.isSafeInteger(v) || v <= 0) throw new RangeError(`${name}: expected a positive integer, got ${v}`);
    }
    if (!Number.isFinite(fps) || fps <= 0) throw new RangeError(`fps: expected a positive number, got ${fps}`);
    if (options.device !== undefined && (typeof options.device !== "string" || !options.device)) {
      throw new TypeError("device: expected a non-empty camera name");
    }
    const dir = await mkdtemp(join(tmpdir(), "fovea-webcam-"));
    const source = new WebcamSource({ ...options, width, height, fps }, dir);
    try {
      const first = await source.snapshot();
      source.slot.put(first);
    } catch (err) {
      await source.close();
      throw new FoveaInputError(
        options.device ? `webcam:${options.device}` : "webcam",
        `node-webcam could not take a snapshot (it needs a camera and fswebcam on Linux, imagesnap on macOS): ${(err as Error).message.trim()}`,
        { cause: err },
      );
    }
    return source;
  }

  private readonly camera: ReturnType<typeof NodeWebcam.create>;

  private constructor(
    private readonly options: WebcamOptions & { width: number; height: number; fps: number },
    private readonly dir: string,
  ) {
    this.camera = NodeWebcam.create({
      width: options.width,
      height: options.height,
      output: "jpeg",
      device: options.device ?? false,
      // Through a file: node-webcam's in-memory mode passes the JPEG through a text stdout and corrupts it.
      callbackReturn: "buffer",
      saveShots: false,
      verbose: false,
    });
    this.info = {
      description: `webcam${options.device ? `:${options.device}` : ""} ${options.width}x${options.height} snapshots <=${options.fps} fps`,
      cameraId: options.cameraId ?? "webcam",
      fps: options.fps,
      mode: "live",
    };
  }

  /** Snapshots overwritten before the consumer took them. */
  get dropped(): number {
    return this.slot.dropped;
  }

  frames(): AsyncIterable<Frame> {
    if (this.iterated) throw new Error(`${this.info.description}: frames() can be iterated only once`);
    this.iterated = true;
    this.producer = this.run();
    return this.slot;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stop.abort();
    this.slot.close();
    await this.producer;
    await rm(this.dir, { recursive: true, force: true });
  }

  private snapshot(): Promise<Frame> {
    const seq = this.nextSeq++;
    return new Promise((resolve, reject) => {
      this.camera.capture(join(this.dir, "shot.jpg"), (err, data) => {
        if (err || !data) return reject(err ?? new Error("snapshot returned no data"));
        resolve({
          seq,
          // The snapshot tool has finished (and closed the camera) by now: the best time we know.
          captureTimeNs: epochNowNs(),
          width: this.options.width,
          height: this.options.height,
          encoding: "encoded",
          data,
          origin: this.info.description,
        });
      });
    });
  }

  private async run(): Promise<void> {
    const periodMs = 1000 / this.options.fps;
    let failing = false;
    while (!this.closed) {
      const started = performance.now();
      try {
        const frame = await this.snapshot();
        if (failing) {
          failing = false;
          this.options.events?.onRecovered?.();
        }
        this.slot.put(frame);
      } catch (err) {
        if (!failing) {
          failing = true;
          this.options.events?.onDegraded?.(`webcam snapshot failed: ${(err as Error).message.trim()}`);
        }
        this.counters.reconnects++;
        await sleep(RETRY_MS, undefined, { signal: this.stop.signal }).catch(() => undefined);
        continue;
      }
      const wait = periodMs - (performance.now() - started);
      if (wait > 0) await sleep(wait, undefined, { signal: this.stop.signal }).catch(() => undefined);
    }
  }
}

/** `--source webcam[:DEVICE]` (no device: node-webcam's default camera). */
export async function openFromSpec(device: string, o: OpenSourceOptions): Promise<WebcamSource> {
  return WebcamSource.open({
    device: device || undefined,
    width: o.width,
    height: o.height,
    fps: o.fps,
    cameraId: o.cameraId,
    events: o.events,
  });
}
