import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { RawFrameSplitter } from "./raw-frame-splitter.js";

function split(stream: Buffer, frameBytes: number, chunkSizes: number[]): { frames: Buffer[]; rest: number } {
  const frames: Buffer[] = [];
  const splitter = new RawFrameSplitter(frameBytes, (f) => frames.push(Buffer.from(f)));
  let offset = 0;
  for (let i = 0; offset < stream.length; i++) {
    const n = chunkSizes[i % chunkSizes.length];
    splitter.push(stream.subarray(offset, offset + n));
    offset += n;
  }
  return { frames, rest: splitter.end() };
}

describe("RawFrameSplitter", () => {
  const frameBytes = 300;
  const stream = randomBytes(frameBytes * 7);

  it.each([
    ["chunks smaller than a frame", [7, 64, 129]],
    ["chunks larger than a frame", [650, 1000]],
    ["exactly one frame per chunk", [300]],
    ["the whole stream at once", [2100]],
  ])("reassembles the frames byte-exact with %s", (_name, sizes) => {
    const { frames, rest } = split(stream, frameBytes, sizes);
    expect(frames).toHaveLength(7);
    frames.forEach((f, i) => expect(f.equals(stream.subarray(i * frameBytes, (i + 1) * frameBytes))).toBe(true));
    expect(rest).toBe(0);
  });

  it("reports the bytes of a truncated last frame at end() and starts clean afterwards", () => {
    const frames: Buffer[] = [];
    const splitter = new RawFrameSplitter(frameBytes, (f) => frames.push(f));
    splitter.push(stream.subarray(0, frameBytes * 2 + 120));
    expect(frames).toHaveLength(2);
    expect(splitter.pendingBytes).toBe(120);
    expect(splitter.end()).toBe(120);
    splitter.push(stream.subarray(0, frameBytes));
    expect(frames).toHaveLength(3);
    expect(frames[2].equals(stream.subarray(0, frameBytes))).toBe(true);
  });

  it("passes a frame that sits whole in a chunk on without copying", () => {
    const frames: Buffer[] = [];
    const splitter = new RawFrameSplitter(frameBytes, (f) => frames.push(f));
    const chunk = Buffer.from(stream.subarray(0, frameBytes * 2));
    splitter.push(chunk);
    expect(frames[0].buffer).toBe(chunk.buffer);
    expect(frames[1].byteOffset).toBe(chunk.byteOffset + frameBytes);
  });

  it("rejects a non-positive frame size", () => {
    expect(() => new RawFrameSplitter(0, () => {})).toThrow(RangeError);
  });
});
