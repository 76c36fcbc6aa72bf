/**
 * Typed subscriber for TypeScript controllers:
 *
 *   const sub = subscribeVision("tcp://127.0.0.1:5555");
 *   for await (const msg of sub) {
 *     if (msg.topic === "detections") steer(msg.frame.detections);
 *     else if (msg.status.state === "DEGRADED") slowDown();
 *   }
 *
 * The loop never ends because of what arrives: a message that is not a valid `[topic, payload]`
 * pair of fovea's wire contract is skipped and counted in `sub.counters` (and reported through
 * `onSkip`). Breaking out of the loop (or `sub.close()`) closes the socket.
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
  { topic: typeof TOPIC_DETECTIONS; frame: DetectionFrameMessage } | { topic: typeof TOPIC_STATUS; status: StatusMessage };

/** Why a message was skipped. */
export type SkipReason =
  /** Not two frames, or a topic other than `detections` / `status` (ZeroMQ matches prefixes). */
  | "malformed"
  /** The payload is the other topic's message (a Status sent on `detections`, or the reverse). */
  | "mistyped"
  /** The payload is not a valid message of its topic's type. */
  | "undecodable";

export interface SkippedMessage {
  reason: SkipReason;
  /** The topic frame as text (may be anything a sender put there). */
  topic: string;
  /** Payload size in bytes (0 when there was no payload frame). */
  bytes: number;
  /** What was wrong, naming the field or frame at fault. */
  error: string;
}

/** What the subscriber received and what it did with it. */
export interface SubscriberCounters {
  /** Messages taken off the socket. */
  received: number;
  /** Messages handed to the loop. */
  delivered: number;
  malformed: number;
  mistyped: number;
  undecodable: number;
}

export interface SubscribeOptions {
  /** Topics to receive; default both. */
  topics?: readonly VisionTopic[];
  /**
   * Messages ZeroMQ buffers for this subscriber before dropping (ZMQ_RCVHWM). Default 16: a
   * controller wants the newest detections, not a backlog.
   */
  receiveHighWaterMark?: number;
  /** Called for every skipped message (log it, raise an alarm); must not throw. */
  onSkip?: (skipped: SkippedMessage) => void;
  /**
   * CURVE, for a fovea run with `--curve-secret`: the server's public key and this client's key
   * pair (its public key must be among the server's `--curve-clients`), 40-character Z85 each.
   * Without it, a CURVE server sends this subscriber nothing.
   */
  curve?: { serverPublicKey: string; publicKey: string; secretKey: string };
}

export interface VisionSubscription extends AsyncIterable<VisionMessage> {
  /** The underlying socket, connected (ZeroMQ reconnects on its own if fovea restarts). */
  readonly socket: Subscriber;
  /** Live counters: received = delivered + malformed + mistyped + undecodable. */
  readonly counters: Readonly<SubscriberCounters>;
  /** The last skipped message's error, empty if none. */
  readonly lastSkipError: string;
  /** Stop receiving; a pending iteration ends. */
  close(): void;
}

/**
 * Connect a SUB socket to a fovea publisher. The iteration ends only when the subscription is
 * closed (or the socket fails); bad input is skipped and counted, never thrown.
 */
export function subscribeVision(endpoint: string, options: SubscribeOptions = {}): VisionSubscription {
  if (typeof endpoint !== "string" || !/^(tcp|ipc|inproc):\/\/.+/.test(endpoint)) {
    throw new TypeError(`endpoint: expected a ZeroMQ endpoint like tcp://127.0.0.1:5555, got ${JSON.stringify(endpoint)}`);
  }
  const topics = options.topics ?? [TOPIC_DETECTIONS, TOPIC_STATUS];
  for (const t of topics) {
    if (t !== TOPIC_DETECTIONS && t !== TOPIC_STATUS)
      throw new TypeError(`options.topics: expected "detections" or "status", got ${JSON.stringify(t)}`);
  }
  if (options.onSkip !== undefined && typeof options.onSkip !== "function") throw new TypeError("options.onSkip: expected a function");
  const wantDetections = topics.includes(TOPIC_DETECTIONS);
  const wantStatus = topics.includes(TOPIC_STATUS);
  const curve = options.curve;
  if (curve !== undefined) {
    for (const k of ["serverPublicKey", "publicKey", "secretKey"] as const) {
      if (typeof curve[k] !== "string" || curve[k].length !== 40)
        throw new TypeError(`options.curve.${k}: expected a 40-character Z85 key`);
    }
  }
  const socket = new Subscriber({
    receiveHighWaterMark: options.receiveHighWaterMark ?? 16,
    linger: 0,
    ...(curve ? { curveServerKey: curve.serverPublicKey, curvePublicKey: curve.publicKey, curveSecretKey: curve.secretKey } : {}),
  });
  socket.connect(endpoint);
  // ZeroMQ subscriptions are prefix matches: "status" also lets "statusX" through, so the topic
  // is checked exactly below as well.
  socket.subscribe(...topics);

  const counters: SubscriberCounters = { received: 0, delivered: 0, malformed: 0, mistyped: 0, undecodable: 0 };
  let lastSkipError = "";

  function skip(reason: SkipReason, topic: string, bytes: number, error: string): void {
    counters[reason]++;
    lastSkipError = `${reason} message on topic ${JSON.stringify(topic)} from ${endpoint}: ${error}`;
    if (!options.onSkip) return;
    try {
      options.onSkip({ reason, topic, bytes, error });
    } catch {
      // A throwing callback must not end the loop it was meant to help watch.
    }
  }

  /** The message `parts` carry, or undefined after counting why it was skipped. */
  function accept(parts: Buffer[]): VisionMessage | undefined {
    const topic = parts[0]?.toString("utf8") ?? "";
    const payload = parts[1];
    if (parts.length !== 2 || payload === undefined) {
      skip("malformed", topic, payload?.length ?? 0, `expected 2 frames [topic, payload], got ${parts.length}`);
      return undefined;
    }
    const detections = topic === TOPIC_DETECTIONS && wantDetections;
    if (!detections && !(topic === TOPIC_STATUS && wantStatus)) {
      skip("malformed", topic, payload.length, `expected topic ${topics.map((t) => JSON.stringify(t)).join(" or ")}`);
      return undefined;
    }
    try {
      return detections
        ? { topic: TOPIC_DETECTIONS, frame: decodeDetectionFrame(payload) }
        : { topic: TOPIC_STATUS, status: decodeStatus(payload) };
    } catch (err) {
      let other = false;
      try {
        if (detections) decodeStatus(payload);
        else decodeDetectionFrame(payload);
        other = true;
      } catch {
        // Neither type: plain garbage.
      }
      skip(other ? "mistyped" : "undecodable", topic, payload.length, (err as Error).message);
      return undefined;
    }
  }

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
        counters.received++;
        const msg = accept(parts);
        if (msg === undefined) continue;
        counters.delivered++;
        yield msg;
      }
    } finally {
      if (!socket.closed) socket.close();
    }
  }

  const it = messages();
  return {
    socket,
    counters,
    get lastSkipError() {
      return lastSkipError;
    },
    close() {
      if (!socket.closed) socket.close();
    },
    [Symbol.asyncIterator]() {
      return it;
    },
  };
}
