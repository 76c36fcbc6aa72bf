import { afterEach, describe, expect, it } from "vitest";
import { Subscriber } from "zeromq";
import { decodeStatus, encodeDetectionFrame, encodeStatus, type DetectionFrameMessage, type StatusMessage } from "./codec.js";
import { DetectionPublisher } from "./publisher.js";
import { StatusHeartbeat, type StatusSnapshot } from "./status-heartbeat.js";
import { subscribeVision, type VisionMessage } from "./subscriber.js";

const frame = (seq: number): DetectionFrameMessage => ({
  seq: BigInt(seq),
  cameraId: "head",
  captureTimeNs: 1_795_000_000_000_000_000n + BigInt(seq),
  publishTimeNs: 1_795_000_000_001_000_000n + BigInt(seq),
  imageWidth: 640,
  imageHeight: 480,
  modelId: "test-model",
  detections: [{ label: "ball", confidence: 0.5, box: { xMin: 0.25, yMin: 0.25, xMax: 0.5, yMax: 0.5 } }],
  timings: { captureUs: 1, preprocessUs: 2, inferenceUs: 3, detectUs: 4, totalUs: 10 },
});

const status = (state: StatusMessage["state"]): StatusMessage => ({
  state,
  fps: 0,
  framesIn: 1n,
  framesProcessed: 1n,
  framesDropped: 0n,
  framesFailed: 0n,
  engine: "onnxruntime",
  device: "cpu",
  modelId: "test-model",
  lastError: "",
  timeNs: 1n,
  cameraId: "head",
  source: "synthetic",
  reconnects: 0n,
  recordingDropped: 0n,
  outOfEnvelope: 0n,
});

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function publisher(): Promise<DetectionPublisher> {
  const p = await DetectionPublisher.create({ endpoint: "tcp://127.0.0.1:*" });
  cleanups.push(() => p.close());
  return p;
}

/** Publish `make(i)` until the subscriber sees a first message (ZeroMQ's slow joiner), then return it. */
async function firstMessage(it: AsyncIterator<VisionMessage>, tick: () => void): Promise<VisionMessage> {
  const timer = setInterval(tick, 10);
  try {
    return (await it.next()).value as VisionMessage;
  } finally {
    clearInterval(timer);
  }
}

