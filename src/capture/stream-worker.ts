/**
 * Worker side of OffThreadStreamSource: runs the live FfmpegStreamSource (the one camera code
 * path: spawn, reconnect with backoff, stall watchdog) on this thread's own event loop, so the
 * camera pipe is drained while the frame loop's thread is busy in onnxruntime, and publishes each
 * frame into the shared FrameRing. Health events and failures go to the parent as messages
 * (rare); frames never do.
 */
import { parentPort, workerData } from "node:worker_threads";
import { FoveaInputError } from "../core/errors.js";
import { FfmpegStreamSource, type FfmpegStreamOptions } from "./ffmpeg-stream-source.js";
import { FrameRing, type FrameRingMemory } from "./frame-ring.js";

/** Messages to the parent. */
export type StreamWorkerMessage =
  | { type: "open" }
  | { type: "degraded"; reason: string }
  | { type: "recovered" }
  | { type: "corrupt"; reason: string }
  | { type: "failed"; message: string; where?: string; problem?: string; beforeOpen: boolean }
  | { type: "ended" };

export interface StreamWorkerData {
  options: Omit<FfmpegStreamOptions, "events">;
  ring: FrameRingMemory;
}

const port = parentPort!;
const { options, ring: memory } = workerData as StreamWorkerData;
const ring = FrameRing.attach(memory);
const post = (m: StreamWorkerMessage) => port.postMessage(m);
let source: FfmpegStreamSource | undefined;
let closeRequested = false;

port.on("message", (m: unknown) => {
  if (m !== "close") return;
  closeRequested = true;
  void source?.close();
});

function failure(err: unknown, beforeOpen: boolean): StreamWorkerMessage {
  const e = err as Error;
  return err instanceof FoveaInputError
    ? { type: "failed", message: e.message, where: err.where, problem: err.problem, beforeOpen }
    : { type: "failed", message: e?.message ?? String(err), beforeOpen };
}

async function main(): Promise<void> {
  try {
    source = await FfmpegStreamSource.open({
      ...options,
      events: {
        onDegraded: (reason) => post({ type: "degraded", reason }),
        onRecovered: () => post({ type: "recovered" }),
        onCorrupt: (reason) => post({ type: "corrupt", reason }),
      },
    });
  } catch (err) {
    post(failure(err, true));
    return;
  }
  post({ type: "open" });
  if (closeRequested) await source.close();
  let arrived = 0;
  try {
    for await (const frame of source.frames()) {
      ring.publish(frame.data, frame.seq, frame.captureTimeNs);
      ring.setCounter("arrived", ++arrived);
      ring.setCounter("corrupt", source.counters.corrupt);
      ring.setCounter("reconnects", source.counters.reconnects);
      ring.setCounter("sourceDropped", source.dropped);
    }
  } catch (err) {
    post(failure(err, false));
  } finally {
    ring.setCounter("corrupt", source.counters.corrupt);
    ring.setCounter("reconnects", source.counters.reconnects);
    ring.setCounter("sourceDropped", source.dropped);
    ring.end();
    await source.close();
  }
  post({ type: "ended" });
}

void main().finally(() => port.close());
