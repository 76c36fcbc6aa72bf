/**
 * The recording commands:
 *   fovea record   capture only: frames from a source into an MCAP file (no inference)
 *   fovea compare  a recording's detections against a re-run with a model, or another recording
 *   fovea retag    a recording's frames into a tagged-frame dataset, detections as pre-tags
 */
import { onStopSignals } from "./stop-signals.js";
import { DEVICE_NAMES, ENGINE_NAMES } from "../engine/registry.js";
import { type Command, Option } from "commander";
import { loadCalibration, type Calibration } from "../calib/calibration.js";
import { openSource, SOURCE_FORMS } from "../capture/open-source.js";
import { FoveaInputError } from "../core/errors.js";
import { createLogger } from "../core/log.js";
import type { DeviceName, EngineName } from "../engine/engine.js";
import type { DatasetFormat } from "../dataset/tagged-frame.js";
import { formatComparison } from "../replay/compare-detections.js";
import { compareRecording, type CompareCandidate } from "../replay/compare-recording.js";
import { McapRecorder } from "../record/mcap-recorder.js";
import { recordCapture } from "../record/record-capture.js";
import { retagRecording } from "../replay/retag-recording.js";

function positiveInt(flag: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === "string" && /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) throw new FoveaInputError(flag, `expected a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

function fraction(flag: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!(typeof value === "string" && value.trim() !== "" && n > 0 && n <= 1))
    throw new FoveaInputError(flag, `expected a number in (0, 1], got ${JSON.stringify(value)}`);
  return n;
}

function requireMcapPath(flag: string, value: unknown): string {
  if (typeof value !== "string" || value.trim() === "") throw new FoveaInputError(flag, "expected an MCAP file path");
  return value;
}

export function registerRecord(program: Command): void {
  program
    .command("record")
    .description("record camera frames to an MCAP file (capture only, no inference; opens in Foxglove)")
    .requiredOption("--source <spec>", `frame source: ${SOURCE_FORMS.join(" | ")}`)
    .requiredOption("--out <file.mcap>", "the recording to write")
    .option("--force", "overwrite an existing --out file")
    .option("--max-frames <n>", "stop after N frames")
    .option("--raw", "store frames losslessly as foxglove.RawImage rgb8 instead of JPEG (~10x larger)")
    .option("--jpeg-quality <q>", "JPEG quality 1..100 (default 85)")
    .option("--calibration <file>", "camera calibration JSON to store with the recording")
    .option("--camera-id <id>", "camera identifier (default: calibration's, else the source's)")
    .option("--unpaced", "replay sources: as fast as the writer takes them, nothing dropped")
    .option("--width <px>", "camera capture width / video scale width")
    .option("--height <px>", "camera capture height / video scale height")
    .option("--fps <n>", "camera frame rate to request / image-folder playback rate")
    .action(async (flags: Record<string, unknown>) => {
      const out = requireMcapPath("--out", flags.out);
      const maxFrames = positiveInt("--max-frames", flags.maxFrames);
      const quality = positiveInt("--jpeg-quality", flags.jpegQuality);
      if (quality !== undefined && quality > 100) throw new FoveaInputError("--jpeg-quality", `expected 1..100, got ${quality}`);
      const fps = flags.fps === undefined ? undefined : Number(flags.fps);
      if (fps !== undefined && !(fps > 0 && Number.isFinite(fps)))
        throw new FoveaInputError("--fps", `expected a positive number, got ${JSON.stringify(flags.fps)}`);
      const calibration: Calibration | undefined = flags.calibration ? await loadCalibration(String(flags.calibration)) : undefined;
      const log = createLogger({ name: "fovea-record" });
      const cameraId = (flags.cameraId as string | undefined) ?? calibration?.cameraId;
      const source = await openSource(String(flags.source), {
        unpaced: Boolean(flags.unpaced),
        width: positiveInt("--width", flags.width),
        height: positiveInt("--height", flags.height),
        fps,
        cameraId,
      });
      let recorder: McapRecorder;
      try {
        recorder = await McapRecorder.create(out, {
          force: Boolean(flags.force),
          forceFlag: "--force",
          calibration,
          modelId: "",
          cameraId: cameraId ?? source.info.cameraId,
          imageEncoding: flags.raw ? "raw" : "jpeg",
          jpegQuality: quality,
          source: source.info.description,
          logger: log,
        });
      } catch (err) {
        await source.close();
        throw err;
      }
      log.info({ source: source.info.description, out }, "recording");
      // First signal: stop capturing and close the recording; a second one ends the process at once.
      const stop = onStopSignals();
      try {
        const p = await recordCapture(source, recorder, {
          maxFrames,
          signal: stop.signal,
          onProgress: (q) => log.info(q, "recording progress"),
        });
        if (recorder.error) throw new Error(`recording ${out} failed: ${recorder.error.message}`);
        process.stdout.write(
          `recorded ${p.framesWritten} frames to ${out} (${p.framesIn} from the source, ${p.recordingDropped} dropped by the recorder)\n`,
        );
      } finally {
        stop.dispose();
      }
    });

  program
    .command("compare")
    .description("compare a recording's detections frame by frame with a re-run through --model, or with another recording (--against)")
    .requiredOption("--recording <file.mcap>", "the baseline: a recording made by `fovea run --record`")
    .option("--model <dir>", "re-run the recording's frames through this model directory")
    .option("--against <file.mcap>", "compare with this second recording instead of a re-run")
    .addOption(new Option("--engine <name>", "inference engine for --model (default: auto)").choices(["auto", ...ENGINE_NAMES]))
    .addOption(new Option("--device <name>", "device for --model (default: auto)").choices(["auto", ...DEVICE_NAMES]))
    .option("--threads <n>", "inference threads")
    .option("--max-frames <n>", "re-run at most N frames")
    .option("--record <file.mcap>", "also record the re-run (frames + new detections) to this MCAP file")
    .option("--force", "overwrite an existing --record file")
    .option("--iou <x>", "boxes of one class overlapping at least this IoU are the same detection (default 0.5)")
    .option("--json", "print the report as JSON")
    .action(async (flags: Record<string, unknown>) => {
      const recording = requireMcapPath("--recording", flags.recording);
      if (Boolean(flags.model) === Boolean(flags.against))
        throw new FoveaInputError("--model/--against", "give exactly one: a model to re-run the frames through, or a second recording");
      const iou = fraction("--iou", flags.iou, 0.5);
      const log = createLogger({ name: "fovea-compare", level: process.env.FOVEA_LOG_LEVEL ?? "warn" });
      const candidate: CompareCandidate = flags.against
        ? { recording: requireMcapPath("--against", flags.against) }
        : {
            modelDir: String(flags.model),
            engine: flags.engine as EngineName | "auto" | undefined,
            device: flags.device as DeviceName | "auto" | undefined,
            threads: positiveInt("--threads", flags.threads),
            maxFrames: positiveInt("--max-frames", flags.maxFrames),
            ...(flags.record ? { recordTo: requireMcapPath("--record", flags.record), force: Boolean(flags.force) } : {}),
          };
      const { report, names, baselineProblem } = await compareRecording(recording, candidate, { iou, log });
      process.stdout.write(flags.json ? JSON.stringify({ ...names, ...report }, null, 2) + "\n" : formatComparison(report, names));
      if (baselineProblem) process.stderr.write(`fovea: ${recording}: ${baselineProblem}\n`);
    });

  program
    .command("retag")
    .description("extract a recording's frames into a tagged-frame dataset, with the recorded detections as pre-tags to correct")
    .requiredOption("--recording <file.mcap>", "the recording")
    .requiredOption("--out <dir>", "dataset folder to create")
    .addOption(new Option("--format <fmt>", "dataset format").choices(["native", "yolo", "coco"]).default("native"))
    .option("--every <n>", "keep every n-th frame (default 1)")
    .option("--classes <list>", "comma-separated dataset classes (default: the recording's model's)")
    .option("--pre-tagged-only", "skip frames without recorded detections (frames the live run dropped)")
    .option("--overwrite", "allow a non-empty --out folder")
    .action(async (flags: Record<string, unknown>) => {
      const recording = requireMcapPath("--recording", flags.recording);
      const classes =
        typeof flags.classes === "string"
          ? flags.classes
              .split(",")
              .map((c) => c.trim())
              .filter(Boolean)
          : undefined;
      if (classes && classes.length === 0) throw new FoveaInputError("--classes", "expected a comma-separated list of class names");
      const r = await retagRecording(recording, String(flags.out), {
        format: flags.format as DatasetFormat,
        every: positiveInt("--every", flags.every),
        classes,
        overwrite: Boolean(flags.overwrite),
        preTaggedOnly: Boolean(flags.preTaggedOnly),
      });
      process.stdout.write(
        `wrote ${r.frames} frames to ${String(flags.out)} (${flags.format}): ${r.preTagged} pre-tagged with ${r.objects} objects; classes ${r.classes.join(", ")}\n`,
      );
      if (r.problem) process.stderr.write(`fovea: ${recording}: ${r.problem}\n`);
    });
}
