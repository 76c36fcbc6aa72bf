/**
 * Idle subscribers for measurements (`fovea bench --idle-subscribers N`): N real ZeroMQ SUB
 * sockets connected to the run's publisher, subscribed to every topic and never reading, as a
 * crowd of clients on the robot's network that connected and went quiet would be. They live in a
 * child process, as another program's sockets would: the benchmark's CPU, memory and GC figures
 * stay the fovea process's own, and what it measures is the publisher's cost of serving them.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createRequire } from "node:module";

// Plain CommonJS for `node -e`: no file to find in dist/ or src/, zeromq by resolved path.
const IDLE_SOURCE = `
const [zeromq, endpoint, countText] = process.argv.slice(1);
const zmq = require(zeromq);
const count = Number(countText);
// A socket holds a mailbox, and while it waits for its handshake a monitor (two more): libzmq's
// default of 1023 sockets a context is too few for hundreds of subscribers.
const context = new zmq.Context({ maxSockets: 3 * count + 64 });
const sockets = [];
let connected = 0;
const fail = (err) => {
  process.send({ error: err && err.message ? err.message : String(err) });
  process.exit(1);
};
try {
  for (let i = 0; i < count; i++) {
    const socket = new zmq.Subscriber({ context, linger: 0 });
    socket.subscribe();
    sockets.push(socket);
    // Connected once the ZeroMQ handshake succeeded (the publisher then knows the subscription);
    // the monitor is closed after it, so nothing here runs while the run is measured.
    const events = socket.events;
    (async () => {
      for (;;) {
        const event = await events.receive();
        if (event.type === "handshake") break;
      }
      events.close();
      if (++connected === count) process.send({ connected });
    })().catch((err) => { if (!socket.closed) fail(err); });
    socket.connect(endpoint);
  }
} catch (err) {
  fail(err);
}
const close = () => {
  for (const socket of sockets) socket.close();
  process.exit(0);
};
process.on("message", close);
// The benchmark is gone (crashed, killed): so are its subscribers.
process.on("disconnect", close);
`;

export class IdleSubscribers {
  private constructor(
    private readonly child: ChildProcess,
    /** Subscribers connected (handshake done) before the run started. */
    readonly connected: number,
  ) {}

  /**
   * Connect `count` subscribers to `endpoint`; resolves once every one has completed its
   * handshake. Rejects naming the endpoint if they cannot be opened or do not all connect within
   * `timeoutMs` (a bound on the wait, for a publisher that is not there).
   */
  static async connect(endpoint: string, count: number, timeoutMs = 120_000): Promise<IdleSubscribers> {
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`count: expected a positive integer, got ${count}`);
    const zeromq = createRequire(import.meta.url).resolve("zeromq");
    const child = spawn(process.execPath, ["-e", IDLE_SOURCE, zeromq, endpoint, String(count)], {
      stdio: ["ignore", "ignore", "pipe", "ipc"],
    });
    let stderr = "";
    child.stderr!.on("data", (b: Buffer) => (stderr = (stderr + b.toString()).slice(-2000)));
    try {
      const connected = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`idle subscribers: not all ${count} connected to ${endpoint} within ${timeoutMs / 1000} s`)),
          timeoutMs,
        );
        const fail = (err: Error) => {
          clearTimeout(timer);
          reject(err);
        };
        child.on("message", (m: { connected?: number; error?: string }) => {
          if (m.error !== undefined) fail(new Error(`idle subscribers on ${endpoint}: ${m.error}`));
          else if (m.connected !== undefined) {
            clearTimeout(timer);
            resolve(m.connected);
          }
        });
        child.once("error", fail);
        child.once("exit", (code, signal) =>
          fail(new Error(`idle subscribers on ${endpoint}: exited (${signal ?? `code ${code}`}) ${stderr.trim()}`)),
        );
      });
      return new IdleSubscribers(child, connected);
    } catch (err) {
      child.kill("SIGKILL");
      throw err;
    }
  }

  /** Disconnect them all and end the process. */
  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, "exit");
    this.child.send("close");
    await exited;
  }
}