describe("DetectionPublisher + subscribeVision", () => {
  it("delivers two-frame [topic, payload] messages that decode to the published frames and status", async () => {
    const pub = await publisher();
    expect(pub.endpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    const sub = subscribeVision(pub.endpoint);
    cleanups.push(() => sub.close());
    const it = sub[Symbol.asyncIterator]();
    const first = await firstMessage(it, () => pub.publishStatus(encodeStatus(status("STARTING"))));
    expect(first.topic).toBe("status");

    // Drain status messages the warm-up left in flight, then check an exact sequence.
    await new Promise((r) => setTimeout(r, 50));
    pub.publishStatus(encodeStatus(status("RUNNING")));
    await new Promise((r) => setImmediate(r));
    for (let i = 1; i <= 3; i++) {
      pub.publishDetections(encodeDetectionFrame(frame(i)));
      await new Promise((r) => setImmediate(r));
    }
    const got: VisionMessage[] = [];
    while (got.length < 4) {
      const m = (await it.next()).value as VisionMessage;
      if (m.topic === "status" && m.status.state === "STARTING") continue;
      got.push(m);
    }
    expect(got[0]).toMatchObject({ topic: "status", status: { state: "RUNNING", modelId: "test-model" } });
    expect(got.slice(1).map((m) => (m.topic === "detections" ? m.frame.seq : -1n))).toEqual([1n, 2n, 3n]);
    const m = got[1];
    if (m.topic !== "detections") throw new Error("expected detections");
    expect(m.frame).toEqual(frame(1));
  });

  it("receives only the topics asked for", async () => {
    const pub = await publisher();
    const sub = subscribeVision(pub.endpoint, { topics: ["detections"] });
    cleanups.push(() => sub.close());
    const it = sub[Symbol.asyncIterator]();
    let n = 0;
    const first = await firstMessage(it, () => {
      pub.publishStatus(encodeStatus(status("RUNNING")));
      pub.publishDetections(encodeDetectionFrame(frame(++n)));
    });
    expect(first.topic).toBe("detections");
    pub.publishStatus(encodeStatus(status("RUNNING")));
    await new Promise((r) => setImmediate(r));
    pub.publishDetections(encodeDetectionFrame(frame(1000)));
    let last: VisionMessage;
    do last = (await it.next()).value as VisionMessage;
    while (last.topic === "detections" && last.frame.seq !== 1000n);
    expect(last.topic).toBe("detections");
  });

  it("never queues behind an in-flight send: the newest message per topic waits in one slot, older ones are dropped and counted", async () => {
    const pub = await publisher();
    expect(pub.publishDetections(encodeDetectionFrame(frame(1)))).toBe(true);
    // The first send's promise has not settled yet (it settles on a later tick):
    expect(pub.publishDetections(encodeDetectionFrame(frame(2)))).toBe(false);
    expect(pub.publishDetections(encodeDetectionFrame(frame(3)))).toBe(false);
    expect(pub.publishStatus(encodeStatus(status("RUNNING")))).toBe(false);
    expect(pub.counters.dropped).toBe(1); // frame 2 replaced by frame 3
    await pub.close();
    expect(pub.counters.sent).toBe(3); // frame 1, frame 3, status
    expect(pub.publishDetections(encodeDetectionFrame(frame(4)))).toBe(false);
    expect(pub.counters.dropped).toBe(2);
  });

  it("keeps publishing with no subscriber and with a subscriber that never reads, dropping instead of buffering", async () => {
    const pub = await publisher();
    const stuck = new Subscriber({ receiveHighWaterMark: 1 });
    cleanups.push(() => stuck.close());
    stuck.connect(pub.endpoint);
    stuck.subscribe();
    await new Promise((r) => setTimeout(r, 100));
    const big = encodeDetectionFrame({ ...frame(0), cameraId: "x".repeat(64 * 1024) });
    const N = 3000; // 3000 x 64 KiB = 190 MiB: far more than socket buffers hold
    for (let i = 0; i < N; i++) {
      pub.publishDetections(big);
      if (i % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    await pub.close();
    expect(pub.counters.sent + pub.counters.dropped).toBe(N);
    expect(pub.counters.lastError).toBe("");
    // What the stuck subscriber can still read is bounded by HWMs and kernel buffers, not N.
    let received = 0;
    stuck.receiveTimeout = 200;
    try {
      for (;;) {
        await stuck.receive();
        received++;
      }
    } catch {
      // timeout: nothing more buffered
    }
    expect(received).toBeLessThan(N / 2);
  });

  it("rejects a bad endpoint naming it, and an endpoint in use", async () => {
    await expect(DetectionPublisher.create({ endpoint: "localhost:5555" })).rejects.toThrow(/options\.endpoint.*localhost:5555/);
    const pub = await publisher();
    await expect(DetectionPublisher.create({ endpoint: pub.endpoint })).rejects.toThrow(pub.endpoint);
    expect(() => subscribeVision("nope")).toThrow(/endpoint/);
  });
});

describe("StatusHeartbeat", () => {
  const snap = (processed: number, state: StatusSnapshot["state"] = "RUNNING"): StatusSnapshot => ({
    state,
    counters: { framesIn: processed + 2, framesProcessed: processed, framesDropped: 2, framesFailed: 1, reconnects: 0, outOfEnvelope: 0 },
    engine: "onnxruntime",
    device: "cpu",
    modelId: "m",
    cameraId: "head",
    source: "synthetic",
    lastError: "",
    recordingDropped: 0,
  });

  it("computes fps from processed frames between beats and encodes the snapshot", () => {
    let processed = 0;
    let t = 1_000_000_000n;
    const sent: Uint8Array[] = [];
    const hb = new StatusHeartbeat({ snapshot: () => snap(processed), send: (m) => sent.push(m), now: () => t });
    expect(hb.beat().status.fps).toBe(0);
    processed = 30;
    t += 500_000_000n;
    const b = hb.beat();
    expect(b.status.fps).toBeCloseTo(60, 9);
    expect(decodeStatus(sent[1])).toEqual(b.status);
    expect(b.status).toMatchObject({ framesIn: 32n, framesProcessed: 30n, framesDropped: 2n, framesFailed: 1n, state: "RUNNING" });
  });

  it("beats on its timer and over the wire while nothing else happens", async () => {
    const pub = await publisher();
    const sub = subscribeVision(pub.endpoint, { topics: ["status"] });
    cleanups.push(() => sub.close());
    const hb = new StatusHeartbeat({ snapshot: () => snap(0, "DEGRADED"), send: (m) => pub.publishStatus(m), intervalMs: 20 });
    cleanups.push(() => hb.stop());
    hb.start();
    const seen: bigint[] = [];
    for await (const m of sub) {
      if (m.topic !== "status") continue;
      expect(m.status.state).toBe("DEGRADED");
      seen.push(m.status.timeNs);
      if (seen.length === 3) break;
    }
    expect(seen[1]).toBeGreaterThan(seen[0]);
    expect(sub.socket.closed).toBe(true);
  });

  it("refuses a rate below 1 Hz", () => {
    expect(() => new StatusHeartbeat({ snapshot: () => snap(0), send: () => {}, intervalMs: 5000 })).toThrow(/intervalMs/);
  });
});
