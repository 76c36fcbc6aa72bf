/**
 * The live view's transport: one port serving the Foxglove WebSocket protocol
 * (`foxglove.websocket.v1`, via @foxglove/ws-protocol over ws) and, over plain HTTP, the built-in
 * page (src/view/page: static HTML and JavaScript, no build step, nothing from the internet).
 *
 * Viewers are guests: each connection sits behind a ClientSocket that drops message data while
 * the viewer's socket has more than `maxBufferedBytes` queued (a slow link costs that viewer
 * frames, never memory or the frame loop), and closes a viewer that sends anything the protocol
 * does not allow, or that stops answering pings.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import type { Duplex } from "node:stream";
import path from "node:path";
import foxglove from "@foxglove/ws-protocol";
import { WebSocketServer, type WebSocket, type RawData } from "ws";
import { FoveaInputError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import { PACKAGE_ROOT } from "../core/package-root.js";
import { formatAuthority, type ViewAddress } from "./view-address.js";
import { viewChannels, type ViewTopic } from "./view-channels.js";

const { FoxgloveServer } = foxglove;
type IWebSocket = foxglove.IWebSocket;

export const SUBPROTOCOL = "foxglove.websocket.v1";
/** The page's files, served as they are. */
export const PAGE_DIR = path.join(PACKAGE_ROOT, "src", "view", "page");
const PAGE_FILES: Record<string, string> = {
  "/": "index.html",
  "/index.html": "index.html",
  "/view.js": "view.js",
  "/protobuf.js": "protobuf.js",
  "/view.css": "view.css",
};
const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};
/** Client requests are a few hundred bytes of JSON; anything larger is not a viewer. */
const MAX_CLIENT_MESSAGE_BYTES = 64 * 1024;
const PING_INTERVAL_MS = 10_000;

export interface ViewServerOptions extends ViewAddress {
  /** Clients must present it (`?token=` or `Authorization: Bearer`). */
  token?: string;
  /** serverInfo metadata (model, camera, classes and their colours, view rate). */
  metadata?: Record<string, string>;
  /**
   * A viewer whose socket holds more than this many unsent bytes gets no message data until it
   * has caught up (default 1 MiB: about two seconds of 640x480 JPEG at 10 fps).
   */
  maxBufferedBytes?: number;
  log?: Logger;
}

export interface ViewServerStats {
  clients: number;
  /** Messages not sent to a viewer because its socket was backed up. */
  messagesDropped: number;
  /** Viewers closed for protocol violations (garbage, unknown operations, binary data). */
  clientsRejected: number;
}

export class ViewServer {
  private readonly http: http.Server;
  private readonly wss: WebSocketServer;
  private readonly foxglove: InstanceType<typeof FoxgloveServer>;
  private readonly channelIds = new Map<ViewTopic, number>();
  private readonly subscriptions = new Set<number>();
  private readonly sockets = new Set<WebSocket>();
  private readonly pages = new Map<string, { body: Buffer; type: string }>();
  private readonly tokenDigest: Buffer | undefined;
  private readonly maxBuffered: number;
  private readonly log: Logger | undefined;
  private pinger: NodeJS.Timeout | undefined;
  private closed: Promise<void> | undefined;
  /** The client whose message the protocol library is handling (its errors close that client). */
  private handling: ClientSocket | undefined;
  readonly stats: ViewServerStats = { clients: 0, messagesDropped: 0, clientsRejected: 0 };
  /** Where it listens, once started. */
  host = "";
  port = 0;

