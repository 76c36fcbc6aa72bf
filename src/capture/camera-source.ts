import { stat } from "node:fs/promises";
import { basename } from "node:path";
import { FoveaInputError } from "../core/errors.js";
import type { CameraPixelFormat, OpenSourceOptions, SourceEvents } from "../core/frame.js";
import type { FfmpegStreamOptions, ReconnectPolicy } from "./ffmpeg-stream-source.js";
import { OffThreadStreamSource } from "./off-thread-stream-source.js";

export type { CameraPixelFormat };

export interface CameraOptions {
  /** V4L2 device: `/dev/video0`, or a stable udev link such as `/dev/v4l/by-id/...`. */
  device: string;
  /** Capture width in pixels. Default 640. */
  width?: number;
  /** Capture height in pixels. Default 480. */
  height?: number;
  /** Frames per second to request from the driver. Default 30. */
  fps?: number;
  /**
   * What the camera sends over USB. `mjpeg` (default): compressed, the only way most USB cameras
   * reach full rate at VGA and above; costs a JPEG decode per frame. `yuyv422`: uncompressed, no
   * decode, but USB 2 bandwidth limits it to low resolutions or rates.
   */
  pixelFormat?: CameraPixelFormat;
  /** Camera identifier in published messages. Default: the device's file name, e.g. `video0`. */
  cameraId?: string;
  /** Restart backoff when the camera process dies. Default 100 ms doubling up to 5 s. */
  reconnect?: ReconnectPolicy;
  /** How long the camera may send nothing before it is restarted. Default max(3 frame intervals, 250 ms). */
  stallTimeoutMs?: number;
  events?: SourceEvents;
  /** ffmpeg executable. Default `ffmpeg`. */
  ffmpegPath?: string;
}

function positive(name: string, value: number, integer: boolean): number {
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isSafeInteger(value))) {
    throw new RangeError(`${name}: expected a positive ${integer ? "integer" : "number"}, got ${value}`);
  }
  return value;
}

/** ffmpeg input arguments for a V4L2 camera, tuned for latency rather than smoothness. */
export function cameraInputArgs(options: CameraOptions): string[] {
  const width = positive("width", options.width ?? 640, true);
  const height = positive("height", options.height ?? 480, true);
  const fps = positive("fps", options.fps ?? 30, false);
  const pixelFormat = options.pixelFormat ?? "mjpeg";
  if (pixelFormat !== "mjpeg" && pixelFormat !== "yuyv422") {
    throw new RangeError(`pixelFormat: expected "mjpeg" or "yuyv422", got ${String(pixelFormat)}`);
  }
  return [
    "-f",
    "v4l2",
    "-input_format",
    pixelFormat,
    "-video_size",
    `${width}x${height}`,
    "-framerate",
    String(fps),
    // No demuxer/decoder buffering and no probing ahead: each frame leaves as soon as it is whole.
    "-fflags",
    "nobuffer",
    "-flags",
    "low_delay",
    "-probesize",
    "32",
    "-analyzeduration",
    "0",
    "-i",
    options.device,
  ];
}

/**
 * The streaming options a camera runs with: live (latest frame wins) and reconnecting. Exposed so
 * the exact camera path can be exercised with another input (tests stream ffmpeg's `testsrc2`).
 */
export function cameraStreamOptions(options: CameraOptions): FfmpegStreamOptions {
  if (typeof options.device !== "string" || !options.device) {
    throw new TypeError("device: expected a V4L2 device path such as /dev/video0");
  }
  const inputArgs = cameraInputArgs(options);
  const width = options.width ?? 640;
  const height = options.height ?? 480;
  const fps = options.fps ?? 30;
  return {
    inputArgs,
    width,
    height,
    mode: "live",
    inputName: options.device,
    cameraId: options.cameraId ?? basename(options.device),
    description: `camera:${options.device} ${width}x${height}@${fps} ${options.pixelFormat ?? "mjpeg"}`,
    fps,
    reconnect: options.reconnect ?? {},
    stallTimeoutMs: options.stallTimeoutMs,
    events: options.events,
    ffmpegPath: options.ffmpegPath,
  };
}

/**
 * Open a V4L2 camera as one long-lived ffmpeg stream. Fails with a FoveaInputError naming the
 * device when it does not exist or never delivers a frame (wrong size/format, busy); once it has
 * delivered, a dying camera is reconnected instead (degraded/recovered events).
 */
export async function openCamera(options: CameraOptions): Promise<OffThreadStreamSource> {
  const streamOptions = cameraStreamOptions(options);
  const info = await stat(options.device).catch(() => undefined);
  if (!info) {
    throw new FoveaInputError(options.device, "no such camera device (list cameras with `v4l2-ctl --list-devices`)");
  }
  if (!info.isCharacterDevice()) {
    throw new FoveaInputError(options.device, "not a V4L2 character device (expected something like /dev/video0)");
  }
  // Read on a worker thread: the frame loop's thread is blocked while onnxruntime runs, and a
  // camera pipe nobody drains meanwhile hands over stale frames that were never counted as dropped.
  return OffThreadStreamSource.open(streamOptions);
}

/** `--source camera:DEVICE`. */
export async function openFromSpec(device: string, o: OpenSourceOptions): Promise<OffThreadStreamSource> {
  return openCamera({
    device,
    width: o.width,
    height: o.height,
    fps: o.fps,
    pixelFormat: o.pixelFormat,
    cameraId: o.cameraId,
    stallTimeoutMs: o.stallTimeoutMs,
    events: o.events,
  });
}
