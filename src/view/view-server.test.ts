/**
 * The view server with real sockets on loopback: the page over HTTP, the Foxglove WebSocket
 * handshake (subprotocol, token), subscriptions, and the guests that misbehave — a viewer that
 * sends garbage is closed while the others go on, a viewer that does not read loses message data
 * instead of growing the server's memory.
 */
import { afterEach, describe, expect, test } from "vitest";
import { WebSocket, type RawData } from "ws";
import { ViewServer, SUBPROTOCOL } from "./view-server.js";

const servers: ViewServer[] = [];
const sockets: WebSocket[] = [];

afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  for (const s of servers.splice(0)) await s.close(50);
});

async function start(options: Partial<Parameters<typeof ViewServer.start>[0]> = {}): Promise<ViewServer> {
  const server = await ViewServer.start({ host: "127.0.0.1", port: 0, ...options });
  servers.push(server);
  return server;
}

interface Viewer {
  ws: WebSocket;
  json: Array<Record<string, unknown>>;
  binary: Buffer[];
  closed: Promise<{ code: number; reason: string }>;
  /** Resolves when `pred` holds for what arrived so far. */
  until(pred: () => boolean, ms?: number): Promise<void>;
}

function connect(url: string, protocols: string[] = [SUBPROTOCOL], headers: Record<string, string> = {}): Viewer {
  const ws = new WebSocket(url, protocols, { headers });
  sockets.push(ws);
  const v: Viewer = {
    ws,
    json: [],
    binary: [],
    closed: new Promise((resolve) => ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() }))),
    until: (pred, ms = 5000) =>
      new Promise((resolve, reject) => {
        const t0 = Date.now();
        const tick = () => (pred() ? resolve() : Date.now() - t0 > ms ? reject(new Error("timed out waiting")) : setTimeout(tick, 5));
        tick();
      }),
  };
  ws.on("message", (data: RawData, isBinary) => {
    if (isBinary) v.binary.push(data as Buffer);
    else v.json.push(JSON.parse(data.toString()) as Record<string, unknown>);
  });
  ws.on("error", () => undefined);
  return v;
}

function wsUrl(server: ViewServer, query = ""): string {
  return `ws://127.0.0.1:${server.port}/${query}`;
}

/** Subscribe to every advertised channel; returns subscription id by topic. */
async function subscribeAll(v: Viewer): Promise<Map<string, number>> {
  await v.until(() => v.json.some((m) => m.op === "advertise"));
  const channels = v.json.find((m) => m.op === "advertise")!.channels as Array<{ id: number; topic: string }>;
  const ids = new Map<string, number>();
  const subscriptions = channels.map((c, i) => {
    ids.set(c.topic, i + 100);
    return { id: i + 100, channelId: c.id };
  });
  v.ws.send(JSON.stringify({ op: "subscribe", subscriptions }));
  return ids;
}

