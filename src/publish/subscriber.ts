/**
 * Typed subscriber for TypeScript controllers:
 *
 *   const sub = subscribeVision("tcp://127.0.0.1:5555");
 *   for await (const msg of sub) {
 *     if (msg.topic === "detections") steer(msg.frame.detections);
 *     else if (msg.status.state === "DEGRADED") slowDown();
 *   }
 *
 * Breaking out of the loop (or `sub.close()`) closes the socket.
 */
import { Subscriber } from "zeromq";
import {
  decodeDetectionFrame,
  decodeStatus,
  TOPIC_DETECTIONS,
  TOPIC_STATUS,
  type DetectionFrameMessage,
  type StatusMessage,
} from "./codec.js";
import type { VisionTopic } from "./publisher.js";

export type VisionMessage =
  | { topic: typeof TOPIC_DETECTIONS; frame: DetectionFrameMessage }
  | { topic: typeof TOPIC_STATUS; status: StatusMessage };

export interface SubscribeOptions {
  /** Topics to receive; default both. */
  topics?: readonly VisionTopic[];
  /**
   * Messages ZeroMQ buffers for this subscriber before dropping (ZMQ_RCVHWM). Default 16: a
   * controller wants the newest detections, not a backlog.
   */
  receiveHighWaterMark?: number;
}

export interface VisionSubscription extends AsyncIterable<VisionMessage> {
  /** The underlying socket, connected (ZeroMQ reconnects on its own if fovea restarts). */
  readonly socket: Subscriber;
  /** Stop receiving; a pending iteration ends. */
  close(): void;
}

/**
 * Connect a SUB socket to a fovea publisher. A message whose payload does not decode ends the
 * iteration with an Error naming the topic and endpoint.
 */
export function subscribeVision(endpoint: string, options: SubscribeOptions = {}): VisionSubscription {
  if (typeof endpoint !== "string" || !/^(tcp|ipc|inproc):\/\/.+/.test(endpoint)) {
    throw new TypeError(`endpoint: expected a ZeroMQ endpoint like tcp://127.0.0.1:5555, got ${JSON.stringify(endpoint)}`);
  }
  const topics = options.topics ?? [TOPIC_DETECTIONS, TOPIC_STATUS];
  for (const t of topics) {
    if (t !== TOPIC_DETECTIONS && t !== TOPIC_STATUS) throw new TypeError(`options.topics: expected "detections" or "status", got ${JSON.stringify(t)}`);
  }
  const socket = new Subscriber({ receiveHighWaterMark: options.receiveHighWaterMark ?? 16, linger: 0 });
  socket.connect(endpoint);
  // ZeroMQ subscriptions are prefix matches: "status" must not also match e.g. "statusX", so the
  // topic is checked exactly below as well.
  socket.subscribe(...topics);

  async function* messages(): AsyncGenerator<VisionMessage> {
    try {
      while (!socket.closed) {
        let parts: Buffer[];
        try {
          parts = await socket.receive();
        } catch (err) {
          if (socket.closed) return;
          throw err;
        }
        const topic = parts[0]?.toString("utf8");
        const payload = parts[1];
        if (!payload || !topics.includes(topic as VisionTopic)) continue;
        let msg: VisionMessage;
        try {
          msg = topic === TOPIC_DETECTIONS ? { topic, frame: decodeDetectionFrame(payload) } : { topic: TOPIC_STATUS, status: decodeStatus(payload) };
        } catch (err) {
          throw new Error(`undecodable ${topic} message from ${endpoint}: ${(err as Error).message}`, { cause: err });
        }
        yield msg;
      }
    } finally {
      if (!socket.closed) socket.close();
    }
  }

  const it = messages();
  return {
    socket,
    close() {
      if (!socket.closed) socket.close();
    },
    [Symbol.asyncIterator]() {
      return it;
    },
  };
}