  private constructor(options: ViewServerOptions) {
    this.tokenDigest = options.token === undefined ? undefined : digest(options.token);
    this.maxBuffered = options.maxBufferedBytes ?? 1024 * 1024;
    this.log = options.log;
    for (const [route, file] of Object.entries(PAGE_FILES)) {
      const full = path.join(PAGE_DIR, file);
      let body: Buffer;
      try {
        body = readFileSync(full);
      } catch (err) {
        throw new Error(`${full}: cannot read the view page (${(err as Error).message}); the package is incomplete`, { cause: err });
      }
      this.pages.set(route, { body, type: CONTENT_TYPES[path.extname(file)] ?? "application/octet-stream" });
    }
    this.foxglove = new FoxgloveServer({ name: "fovea", capabilities: [], supportedEncodings: ["protobuf"], metadata: options.metadata });
    this.foxglove.on("subscribe", (id) => this.subscriptions.add(id));
    this.foxglove.on("unsubscribe", (id) => this.subscriptions.delete(id));
    this.foxglove.on("error", (err) => {
      const client = this.handling;
      this.log?.warn({ err: err.message, client: client?.name }, "view: closing a viewer that sent an invalid request");
      client?.reject(`invalid request: ${err.message}`);
    });
    for (const [role, channel] of Object.entries(viewChannels()) as Array<[ViewTopic, ReturnType<typeof viewChannels>[ViewTopic]]>) {
      this.channelIds.set(role, this.foxglove.addChannel(channel));
    }
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: MAX_CLIENT_MESSAGE_BYTES,
      handleProtocols: (protocols) => this.foxglove.handleProtocols(protocols),
    });
    this.http = http.createServer((req, res) => this.serveHttp(req, res));
    this.http.on("upgrade", (req, socket, head) => this.upgrade(req, socket, head));
    // A viewer's TCP errors are that viewer's problem, not the run's.
    this.http.on("clientError", (_err, socket) => socket.destroy());
  }

  /** Listen on `host:port`; a port in use or an address not on this machine is a FoveaInputError naming `flag`. */
  static async start(options: ViewServerOptions, flag = "--view"): Promise<ViewServer> {
    const server = new ViewServer(options);
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        const where = formatAuthority(options.host, options.port);
        const why =
          err.code === "EADDRINUSE"
            ? "the port is in use (another fovea or Foxglove bridge?); pick another PORT"
            : err.code === "EADDRNOTAVAIL" || err.code === "ENOTFOUND"
              ? "the address is not one of this machine's"
              : err.code === "EACCES"
                ? "not allowed to listen there (ports below 1024 need privileges)"
                : err.message;
        reject(new FoveaInputError(flag, `cannot listen on ${where}: ${why}`, { cause: err }));
      };
      server.http.once("error", onError);
      server.http.listen(options.port, options.host, () => {
        server.http.off("error", onError);
        resolve();
      });
    });
    server.http.on("error", (err) => server.log?.error({ err }, "view server error"));
    const address = server.http.address();
    if (address && typeof address === "object") [server.host, server.port] = [address.address, address.port];
    server.pinger = setInterval(() => server.ping(), PING_INTERVAL_MS);
    server.pinger.unref();
    return server;
  }

  /** `http://host:port/`, the page's address. */
  get url(): string {
    return `http://${formatAuthority(this.host, this.port)}/`;
  }

  /** Whether any viewer subscribes to this topic: work for a topic nobody watches is skipped. */
  subscribed(topic: ViewTopic): boolean {
    return this.subscriptions.has(this.channelIds.get(topic)!);
  }

  /** Whether any viewer subscribes to anything. */
  get watched(): boolean {
    return this.subscriptions.size > 0;
  }

  /** Send a message to the topic's subscribers; `timeNs` is its receive time (epoch ns). */
  send(topic: ViewTopic, timeNs: bigint, payload: Uint8Array): void {
    const id = this.channelIds.get(topic)!;
    if (this.subscriptions.has(id)) this.foxglove.sendMessage(id, timeNs, payload);
  }

  /**
   * Say goodbye to every viewer (close 1001, so what was sent last, the final Status, still
   * arrives), cut off those that do not answer within `graceMs`, and stop listening. Idempotent.
   */
  close(graceMs = 250): Promise<void> {
    this.closed ??= (async () => {
      clearInterval(this.pinger);
      const open = [...this.sockets];
      const gone = Promise.all(
        open.map((ws) => new Promise<void>((resolve) => (ws.readyState === ws.CLOSED ? resolve() : ws.once("close", () => resolve())))),
      );
      for (const ws of open) ws.close(1001, "fovea run stopped");
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([gone, new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
      for (const ws of this.sockets) ws.terminate();
      this.wss.close();
      await new Promise<void>((resolve) => {
        this.http.close(() => resolve());
        this.http.closeAllConnections();
      });
    })();
    return this.closed;
  }

  private authorised(req: http.IncomingMessage, url: URL): boolean {
    if (!this.tokenDigest) return true;
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? "")?.[1];
    const presented = url.searchParams.get("token") ?? bearer;
    return presented !== undefined && presented !== null && timingSafeEqual(digest(presented), this.tokenDigest);
  }

  private serveHttp(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://view");
    const send = (status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}) => {
      res.writeHead(status, {
        "Content-Type": type,
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' blob: data:; style-src 'self'",
        ...extra,
      });
      res.end(req.method === "HEAD" ? undefined : body);
    };
    if (req.method !== "GET" && req.method !== "HEAD") {
      send(405, "text/plain; charset=utf-8", "only GET and HEAD\n", { Allow: "GET, HEAD" });
      return;
    }
    if (url.pathname === "/config.json") {
      send(200, "application/json", JSON.stringify({ tokenRequired: this.tokenDigest !== undefined, subprotocol: SUBPROTOCOL }));
      return;
    }
    if (url.pathname === "/auth") {
      // Lets the page check a token before it opens the socket (a refused upgrade tells a browser nothing).
      const ok = this.authorised(req, url);
      send(ok ? 204 : 401, "text/plain; charset=utf-8", ok ? "" : "token rejected\n");
      return;
    }
    if (url.pathname === "/favicon.ico") {
      send(204, "image/x-icon", "");
      return;
    }
    const page = this.pages.get(url.pathname);
    if (!page) {
      send(404, "text/plain; charset=utf-8", `not found: ${url.pathname}\n`);
      return;
    }
    send(200, page.type, page.body);
  }

  private upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? "/", "http://view");
    const refuse = (status: number, reason: string) => {
      this.stats.clientsRejected++;
      socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\n${reason}\n`);
    };
    if (!this.authorised(req, url)) {
      refuse(401, "this fovea view needs its token: ws://HOST:PORT/?token=TOKEN");
      return;
    }
    const offered = (req.headers["sec-websocket-protocol"] ?? "").split(",").map((p) => p.trim());
    if (!offered.includes(SUBPROTOCOL)) {
      refuse(400, `expected the WebSocket subprotocol ${SUBPROTOCOL} (the Foxglove WebSocket protocol)`);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.connected(ws, req));
  }

  private connected(ws: WebSocket, req: http.IncomingMessage): void {
    const name = `${req.socket.remoteAddress ?? "?"}:${req.socket.remotePort ?? "?"}`;
    const client = new ClientSocket(ws, name, this.maxBuffered, this.stats, (c, handle) => {
      this.handling = c;
      try {
        handle();
      } finally {
        this.handling = undefined;
      }
    });
    this.sockets.add(ws);
    this.stats.clients++;
    ws.on("close", () => {
      this.sockets.delete(ws);
      this.stats.clients--;
      this.log?.info({ client: name, clients: this.stats.clients }, "view: viewer left");
    });
    // A viewer's socket errors end that viewer only.
    ws.on("error", (err) => this.log?.warn({ client: name, err: err.message }, "view: viewer connection failed"));
    this.foxglove.handleConnection(client, name);
    this.log?.info({ client: name, clients: this.stats.clients }, "view: viewer connected");
  }

  private ping(): void {
    for (const ws of this.sockets) {
      const alive = ws as WebSocket & { foveaAlive?: boolean };
      if (alive.foveaAlive === false) {
        ws.terminate();
        continue;
      }
      alive.foveaAlive = false;
      ws.ping();
    }
  }
}

function digest(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

/**
 * The IWebSocket the protocol library talks to for one viewer: forwards to ws, drops message
 * data while the viewer is backed up, and screens what the viewer sends before the library sees it.
 */
class ClientSocket implements IWebSocket {
  binaryType = "arraybuffer";
  onerror: ((event: unknown) => void) | null = null;
  onopen: ((event: unknown) => void) | null = null;
  onclose: ((event: unknown) => void) | null = null;
  onmessage: ((event: unknown) => void) | null = null;
  /** The header of a message whose payload is being dropped was just skipped. */
  private dropping = false;

  constructor(
    private readonly ws: WebSocket,
    readonly name: string,
    private readonly maxBuffered: number,
    private readonly stats: ViewServerStats,
    handling: (client: ClientSocket, handle: () => void) => void,
  ) {
    ws.on("close", (code, reason) => this.onclose?.({ code, reason: reason.toString(), wasClean: code === 1000 }));
    ws.on("pong", () => ((ws as WebSocket & { foveaAlive?: boolean }).foveaAlive = true));
    ws.on("message", (data: RawData, isBinary: boolean) => {
      (ws as WebSocket & { foveaAlive?: boolean }).foveaAlive = true;
      // The server offers no capability that takes binary client messages (publish, services).
      if (isBinary) return this.reject("binary messages are not accepted by this server");
      const text = Buffer.isBuffer(data) ? data.toString("utf8") : Buffer.concat(data as Buffer[]).toString("utf8");
      let op: unknown;
      try {
        op = (JSON.parse(text) as { op?: unknown } | null)?.op;
      } catch {
        return this.reject("expected a JSON message");
      }
      if (typeof op !== "string") return this.reject('expected a JSON object with a string "op"');
      handling(this, () => this.onmessage?.({ data: text }));
    });
  }

  get protocol(): string {
    return this.ws.protocol;
  }

  /** Close this viewer for a protocol violation (1008: policy violation, with the reason). */
  reject(reason: string): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.stats.clientsRejected++;
    // Close reasons are limited to 123 bytes.
    this.ws.close(1008, Buffer.from(reason).subarray(0, 123).toString());
    // A viewer that ignores the close handshake is cut off.
    setTimeout(() => this.ws.terminate(), 1000).unref();
  }

  close(): void {
    this.ws.close();
  }

  send(data: string | ArrayBuffer | ArrayBufferView, options?: { fin?: boolean }): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    if (typeof data === "string") {
      this.ws.send(data);
      return;
    }
    const bytes = ArrayBuffer.isView(data) ? data : new Uint8Array(data);
    if (options?.fin === false) {
      // The header of message data; its payload follows with fin: true.
      if (this.ws.bufferedAmount > this.maxBuffered) {
        this.dropping = true;
        this.stats.messagesDropped++;
        return;
      }
      this.ws.send(bytes, { binary: true, fin: false });
      return;
    }
    if (this.dropping) {
      this.dropping = false;
      return;
    }
    this.ws.send(bytes, { binary: true, fin: true });
  }
}
