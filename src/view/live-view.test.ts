/**
 * LiveView as the pipeline sees it: a stream of processed frames at camera rate goes in, viewer
 * frames at the view rate come out (JPEG, annotations and DetectionFrame stamped alike), nothing
 * is encoded while nobody watches, and the observer calls return at once.
 */
import sharp from "sharp";
import { afterEach, describe, expect, test } from "vitest";
import { WebSocket, type RawData } from "ws";
import type { Detection } from "../core/detection.js";
import type { Frame } from "../core/frame.js";
import type { ProcessedFrame } from "../core/pipeline-types.js";
import { channelSchema } from "../record/recording-format.js";
import { LiveView } from "./live-view.js";
import { SUBPROTOCOL } from "./view-server.js";

const views: LiveView[] = [];
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  for (const v of views.splice(0)) await v.close();
});

const W = 160;
const H = 120;
const detection: Detection = { label: "ball", classIndex: 0, confidence: 0.9, box: { xMin: 0.25, yMin: 0.25, xMax: 0.5, yMax: 0.5 } };

function processed(seq: number): ProcessedFrame {
  const data = Buffer.alloc(W * H * 3, seq & 0xff);
  const frame: Frame = { seq, captureTimeNs: 1_000_000_000n * BigInt(1000 + seq), width: W, height: H, encoding: "rgb24", data };
  return {
    frame,
    detections: [detection],
    timings: { captureUs: 0, preprocessUs: 0, inferenceUs: 0, detectUs: 0, publishUs: 0, totalUs: 0 },
    publishTimeNs: BigInt(Date.now()) * 1_000_000n,
    message: new Uint8Array([8, seq]),
  };
}

async function startView(fps: number): Promise<LiveView> {
  const view = await LiveView.start({
    address: { host: "127.0.0.1", port: 0 },
    fps,
    modelId: "test-model",
    classes: ["ball", "robot"],
    cameraId: "cam0",
  });
  views.push(view);
  return view;
}

/** A viewer subscribed to every channel; collects message data by topic. */
async function watch(view: LiveView): Promise<Map<string, Array<{ time: bigint; data: Buffer }>>> {
  const ws = new WebSocket(`ws://127.0.0.1:${view.server.port}/`, [SUBPROTOCOL]);
  sockets.push(ws);
  const byTopic = new Map<string, Array<{ time: bigint; data: Buffer }>>();
  const topics = new Map<number, string>();
  await new Promise<void>((resolve, reject) => {
    ws.on("error", reject);
    ws.on("message", (raw: RawData, isBinary) => {
      const buf = raw as Buffer;
      if (!isBinary) {
        const m = JSON.parse(buf.toString()) as { op: string; channels?: Array<{ id: number; topic: string }> };
        if (m.op === "advertise") {
          ws.send(
            JSON.stringify({
              op: "subscribe",
              subscriptions: m.channels!.map((c, i) => (topics.set(i, c.topic), { id: i, channelId: c.id })),
            }),
          );
          resolve();
        }
        return;
      }
      const topic = topics.get(buf.readUInt32LE(1))!;
      if (!byTopic.has(topic)) byTopic.set(topic, []);
      byTopic.get(topic)!.push({ time: buf.readBigUInt64LE(5), data: buf.subarray(13) });
    });
  });
  const t0 = Date.now();
  while (!view.server.subscribed("image") && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 5));
  return byTopic;
}

describe("LiveView", () => {
  test("samples camera-rate frames down to the view rate; each viewer frame is a JPEG with its own boxes and DetectionFrame", async () => {
    const view = await startView(10);
    const got = await watch(view);
    // 1.5 s of a 100 fps camera.
    const t0 = performance.now();
    let seq = 0;
    let slowestCallMs = 0;
    while (performance.now() - t0 < 1500) {
      const p = processed(seq++);
      const c0 = performance.now();
      view.onProcessed(p);
      slowestCallMs = Math.max(slowestCallMs, performance.now() - c0);
      await new Promise((r) => setTimeout(r, 10));
    }
    await view.close();
    const images = got.get("/camera/image") ?? [];
    expect(seq).toBeGreaterThan(60);
    // 10 fps for 1.5 s: 15 frames, give or take the schedule's edges.
    expect(images.length).toBeGreaterThanOrEqual(11);
    expect(images.length).toBeLessThanOrEqual(17);
    expect(slowestCallMs).toBeLessThan(5);

    const CompressedImage = channelSchema("foxglove.CompressedImage").type;
    const ImageAnnotations = channelSchema("foxglove.ImageAnnotations").type;
    const annotations = got.get("/camera/annotations") ?? [];
    const detections = got.get("/fovea/detections") ?? [];
    expect(annotations.length).toBe(images.length);
    expect(detections.length).toBe(images.length);
    for (let i = 0; i < images.length; i++) {
      const img = CompressedImage.toObject(CompressedImage.decode(images[i].data), { longs: String }) as {
        format: string;
        data: Uint8Array;
        frame_id: string;
        timestamp: { seconds: string };
      };
      expect([img.format, img.frame_id]).toEqual(["jpeg", "cam0"]);
      const meta = await sharp(img.data).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(["jpeg", W, H]);
      const ann = ImageAnnotations.toObject(ImageAnnotations.decode(annotations[i].data), { longs: String }) as {
        timestamp: { seconds: string };
        points: Array<{ points: Array<{ x: number; y: number }> }>;
      };
      // Same frame: same capture stamp inside, same receive time outside.
      expect(ann.timestamp.seconds).toBe(img.timestamp.seconds);
      expect(annotations[i].time).toBe(images[i].time);
      expect(ann.points[0].points[0]).toEqual({ x: W * 0.25, y: H * 0.25 });
      const seqOfFrame = Number(img.timestamp.seconds) - 1000;
      expect([...detections[i].data]).toEqual([8, seqOfFrame]);
    }
  });

  test("encodes nothing while nobody watches", async () => {
    const view = await startView(100);
    for (let i = 0; i < 20; i++) {
      view.onProcessed(processed(i));
      await new Promise((r) => setTimeout(r, 12));
    }
    expect(view.framesSent).toBe(0);
  });
});
