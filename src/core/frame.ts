/**
 * A frame as every source delivers it. Sources differ (camera, video file, folder, synthetic,
 * MCAP recording); everything downstream sees only this.
 */
export interface Frame {
  /** Source frame number, monotonic from the source's start. Gaps downstream mean dropped frames. */
  readonly seq: number;
  /** Capture time, Unix epoch nanoseconds (for replay: the recorded capture time). */
  readonly captureTimeNs: bigint;
  /** Pixel width of the source image. */
  readonly width: number;
  /** Pixel height of the source image. */
  readonly height: number;
  /**
   * `rgb24`: `data` is width*height*3 bytes, row-major, RGB.
   * `encoded`: `data` is a compressed image (JPEG, PNG, ...) that sharp decodes.
   */
  readonly encoding: "rgb24" | "encoded";
  readonly data: Buffer;
  /** Where the frame came from (file name, device), for error messages. */
  readonly origin?: string;
}

/** What a source says about itself once opened. */
export interface SourceInfo {
  /** Human-readable description, e.g. `camera:/dev/video0 640x480@30 yuyv422`. */
  readonly description: string;
  /** Camera identifier published in every DetectionFrame. */
  readonly cameraId: string;
  /** Nominal frames per second if known (paced replay uses it, status reports it). */
  readonly fps?: number;
  /**
   * `live`: frames arrive on the source's clock (camera, paced replay) and the pipeline must
   * keep up or drop — it pumps them into a latest-frame slot.
   * `pull`: frames are produced on demand (unpaced replay); the pipeline pulls the next one when
   * it is ready, nothing is dropped.
   */
  readonly mode: "live" | "pull";
  /**
   * The frames' `captureTimeNs` are times recorded with them (a replayed recording), not readings
   * of this machine's clock: the pipeline then times a frame from when it reached the loop, not
   * from a capture that happened minutes or days ago.
   */
  readonly recordedTimes?: boolean;
}

/** Counters a source keeps about what it could not deliver. */
export interface SourceCounters {
  /** Frames that arrived corrupt or truncated and were skipped. */
  corrupt: number;
  /** Times the underlying device/process was restarted after dying. */
  reconnects: number;
}

/** Health transitions a source reports (a dying camera makes the pipeline `degraded`). */
export interface SourceEvents {
  onDegraded?(reason: string): void;
  onRecovered?(): void;
  onCorrupt?(reason: string): void;
}

/**
 * A source of frames. Open with the source's own `static async open()`; iterate `frames()` once;
 * `close()` stops the underlying process/timer within a second and ends the iteration.
 */
export interface FrameSource {
  readonly info: SourceInfo;
  readonly counters: SourceCounters;
  /**
   * Live sources that keep their own latest-frame slot (camera, paced replay, synthetic): frames
   * overwritten there before they were read. Absent for sources that never drop.
   */
  readonly dropped?: number;
  frames(): AsyncIterable<Frame>;
  close(): Promise<void>;
}

/**
 * A live source that keeps the newest frame itself, off the JS thread (the camera pipe is read on
 * a worker, so frames keep arriving, and overwritten ones keep being counted in `dropped`, while
 * the loop is busy). The frame loop takes from it directly instead of pumping `frames()`.
 */
export interface LatestFrameSource extends FrameSource {
  readonly dropped: number;
  /**
   * The newest frame (waiting for the next when none arrived since the last take); undefined
   * when the source closed or ended; throws when it failed. The frame's `data` belongs to the
   * source and is valid only until the next take.
   */
  takeLatest(): Promise<Frame | undefined>;
}

export function isLatestFrameSource(source: FrameSource): source is LatestFrameSource {
  return typeof (source as Partial<LatestFrameSource>).takeLatest === "function";
}

/** Pixel formats a V4L2 camera can be asked to send. */
export type CameraPixelFormat = "mjpeg" | "yuyv422";

/**
 * Options shared by all sources, as they come from the command line. Each source uses the ones
 * that mean something to it and ignores the rest (a camera is live whatever `unpaced` says).
 */
export interface OpenSourceOptions {
  /** Replay (file, dir, mcap, synthetic) as fast as the consumer pulls instead of at its own rate. */
  unpaced?: boolean;
  /** Camera/webcam capture width; for video files, scale to it. */
  width?: number;
  /** Camera/webcam capture height; for video files, scale to it. */
  height?: number;
  /** Camera/webcam frame rate to request; image-folder playback rate. */
  fps?: number;
  /** Camera pixel format: `mjpeg` (default) or `yuyv422`. */
  pixelFormat?: CameraPixelFormat;
  /** Replay sources: start over at the end, forever. */
  loop?: boolean;
  /** Camera identifier published with every frame's detections. */
  cameraId?: string;
  /**
   * Live ffmpeg streams (camera, lavfi, paced file): how long one may deliver no frame before it
   * counts as stalled. Default max(3 frame intervals, 250 ms). The other sources have no stall
   * watchdog and ignore it like any option that does not apply to them, so that one config file
   * serves both the robot's camera and the replays of its recordings.
   */
  stallTimeoutMs?: number;
  /** Health callbacks (degraded/recovered/corrupt). */
  events?: SourceEvents;
}

/**
 * What a source module exports for `--source KIND:TARGET`: open the source `target` names (the
 * text after `kind:`, already checked by the registry entry's `parse`).
 */
export interface SourceModule {
  openFromSpec(target: string, options: OpenSourceOptions): Promise<FrameSource>;
}
