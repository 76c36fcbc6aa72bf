/**
 * Capture-only recording (`fovea record`): frames from a source straight into a recorder, no
 * inference. A live source (camera, paced replay) is never waited for: when the writer falls
 * behind, the recorder drops and counts. A pull source (unpaced replay) waits for the writer, so
 * nothing is dropped.
 */
import type { FrameSource } from "../core/frame.js";
import type { McapRecorder } from "./mcap-recorder.js";

export interface CaptureOptions {
  /** Stop after this many frames from the source. */
  maxFrames?: number;
  /** Stop when aborted (SIGINT/SIGTERM). */
  signal?: AbortSignal;
  /** Called about once a second with the counts so far. */
  onProgress?(p: CaptureProgress): void;
}

export interface CaptureProgress {
  framesIn: number;
  framesWritten: number;
  recordingDropped: number;
}

/** Record until the source ends, `maxFrames`, or the signal; closes source and recorder. */
export async function recordCapture(source: FrameSource, recorder: McapRecorder, options: CaptureOptions = {}): Promise<CaptureProgress> {
  const { maxFrames, signal } = options;
  if (maxFrames !== undefined && (!Number.isInteger(maxFrames) || maxFrames <= 0)) {
    throw new RangeError(`options.maxFrames: expected a positive integer, got ${maxFrames}`);
  }
  const progress = (): CaptureProgress => ({
    framesIn,
    framesWritten: recorder.framesWritten,
    recordingDropped: recorder.recordingDropped,
  });
  let framesIn = 0;
  const onAbort = () => void source.close();
  signal?.addEventListener("abort", onAbort, { once: true });
  const timer = options.onProgress ? setInterval(() => options.onProgress!(progress()), 1000) : undefined;
  try {
    if (!signal?.aborted) {
      for await (const frame of source.frames()) {
        framesIn++;
        recorder.onSourceFrame(frame);
        if (source.info.mode === "pull") await recorder.whenIdle();
        if (signal?.aborted || (maxFrames !== undefined && framesIn >= maxFrames)) break;
      }
    }
  } finally {
    clearInterval(timer);
    signal?.removeEventListener("abort", onAbort);
    await source.close();
    await recorder.close();
  }
  return progress();
}
