/**
 * Fault: replaying a recording (issue 12, defect 6: the replay logged a wrong fps and counted
 * "total" latency from the original capture time, minutes or days before the replay). Promise:
 * `fovea run --source mcap:...` states the recorded frame rate (the median interval, not the
 * first one, which is often the camera starting up), and times each frame from when it reached
 * the loop: capture 0 and a total no longer than the replay itself has run, on the wire and in
 * the log; the recorded capture times are still published as they were recorded.
 * A real recording (the McapRecorder `fovea run --record` uses) of frames captured ten minutes
 * ago at 25 fps, replayed by a real `fovea run` process, read by a real ZeroMQ subscriber.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Frame } from "../../src/core/frame.js";
import type { DetectionFrameMessage } from "../../src/publish/codec.js";
import { subscribeVision } from "../../src/publish/subscriber.js";
import { McapRecorder } from "../../src/record/mcap-recorder.js";
import { freePort } from "../support.js";
import { startCli } from "./support/cli.js";

const FRAMES = 50;
const INTERVAL_NS = 40_000_000n; // 25 fps
let dir: string;
let recording: string;
/** Recorded capture time of each recorded seq. */
const recorded = new Map<bigint, bigint>();

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "fovea-faults-replay-"));
  recording = path.join(dir, "match.mcap");
  const recorder = await McapRecorder.create(recording, { modelId: "", cameraId: "head", imageEncoding: "jpeg" });
  const tenMinutesAgo = BigInt(Date.now() - 10 * 60_000) * 1_000_000n;
  let t = tenMinutesAgo;
  for (let seq = 0; seq < FRAMES; seq++) {
    // A camera's first interval is its start-up (400 ms here); frame 20 was dropped (a double interval).
    t += seq === 0 ? 0n : seq === 1 ? 400_000_000n : seq === 20 ? 2n * INTERVAL_NS : INTERVAL_NS;
    const frame: Frame = { seq, captureTimeNs: t, width: 64, height: 48, encoding: "rgb24", data: Buffer.alloc(64 * 48 * 3, seq * 5) };
    recorded.set(BigInt(seq), t);
    recorder.onSourceFrame(frame);
    await recorder.whenIdle();
  }
  await recorder.close();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("replaying a recording", () => {
  it("logs the recorded fps and times frames from the replay, not from the recorded capture", async () => {
    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    const sub = subscribeVision(endpoint, { topics: ["detections"], receiveHighWaterMark: 0 });
    const frames: DetectionFrameMessage[] = [];
    const reading = (async () => {
      for await (const m of sub) if (m.topic === "detections") frames.push(m.frame);
    })();
    const startedNs = BigInt(Date.now()) * 1_000_000n;
    const startedMs = performance.now();
    // Paced at the recorded rate; the recording ends, so the run ends by itself (exit 0).
    const run = startCli(["run", "--source", `mcap:${recording}`, "--publish", endpoint]);
    const { code } = await run.exit;
    const ranMs = performance.now() - startedMs;
    sub.close();
    await reading;
    expect(code).toBe(0);

    const lines = run
      .stderr()
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const opened = lines.find((l) => l.msg === "source open")!;
    expect(opened.fps).toBe(25);
    expect(opened.source).toBe(`mcap:${recording} 64x48@25.0`);

    // Every frame the subscriber saw: the recorded capture time on the wire, the replay's timings.
    expect(frames.length).toBeGreaterThan(0);
    for (const f of frames) {
      expect(f.captureTimeNs).toBe(recorded.get(f.seq));
      expect(f.timings.captureUs).toBe(0);
      expect(BigInt(f.timings.totalUs) * 1000n).toBeLessThanOrEqual(f.publishTimeNs - startedNs);
    }

    // The run's summary line: no capture stage, and no total longer than the run.
    const done = lines.find((l) => typeof l.msg === "string" && l.msg.startsWith("done:"))!;
    const latency = done.latencyMs as Record<string, { max: number }>;
    console.log(`replay: ${frames.length} frames received, total max ${latency.total.max} ms over a ${ranMs.toFixed(0)} ms run`);
    expect(latency.capture.max).toBe(0);
    expect(latency.total.max).toBeLessThanOrEqual(ranMs);
  });
});
