/** Worker-thread entry of RenderPool: renders FrameJobs posted to it with its own FrameRenderer. */
import { parentPort, workerData } from "node:worker_threads";
import type { Calibration } from "../calib/calibration.js";
import { FrameRenderer, type FrameJob } from "./render-frame.js";

const { calibration, width, height } = workerData as { calibration: Calibration; width: number; height: number };
const renderer = new FrameRenderer(calibration, width, height);
const port = parentPort!;

port.on("message", (job: FrameJob) => {
  renderer.render(job).then(
    (frame) => {
      // Copy into an ArrayBuffer of its own: sharp's output may share a pooled one, which cannot be transferred.
      const bytes = new Uint8Array(frame.data.length);
      bytes.set(frame.data);
      port.postMessage({ ok: true, frame: { ...frame, data: bytes } }, [bytes.buffer]);
    },
    (err: Error) => port.postMessage({ ok: false, index: job.index, message: err.stack ?? err.message }),
  );
});
