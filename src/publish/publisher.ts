/**
 * The ZeroMQ PUB side of the wire contract: two-frame messages `[topic, payload]` on topics
 * `detections` and `status`.
 *
 * Sending never blocks the frame loop. zeromq.js v6 `send()` is async and rejects with EBUSY
 * while another send is in flight, so the loop never awaits it: `publish()` hands the message to
 * the socket and returns at once. A PUB socket drops on its own at the high-water mark for a slow
 * subscriber; `sendTimeout = 0` makes any other "cannot send now" an immediate, counted drop.
 * If a send is still in flight when the next message comes, the newer message waits in a
 * one-message slot per topic (latest wins, the one it replaces is dropped and counted) — never a
 * queue, so a slow network costs messages, not latency.
 */
import { Publisher } from "zeromq";
import { TOPIC_DETECTIONS, TOPIC_STATUS } from "./codec.js";
import { registerZapDomain, z85Decode, type ZapCounters } from "./curve-auth.js";

export type VisionTopic = typeof TOPIC_DETECTIONS | typeof TOPIC_STATUS;

export interface DetectionPublisherOptions {
  /**
   * ZeroMQ endpoint to bind, e.g. `tcp://127.0.0.1:5555`, `ipc:///tmp/fovea.sock`;
   * `tcp://127.0.0.1:*` binds a free port (read it back from `endpoint`).
   */
  endpoint: string;
  /**
   * Messages ZeroMQ holds per subscriber before it drops (ZMQ_SNDHWM). Small on purpose: a
   * detection that waits is stale. Default 8.
   */
  sendHighWaterMark?: number;
  /** How long `close()` lets unsent messages go out, milliseconds (ZMQ_LINGER). Default 200. */
  lingerMs?: number;
  /**
   * A connection that has not completed the ZeroMQ handshake within this many milliseconds is
   * closed (ZMQ_HANDSHAKE_IVL). libzmq's default, 30 s, let a flood of raw TCP connections hold
   * memory for that long. Default 2000: a controller on the robot's network handshakes far faster.
   */
  handshakeIntervalMs?: number;
  /**
   * CURVE: encrypt the stream and let only the listed clients subscribe (checked per handshake
   * through ZAP; anyone else's connection carries nothing). Keys are 40-character Z85 strings.
   */
  curve?: { secretKey: string; allowedClientKeys: readonly string[] };
}

/** What the publisher has done so far. */
export interface PublisherCounters {
  /** Messages handed to ZeroMQ (ZeroMQ may still drop them for a subscriber at its HWM). */
  sent: number;
  /** Messages dropped here: replaced in the slot by a newer one, refused by the socket, or sent after close. */
  dropped: number;
  /** Last send error, empty if none. */
  lastError: string;
}

export class DetectionPublisher {
  /** The bound endpoint (with the actual port when bound to `*`). */
  readonly endpoint: string;
  readonly counters: PublisherCounters = { sent: 0, dropped: 0, lastError: "" };
  private inFlight: Promise<void> | null = null;
  private readonly pending = new Map<VisionTopic, Uint8Array>();
  private closed = false;

  private constructor(
    private readonly socket: Publisher,
    endpoint: string,
    /** CURVE handshakes accepted and refused; undefined without CURVE. */
    readonly auth: ZapCounters | undefined,
    private readonly releaseAuth: () => void,
  ) {
    this.endpoint = endpoint;
  }

