/**
 * Fault: hostile or broken input on the controller's side of the wire (issue 12, defect 2).
 * Promise: a controller never dies of input. The codec rejects what is not a message of its
 * topic's type with a WireDecodeError and nothing else; the typed subscriber skips and counts
 * such messages and its loop goes on; 64-bit fields arrive exact.
 * Real ZeroMQ sockets and a real controller process; random input from a fixed seed.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { Publisher } from "zeromq";
import { Rng } from "../../src/core/prng.js";
import {
  decodeDetectionFrame,
  decodeStatus,
  encodeDetectionFrame,
  encodeStatus,
  WireDecodeError,
  type DetectionFrameMessage,
  type StatusMessage,
} from "../../src/publish/codec.js";
import { subscribeVision, type VisionMessage } from "../../src/publish/subscriber.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SEED = 12;
const U64_MAX = 2n ** 64n - 1n;

function randomU64(rng: Rng): bigint {
  if (rng.chance(0.1)) return U64_MAX;
  return (BigInt(rng.nextUint32()) << 32n) | BigInt(rng.nextUint32());
}

function randomFrame(rng: Rng, cameraId: string, seq: bigint): DetectionFrameMessage {
  const detections = Array.from({ length: rng.int(0, 5) }, () => ({
    label: rng.pick(["ball", "goal_post", "robot", "L_crossing", "penalty_spot"]),
    // Float32 on the wire: values that are exact in float32 round-trip exactly.
    confidence: Math.fround(rng.next()),
    box: { xMin: Math.fround(rng.next()), yMin: Math.fround(rng.next()), xMax: Math.fround(rng.next()), yMax: Math.fround(rng.next()) },
    ...(rng.chance(0.5) ? { ground: { x: Math.fround(rng.range(-10, 10)), y: Math.fround(rng.range(-10, 10)) } } : {}),
  }));
  return {
    seq,
    cameraId,
    captureTimeNs: randomU64(rng) || 1n,
    publishTimeNs: randomU64(rng) || 1n,
    imageWidth: rng.int(1, 4096),
    imageHeight: rng.int(1, 4096),
    modelId: "fuzz-model",
    detections,
    timings: {
      captureUs: rng.int(0, 1e6),
      preprocessUs: rng.int(0, 1e6),
      inferenceUs: rng.int(0, 1e6),
      detectUs: rng.int(0, 1e6),
      totalUs: rng.int(0, 2 ** 32 - 1),
    },
  };
}

function randomStatus(rng: Rng, cameraId: string): StatusMessage {
  return {
    state: rng.pick(["STARTING", "RUNNING", "DEGRADED", "STOPPING", "STOPPED"] as const),
    // Never 0: a Status with fps 0 carries no double field, and the test wants that field's wire
    // type to give a Status on the wrong topic away.
    fps: rng.range(0.5, 1000),
    framesIn: randomU64(rng),
    framesProcessed: randomU64(rng),
    framesDropped: randomU64(rng),
    framesFailed: randomU64(rng),
    engine: "onnxruntime",
    device: "cpu",
    modelId: "fuzz-model",
    lastError: rng.chance(0.5) ? "" : "camera head: no frame for 250 ms",
    timeNs: randomU64(rng),
    cameraId,
    source: "camera:/dev/video0",
    reconnects: randomU64(rng),
    recordingDropped: randomU64(rng),
    outOfEnvelope: randomU64(rng),
  };
}

function randomBytes(rng: Rng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = rng.nextUint32() & 0xff;
  return b;
}

/** A valid message, damaged the ways a wire, a buggy sender or an attacker damage bytes. */
function mutate(rng: Rng, valid: Uint8Array): Uint8Array {
  const b = Uint8Array.from(valid);
  switch (rng.int(0, 6)) {
    case 0: // flipped bits
      for (let k = rng.int(1, 4); k > 0; k--) b[rng.int(0, b.length - 1)] ^= 1 << rng.int(0, 7);
      return b;
    case 1: // overwritten bytes
      for (let k = rng.int(1, 4); k > 0; k--) b[rng.int(0, b.length - 1)] = rng.nextUint32() & 0xff;
      return b;
    case 2: // truncated
      return b.subarray(0, rng.int(0, b.length - 1));
    case 3: // trailing garbage
      return Uint8Array.from([...b, ...randomBytes(rng, rng.int(1, 32))]);
    case 4: {
      // a chunk cut out of the middle
      const at = rng.int(0, b.length - 1);
      return Uint8Array.from([...b.subarray(0, at), ...b.subarray(Math.min(b.length, at + rng.int(1, 16)))]);
    }
    case 5: {
      // random bytes inserted
      const at = rng.int(0, b.length);
      return Uint8Array.from([...b.subarray(0, at), ...randomBytes(rng, rng.int(1, 16)), ...b.subarray(at)]);
    }
    default: // a length or varint byte made huge
      b[rng.int(0, b.length - 1)] = 0xff;
      return b;
  }
}

