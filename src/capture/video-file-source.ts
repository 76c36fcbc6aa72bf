import { execFile } from "node:child_process";
import { access } from "node:fs/promises";
import { basename } from "node:path";
import { promisify } from "node:util";
import { z } from "zod";
import { FoveaInputError } from "../core/errors.js";
import type { OpenSourceOptions, SourceEvents } from "../core/frame.js";
import { OffThreadStreamSource } from "./off-thread-stream-source.js";
import { FfmpegStreamSource, type FfmpegStreamOptions } from "./ffmpeg-stream-source.js";

const execFileAsync = promisify(execFile);

export interface VideoFileOptions {
  /** Path of a video file ffmpeg can decode (mp4, mkv, avi, ...). */
  path: string;
  /**
   * Deliver frames as fast as the consumer takes them (pull mode, nothing dropped) instead of at
   * the file's frame rate (live mode, like a camera: a slow consumer drops frames). Default false.
   */
  unpaced?: boolean;
  /** Start again from the beginning at the end of the file, forever. Default false. */
  loop?: boolean;
  /** Scale frames to this width. Default: the file's. */
  width?: number;
  /** Scale frames to this height. Default: the file's. */
  height?: number;
  /** Camera identifier in published messages. Default: the file's name. */
  cameraId?: string;
  /**
   * Paced replay: how long the file may deliver no frame before the source reports a stall (it
   * is not restarted: a replay cannot resume where it stopped). Default max(3 frame intervals,
   * 250 ms). Unpaced replay is read on demand and has no watchdog.
   */
  stallTimeoutMs?: number;
  events?: SourceEvents;
  /** ffmpeg executable. Default `ffmpeg`. */
  ffmpegPath?: string;
  /** ffprobe executable. Default `ffprobe`. */
  ffprobePath?: string;
}

/** What ffprobe says about a file's first video stream. */
export interface VideoProbe {
  width: number;
  height: number;
  /** Average frame rate, when the container knows it. */
  fps?: number;
  codec: string;
}

const ProbeSchema = z.object({
  streams: z
    .array(
      z.object({
        codec_name: z.string().default("unknown"),
        width: z.number().int().positive(),
        height: z.number().int().positive(),
        avg_frame_rate: z.string().optional(),
        r_frame_rate: z.string().optional(),
      }),
    )
    .min(1),
});

function parseRate(rate: string | undefined): number | undefined {
  const m = /^(\d+)\/(\d+)$/.exec(rate ?? "");
  if (!m || Number(m[2]) === 0 || Number(m[1]) === 0) return undefined;
  return Number(m[1]) / Number(m[2]);
}

/** Probe a video file; a missing or undecodable file is a FoveaInputError naming it. */
export async function probeVideo(path: string, ffprobePath = "ffprobe"): Promise<VideoProbe> {
  try {
    await access(path);
  } catch {
    throw new FoveaInputError(path, "no such video file");
  }
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync(ffprobePath, [
      "-v",
      "error",
      "-select_streams",
      "v:0",
      "-show_entries",
      "stream=codec_name,width,height,avg_frame_rate,r_frame_rate",
      "-of",
      "json",
      `file:${path}`,
    ]));
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? (err as Error).message)
      .trim()
      .split("\n")
      .slice(-3)
      .join(" | ");
    throw new FoveaInputError(path, `cannot be decoded as video: ${stderr}`, { cause: err });
  }
  const parsed = ProbeSchema.safeParse(JSON.parse(stdout || "{}"));
  if (!parsed.success) throw new FoveaInputError(path, "contains no decodable video stream");
  const s = parsed.data.streams[0];
  return { width: s.width, height: s.height, fps: parseRate(s.avg_frame_rate) ?? parseRate(s.r_frame_rate), codec: s.codec_name };
}

/**
 * Open a video file as one ffmpeg decode stream. Paced (default) at the file's own rate by
 * ffmpeg's `-re`, which reads input at native speed — so replay behaves like the camera it was
 * recorded with; `unpaced` reads as fast as the consumer pulls (evaluation, benchmarks).
 */
export async function openVideoFile(options: VideoFileOptions): Promise<FfmpegStreamSource | OffThreadStreamSource> {
  if (typeof options.path !== "string" || !options.path) throw new TypeError("path: expected a video file path");
  const probe = await probeVideo(options.path, options.ffprobePath);
  const width = options.width ?? probe.width;
  const height = options.height ?? probe.height;
  const inputArgs = [...(options.loop ? ["-stream_loop", "-1"] : []), ...(options.unpaced ? [] : ["-re"]), "-i", `file:${options.path}`];
  // Paced replay is live like a camera, and read on a worker for the same reason: the loop's
  // thread is blocked while onnxruntime runs and would otherwise leave the pipe undrained.
  const stream: FfmpegStreamOptions = {
    inputArgs,
    width,
    height,
    mode: options.unpaced ? "pull" : "live",
    inputName: options.path,
    cameraId: options.cameraId ?? basename(options.path),
    description: `file:${options.path} ${width}x${height}${probe.fps ? `@${+probe.fps.toFixed(3)}` : ""} ${probe.codec}${options.unpaced ? " unpaced" : ""}${options.loop ? " loop" : ""}`,
    fps: probe.fps,
    stallTimeoutMs: options.stallTimeoutMs,
    events: options.events,
    ffmpegPath: options.ffmpegPath,
  };
  return options.unpaced ? FfmpegStreamSource.open(stream) : OffThreadStreamSource.open(stream);
}

/** `--source file:PATH`. */
export async function openFromSpec(path: string, o: OpenSourceOptions): Promise<FfmpegStreamSource | OffThreadStreamSource> {
  return openVideoFile({
    path,
    unpaced: o.unpaced,
    loop: o.loop,
    width: o.width,
    height: o.height,
    cameraId: o.cameraId,
    stallTimeoutMs: o.stallTimeoutMs,
    events: o.events,
  });
}
