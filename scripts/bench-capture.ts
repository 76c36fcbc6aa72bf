/**
 * Capture-path figures: how fast the ffmpeg raw pipe delivers, how stale a frame is when a busy
 * consumer takes it from the latest-frame slot, and what the slot itself costs.
 *
 *   node --import ./test/record-ts-loader.mjs scripts/bench-capture.ts [--seconds 3] [--size 640x480] [--fps 30] [--busy-ms 50]
 *
 * ffmpeg's testsrc2 stands in for a camera (`-re` paces it to real time as a camera is). Prints
 * one JSON object; nothing here is asserted — speed is measured, not tested.
 */
import { parseArgs } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { build } from "hdr-histogram-js";
import { epochNowNs } from "../src/core/clock.js";
import { FfmpegStreamSource } from "../src/capture/ffmpeg-stream-source.js";
import { LatestFrameSlot } from "../src/core/latest-frame-slot.js";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "3" },
    size: { type: "string", default: "640x480" },
    fps: { type: "string", default: "30" },
    "busy-ms": { type: "string", default: "50" },
  },
});
const seconds = Number(values.seconds);
const [width, height] = values.size.split("x").map(Number);
const fps = Number(values.fps);
const busyMs = Number(values["busy-ms"]);

function histogram() {
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
}
const ms = (us: number) => +(us / 1000).toFixed(2);

async function pullThroughput() {
  const source = await FfmpegStreamSource.open({
    inputArgs: ["-f", "lavfi", "-i", `testsrc2=size=${width}x${height}:rate=1000`],
    width,
    height,
    mode: "pull",
    inputName: "testsrc2",
    cameraId: "bench",
  });
  const start = performance.now();
  let frames = 0;
  for await (const _ of source.frames()) {
    frames++;
    if (performance.now() - start > seconds * 1000) break;
  }
  const elapsed = (performance.now() - start) / 1000;
  await source.close();
  return { fps: +(frames / elapsed).toFixed(1), mbPerS: +((frames * width * height * 3) / elapsed / 1e6).toFixed(1) };
}

/** Live source at `fps`; the consumer spends `consumerMs` on each frame it takes. */
async function live(consumerMs: number) {
  const source = await FfmpegStreamSource.open({
    inputArgs: ["-re", "-f", "lavfi", "-i", `testsrc2=size=${width}x${height}:rate=${fps}`],
    width,
    height,
    mode: "live",
    inputName: "testsrc2",
    cameraId: "bench",
  });
  const age = histogram();
  const interval = histogram();
  let taken = 0;
  let last: bigint | undefined;
  const start = performance.now();
  for await (const frame of source.frames()) {
    const now = epochNowNs();
    age.recordValue(Math.max(1, Number((now - frame.captureTimeNs) / 1000n)));
    if (last !== undefined) interval.recordValue(Math.max(1, Number((frame.captureTimeNs - last) / 1000n)));
    last = frame.captureTimeNs;
    taken++;
    if (consumerMs > 0) await sleep(consumerMs);
    if (performance.now() - start > seconds * 1000) break;
  }
  const dropped = source.dropped;
  await source.close();
  return {
    consumerMs,
    taken,
    dropped,
    ageAtTakeMs: { p50: ms(age.getValueAtPercentile(50)), p99: ms(age.getValueAtPercentile(99)), max: ms(age.maxValue) },
    captureIntervalMs: { p50: ms(interval.getValueAtPercentile(50)), p99: ms(interval.getValueAtPercentile(99)) },
  };
}

function slotOverhead() {
  const slot = new LatestFrameSlot<number>();
  const n = 2_000_000;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) slot.put(i);
  const putNs = Number(process.hrtime.bigint() - t0) / n;
  return { overwritingPutNs: +putNs.toFixed(1), dropped: slot.dropped };
}

const report = {
  machine: { cpus: (await import("node:os")).cpus().length, node: process.version },
  size: `${width}x${height}`,
  pull: await pullThroughput(),
  liveKeepingUp: await live(0),
  liveBusyConsumer: await live(busyMs),
  slot: slotOverhead(),
};
console.log(JSON.stringify(report, null, 2));
