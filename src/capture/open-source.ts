import { FoveaInputError } from "../core/errors.js";
import type { FrameSource, SourceEvents } from "../core/frame.js";
import { cameraStreamOptions, openCamera, type CameraPixelFormat } from "./camera-source.js";
import { OffThreadStreamSource } from "./off-thread-stream-source.js";
import { ImageFolderSource } from "./image-folder-source.js";
import { McapSource } from "./mcap-source.js";
import { openVideoFile } from "./video-file-source.js";
import { WebcamSource } from "./webcam-source.js";
import { SyntheticSource } from "../synth/synthetic-source.js";

/** The `--source` forms, for help texts and error messages. */
export const SOURCE_FORMS: readonly string[] = [
  "camera:/dev/videoN",
  "file:PATH",
  "dir:PATH",
  "webcam[:DEVICE]",
  "synthetic[:jpeg|:rgb24]",
  "mcap:PATH",
  "lavfi:FILTER",
];

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
  /** Health callbacks (degraded/recovered/corrupt). */
  events?: SourceEvents;
}

export type SourceKind = "camera" | "file" | "dir" | "webcam" | "synthetic" | "mcap" | "lavfi";

/** A parsed `--source` value. */
export interface SourceSpec {
  kind: SourceKind;
  /** Path or device after the `kind:` prefix (empty for plain `synthetic` and `webcam`; `jpeg` or `rgb24` for synthetic). */
  target: string;
}

function badSource(spec: string, why: string): FoveaInputError {
  return new FoveaInputError("--source", `${why} in ${JSON.stringify(spec)}; expected one of ${SOURCE_FORMS.join(", ")}`);
}

/** Parse a `--source` value; anything else is a FoveaInputError naming `--source` and the forms. */
export function parseSourceSpec(spec: string): SourceSpec {
  if (typeof spec !== "string" || spec.trim() === "") throw badSource(String(spec), "no source given");
  const colon = spec.indexOf(":");
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const target = colon < 0 ? "" : spec.slice(colon + 1);
  switch (kind) {
    case "camera":
    case "file":
    case "dir":
    case "mcap":
      if (!target) throw badSource(spec, `${kind}: needs a ${kind === "camera" ? "device" : "path"}`);
      return { kind, target };
    case "webcam":
      return { kind, target };
    case "lavfi":
      // An ffmpeg test pattern as a camera delivers frames (benchmarks, tests): a source filter
      // name such as testsrc2, sized and paced from --width/--height/--fps.
      if (!/^[a-z0-9_]+$/.test(target)) throw badSource(spec, "lavfi: needs an ffmpeg source filter name such as testsrc2");
      return { kind, target };
    case "synthetic":
      // jpeg: frames as an MJPEG camera sends them (decoded in the pipeline); rgb24: as a camera
      // behind ffmpeg delivers them (decoded elsewhere).
      if (target && target !== "jpeg" && target !== "rgb24") throw badSource(spec, "synthetic takes jpeg or rgb24");
      return { kind, target };
    default:
      throw badSource(spec, `unknown source kind ${JSON.stringify(kind)}`);
  }
}

function checkOptions(options: OpenSourceOptions): void {
  for (const [flag, value] of [["--width", options.width], ["--height", options.height]] as const) {
    if (value !== undefined && (!Number.isSafeInteger(value) || value <= 0)) {
      throw new FoveaInputError(flag, `expected a positive integer number of pixels, got ${value}`);
    }
  }
  if (options.fps !== undefined && (!Number.isFinite(options.fps) || options.fps <= 0)) {
    throw new FoveaInputError("--fps", `expected a positive number of frames per second, got ${options.fps}`);
  }
  if (options.pixelFormat !== undefined && options.pixelFormat !== "mjpeg" && options.pixelFormat !== "yuyv422") {
    throw new FoveaInputError("--pixel-format", `expected mjpeg or yuyv422, got ${String(options.pixelFormat)}`);
  }
  if (options.cameraId !== undefined && (typeof options.cameraId !== "string" || options.cameraId === "")) {
    throw new FoveaInputError("--camera-id", "expected a non-empty identifier");
  }
}

/**
 * Open the frame source a `--source` value names. Each source validates its own input (a missing
 * device, file or folder is a FoveaInputError naming it).
 */
export async function openSource(spec: string, options: OpenSourceOptions = {}): Promise<FrameSource> {
  const { kind, target } = parseSourceSpec(spec);
  checkOptions(options);
  const { unpaced, loop, cameraId, events } = options;
  switch (kind) {
    case "camera":
      return openCamera({ device: target, width: options.width, height: options.height, fps: options.fps, pixelFormat: options.pixelFormat, cameraId, events });
    case "file":
      return openVideoFile({ path: target, unpaced, loop, width: options.width, height: options.height, cameraId, events });
    case "dir":
      return ImageFolderSource.open({ path: target, fps: options.fps, unpaced, loop, cameraId, events });
    case "webcam":
      return WebcamSource.open({ device: target || undefined, width: options.width, height: options.height, fps: options.fps, cameraId, events });
    case "mcap":
      return McapSource.open(target, { unpaced, loop, cameraId, events });
    case "lavfi": {
      // The camera's path exactly (live, read on a worker, latest frame wins, reconnecting) with
      // ffmpeg's pattern generator in place of V4L2, paced by -re unless unpaced.
      const width = options.width ?? 640;
      const height = options.height ?? 480;
      const fps = options.fps ?? 30;
      const stream = cameraStreamOptions({ device: `lavfi:${target}`, width, height, fps, cameraId: cameraId ?? target, events });
      const inputArgs = [...(unpaced ? [] : ["-re"]), "-f", "lavfi", "-i", `${target}=size=${width}x${height}:rate=${fps}`];
      return OffThreadStreamSource.open({ ...stream, inputArgs, description: `lavfi:${target} ${width}x${height}@${unpaced ? "unpaced" : fps}` });
    }
    case "synthetic":
      return SyntheticSource.open({
        unpaced,
        width: options.width,
        height: options.height,
        fps: options.fps,
        cameraId,
        encoding: target === "rgb24" ? "rgb24" : "jpeg",
      });
  }
}
