/**
 * The capture ring under real concurrency: a worker thread publishes frames as fast as it can
 * while this thread takes them at irregular intervals. No frame is ever torn, sequence numbers
 * only grow, and every frame published is taken or counted as dropped.
 */
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { FrameRing, type RingFrame } from "../src/capture/frame-ring.js";

describe("FrameRing", () => {
  it("hands the reader whole frames, newest first, and counts every overwritten one", async () => {
    const FRAMES = 20_000;
    const ring = FrameRing.create(64 * 1024);
    const worker = new Worker(new URL("./support/ring-writer.ts", import.meta.url), {
      workerData: { memory: ring.memory, frames: FRAMES },
      execArgv: ["--import", new URL("./record-ts-loader.mjs", import.meta.url).href],
    });
    const exited = new Promise((resolve) => worker.once("exit", resolve));
    const into: RingFrame = { seq: 0, captureTimeNs: 0n, data: Buffer.alloc(0) };
    let taken = 0;
    let last = -1;
    let torn = 0;
    for (let spin = 0; ; spin++) {
      const seen = ring.publishedCount;
      const f = ring.tryTake(into);
      if (f) {
        taken++;
        expect(f.seq).toBeGreaterThan(last);
        expect(f.captureTimeNs).toBe(BigInt(f.seq) * 1000n);
        last = f.seq;
        // Every byte of the frame is this frame's: the writer never wrote into the reader's buffer.
        if (f.data.readUInt32LE(0) !== f.seq) torn++;
        const fill = f.seq & 0xff;
        for (let i = 4; i < f.data.length; i += 251) if (f.data[i] !== fill) torn++;
        // Read slowly now and then, so the writer laps the reader and drops frames.
        if (spin % 3 === 0) {
          const until = performance.now() + 0.2;
          while (performance.now() < until);
        }
      } else if (ring.ended) {
        break;
      } else {
        await ring.waitForPublish(seen);
      }
    }
    await exited;
    expect(torn).toBe(0);
    expect(last).toBe(FRAMES - 1);
    expect(ring.dropped).toBeGreaterThan(0);
    expect(taken + ring.dropped).toBe(FRAMES);
  });
});
