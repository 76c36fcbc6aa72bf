/**
 * `fovea synth`: synthetic soccer frames with exact ground truth, as a tagged-frame dataset
 * (native, YOLO or COCO), a video clip (`--out clip.mp4`, via ffmpeg) and/or a contact sheet.
 */
import { onStopSignals } from "./stop-signals.js";
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { createWriteStream } from "node:fs";
import path from "node:path";
import { once } from "node:events";
import { type Command, Option } from "commander";
import cliProgress from "cli-progress";
import { DEFAULT_CALIBRATION_FILE, loadCalibration } from "../calib/calibration.js";
import { DEFAULT_CLASSES } from "../core/detection.js";
import { FoveaInputError } from "../core/errors.js";
import { COCO_FILE } from "../dataset/coco-format.js";
import { NATIVE_MANIFEST_FILE } from "../dataset/native-format.js";
import { openDatasetWriter } from "../dataset/open-dataset-writer.js";
import { YOLO_CLASSES_FILE } from "../dataset/yolo-format.js";
import type { DatasetFormat, DatasetWriter } from "../dataset/tagged-frame.js";
import { contactSheet, type SheetFrame } from "../synth/contact-sheet.js";
import { frameJobs } from "../synth/frame-jobs.js";
import { ADULT_SIZE_FIELD, KID_SIZE_FIELD } from "../synth/field.js";
import { RenderPool } from "../synth/render-pool.js";
import type { FrameOutput, RenderedFrame } from "../synth/render-frame.js";
import { isSynthStyle, SYNTH_STYLES, type SynthStyle } from "../synth/style.js";

const VIDEO_EXTENSIONS = new Set([".mp4", ".mkv", ".avi", ".mov"]);
/** The file each dataset writer adds when it finishes. */
const LAST_FILE: Record<DatasetFormat, string> = { native: NATIVE_MANIFEST_FILE, yolo: YOLO_CLASSES_FILE, coco: COCO_FILE };
/** Frames shown on a contact sheet (the first ones rendered). */
const SHEET_FRAMES = 16;

export interface SynthFlags {
  out?: string;
  frames: string;
  size: string;
  format: DatasetFormat;
  seed: string;
  sequence?: boolean;
  fps: string;
  calibration?: string;
  imageFormat: "jpeg" | "png";
  threads?: string;
  overwrite?: boolean;
  contactSheet?: string;
  field?: "adult" | "kid";
  /** Appearance style: default (today's look), wide (training randomisation), shifted (style-shifted test set). */
  style?: string;
}

/** The --style flag, checked (also for callers that bypass commander's choices). */
export function parseStyle(value: string | undefined, sequence: boolean): SynthStyle {
  const style = value ?? "default";
  if (!isSynthStyle(style))
    throw new FoveaInputError("--style", `expected one of ${SYNTH_STYLES.join(", ")}, got ${JSON.stringify(value)}`);
  if (sequence && style !== "default")
    throw new FoveaInputError(
      "--style",
      `a --sequence clip is rendered in the default style only; expected default with --sequence, got ${JSON.stringify(style)}`,
    );
  return style;
}

export function parseSize(value: string, flag = "--size"): { width: number; height: number } {
  const m = /^(\d+)x(\d+)$/.exec(value ?? "");
  const width = m ? Number(m[1]) : NaN,
    height = m ? Number(m[2]) : NaN;
  if (!m || width < 16 || height < 16 || width > 8192 || height > 8192) {
    throw new FoveaInputError(flag, `expected WIDTHxHEIGHT in pixels, each 16..8192 (e.g. 640x480), got ${JSON.stringify(value)}`);
  }
  return { width, height };
}

function parseInteger(value: string, flag: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(String(value).trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new FoveaInputError(flag, `expected an integer ${min}..${max}, got ${JSON.stringify(value)}`);
  }
  return n;
}

