/**
 * Latest frame wins across threads: three frame buffers in shared memory between one writer (the
 * capture worker, which drains the camera pipe whatever the JS thread is doing) and one reader
 * (the frame loop). At any time one buffer is being written, one holds the newest complete frame
 * and one is the reader's (the frame it took last, valid until it takes the next). Publishing a
 * frame while the newest is still untaken overwrites it and counts it as dropped, so the reader
 * always gets the newest frame and never a queue.
 *
 * Hand-written because no library offers a latest-value mailbox over SharedArrayBuffer: the
 * newest and the reader's buffer are one 32-bit state word changed by compare-and-swap, so a
 * buffer changes hands atomically and the writer never picks the one being read.
 */

/** Control words (Int32Array indices). */
const STATE = 0; // newest buffer (bits 0-3) | reader's buffer (bits 4-7); NONE = 0xf
const PUBLISHED = 1; // frames published; the reader waits on it
const DROPPED = 2; // newest frames overwritten before the reader took them
const ENDED = 3; // 1 when the writer will publish no more
const EXTRA = 4; // first of the writer's own counters (see counter())
const CONTROL_WORDS = 8;
const NONE = 0xf;
const SLOTS = 3;

/** Counters the writer keeps for the reader beside the frames (source health). */
export type RingCounter = "corrupt" | "reconnects" | "sourceDropped" | "arrived";
const COUNTER_INDEX: Record<RingCounter, number> = { corrupt: EXTRA, reconnects: EXTRA + 1, sourceDropped: EXTRA + 2, arrived: EXTRA + 3 };

/** The shared memory of a ring, as passed to a worker. */
export interface FrameRingMemory {
  frameBytes: number;
  control: SharedArrayBuffer;
  /** seq and capture time (epoch ns) per buffer. */
  meta: SharedArrayBuffer;
  frames: SharedArrayBuffer;
}

/** A frame as the reader takes it: the buffer is the ring's, valid until the next take. */
export interface RingFrame {
  seq: number;
  captureTimeNs: bigint;
  data: Buffer;
}

/** ES2024's Atomics.waitAsync (in Node since 16; the project's lib is ES2023). */
const waitAsync = (
  Atomics as unknown as { waitAsync(a: Int32Array, index: number, value: number): { async: boolean; value: Promise<unknown> | string } }
).waitAsync as (a: Int32Array, index: number, value: number) => { async: true; value: Promise<unknown> } | { async: false; value: string };

export class FrameRing {
  private readonly control: Int32Array;
  private readonly meta: BigInt64Array;
  private readonly views: Buffer[];
  /** Writer: the buffer the next frame goes into. */
  private writeSlot = 0;

  private constructor(readonly memory: FrameRingMemory) {
    this.control = new Int32Array(memory.control);
    this.meta = new BigInt64Array(memory.meta);
    this.views = Array.from({ length: SLOTS }, (_, i) => Buffer.from(memory.frames, i * memory.frameBytes, memory.frameBytes));
  }

  /** A new ring for frames of `frameBytes` bytes. */
  static create(frameBytes: number): FrameRing {
    if (!Number.isSafeInteger(frameBytes) || frameBytes <= 0)
      throw new RangeError(`frameBytes: expected a positive integer, got ${frameBytes}`);
    const ring = new FrameRing({
      frameBytes,
      control: new SharedArrayBuffer(CONTROL_WORDS * 4),
      meta: new SharedArrayBuffer(SLOTS * 2 * 8),
      frames: new SharedArrayBuffer(SLOTS * frameBytes),
    });
    Atomics.store(ring.control, STATE, NONE | (NONE << 4));
    return ring;
  }

  /** The same ring on another thread. */
  static attach(memory: FrameRingMemory): FrameRing {
    return new FrameRing(memory);
  }

  // ---- writer ---------------------------------------------------------------------------------

  /** Copy a complete frame in and make it the newest. Never blocks. */
  publish(data: Uint8Array, seq: number, captureTimeNs: bigint): void {
    const w = this.writeSlot;
    this.views[w].set(data);
    this.meta[2 * w] = BigInt(seq);
    this.meta[2 * w + 1] = captureTimeNs;
    let held: number;
    for (;;) {
      const state = Atomics.load(this.control, STATE);
      held = (state >> 4) & 0xf;
      if (Atomics.compareExchange(this.control, STATE, state, w | (held << 4)) === state) {
        if ((state & 0xf) !== NONE) Atomics.add(this.control, DROPPED, 1);
        break;
      }
    }
    // Neither the newest (w) nor the reader's: the reader only ever takes the newest, so this
    // buffer stays free until it is published.
    for (let s = 0; s < SLOTS; s++) {
      if (s !== w && s !== held) {
        this.writeSlot = s;
        break;
      }
    }
    Atomics.add(this.control, PUBLISHED, 1);
    Atomics.notify(this.control, PUBLISHED);
  }

  /** The writer is done: a waiting reader wakes and gets what is left, then the end. */
  end(): void {
    Atomics.store(this.control, ENDED, 1);
    Atomics.add(this.control, PUBLISHED, 1);
    Atomics.notify(this.control, PUBLISHED);
  }

  setCounter(name: RingCounter, value: number): void {
    Atomics.store(this.control, COUNTER_INDEX[name], value);
  }

  // ---- reader ---------------------------------------------------------------------------------

  counter(name: RingCounter): number {
    return Atomics.load(this.control, COUNTER_INDEX[name]);
  }

  /** Newest frames overwritten before the reader took them. */
  get dropped(): number {
    return Atomics.load(this.control, DROPPED);
  }

  get ended(): boolean {
    return Atomics.load(this.control, ENDED) === 1;
  }

  /**
   * Take the newest frame if there is one, else null. The previous frame taken goes back to the
   * writer. `into` is filled and returned (no allocation beyond the two bigints).
   */
  tryTake(into: RingFrame): RingFrame | null {
    for (;;) {
      const state = Atomics.load(this.control, STATE);
      const newest = state & 0xf;
      if (newest === NONE) return null;
      if (Atomics.compareExchange(this.control, STATE, state, NONE | (newest << 4)) === state) {
        into.seq = Number(this.meta[2 * newest]);
        into.captureTimeNs = this.meta[2 * newest + 1];
        into.data = this.views[newest];
        return into;
      }
    }
  }

  /** Resolves when the writer publishes after `published` (see publishedCount) or ends. */
  waitForPublish(published: number): Promise<unknown> {
    const r = waitAsync(this.control, PUBLISHED, published);
    return r.async ? r.value : Promise.resolve();
  }

  get publishedCount(): number {
    return Atomics.load(this.control, PUBLISHED);
  }

  /** Wake a reader waiting in waitForPublish (closing from the reader's side). */
  wake(): void {
    Atomics.add(this.control, PUBLISHED, 1);
    Atomics.notify(this.control, PUBLISHED);
  }
}
