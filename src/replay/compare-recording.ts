/**
 * `fovea compare` as a library call: a recording's DetectionFrames (the baseline) against a
 * re-run of its frames through a model, or against a second recording.
 */
import { FoveaInputError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import { loadModelDir } from "../core/model-dir.js";
import type { DeviceName, EngineName } from "../engine/engine.js";
import type { DetectionFrameMessage, DetectionMessage } from "../publish/codec.js";
import { compareDetectionRuns, type ComparisonReport } from "./compare-detections.js";
import { readRecordedDetections, type RecordingInfo } from "../record/recording-contents.js";
import { McapRecorder } from "../record/mcap-recorder.js";
import { rerunRecording } from "./rerun-recording.js";

export type CompareCandidate =
  | {
      /** Re-run the baseline's frames through this model directory. */
      modelDir: string;
      engine?: EngineName | "auto";
      device?: DeviceName | "auto";
      threads?: number;
      maxFrames?: number;
      /** Also record the re-run (frames and new detections) to this MCAP file. */
      recordTo?: string;
      /** Overwrite an existing `recordTo` file. */
      force?: boolean;
    }
  | {
      /** A second recording. */
      recording: string;
    };

export interface RecordingComparison {
  report: ComparisonReport;
  names: { baseline: string; candidate: string };
  baselineInfo: RecordingInfo;
  /** Why reading the baseline stopped early (truncated), if it did. */
  baselineProblem?: string;
}

function detectionsBySeq(m: Map<number, DetectionFrameMessage>): Map<number, DetectionMessage[]> {
  return new Map([...m].map(([seq, d]) => [seq, d.detections]));
}

export async function compareRecording(
  recording: string,
  candidate: CompareCandidate,
  options: { iou?: number; log: Logger },
): Promise<RecordingComparison> {
  const baseline = await readRecordedDetections(recording);
  if (baseline.frames.size === 0) {
    throw new FoveaInputError(
      recording,
      "has no DetectionFrames on /fovea/detections (a capture-only recording?); compare needs a recording made by `fovea run --record`",
    );
  }
  let frames: Map<number, DetectionFrameMessage>;
  let name: string;
  if ("recording" in candidate) {
    const other = await readRecordedDetections(candidate.recording);
    frames = other.frames;
    name = `${candidate.recording} (model ${other.info.modelId ?? "?"})`;
  } else {
    const { recordTo, force, ...engineOptions } = candidate;
    // The recorder opens before the re-run loads the engine; its metadata names the model and
    // its classes (what `fovea retag` labels with), so read them from the model directory now.
    const model = recordTo ? (await loadModelDir(engineOptions.modelDir)).metadata : undefined;
    const recorder = recordTo
      ? await McapRecorder.create(recordTo, {
          force,
          modelId: model?.id ?? "",
          classes: model?.classes,
          cameraId: baseline.info.cameraId ?? "camera",
          calibration: baseline.info.calibration,
          imageEncoding: "jpeg",
          source: `mcap:${recording}`,
          logger: options.log,
        })
      : undefined;
    const rerun = await rerunRecording(recording, {
      ...engineOptions,
      // The recorded calibration: the re-run gets the same white balance and ground projection.
      calibration: baseline.info.calibration,
      observers: recorder ? [recorder] : [],
      log: options.log,
    }).finally(() => recorder?.close());
    frames = rerun.frames;
    name = `${candidate.modelDir} (model ${rerun.modelId}, re-run)`;
  }
  return {
    report: compareDetectionRuns(detectionsBySeq(baseline.frames), detectionsBySeq(frames), { iou: options.iou }),
    names: { baseline: `${recording} (model ${baseline.info.modelId ?? "?"})`, candidate: name },
    baselineInfo: baseline.info,
    ...(baseline.end.problem ? { baselineProblem: baseline.end.problem } : {}),
  };
}
