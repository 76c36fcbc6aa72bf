/**
 * Fault: a camera that stalls (issue 12, defect 1). Promise: a live source that sends no frame
 * for max(3 frame intervals, 250 ms) makes the Status DEGRADED, with the reason in `last_error`,
 * by the next heartbeat; the silent ffmpeg is killed and restarted with backoff until frames come
 * again, and the Status returns to RUNNING.
 * Real parts: ffmpeg processes stopped with SIGSTOP, the default model on onnxruntime, a ZeroMQ
 * PUB socket and the typed subscriber.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FfmpegStreamSource, MIN_STALL_MS } from "../../src/capture/ffmpeg-stream-source.js";
import { createEngine } from "../../src/engine/create-engine.js";
import type { InferenceEngine } from "../../src/engine/engine.js";
import { Pipeline } from "../../src/pipeline/pipeline.js";
import { PACKAGE_ROOT } from "../../src/core/package-root.js";
import { DetectionPublisher } from "../../src/publish/publisher.js";
import type { VisionMessage } from "../../src/publish/subscriber.js";
import { childPids, until } from "./support/cli.js";
import { connectedSubscriber } from "../support.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const silent = pino({ level: "silent" });
const STATUS_MS = 200;
let engine: InferenceEngine;
let dir: string;

beforeAll(async () => {
  engine = await createEngine({ modelDir: path.join(PACKAGE_ROOT, "models", "default"), engine: "onnxruntime", device: "cpu", threads: 1 });
  dir = await mkdtemp(path.join(tmpdir(), "fovea-faults-stall-"));
});
afterAll(async () => {
  await engine?.dispose();
  await rm(dir, { recursive: true, force: true });
});

const statuses = (messages: VisionMessage[]) => messages.flatMap((m) => (m.topic === "status" ? [m.status] : []));
const nowNs = () => BigInt(Date.now()) * 1_000_000n;

describe("stalled camera (in-process pipeline, real ffmpeg)", () => {
  it("kill -STOP on the camera's ffmpeg: DEGRADED with the reason by the next heartbeat, the silent process killed and restarted, RUNNING again", async () => {
    const pub = await DetectionPublisher.create({ endpoint: "tcp://127.0.0.1:*" });
    const { sub, messages, done } = await connectedSubscriber(pub, { receiveHighWaterMark: 0 });
    const before = new Set(await childPids(process.pid, "ffmpeg"));
    try {
      const pipeline = await Pipeline.create({
        source: (events) =>
          FfmpegStreamSource.open({
            // The camera path's options: live, reconnecting; a lavfi clock stands in for the sensor.
            inputArgs: ["-re", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=30"],
            width: 160,
            height: 120,
            mode: "live",
            fps: 30,
            inputName: "head-camera",
            cameraId: "head",
            reconnect: { minDelayMs: 100, maxDelayMs: 1000 },
            events,
          }),
        engine,
        publisher: pub,
        log: silent,
        statusIntervalMs: STATUS_MS,
      });
      const running = pipeline.run();
      await until(
        () => messages.some((m) => m.topic === "detections") && statuses(messages).some((s) => s.state === "RUNNING"),
        "frames to flow",
      );
      const camera = (await childPids(process.pid, "ffmpeg")).filter((p) => !before.has(p));
      expect(camera).toHaveLength(1);

      const stoppedAt = nowNs();
      process.kill(camera[0], "SIGSTOP");
      await until(() => statuses(messages).some((s) => s.state === "DEGRADED"), "DEGRADED");
      const degraded = statuses(messages).find((s) => s.state === "DEGRADED")!;
      await until(() => statuses(messages).some((s) => s.state === "RUNNING" && s.timeNs > degraded.timeNs), "RUNNING again");
      const recovered = statuses(messages).find((s) => s.state === "RUNNING" && s.timeNs > degraded.timeNs)!;
      await until(
        () => messages.some((m) => m.topic === "detections" && m.frame.captureTimeNs > recovered.timeNs),
        "frames after the recovery",
      );
      await pipeline.stop();
      const summary = await running;
      const after = await childPids(process.pid, "ffmpeg");

      expect(degraded.lastError).toMatch(
        /^head-camera: no frame for \d+ ms \(expected 30 fps; stall timeout 250 ms\); ffmpeg pid \d+ is running but sends nothing, restarting it$/,
      );
      // Within one heartbeat of the stall timeout: no RUNNING beat after it (the watchdog looks
      // every 50 ms, so one beat may have been on its way).
      const timeoutNs = stoppedAt + BigInt(MIN_STALL_MS) * 1_000_000n;
      const runningAfterTimeout = statuses(messages).filter(
        (s) => s.state === "RUNNING" && s.timeNs > timeoutNs && s.timeNs < degraded.timeNs,
      );
      expect(runningAfterTimeout.length).toBeLessThanOrEqual(1);
      console.log(
        `SIGSTOP -> DEGRADED status: ${Number(degraded.timeNs - stoppedAt) / 1e6} ms (stall timeout ${MIN_STALL_MS} ms, heartbeat ${STATUS_MS} ms)`,
      );

      expect(recovered.reconnects).toBeGreaterThanOrEqual(1n);
      expect(summary.counters.reconnects).toBeGreaterThanOrEqual(1);
      // The stopped process is gone, not left behind; a stall is no corrupt frame.
      expect(after).not.toContain(camera[0]);
      expect(summary.counters.framesFailed).toBe(0);
      const seqs = messages.flatMap((m) => (m.topic === "detections" ? [m.frame.seq] : []));
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]);
      expect(statuses(messages).at(-1)!.state).toBe("STOPPED");
    } finally {
      sub.close();
      await done;
      await pub.close();
    }
  });

  it("a camera silent across restarts stays DEGRADED while ffmpeg is restarted with growing delays, and recovers when it sends again", async () => {
    // The "camera" is a FIFO fed by a writer process: stopping the writer leaves every ffmpeg
    // that opens the FIFO alive and silent, as a hung USB camera leaves its driver.
    const fifo = path.join(dir, "camera.fifo");
    await promisify(execFile)("mkfifo", [fifo]);
    const feeder: ChildProcess = spawn(
      process.execPath,
      [path.join(HERE, "support", "fifo-camera.mjs"), fifo, String(160 * 120 * 3), "30"],
      { stdio: "ignore" },
    );
    const pub = await DetectionPublisher.create({ endpoint: "tcp://127.0.0.1:*" });
    const { sub, messages, done } = await connectedSubscriber(pub, { receiveHighWaterMark: 0 });
    try {
      const pipeline = await Pipeline.create({
        source: (events) =>
          FfmpegStreamSource.open({
            inputArgs: ["-f", "rawvideo", "-pixel_format", "rgb24", "-video_size", "160x120", "-framerate", "30", "-i", fifo],
            width: 160,
            height: 120,
            mode: "live",
            fps: 30,
            inputName: fifo,
            cameraId: "head",
            reconnect: { minDelayMs: 100, maxDelayMs: 800 },
            restartGraceMs: 300,
            events,
          }),
        engine,
        publisher: pub,
        log: silent,
        statusIntervalMs: STATUS_MS,
      });
      const running = pipeline.run();
      await until(
        () => statuses(messages).some((s) => s.state === "RUNNING") && messages.some((m) => m.topic === "detections"),
        "frames to flow",
      );
      feeder.kill("SIGSTOP");
      await until(() => statuses(messages).some((s) => s.state === "DEGRADED"), "DEGRADED");
      // Several restarts find the camera still silent.
      await until(() => (statuses(messages).at(-1)?.reconnects ?? 0n) >= 3n, "three restarts");
      const whileSilent = statuses(messages).filter((s) => s.timeNs > statuses(messages).find((x) => x.state === "DEGRADED")!.timeNs);
      expect(whileSilent.every((s) => s.state === "DEGRADED")).toBe(true);
      expect(whileSilent.at(-1)!.lastError).toContain(`${fifo}: no frame for`);
      const resumedAt = nowNs();
      feeder.kill("SIGCONT");
      await until(() => statuses(messages).some((s) => s.state === "RUNNING" && s.timeNs > resumedAt), "RUNNING again");
      await until(() => messages.some((m) => m.topic === "detections" && m.frame.captureTimeNs > resumedAt), "frames again");
      await pipeline.stop();
      const summary = await running;
      expect(summary.counters.reconnects).toBeGreaterThanOrEqual(3);
    } finally {
      feeder.kill("SIGKILL");
      sub.close();
      await done;
      await pub.close();
    }
  });
});
