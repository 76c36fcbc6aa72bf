/**
 * What recording costs the frame loop, and how fast the recorder writes.
 *
 *   node --import ./test/record-ts-loader.mjs scripts/bench-record.ts [--seconds 3] [--size 640x480] [--fps 30]
 *
 * Frames are ffmpeg testsrc2 images (rgb24, as a camera delivers them). For each mode (no
 * recorder, JPEG, raw) a timer hands a frame over at `--fps` for `--seconds` and we measure the
 * observer call itself and the event-loop delay (what the frame loop would feel: chunk building
 * and CRCs run on the main thread, JPEG encoding does not). Then the writer's unpaced throughput.
 * `--modes jpeg` runs one mode (for profiling). Prints one JSON object; nothing is asserted — speed is measured, not tested.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { parseArgs } from "node:util";
import { build } from "hdr-histogram-js";
import { epochNowNs } from "../src/core/clock.js";
import type { Frame } from "../src/core/frame.js";
import { McapRecorder } from "../src/record/mcap-recorder.js";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "3" },
    size: { type: "string", default: "640x480" },
    fps: { type: "string", default: "30" },
    /** Comma-separated subset of none,jpeg,raw (profiling one mode). */
    modes: { type: "string", default: "none,jpeg,raw" },
  },
});
const modes = values.modes.split(",") as Array<"none" | "jpeg" | "raw">;
const seconds = Number(values.seconds);
const [width, height] = values.size.split("x").map(Number);
const fps = Number(values.fps);

const FRAME_COUNT = 30;
const { stdout } = await promisify(execFile)(
  "ffmpeg",
  [
    "-loglevel",
    "error",
    "-f",
    "lavfi",
    "-i",
    `testsrc2=size=${width}x${height}:rate=30`,
    "-frames:v",
    String(FRAME_COUNT),
    "-f",
    "rawvideo",
    "-pix_fmt",
    "rgb24",
    "-",
  ],
  { encoding: "buffer", maxBuffer: width * height * 3 * FRAME_COUNT + 1024 },
);
const images = Array.from({ length: FRAME_COUNT }, (_, i) => stdout.subarray(i * width * height * 3, (i + 1) * width * height * 3));
const frameAt = (seq: number): Frame => ({
  seq,
  captureTimeNs: epochNowNs(),
  width,
  height,
  encoding: "rgb24",
  data: images[seq % FRAME_COUNT],
});

const dir = await mkdtemp(path.join(tmpdir(), "fovea-bench-record-"));
const round = (v: number) => Math.round(v * 1000) / 1000;

/** Hand frames over at `fps` for `seconds`, as a live frame loop would. */
async function paced(mode: "none" | "jpeg" | "raw") {
  const file = path.join(dir, `paced-${mode}.mcap`);
  const recorder =
    mode === "none" ? undefined : await McapRecorder.create(file, { modelId: "bench", cameraId: "bench", imageEncoding: mode });
  const call = build({ lowestDiscernibleValue: 1, highestTrackableValue: 1e9, numberOfSignificantValueDigits: 3 });
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const elu0 = performance.eventLoopUtilization();
  const cpu0 = process.cpuUsage();
  const total = Math.round(seconds * fps);
  await new Promise<void>((resolve) => {
    let seq = 0;
    const timer = setInterval(() => {
      const f = frameAt(seq);
      const t0 = process.hrtime.bigint();
      recorder?.onSourceFrame(f);
      call.recordValue(Number(process.hrtime.bigint() - t0));
      if (++seq >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 1000 / fps);
  });
  loop.disable();
  // Main-thread busy time while recording (the writer's chunk building and CRCs run here;
  // JPEG encoding runs on libuv's pool). Compare with mode "none" for the recorder's share.
  const elu = performance.eventLoopUtilization(elu0);
  await recorder?.close();
  // CPU time of all threads (main + libuv pool, where sharp encodes) up to the file's end: on a
  // 2-core robot this is what recording takes away from inference.
  const cpu = process.cpuUsage(cpu0);
  const bytes = recorder ? (await stat(file)).size : 0;
  return {
    mode,
    frames: total,
    handoffUs: {
      p50: round(call.getValueAtPercentile(50) / 1000),
      p99: round(call.getValueAtPercentile(99) / 1000),
      max: round(call.maxValue / 1000),
    },
    // Wall-clock busy time of the main thread: inflated when the machine is loaded.
    mainThreadBusyMsPerFrame: round(elu.active / total),
    cpuMsPerFrame: round((cpu.user + cpu.system) / 1000 / total),
    eventLoopDelayMs: { p50: round(loop.percentile(50) / 1e6), p99: round(loop.percentile(99) / 1e6), max: round(loop.max / 1e6) },
    written: recorder?.framesWritten ?? 0,
    dropped: recorder?.recordingDropped ?? 0,
    mbPerS: round(bytes / 1e6 / seconds),
  };
}

/** How many frames per second the writer sustains when nothing else runs. */
async function throughput(mode: "jpeg" | "raw") {
  const file = path.join(dir, `unpaced-${mode}.mcap`);
  const recorder = await McapRecorder.create(file, { modelId: "bench", cameraId: "bench", imageEncoding: mode });
  const n = mode === "raw" ? 120 : 90;
  const t0 = process.hrtime.bigint();
  for (let seq = 0; seq < n; seq++) {
    recorder.onSourceFrame(frameAt(seq));
    await recorder.whenIdle();
  }
  await recorder.close();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const bytes = (await stat(file)).size;
  return { mode, frames: n, fps: round(n / s), mbPerS: round(bytes / 1e6 / s), bytesPerFrame: Math.round(bytes / n) };
}

try {
  const result = {
    size: `${width}x${height}`,
    fps,
    seconds,
    paced: [] as unknown[],
    unpaced: [] as unknown[],
  };
  for (const mode of modes) result.paced.push(await paced(mode));
  for (const mode of modes) if (mode !== "none") result.unpaced.push(await throughput(mode));
  process.stdout.write(JSON.stringify(result, null, 2) + "\n");
} finally {
  await rm(dir, { recursive: true, force: true });
}
