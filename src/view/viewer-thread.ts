/**
 * A viewer for measurements (`fovea bench --view`): a Foxglove WebSocket client subscribed to
 * every channel, receiving and counting what the view sends. It runs on a worker thread, so its
 * socket reads and parsing are not work on the frame loop's thread: what the benchmark measures
 * is the cost of serving a viewer, as a laptop on the network would be served.
 */
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

export interface ViewerCounts {
  /** Message data received per topic. */
  messages: Record<string, number>;
  bytes: number;
}

// Plain CommonJS for an eval worker: no file to find in dist/ or src/, `ws` by resolved path.
const VIEWER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { WebSocket } = require(workerData.ws);
const counts = { messages: {}, bytes: 0 };
const topics = new Map();
const ws = new WebSocket(workerData.url, ["foxglove.websocket.v1"]);
ws.on("message", (data, isBinary) => {
  if (!isBinary) {
    const m = JSON.parse(data.toString());
    if (m.op === "advertise") {
      const subscriptions = m.channels.map((c, i) => (topics.set(i + 1, c.topic), { id: i + 1, channelId: c.id }));
      ws.send(JSON.stringify({ op: "subscribe", subscriptions }));
      parentPort.postMessage({ subscribed: true });
    }
    return;
  }
  const topic = topics.get(data.readUInt32LE(1)) ?? "?";
  counts.messages[topic] = (counts.messages[topic] ?? 0) + 1;
  counts.bytes += data.length;
});
ws.on("error", (err) => parentPort.postMessage({ error: err.message }));
parentPort.on("message", () => {
  ws.terminate();
  parentPort.postMessage({ counts });
});
`;

export class ViewerThread {
  private constructor(private readonly worker: Worker) {}

  /** Connect to `ws://...` and subscribe to everything advertised; resolves once subscribed. */
  static async connect(url: string): Promise<ViewerThread> {
    const worker = new Worker(VIEWER_SOURCE, { eval: true, workerData: { url, ws: createRequire(import.meta.url).resolve("ws") } });
    await new Promise<void>((resolve, reject) => {
      worker.on("message", (m: { subscribed?: boolean; error?: string }) => {
        if (m.subscribed) resolve();
        if (m.error) reject(new Error(`viewer ${url}: ${m.error}`));
      });
      worker.once("error", reject);
    });
    return new ViewerThread(worker);
  }

  /** Disconnect and say what arrived. */
  async stop(): Promise<ViewerCounts> {
    const counts = new Promise<ViewerCounts>((resolve) => {
      this.worker.on("message", (m: { counts?: ViewerCounts }) => m.counts && resolve(m.counts));
    });
    this.worker.postMessage("stop");
    const result = await counts;
    await this.worker.terminate();
    return result;
  }
}
