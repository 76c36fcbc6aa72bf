/**
 * Faults and load, end to end in-process: real ffmpeg processes through the capture code, the
 * real default model on onnxruntime, a real ZeroMQ PUB socket and real subscribers decoding real
 * protobuf bytes.
 */
import path from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Subscriber } from "zeromq";
import { FfmpegStreamSource } from "../src/capture/ffmpeg-stream-source.js";
import { createEngine } from "../src/engine/create-engine.js";
import type { InferenceEngine } from "../src/engine/engine.js";
import { Pipeline } from "../src/pipeline/pipeline.js";
import { PACKAGE_ROOT } from "../src/core/package-root.js";
import { DetectionPublisher } from "../src/publish/publisher.js";
import type { VisionMessage } from "../src/publish/subscriber.js";
import { connectedSubscriber } from "./support.js";

const silent = pino({ level: "silent" });
let engine: InferenceEngine;

beforeAll(async () => {
  engine = await createEngine({ modelDir: path.join(PACKAGE_ROOT, "models", "default"), engine: "onnxruntime", device: "cpu", threads: 1 });
});
afterAll(async () => {
  await engine?.dispose();
});

const lavfi = (spec: string, extra: string[] = []) => [...extra, "-f", "lavfi", "-i", spec];

describe("fovea runtime under faults (in-process, real parts)", () => {
  it("a camera process that dies turns the status DEGRADED, then RUNNING again after the reconnect", async () => {
    const pub = await DetectionPublisher.create({ endpoint: "tcp://127.0.0.1:*" });
    const { sub, messages, done } = await connectedSubscriber(pub);
    try {
      const pipeline = await Pipeline.create({
        source: (events) =>
          FfmpegStreamSource.open({
            // A "camera" that dies after 0.4 s each time it is started.
            inputArgs: lavfi("testsrc2=size=160x120:rate=30", ["-re", "-t", "0.4"]),
            width: 160,
            height: 120,
            mode: "live",
            inputName: "lavfi-camera",
            cameraId: "head",
            reconnect: { minDelayMs: 100, maxDelayMs: 200 },
            events,
          }),
        engine,
        publisher: pub,
        log: silent,
        statusIntervalMs: 100,
      });
      const running = pipeline.run();
      // Messages arrive in publish order across both topics (one socket), so "after" is exact.
      const isRecovery = (m: VisionMessage, i: number, all: VisionMessage[]) =>
        m.topic === "status" &&
        m.status.state === "RUNNING" &&
        all.slice(0, i).some((p) => p.topic === "status" && p.status.state === "DEGRADED");
      // Run until the camera has come back at least once and detections flow again after it.
      for (;;) {
        await new Promise((r) => setTimeout(r, 50));
        const recoveredAt = messages.findIndex(isRecovery);
        if (recoveredAt >= 0 && messages.slice(recoveredAt).some((m) => m.topic === "detections")) break;
      }
      await pipeline.stop();
      const summary = await running;
      await new Promise((r) => setTimeout(r, 50));

      const firstDegraded = messages.findIndex((m) => m.topic === "status" && m.status.state === "DEGRADED");
      const recoveredAt = messages.findIndex(isRecovery);
      expect(firstDegraded).toBeGreaterThan(0);
      expect(recoveredAt).toBeGreaterThan(firstDegraded);
      const before = messages.slice(0, firstDegraded);
      expect(before.some((m) => m.topic === "status" && m.status.state === "RUNNING")).toBe(true);
      expect(before.some((m) => m.topic === "detections")).toBe(true);
      const degraded = messages[firstDegraded];
      expect(degraded.topic === "status" && degraded.status.lastError).toMatch(/lavfi-camera|ffmpeg/);
      expect(messages.slice(recoveredAt).some((m) => m.topic === "detections")).toBe(true);
      const statuses = messages.flatMap((m) => (m.topic === "status" ? [m.status] : []));
      expect(statuses.at(-1)!.state).toBe("STOPPED");
      expect(statuses.at(-1)!.reconnects).toBeGreaterThanOrEqual(1n);
      expect(summary.counters.reconnects).toBeGreaterThanOrEqual(1);
      // seq keeps increasing across the reconnect.
      const seqs = messages.flatMap((m) => (m.topic === "detections" ? [Number(m.frame.seq)] : []));
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]);
    } finally {
      sub.close();
      await done;
      await pub.close();
    }
  });

  it("latest frame wins: an ffmpeg live stream faster than the engine is dropped and counted, with matching seq gaps", async () => {
    const pub = await DetectionPublisher.create({ endpoint: "tcp://127.0.0.1:*" });
    const { sub, messages, done } = await connectedSubscriber(pub);
    try {
      const pipeline = await Pipeline.create({
        // No -re: ffmpeg renders as fast as it can, far faster than preprocess + inference.
        source: () =>
          FfmpegStreamSource.open({
            inputArgs: lavfi("testsrc2=size=320x240:rate=1000"),
            width: 320,
            height: 240,
            mode: "live",
            inputName: "fast",
            cameraId: "fast",
          }),
        engine,
        publisher: pub,
        maxFrames: 60,
        log: silent,
      });
      const summary = await pipeline.run();
      await new Promise((r) => setTimeout(r, 100));
      const seqs = messages.flatMap((m) => (m.topic === "detections" ? [Number(m.frame.seq)] : []));
      expect(summary.counters.framesProcessed).toBe(60);
      expect(seqs).toHaveLength(60);
      let gaps = 0;
      for (let i = 1; i < seqs.length; i++) {
        expect(seqs[i]).toBeGreaterThan(seqs[i - 1]);
        gaps += seqs[i] - seqs[i - 1] - 1;
      }
      expect(gaps).toBeGreaterThan(0);
      expect(summary.counters.framesDropped).toBeGreaterThanOrEqual(gaps);
      const last = messages.flatMap((m) => (m.topic === "status" ? [m.status] : [])).at(-1)!;
      expect(last.state).toBe("STOPPED");
      expect(last.framesDropped).toBe(BigInt(summary.counters.framesDropped));
      // Every captured frame is accounted for: processed, dropped, or in a slot when the run stopped.
      const c = summary.counters;
      expect(c.framesIn - c.framesProcessed - c.framesDropped).toBeGreaterThanOrEqual(0);
      expect(c.framesIn - c.framesProcessed - c.framesDropped).toBeLessThanOrEqual(3);
    } finally {
      sub.close();
      await done;
      await pub.close();
    }
  });

  it("a subscriber that never reads does not stall the loop", async () => {
    const pub = await DetectionPublisher.create({ endpoint: "tcp://127.0.0.1:*", sendHighWaterMark: 2 });
    const stuck = new Subscriber({ receiveHighWaterMark: 1 });
    stuck.connect(pub.endpoint);
    stuck.subscribe();
    const { sub, messages, done } = await connectedSubscriber(pub);
    try {
      const pipeline = await Pipeline.create({
        source: () =>
          FfmpegStreamSource.open({
            inputArgs: lavfi("testsrc2=size=320x240:rate=30", ["-t", "10"]),
            width: 320,
            height: 240,
            mode: "pull",
            inputName: "replay",
            cameraId: "replay",
          }),
        engine,
        publisher: pub,
        maxFrames: 150,
        log: silent,
      });
      const summary = await pipeline.run();
      expect(summary.counters.framesProcessed).toBe(150);
      expect(pub.counters.lastError).toBe("");
      // The reading subscriber still got the stream in order.
      await new Promise((r) => setTimeout(r, 100));
      const seqs = messages.flatMap((m) => (m.topic === "detections" ? [Number(m.frame.seq)] : []));
      expect(seqs.length).toBeGreaterThan(0);
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]);
    } finally {
      stuck.close();
      sub.close();
      await done;
      await pub.close();
    }
  });
});
