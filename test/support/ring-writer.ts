// Writer side of test/frame-ring.test.ts: publishes `frames` frames as fast as it can, each filled
// with its own sequence number so a torn frame (bytes of two frames) shows.
import { workerData } from "node:worker_threads";
import { FrameRing, type FrameRingMemory } from "../../src/capture/frame-ring.js";

const { memory, frames } = workerData as { memory: FrameRingMemory; frames: number };
const ring = FrameRing.attach(memory);
const data = Buffer.alloc(memory.frameBytes);
for (let seq = 0; seq < frames; seq++) {
  data.fill(seq & 0xff);
  data.writeUInt32LE(seq, 0);
  ring.publish(data, seq, BigInt(seq) * 1000n);
  ring.setCounter("arrived", seq + 1);
}
ring.end();