export function registerSynth(program: Command): void {
  program
    .command("synth")
    .description("Render synthetic match frames with ground truth: a dataset, a video clip and/or a contact sheet")
    .option("--out <path>", "output: a dataset folder, or a video file (.mp4/.mkv/.avi/.mov) rendered through ffmpeg")
    .option("--frames <n>", "number of frames", "100")
    .option("--size <WxH>", "image size in pixels", "640x480")
    .addOption(new Option("--format <format>", "dataset format").choices(["native", "yolo", "coco"]).default("native"))
    .option("--seed <n>", "random seed; the same seed gives the same frames and byte-identical labels", "1")
    .addOption(new Option("--field <size>", "RoboCup Humanoid field size").choices(["adult", "kid"]).default("adult"))
    .option("--sequence", "a continuous clip (camera walking and turning, ball rolling) instead of independent scenes")
    .option("--fps <n>", "frame rate of a --sequence clip", "30")
    .option("--calibration <file>", "camera calibration the frames are rendered through", DEFAULT_CALIBRATION_FILE)
    .addOption(new Option("--image-format <fmt>", "dataset image encoding").choices(["jpeg", "png"]).default("jpeg"))
    .option("--threads <n>", "render threads (default: one per core; 0 = this thread)")
    .option("--overwrite", "replace an existing dataset in --out")
    .option("--contact-sheet <file.png>", `also draw the first ${SHEET_FRAMES} frames with their boxes into a PNG`)
    .addOption(
      new Option(
        "--style <name>",
        "appearance: default (the renderer's own look), wide (randomised for training, covers default), shifted (outside wide's ranges, a style-shifted test set)",
      )
        .choices([...SYNTH_STYLES])
        .default("default"),
    )
    .action(async (flags: SynthFlags) => {
      // A requested stop: the frame being rendered is the last; a second signal kills at once.
      const stop = onStopSignals();
      try {
        await runSynth(flags, { signal: stop.signal });
      } finally {
        stop.dispose();
      }
    });
}

export interface SynthRun {
  /** Frames rendered and handed to the output. */
  frames: number;
  seconds: number;
  /** Stopped by the signal before all frames were rendered. */
  stopped: boolean;
}

/**
 * Render the frames `flags` ask for. When `options.signal` aborts (SIGINT/SIGTERM), rendering
 * stops after the current frame: a dataset is left without the file its writer adds last, so it
 * stays incomplete and `fovea eval`/`train` refuse it; a video clip is finished with the frames so far.
 */
