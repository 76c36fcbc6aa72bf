/**
 * `fovea run --view` end to end: the real `fovea` command on the synthetic match, a real
 * WebSocket client speaking `foxglove.websocket.v1` (no Foxglove library on this side), messages
 * decoded with protobuf types rebuilt from the schemas the server advertised, as Foxglove does.
 * Also: a viewer sending garbage is dropped while the run and the other viewer go on; a recorded
 * match replays through the same view; bad view flags exit 2.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import protobuf from "protobufjs";
import descriptor from "protobufjs/ext/descriptor.js";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { WebSocket, type RawData } from "ws";
import { channelSchema } from "../src/record/recording-format.js";
import { RecordingReader } from "../src/record/recording-reader.js";
import { freePort } from "./support.js";

const execFileAsync = promisify(execFile);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "..");
const FOVEA = ["--import", path.join(HERE, "record-ts-loader.mjs"), path.join(ROOT, "src/cli/main.ts")];
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "fovea-e2e-view-"));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Run {
  child: ChildProcess;
  /** The view's port, from the line fovea prints on stderr. */
  port: Promise<number>;
  exited: Promise<{ code: number | null; stderr: string }>;
}

function startFovea(args: string[]): Run {
  const child = spawn(process.execPath, [...FOVEA, ...args], {
    cwd: ROOT,
    env: { ...process.env, FOVEA_LOG_LEVEL: "warn" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  let found: (port: number) => void;
  const port = new Promise<number>((resolve) => (found = resolve));
  child.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString();
    const m = /live view at http:\/\/127\.0\.0\.1:(\d+)\//.exec(stderr);
    if (m) found(Number(m[1]));
  });
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.once("close", (code) => resolve({ code, stderr })),
  );
  // A run that dies before listening resolves the port as -1 (the test then shows its stderr).
  void exited.then(() => found(-1));
  return { child, port, exited };
}

interface Advertised {
  id: number;
  topic: string;
  encoding: string;
  schemaName: string;
  schema: string;
  schemaEncoding: string;
}

/** A viewer as Foxglove is one: handshake, serverInfo, advertise, subscribe, message data. */
class Viewer {
  readonly ws: WebSocket;
  readonly control: Array<Record<string, unknown>> = [];
  readonly messages = new Map<string, Array<{ time: bigint; data: Buffer }>>();
  readonly channels = new Map<number, Advertised>();
  readonly closed: Promise<number>;
  private readonly subs = new Map<number, Advertised>();

  constructor(url: string) {
    this.ws = new WebSocket(url, ["foxglove.websocket.v1"]);
    this.ws.on("error", () => undefined);
    this.closed = new Promise((resolve) => this.ws.once("close", (code) => resolve(code)));
    this.ws.on("message", (raw: RawData, isBinary) => {
      const buf = raw as Buffer;
      if (!isBinary) {
        const m = JSON.parse(buf.toString()) as Record<string, unknown>;
        this.control.push(m);
        if (m.op === "advertise") for (const c of m.channels as Advertised[]) this.channels.set(c.id, c);
        return;
      }
      expect(buf[0]).toBe(1); // MESSAGE_DATA
      const channel = this.subs.get(buf.readUInt32LE(1))!;
      if (!this.messages.has(channel.topic)) this.messages.set(channel.topic, []);
      this.messages.get(channel.topic)!.push({ time: buf.readBigUInt64LE(5), data: buf.subarray(13) });
    });
  }

  subscribeAll(): void {
    let id = 1;
    const subscriptions = [...this.channels.values()].map((c) => {
      this.subs.set(id, c);
      return { id: id++, channelId: c.id };
    });
    this.ws.send(JSON.stringify({ op: "subscribe", subscriptions }));
  }

  count(topic: string): number {
    return this.messages.get(topic)?.length ?? 0;
  }