/** Garbage payloads: random bytes of every small length, then mutations of real messages. */
function garbage(rng: Rng, count: number): Uint8Array[] {
  const out: Uint8Array[] = [
    new Uint8Array(0),
    Uint8Array.of(1, 2, 3),
    Uint8Array.of(0),
    Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
  ];
  while (out.length < count) {
    if (rng.chance(0.4)) out.push(randomBytes(rng, rng.int(0, rng.chance(0.9) ? 64 : 4096)));
    else {
      const valid = rng.chance(0.5)
        ? encodeDetectionFrame(randomFrame(rng, "mutant", randomU64(rng)))
        : encodeStatus(randomStatus(rng, "mutant"));
      out.push(mutate(rng, valid));
    }
  }
  return out;
}

/** What a consumer of a DetectionFrame relies on. */
function expectUsableFrame(f: DetectionFrameMessage): void {
  expect(typeof f.seq).toBe("bigint");
  expect(f.seq >= 0n && f.seq <= U64_MAX).toBe(true);
  expect(f.imageWidth).toBeGreaterThan(0);
  expect(f.imageHeight).toBeGreaterThan(0);
  expect(f.publishTimeNs > 0n).toBe(true);
  for (const d of f.detections) {
    expect(d.label).not.toBe("");
    expect(d.confidence >= 0 && d.confidence <= 1).toBe(true);
    for (const v of [d.box.xMin, d.box.yMin, d.box.xMax, d.box.yMax, d.ground?.x ?? 0, d.ground?.y ?? 0])
      expect(Number.isFinite(v)).toBe(true);
  }
}

