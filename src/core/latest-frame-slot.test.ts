import { describe, expect, it } from "vitest";
import { LatestFrameSlot, pumpIntoSlot } from "./latest-frame-slot.js";

describe("LatestFrameSlot", () => {
  it("hands a waiting frame over at once", async () => {
    const slot = new LatestFrameSlot<number>();
    slot.put(1);
    expect(slot.full).toBe(true);
    await expect(slot.take()).resolves.toBe(1);
    expect(slot.full).toBe(false);
    expect(slot.dropped).toBe(0);
  });

  it("overwrites an untaken frame, counts it dropped and reports it to onDrop", async () => {
    const seen: number[] = [];
    const slot = new LatestFrameSlot<number>((old) => seen.push(old));
    for (let i = 1; i <= 5; i++) slot.put(i);
    expect(slot.dropped).toBe(4);
    expect(seen).toEqual([1, 2, 3, 4]);
    await expect(slot.take()).resolves.toBe(5);
    expect(slot.puts).toBe(5);
    expect(slot.taken).toBe(1);
  });

  it("wakes a waiting consumer with the next put, in order, without dropping", async () => {
    const slot = new LatestFrameSlot<number>();
    const got: number[] = [];
    const consumer = (async () => {
      for await (const v of slot) got.push(v);
    })();
    for (let i = 0; i < 10; i++) {
      slot.put(i);
      // Let the consumer run between puts, like a consumer that keeps up.
      await new Promise((r) => setImmediate(r));
    }
    slot.close();
    await consumer;
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(slot.dropped).toBe(0);
  });

  it("gives a slow consumer only the newest frames, always increasing", async () => {
    const slot = new LatestFrameSlot<number>();
    const got: number[] = [];
    const consumer = (async () => {
      for await (const v of slot) {
        got.push(v);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    for (let i = 0; i < 200; i++) {
      slot.put(i);
      if (i % 20 === 0) await new Promise((r) => setTimeout(r, 6));
    }
    slot.close();
    await consumer;
    expect(got.length).toBeGreaterThan(1);
    for (let i = 1; i < got.length; i++) expect(got[i]).toBeGreaterThan(got[i - 1]);
    expect(got.at(-1)).toBe(199);
    // Every frame is accounted for: taken or dropped.
    expect(slot.taken + slot.dropped).toBe(200);
  });

  it("close() ends a waiting consumer, keeps a held frame takeable once, ignores later puts", async () => {
    const slot = new LatestFrameSlot<number>();
    const pending = slot.take();
    slot.close();
    await expect(pending).resolves.toBeUndefined();

    const slot2 = new LatestFrameSlot<number>();
    slot2.put(7);
    slot2.close();
    expect(slot2.put(8)).toBe(false);
    await expect(slot2.take()).resolves.toBe(7);
    await expect(slot2.take()).resolves.toBeUndefined();
  });

  it("close(error) rejects the waiting consumer with that error", async () => {
    const slot = new LatestFrameSlot<number>();
    const pending = slot.take();
    slot.close(new Error("camera gone"));
    await expect(pending).rejects.toThrow("camera gone");
    await expect(slot.take()).rejects.toThrow("camera gone");
  });

  it("refuses a second concurrent consumer", async () => {
    const slot = new LatestFrameSlot<number>();
    const first = slot.take();
    await expect(slot.take()).rejects.toThrow(/one consumer/);
    slot.put(1);
    await expect(first).resolves.toBe(1);
  });

  it("pumpIntoSlot closes the slot at the source's end and passes its error on", async () => {
    async function* gen(fail: boolean) {
      yield 1;
      yield 2;
      if (fail) throw new Error("decode failed");
    }
    const ok = new LatestFrameSlot<number>();
    await pumpIntoSlot(gen(false), ok);
    expect(ok.isClosed).toBe(true);
    expect(ok.dropped).toBe(1);
    await expect(ok.take()).resolves.toBe(2);

    const bad = new LatestFrameSlot<number>();
    await pumpIntoSlot(gen(true), bad);
    await expect(bad.take()).resolves.toBe(2);
    await expect(bad.take()).rejects.toThrow("decode failed");
  });
});