export async function runSynth(flags: SynthFlags, options: { signal?: AbortSignal } = {}): Promise<SynthRun> {
  const { signal } = options;
  if (!flags.out && !flags.contactSheet)
    throw new FoveaInputError("--out", "expected a dataset folder or video file to write (or --contact-sheet FILE.png)");
  const frames = parseInteger(flags.frames, "--frames", 1);
  const seed = parseInteger(flags.seed, "--seed", 0, 2 ** 32 - 1);
  const fps = parseInteger(flags.fps, "--fps", 1, 1000);
  const { width, height } = parseSize(flags.size);
  const threads = flags.threads === undefined ? undefined : parseInteger(flags.threads, "--threads", 0, 64);
  const style = parseStyle(flags.style, flags.sequence ?? false);
  if (flags.contactSheet && path.extname(flags.contactSheet).toLowerCase() !== ".png") {
    throw new FoveaInputError("--contact-sheet", `expected a .png file name, got ${JSON.stringify(flags.contactSheet)}`);
  }
  const calibrationFile = flags.calibration ?? DEFAULT_CALIBRATION_FILE;
  const calibration = await loadCalibration(calibrationFile);
  const video = flags.out !== undefined && VIDEO_EXTENSIONS.has(path.extname(flags.out).toLowerCase());
  const output: FrameOutput = video ? "rgb" : flags.imageFormat === "png" ? "png" : "jpeg";

  let sink: FrameSink | undefined;
  if (flags.out) {
    sink = video
      ? await VideoSink.open(flags.out, width, height, fps)
      : await DatasetSink.open(flags.out, flags.format, output === "png" ? ".png" : ".jpg", calibrationFile, flags.overwrite ?? false, {
          style,
          seed,
        });
  }
  const pool = await RenderPool.create({ calibration, width, height, threads });
  const bar = new cliProgress.SingleBar(
    { format: "synth [{bar}] {value}/{total} frames | {fps} fps | eta {eta}s", etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  );
  const sheet: SheetFrame[] = [];
  const started = performance.now();
  let done = 0;
  bar.start(frames, 0, { fps: "-" });
  try {
    for await (const frame of pool.renderAll(
      frameJobs({
        frames,
        seed,
        mount: calibration.mount,
        output,
        sequence: flags.sequence,
        fps,
        field: flags.field === "kid" ? KID_SIZE_FIELD : ADULT_SIZE_FIELD,
        style,
      }),
    )) {
      if (signal?.aborted) break;
      if (sink) await sink.add(frame);
      if (flags.contactSheet && sheet.length < SHEET_FRAMES) sheet.push({ ...frame, raw: output === "rgb" });
      done = frame.index + 1;
      bar.update(done, { fps: (done / ((performance.now() - started) / 1000)).toFixed(1) });
      // Rendering on this thread (--threads 0, or from the TypeScript sources) can resolve frame
      // after frame in microtasks: a turn of the event loop lets a signal's handler run.
      if (pool.threads === 0) await new Promise((resolve) => setImmediate(resolve));
      if (signal?.aborted) break;
    }
    if (signal?.aborted) await sink?.abandon();
    else await sink?.close();
  } finally {
    bar.stop();
    await pool.close();
  }
  const seconds = (performance.now() - started) / 1000;
  if (signal?.aborted) {
    const what = !flags.out
      ? ""
      : video
        ? `; ${flags.out} holds them`
        : `; the dataset in ${flags.out} is incomplete (its ${LAST_FILE[flags.format]} is written last and was not): fovea eval and train refuse it, write it again`;
    process.stderr.write(
      `fovea synth: stopped by ${String(signal.reason)} after ${done} of ${frames} frames in ${seconds.toFixed(1)} s${what}\n`,
    );
    return { frames: done, seconds, stopped: true };
  }
  if (flags.contactSheet) await writeFile(flags.contactSheet, await contactSheet(sheet, { columns: 4 }));
  process.stderr.write(
    `fovea synth: ${frames} frames ${width}x${height} style ${style} in ${seconds.toFixed(1)} s (${(frames / seconds).toFixed(1)} frames/s, ${pool.threads || 1} thread(s))\n`,
  );
  return { frames, seconds, stopped: false };
}

interface FrameSink {
  add(frame: RenderedFrame): Promise<void>;
  close(): Promise<void>;
  /** A requested stop: keep what is written, in the state the stop leaves it (see runSynth). */
  abandon(): Promise<void>;
}

class DatasetSink implements FrameSink {
  private constructor(
    private readonly writer: DatasetWriter,
    private readonly ext: string,
  ) {}

  static async open(
    dir: string,
    format: DatasetFormat,
    ext: string,
    calibrationFile: string,
    overwrite: boolean,
    synth: { style: SynthStyle; seed: number },
  ): Promise<DatasetSink> {
    return new DatasetSink(
      await openDatasetWriter(dir, format, [...DEFAULT_CLASSES], { calibration: calibrationFile, overwrite, synth }),
      ext,
    );
  }

  async add(frame: RenderedFrame): Promise<void> {
    const objects = frame.labels.map(({ label, box, ground }) => ({ label, box, ground }));
    const image = `images/${String(frame.index).padStart(6, "0")}${this.ext}`;
    await this.writer.add({ image, width: frame.width, height: frame.height, objects, mount: frame.mount }, frame.data);
  }

  close(): Promise<void> {
    return this.writer.close();
  }

  async abandon(): Promise<void> {
    // Not closed: the writer's last file (manifest, classes file, COCO annotations) marks the
    // dataset finished, and this one is not.
  }
}

/** Raw RGB frames piped into ffmpeg (H.264), labels beside it as `<video>.labels.jsonl`, one frame per line. */
class VideoSink implements FrameSink {
  private stderr = "";
  private readonly exited: Promise<number | null>;

  private constructor(
    private readonly ffmpeg: ReturnType<typeof spawn>,
    private readonly labels: ReturnType<typeof createWriteStream>,
    private readonly file: string,
  ) {
    ffmpeg.stderr!.on("data", (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-2000);
    });
    this.exited = once(ffmpeg, "close").then(([code]) => code as number | null);
  }

  static async open(file: string, width: number, height: number, fps: number): Promise<VideoSink> {
    const ffmpeg = spawn(
      "ffmpeg",
      [
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-s",
        `${width}x${height}`,
        "-r",
        String(fps),
        "-i",
        "pipe:0",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "20",
        "-pix_fmt",
        "yuv420p",
        file,
      ],
      { stdio: ["pipe", "ignore", "pipe"] },
    );
    await new Promise<void>((resolve, reject) => {
      ffmpeg.once("spawn", resolve);
      ffmpeg.once("error", (err) => reject(new FoveaInputError("--out", `cannot start ffmpeg to write ${file}: ${err.message}`)));
    });
    const labels = createWriteStream(`${file}.labels.jsonl`);
    return new VideoSink(ffmpeg, labels, file);
  }

  async add(frame: RenderedFrame): Promise<void> {
    const objects = frame.labels.map(({ label, box, ground }) => ({ label, box, ground }));
    if (!this.labels.write(JSON.stringify({ frame: frame.index, width: frame.width, height: frame.height, objects }) + "\n"))
      await once(this.labels, "drain");
    if (!this.ffmpeg.stdin!.write(frame.data)) await Promise.race([once(this.ffmpeg.stdin!, "drain"), this.exited]);
  }

  async close(): Promise<void> {
    this.ffmpeg.stdin!.end();
    this.labels.end();
    const [code] = await Promise.all([this.exited, once(this.labels, "finish")]);
    if (code !== 0) throw new FoveaInputError("--out", `ffmpeg could not write ${this.file} (exit ${code}): ${this.stderr.trim()}`);
  }

  async abandon(): Promise<void> {
    // The clip is finished with the frames so far (a terminal's Ctrl-C reaches ffmpeg too, which
    // then finishes it itself and exits non-zero: not a failure here).
    this.ffmpeg.stdin!.end();
    this.labels.end();
    await Promise.all([this.exited, once(this.labels, "finish")]);
  }
}
