/**
 * Helpers the end-to-end tests share: a free TCP port, and a ZeroMQ subscriber known to be
 * connected before the test publishes.
 */
import { createServer } from "node:net";
import type { StatusMessage } from "../src/publish/codec.js";
import { encodeStatus } from "../src/publish/codec.js";
import type { DetectionPublisher } from "../src/publish/publisher.js";
import { subscribeVision, type SubscribeOptions, type VisionMessage, type VisionSubscription } from "../src/publish/subscriber.js";

/** A port the system just reported free on 127.0.0.1 (another process may still take it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** A Status as a running pipeline sends it, for tests that publish one themselves. */
export const RUNNING_STATUS: StatusMessage = {
  state: "RUNNING",
  fps: 30,
  framesIn: 1n,
  framesProcessed: 1n,
  framesDropped: 0n,
  framesFailed: 0n,
  engine: "onnxruntime",
  device: "cpu",
  modelId: "m",
  lastError: "",
  timeNs: 1n,
  cameraId: "head",
  source: "test",
  reconnects: 0n,
  recordingDropped: 0n,
  outOfEnvelope: 0n,
};

const PROBE: StatusMessage = {
  state: "STARTING",
  fps: 0,
  framesIn: 0n,
  framesProcessed: 0n,
  framesDropped: 0n,
  framesFailed: 0n,
  engine: "",
  device: "",
  modelId: "",
  lastError: "",
  timeNs: 1n,
  cameraId: "probe",
  source: "",
  reconnects: 0n,
  recordingDropped: 0n,
  outOfEnvelope: 0n,
};

/**
 * A subscriber that is known to be connected (ZeroMQ drops what a PUB sends before the
 * subscription arrives: probe statuses are published until one arrives), collecting every other
 * message in the background.
 */
export async function connectedSubscriber(
  pub: DetectionPublisher,
  options: SubscribeOptions = {},
): Promise<{ sub: VisionSubscription; messages: VisionMessage[]; done: Promise<void> }> {
  const sub = subscribeVision(pub.endpoint, options);
  const it = sub[Symbol.asyncIterator]();
  const probe = setInterval(() => pub.publishStatus(encodeStatus(PROBE)), 10);
  try {
    await it.next();
  } finally {
    clearInterval(probe);
  }
  const messages: VisionMessage[] = [];
  const done = (async () => {
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      if (r.value.topic === "status" && r.value.status.cameraId === "probe") continue;
      messages.push(r.value);
    }
  })();
  return { sub, messages, done };
}
