/**
 * Re-runs a recording's frames through a model with the runtime's own frame loop (Pipeline:
 * the same preprocessing, engine, decoding and ground projection as `fovea run`), unpaced so no
 * frame is dropped, and collects the DetectionFrames it would have published.
 */
import type { Calibration } from "../calib/calibration.js";
import { McapSource } from "../capture/mcap-source.js";
import type { Logger } from "../core/log.js";
import type { PipelineObserver } from "../core/pipeline-types.js";
import { createEngine } from "../engine/create-engine.js";
import type { DeviceName, EngineName } from "../engine/engine.js";
import { Pipeline, type FramePublisher, type PipelineSummary } from "../pipeline/pipeline.js";
import { decodeDetectionFrame, type DetectionFrameMessage } from "../publish/codec.js";

export interface RerunOptions {
  /** Model directory (contains fovea.json). */
  modelDir: string;
  engine?: EngineName | "auto";
  device?: DeviceName | "auto";
  threads?: number;
  /** Calibration for ground positions and white balance (compare passes the recorded one). */
  calibration?: Calibration;
  /** Stop after this many frames. */
  maxFrames?: number;
  /** More observers on the re-run (e.g. a recorder writing it to a new MCAP file). */
  observers?: PipelineObserver[];
  log: Logger;
}

export interface RerunResult {
  /** DetectionFrames by frame number, decoded from the bytes the pipeline produced. */
  frames: Map<number, DetectionFrameMessage>;
  modelId: string;
  summary: PipelineSummary;
}

// The re-run publishes nowhere: its DetectionFrames are collected by an observer instead.
const DISCARD: FramePublisher = { publishDetections: () => true, publishStatus: () => true };

export async function rerunRecording(file: string, options: RerunOptions): Promise<RerunResult> {
  const engine = await createEngine(
    { modelDir: options.modelDir, engine: options.engine, device: options.device, threads: options.threads },
    options.log,
  );
  try {
    const frames = new Map<number, DetectionFrameMessage>();
    const collector: PipelineObserver = {
      // Decoded from the published bytes so both sides of a comparison carry protobuf's float32s.
      onProcessed: (p) => void frames.set(p.frame.seq, decodeDetectionFrame(p.message)),
    };
    const pipeline = await Pipeline.create({
      source: (events) => McapSource.open(file, { unpaced: true, events, logger: options.log }),
      engine,
      publisher: DISCARD,
      calibration: options.calibration,
      observers: [collector, ...(options.observers ?? [])],
      maxFrames: options.maxFrames,
      log: options.log,
    });
    const summary = await pipeline.run();
    return { frames, modelId: engine.metadata.id, summary };
  } finally {
    await engine.dispose();
  }
}