describe("wire codec under fuzzed input (seed 12)", () => {
  it("round-trips random valid messages exactly, 64-bit fields up to 2^64-1 included", () => {
    const rng = new Rng(SEED);
    for (let i = 0; i < 2000; i++) {
      const f = randomFrame(rng, "truth", randomU64(rng));
      expect(decodeDetectionFrame(encodeDetectionFrame(f))).toEqual(f);
      const s = randomStatus(rng, "truth");
      expect(decodeStatus(encodeStatus(s))).toEqual(s);
    }
    const max = randomFrame(rng, "truth", U64_MAX);
    expect(decodeDetectionFrame(encodeDetectionFrame(max)).seq).toBe(18446744073709551615n);
  });

  it("rejects empty payloads and each message type on the other's topic", () => {
    const rng = new Rng(SEED + 1);
    expect(() => decodeDetectionFrame(new Uint8Array(0))).toThrow(WireDecodeError);
    expect(() => decodeStatus(new Uint8Array(0))).toThrow(WireDecodeError);
    for (let i = 0; i < 500; i++) {
      expect(() => decodeDetectionFrame(encodeStatus(randomStatus(rng, "x")))).toThrow(WireDecodeError);
      expect(() => decodeStatus(encodeDetectionFrame(randomFrame(rng, "x", BigInt(rng.int(6, 2 ** 31)))))).toThrow(WireDecodeError);
    }
  });

  it("answers 10000 random and mutated payloads with a usable message or a WireDecodeError, nothing else", () => {
    const rng = new Rng(SEED + 2);
    let accepted = 0;
    for (const payload of garbage(rng, 10_000)) {
      for (const decode of [decodeDetectionFrame, decodeStatus] as const) {
        let msg: DetectionFrameMessage | StatusMessage;
        try {
          msg = decode(payload);
        } catch (err) {
          expect(err).toBeInstanceOf(WireDecodeError);
          continue;
        }
        accepted++;
        if (decode === decodeDetectionFrame) {
          const f = msg as DetectionFrameMessage;
          expectUsableFrame(f);
          // What was accepted re-encodes to a message that decodes to the same thing.
          expect(decodeDetectionFrame(encodeDetectionFrame(f))).toEqual(f);
        } else {
          const s = msg as StatusMessage;
          expect(["STARTING", "RUNNING", "DEGRADED", "STOPPING", "STOPPED"]).toContain(s.state);
          expect(decodeStatus(encodeStatus(s))).toEqual(s);
        }
      }
    }
    // Mutations that only touch values (a flipped bit in a float) stay valid messages.
    expect(accepted).toBeGreaterThan(0);
  });
});

