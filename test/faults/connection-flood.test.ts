/**
 * Fault: a connection flood (issue 12, defect 4, in part). Promise: raw TCP connections that never
 * complete the ZeroMQ handshake are closed by the publisher after its handshake interval (2 s)
 * instead of being held for libzmq's default 30 s, and a real subscriber keeps receiving meanwhile.
 * Real TCP connections against a real ZeroMQ PUB socket.
 */
import { connect, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { encodeStatus } from "../../src/publish/codec.js";
import { DetectionPublisher } from "../../src/publish/publisher.js";
import { subscribeVision } from "../../src/publish/subscriber.js";
import { until } from "./support/cli.js";
import { RUNNING_STATUS } from "../support.js";

describe("connection flood", () => {
  it("51 raw TCP connections that never handshake are closed by the publisher; a subscriber keeps receiving", async () => {
    const pub = await DetectionPublisher.create({ endpoint: "tcp://127.0.0.1:*" });
    const port = Number(pub.endpoint.split(":").at(-1));
    const sub = subscribeVision(pub.endpoint);
    let received = 0;
    const reading = (async () => {
      for await (const _ of sub) received++;
    })();
    const timer = setInterval(() => pub.publishStatus(encodeStatus(RUNNING_STATUS)), 10);
    const raw: Socket[] = [];
    let closedByServer = 0;
    try {
      for (let i = 0; i < 51; i++) {
        const s = connect(port, "127.0.0.1");
        s.on("error", () => {});
        s.on("close", () => closedByServer++);
        // Drain what the server sends (its greeting) so its close reaches us; never answer it.
        s.resume();
        raw.push(s);
      }
      await until(() => raw.every((s) => s.readyState === "open"), "the raw connections to open");
      const before = received;
      // Bounds the wait only: libzmq's default would hold them for 30 s.
      await until(() => closedByServer === raw.length, "the publisher to close every raw connection", 15_000);
      expect(closedByServer).toBe(51);
      expect(received).toBeGreaterThan(before);
    } finally {
      clearInterval(timer);
      for (const s of raw) s.destroy();
      sub.close();
      await reading;
      await pub.close();
    }
  });
});