  /** Bind a PUB socket on `endpoint`. Rejects with an Error naming the endpoint if it cannot bind. */
  static async create(options: DetectionPublisherOptions): Promise<DetectionPublisher> {
    const { endpoint, sendHighWaterMark = 8, lingerMs = 200, handshakeIntervalMs = 2000 } = options ?? ({} as DetectionPublisherOptions);
    if (typeof endpoint !== "string" || !/^(tcp|ipc|inproc):\/\/.+/.test(endpoint)) {
      throw new TypeError(`options.endpoint: expected a ZeroMQ endpoint like tcp://127.0.0.1:5555, got ${JSON.stringify(endpoint)}`);
    }
    if (!Number.isInteger(sendHighWaterMark) || sendHighWaterMark < 1) {
      throw new RangeError(`options.sendHighWaterMark: expected a positive integer, got ${sendHighWaterMark}`);
    }
    if (!Number.isInteger(lingerMs) || lingerMs < 0) throw new RangeError(`options.lingerMs: expected an integer >= 0, got ${lingerMs}`);
    if (!Number.isInteger(handshakeIntervalMs) || handshakeIntervalMs < 1) {
      throw new RangeError(`options.handshakeIntervalMs: expected a positive integer, got ${handshakeIntervalMs}`);
    }
    const curve = options.curve;
    if (curve !== undefined) {
      z85Decode(curve.secretKey);
      if (!Array.isArray(curve.allowedClientKeys) || curve.allowedClientKeys.length === 0) {
        throw new RangeError("options.curve.allowedClientKeys: expected at least one client public key");
      }
      curve.allowedClientKeys.forEach((k) => z85Decode(k));
    }
    const zap = curve ? await registerZapDomain(curve.allowedClientKeys) : undefined;
    const socket = new Publisher({
      sendHighWaterMark,
      sendTimeout: 0,
      linger: lingerMs,
      handshakeInterval: handshakeIntervalMs,
      ...(curve && zap ? { curveServer: true, curveSecretKey: curve.secretKey, zapDomain: zap.domain } : {}),
    });
    try {
      await socket.bind(endpoint);
    } catch (err) {
      socket.close();
      zap?.release();
      throw new Error(`cannot bind ZeroMQ PUB socket on ${endpoint}: ${(err as Error).message}`, { cause: err });
    }
    return new DetectionPublisher(socket, socket.lastEndpoint ?? endpoint, zap?.counters, zap?.release ?? (() => {}));
  }

  /** Publish a DetectionFrame's bytes. Returns at once; false if the message could not go out now. */
  publishDetections(payload: Uint8Array): boolean {
    return this.publish(TOPIC_DETECTIONS, payload);
  }

  /** Publish a Status's bytes. Returns at once. */
  publishStatus(payload: Uint8Array): boolean {
    return this.publish(TOPIC_STATUS, payload);
  }

  /**
   * Hand `[topic, payload]` to the socket without waiting. Returns true if it went to ZeroMQ now,
   * false if it waits in the topic's slot (behind an in-flight send) or was dropped.
   */
  publish(topic: VisionTopic, payload: Uint8Array): boolean {
    if (this.closed) {
      this.counters.dropped++;
      return false;
    }
    if (this.inFlight) {
      if (this.pending.has(topic)) this.counters.dropped++;
      this.pending.set(topic, payload);
      return false;
    }
    this.start(topic, payload);
    return true;
  }

  private start(topic: VisionTopic, payload: Uint8Array): void {
    this.counters.sent++;
    const p: Promise<void> = this.socket.send([topic, payload]).then(
      (): void => this.finish(p),
      (err: Error): void => {
        this.counters.sent--;
        this.counters.dropped++;
        this.counters.lastError = `send on ${this.endpoint}: ${err.message}`;
        this.finish(p);
      },
    );
    this.inFlight = p;
  }

  private finish(p: Promise<void>): void {
    if (this.inFlight !== p) return;
    this.inFlight = null;
    if (this.socket.closed) return;
    // One waiting message goes out now (the topic that started waiting first); `start` re-arms
    // `inFlight`, so any other waits for this send to finish.
    const first = this.pending.entries().next();
    if (first.done) return;
    const [topic, payload] = first.value;
    this.pending.delete(topic);
    this.start(topic, payload);
  }

  /**
   * Send what waits in the slots, then close the socket, letting ZeroMQ deliver for up to
   * `lingerMs`. Idempotent.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    while (this.inFlight) await this.inFlight;
    this.closed = true;
    this.socket.close();
    this.releaseAuth();
  }
}