describe("typed subscriber under fuzzed input, over real ZeroMQ (seed 12)", () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function rawPublisher(): Promise<{ pub: Publisher; endpoint: string }> {
    // No high-water mark: every message sent reaches the subscriber, so the counts are exact.
    const pub = new Publisher({ sendHighWaterMark: 0, linger: 0 });
    await pub.bind("tcp://127.0.0.1:*");
    cleanups.push(() => pub.close());
    return { pub, endpoint: pub.lastEndpoint as string };
  }

  const marker = (cameraId: string): StatusMessage => ({ ...randomStatus(new Rng(0), cameraId), state: "RUNNING" });

  /** Send markers until the subscriber sees one (ZeroMQ drops what is sent before it joined). */
  async function joined(pub: Publisher, it: AsyncIterator<VisionMessage>): Promise<void> {
    let stop = false;
    const probing = (async () => {
      while (!stop) {
        await pub.send(["status", encodeStatus(marker("probe"))]);
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    await it.next();
    stop = true;
    await probing;
    await pub.send(["status", encodeStatus(marker("start"))]);
    for (;;) {
      const r = await it.next();
      if (r.done) throw new Error("subscription ended before the start marker");
      if (r.value.topic === "status" && r.value.status.cameraId === "start") return;
    }
  }

  it("skips and counts thousands of bad messages between valid ones; the loop never ends and every valid frame arrives exact", async () => {
    const rng = new Rng(SEED + 3);
    const { pub, endpoint } = await rawPublisher();
    const skipped: string[] = [];
    const sub = subscribeVision(endpoint, { receiveHighWaterMark: 0, onSkip: (s) => skipped.push(s.reason) });
    cleanups.push(() => sub.close());
    const it = sub[Symbol.asyncIterator]();
    await joined(pub, it);
    const base = { ...sub.counters };

    const truth: DetectionFrameMessage[] = [];
    const bad = garbage(rng, 4000);
    let sent = 0;
    let malformed = 0;
    let mistypedAtLeast = 0;
    for (let i = 0; i < bad.length; i++) {
      if (i % 10 === 0) {
        const f = randomFrame(rng, "truth", i % 100 === 0 ? U64_MAX - BigInt(i) : BigInt(i));
        truth.push(f);
        await pub.send(["detections", encodeDetectionFrame(f)]);
        sent++;
      }
      if (i % 50 === 0) {
        // The other type on each topic, and frames that are not [topic, payload].
        await pub.send(["detections", encodeStatus(randomStatus(rng, "mutant"))]);
        await pub.send(["status", encodeDetectionFrame(randomFrame(rng, "mutant", BigInt(rng.int(6, 2 ** 31))))]);
        mistypedAtLeast += 2;
        await pub.send("detections");
        await pub.send(["detections", encodeDetectionFrame(randomFrame(rng, "mutant", 1n)), new Uint8Array(3)]);
        await pub.send(["detectionsX", encodeDetectionFrame(randomFrame(rng, "mutant", 1n))]);
        await pub.send(["status\0", encodeStatus(randomStatus(rng, "mutant"))]);
        malformed += 4;
        sent += 6;
      }
      await pub.send([i % 2 === 0 ? "detections" : "status", bad[i]]);
      sent++;
    }
    await pub.send(["status", encodeStatus(marker("end"))]);
    sent++;

    const got: DetectionFrameMessage[] = [];
    for (;;) {
      const r = await it.next();
      expect(r.done).toBe(false);
      const m = r.value as VisionMessage;
      if (m.topic === "status" && m.status.cameraId === "end") break;
      if (m.topic === "detections") {
        if (m.frame.cameraId === "truth") got.push(m.frame);
        else expectUsableFrame(m.frame);
      }
    }
    expect(got).toEqual(truth);

    const c = sub.counters;
    const d = (k: keyof typeof c) => c[k] - base[k];
    expect(d("received")).toBe(sent);
    expect(d("received")).toBe(d("delivered") + d("malformed") + d("mistyped") + d("undecodable"));
    expect(d("malformed")).toBe(malformed);
    expect(d("mistyped")).toBeGreaterThanOrEqual(mistypedAtLeast);
    expect(d("undecodable")).toBeGreaterThan(bad.length / 2);
    expect(skipped).toHaveLength(d("malformed") + d("mistyped") + d("undecodable"));
    expect(sub.lastSkipError).toMatch(/topic/);
    expect(sub.socket.closed).toBe(false);
  });

  it("a controller process written like the README example survives a 3-byte message and an empty payload", async () => {
    const { pub, endpoint } = await rawPublisher();
    const child = spawn(
      process.execPath,
      ["--import", path.join(HERE, "..", "record-ts-loader.mjs"), path.join(HERE, "support", "readme-controller.ts"), endpoint],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    cleanups.push(() => {
      if (child.exitCode === null) child.kill("SIGKILL");
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (b: Buffer) => (out += b.toString()));
    child.stderr.on("data", (b: Buffer) => (err += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    let done = false;
    void exited.then(() => (done = true));

    // Until the controller prints the probe it may not have subscribed yet.
    const probe = randomFrame(new Rng(1), "probe", 7n);
    probe.detections = [{ label: "robot", confidence: 0.25, box: { xMin: 0, yMin: 0, xMax: 0.5, yMax: 0.5 } }];
    while (!out.includes("frame 7 robot") && !done) {
      await pub.send(["detections", encodeDetectionFrame(probe)]);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(err).toBe("");
    await pub.send(["detections", Uint8Array.of(1, 2, 3)]);
    await pub.send(["detections", new Uint8Array(0)]);
    await pub.send(["status", Uint8Array.of(0x08)]);
    const last = randomFrame(new Rng(2), "truth", U64_MAX);
    last.detections = [{ label: "ball", confidence: 0.5, box: { xMin: 0, yMin: 0, xMax: 0.5, yMax: 0.5 } }];
    await pub.send(["detections", encodeDetectionFrame(last)]);
    while (!out.includes("frame 18446744073709551615 ball") && !done) await new Promise((r) => setTimeout(r, 20));

    expect(done).toBe(false);
    expect(out).toContain("frame 18446744073709551615 ball 0.5");
    expect(err.match(/^skipped undecodable (detections|status) message: /gm)).toHaveLength(3);
    child.kill("SIGTERM");
    await exited;
  });
});