describe("ViewServer", () => {
  test("serves the page, config.json and 404/405 over HTTP", async () => {
    const server = await start();
    const base = `http://127.0.0.1:${server.port}`;
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/text\/html/);
    expect(await page.text()).toContain('<script type="module" src="view.js">');
    const js = await fetch(`${base}/protobuf.js`);
    expect(js.headers.get("content-type")).toMatch(/javascript/);
    expect(await (await fetch(`${base}/config.json`)).json()).toEqual({ tokenRequired: false, subprotocol: SUBPROTOCOL });
    expect((await fetch(`${base}/../../etc/passwd`)).status).toBe(404);
    expect((await fetch(`${base}/`, { method: "POST", body: "x" })).status).toBe(405);
  });

  test("speaks foxglove.websocket.v1: serverInfo, advertise of the recording's channels, subscribed message data", async () => {
    const server = await start({ metadata: { modelId: "m1" } });
    const v = connect(wsUrl(server));
    await v.until(() => v.json.length >= 2);
    expect(v.ws.protocol).toBe(SUBPROTOCOL);
    expect(v.json[0]).toMatchObject({ op: "serverInfo", name: "fovea", metadata: { modelId: "m1" } });
    const channels = v.json[1].channels as Array<{
      topic: string;
      schemaName: string;
      encoding: string;
      schema: string;
      schemaEncoding: string;
    }>;
    expect(channels.map((c) => [c.topic, c.schemaName])).toEqual([
      ["/camera/image", "foxglove.CompressedImage"],
      ["/camera/annotations", "foxglove.ImageAnnotations"],
      ["/camera/calibration", "foxglove.CameraCalibration"],
      ["/fovea/detections", "fovea.v1.DetectionFrame"],
      ["/fovea/status", "fovea.v1.Status"],
    ]);
    for (const c of channels)
      expect([c.encoding, c.schemaEncoding, Buffer.from(c.schema, "base64").length > 100]).toEqual(["protobuf", "protobuf", true]);

    expect(server.watched).toBe(false);
    server.send("status", 1n, new Uint8Array([1])); // nobody subscribed: nothing goes out
    const ids = await subscribeAll(v);
    await v.until(() => server.subscribed("status") && server.subscribed("image"));
    server.send("status", 123_456_789_000n, new Uint8Array([8, 2]));
    await v.until(() => v.binary.length === 1);
    const m = v.binary[0];
    expect(m[0]).toBe(1); // MESSAGE_DATA
    expect(m.readUInt32LE(1)).toBe(ids.get("/fovea/status"));
    expect(m.readBigUInt64LE(5)).toBe(123_456_789_000n);
    expect([...m.subarray(13)]).toEqual([8, 2]);

    v.ws.close();
    await v.closed;
    await v.until(() => !server.watched);
  });

  test("refuses a handshake without the subprotocol, and without the token when one is set", async () => {
    const open = await start();
    const noProtocol = connect(wsUrl(open), []);
    const refused = await new Promise<number>((resolve) =>
      noProtocol.ws.once("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0)),
    );
    expect(refused).toBe(400);

    const server = await start({ token: "s3cret token" });
    expect(await (await fetch(`http://127.0.0.1:${server.port}/config.json`)).json()).toMatchObject({ tokenRequired: true });
    expect((await fetch(`http://127.0.0.1:${server.port}/auth?token=nope`)).status).toBe(401);
    expect((await fetch(`http://127.0.0.1:${server.port}/auth?token=s3cret%20token`)).status).toBe(204);
    for (const query of ["", "?token=nope"]) {
      const v = connect(wsUrl(server, query));
      const status = await new Promise<number>((resolve) => v.ws.once("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0)));
      expect(status).toBe(401);
    }
    const byQuery = connect(wsUrl(server, "?token=s3cret%20token"));
    const byHeader = connect(wsUrl(server), [SUBPROTOCOL], { Authorization: "Bearer s3cret token" });
    await byQuery.until(() => byQuery.json.some((m) => m.op === "serverInfo"));
    await byHeader.until(() => byHeader.json.some((m) => m.op === "serverInfo"));
    expect(server.stats.clientsRejected).toBe(2);
  });

  test("a viewer that sends garbage is closed (1008); the other viewers go on", async () => {
    const server = await start();
    const good = connect(wsUrl(server));
    const goodIds = await subscribeAll(good);
    const garbage: Array<string | Buffer> = ["not json", "[1,2]", '{"op":"launchMissiles"}', '{"op":"subscribe"}', Buffer.from([1, 2, 3])];
    for (const g of garbage) {
      const bad = connect(wsUrl(server));
      await bad.until(() => bad.json.length >= 2);
      bad.ws.send(g, { binary: Buffer.isBuffer(g) });
      const closed = await bad.closed;
      expect(closed.code, `after ${String(g)}`).toBe(1008);
      expect(closed.reason.length).toBeGreaterThan(0);
    }
    expect(server.stats.clientsRejected).toBe(garbage.length);
    await good.until(() => server.subscribed("image"));
    server.send("image", 5n, new Uint8Array([1, 2, 3]));
    await good.until(() => good.binary.length === 1);
    expect(good.binary[0].readUInt32LE(1)).toBe(goodIds.get("/camera/image"));
    expect(good.ws.readyState).toBe(WebSocket.OPEN);
  });

  test("a viewer that does not read loses message data, the server's buffer stays bounded, and it recovers", async () => {
    const limit = 256 * 1024;
    const server = await start({ maxBufferedBytes: limit });
    const v = connect(wsUrl(server));
    await subscribeAll(v);
    await v.until(() => server.subscribed("image"));
    // Stop reading: the kernel's socket buffers fill, then ws's send queue.
    (v.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    const size = 64 * 1024;
    const sent = 400; // 25 MiB: more than loopback's socket buffers hold
    for (let i = 0; i < sent; i++) {
      // A new buffer each time: ws queues payloads by reference, as the view hands them over.
      const payload = new Uint8Array(size);
      payload[0] = i & 0xff;
      server.send("image", BigInt(i), payload);
      await new Promise((r) => setImmediate(r));
    }
    expect(server.stats.messagesDropped).toBeGreaterThan(0);
    (v.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    await v.until(() => v.binary.length === sent - server.stats.messagesDropped, 10_000);
    // What arrived is whole and in order.
    let last = -1n;
    for (const m of v.binary) {
      expect(m.length).toBe(13 + size);
      const t = m.readBigUInt64LE(5);
      expect(t > last).toBe(true);
      expect(m[13]).toBe(Number(t & 0xffn));
      last = t;
    }
  });

  test("a port in use is an input error naming the flag", async () => {
    const first = await start();
    await expect(ViewServer.start({ host: "127.0.0.1", port: first.port }, "--view")).rejects.toThrow(
      new RegExp(`^--view: cannot listen on 127\\.0\\.0\\.1:${first.port}: the port is in use`),
    );
  });
});