  async until(pred: () => boolean, ms: number): Promise<void> {
    const t0 = Date.now();
    while (!pred()) {
      if (Date.now() - t0 > ms)
        throw new Error(`timed out; got ${[...this.messages].map(([t, m]) => `${t}: ${m.length}`).join(", ") || "no messages"}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** protobuf types rebuilt from an advertised channel's FileDescriptorSet (protobufjs names fields in camelCase). */
function typeOf(channel: Advertised): protobuf.Type {
  const set = descriptor.FileDescriptorSet.decode(Buffer.from(channel.schema, "base64"));
  const root = (protobuf.Root as unknown as { fromDescriptor(d: unknown): protobuf.Root }).fromDescriptor(set);
  return root.lookupType(channel.schemaName);
}

const CONVERT = { longs: String, enums: String, defaults: true } as const;

describe("fovea run --view", () => {
  test("a Foxglove WebSocket client gets serverInfo, the channels, and real JPEG frames with their annotations", async () => {
    const run = startFovea(["run", "--source", "synthetic", "--view", "127.0.0.1:0", "--publish", `tcp://127.0.0.1:${await freePort()}`]);
    try {
      const port = await run.port;
      expect(port, (await Promise.race([run.exited, Promise.resolve({ stderr: "" })])).stderr).toBeGreaterThan(0);
      const viewer = new Viewer(`ws://127.0.0.1:${port}/`);
      await viewer.until(() => viewer.control.some((m) => m.op === "advertise"), 30_000);
      expect(viewer.ws.protocol).toBe("foxglove.websocket.v1");
      const info = viewer.control[0];
      expect(info).toMatchObject({ op: "serverInfo", name: "fovea", metadata: { modelId: expect.any(String), viewFps: "10" } });
      const classes = JSON.parse((info.metadata as Record<string, string>).classes) as Array<{ name: string; colour: string }>;
      expect(classes.find((c) => c.name === "ball")?.colour).toBe("#ff8c00");
      const bySchema = new Map([...viewer.channels.values()].map((c) => [c.schemaName, c]));
      expect([...bySchema.keys()].sort()).toEqual([
        "fovea.v1.DetectionFrame",
        "fovea.v1.Status",
        "foxglove.CameraCalibration",
        "foxglove.CompressedImage",
        "foxglove.ImageAnnotations",
      ]);
      for (const c of viewer.channels.values()) expect([c.encoding, c.schemaEncoding]).toEqual(["protobuf", "protobuf"]);
      viewer.subscribeAll();

      // A second viewer that sends garbage: dropped, and the first one keeps receiving.
      const rude = new Viewer(`ws://127.0.0.1:${port}/`);
      await rude.until(() => rude.control.some((m) => m.op === "advertise"), 10_000);
      rude.ws.send("\u0000garbage{");
      expect(await rude.closed).toBe(1008);

      // The synthetic clip may render first (about 16 s on 2 cores without a cache).
      await viewer.until(() => viewer.count("/camera/image") >= 5 && viewer.count("/fovea/status") >= 2, 90_000);
      const CompressedImage = typeOf(bySchema.get("foxglove.CompressedImage")!);
      const ImageAnnotations = typeOf(bySchema.get("foxglove.ImageAnnotations")!);
      const DetectionFrame = typeOf(bySchema.get("fovea.v1.DetectionFrame")!);
      const Status = typeOf(bySchema.get("fovea.v1.Status")!);
      const CameraCalibration = typeOf(bySchema.get("foxglove.CameraCalibration")!);

      const images = viewer.messages.get("/camera/image")!;
      const annotations = viewer.messages.get("/camera/annotations")!;
      const detections = viewer.messages.get("/fovea/detections")!;
      const stampOf = (t: { seconds: string; nanos: number }) => `${t.seconds}.${t.nanos}`;
      const annotationsByStamp = new Map(
        annotations.map((a) => {
          const m = ImageAnnotations.toObject(ImageAnnotations.decode(a.data), CONVERT) as {
            timestamp: { seconds: string; nanos: number };
            points: Array<{ type: string; points: unknown[] }>;
            texts: Array<{ text: string }>;
          };
          return [stampOf(m.timestamp), m];
        }),
      );
      const framesByStamp = new Map(
        detections.map((d) => {
          const m = DetectionFrame.toObject(DetectionFrame.decode(d.data), CONVERT) as {
            captureTimeNs: string;
            detections: Array<{ label: string }>;
          };
          const ns = BigInt(m.captureTimeNs);
          return [`${ns / 1_000_000_000n}.${Number(ns % 1_000_000_000n)}`, m];
        }),
      );
      let boxes = 0;
      for (const img of images.slice(0, 5)) {
        const m = CompressedImage.toObject(CompressedImage.decode(img.data), CONVERT) as {
          format: string;
          data: Buffer;
          frameId: string;
          timestamp: { seconds: string; nanos: number };
        };
        expect(m.format).toBe("jpeg");
        expect([...m.data.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
        const meta = await sharp(m.data).metadata();
        expect([meta.format, meta.width, meta.height]).toEqual(["jpeg", 640, 480]);
        expect(m.frameId).toBe("head"); // calibration/default.json's camera
        // Every viewer frame has its own annotations and DetectionFrame, stamped with its capture time.
        const ann = annotationsByStamp.get(stampOf(m.timestamp));
        const det = framesByStamp.get(stampOf(m.timestamp));
        expect(ann, "annotations of the frame").toBeDefined();
        expect(det, "DetectionFrame of the frame").toBeDefined();
        expect(ann!.points.length).toBe(det!.detections.length);
        expect(ann!.texts.map((t) => t.text.split(" ")[0])).toEqual(det!.detections.map((d) => d.label));
        for (const p of ann!.points) expect([p.type, p.points.length]).toEqual(["LINE_LOOP", 4]);
        boxes += ann!.points.length;
      }
      expect(boxes, "the shipped model finds something in five frames of the synthetic match").toBeGreaterThan(0);

      const status = Status.toObject(Status.decode(viewer.messages.get("/fovea/status")!.at(-1)!.data), CONVERT) as {
        state: string;
        framesProcessed: string;
      };
      expect(["RUNNING", "DEGRADED"]).toContain(status.state);
      expect(Number(status.framesProcessed)).toBeGreaterThan(0);
      const calibration = CameraCalibration.toObject(
        CameraCalibration.decode(viewer.messages.get("/camera/calibration")![0].data),
        CONVERT,
      ) as { width: number; K: number[] };
      expect(calibration.width).toBe(640);
      expect(calibration.K).toHaveLength(9);

      // The run ends cleanly on SIGINT with the viewer still connected; the viewer hears it stop.
      run.child.kill("SIGINT");
      expect(await viewer.closed).toBe(1001);
      const { code } = await run.exited;
      expect(code).toBe(0);
    } finally {
      run.child.kill("SIGKILL");
    }
  }, 180_000);

  test("a recorded match replays through the same view (its JPEG frames pass through as recorded)", async () => {
    const recording = path.join(dir, "match.mcap");
    await execFileAsync(
      process.execPath,
      [
        ...FOVEA,
        "run",
        "--source",
        "synthetic",
        "--max-frames",
        "20",
        "--publish",
        `tcp://127.0.0.1:${await freePort()}`,
        "--record",
        recording,
      ],
      {
        cwd: ROOT,
        env: { ...process.env, FOVEA_LOG_LEVEL: "warn" },
        timeout: 120_000,
      },
    );
    const recorded = new Set<string>();
    const reader = await RecordingReader.open(recording);
    const RecordedImage = channelSchema("foxglove.CompressedImage").type;
    for await (const m of reader.messages(new Set(["/camera/image"]))) {
      recorded.add(Buffer.from((RecordedImage.decode(m.data) as unknown as { data: Uint8Array }).data).toString("base64"));
    }
    expect(recorded.size).toBeGreaterThan(0);

    const run = startFovea([
      "run",
      "--source",
      `mcap:${recording}`,
      "--loop",
      "--view",
      "127.0.0.1:0",
      "--publish",
      `tcp://127.0.0.1:${await freePort()}`,
    ]);
    try {
      const viewer = new Viewer(`ws://127.0.0.1:${await run.port}/`);
      await viewer.until(() => viewer.channels.size === 5, 30_000);
      viewer.subscribeAll();
      await viewer.until(() => viewer.count("/camera/image") >= 3 && viewer.count("/camera/annotations") >= 3, 60_000);
      const CompressedImage = typeOf([...viewer.channels.values()].find((c) => c.schemaName === "foxglove.CompressedImage")!);
      const replayed = viewer.messages.get("/camera/image")!.map((m) => CompressedImage.decode(m.data) as unknown as { data: Uint8Array });
      // The recorder stored the source's JPEG as it came; the view sends that same JPEG.
      for (const img of replayed) expect(recorded.has(Buffer.from(img.data).toString("base64"))).toBe(true);
      run.child.kill("SIGINT");
      expect((await run.exited).code).toBe(0);
    } finally {
      run.child.kill("SIGKILL");
    }
  }, 240_000);

  test.each([
    [["--view", "0.0.0.0:8765"], /^fovea: --view-token: required when --view binds beyond loopback/m],
    [["--view", "localhost:99999"], /^fovea: --view: expected \[HOST:\]PORT .*port must be 0\.\.65535/m],
    [["--view-fps", "5"], /^fovea: --view-fps: only applies with --view/m],
    [["--view", "--view-fps", "100"], /^fovea: --view-fps: expected frames per second, a number in 0\.1\.\.60, got "100"/m],
  ])("fovea run %j exits 2 naming the flag", async (args, message) => {
    const r = await execFileAsync(process.execPath, [...FOVEA, "run", ...args], { cwd: ROOT, timeout: 60_000 }).then(
      () => ({ code: 0, stderr: "" }),
      (err: { code: number; stderr: string }) => err,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});
