import type { Frame } from "./frame.js";

/**
 * A single-slot mailbox between a producer on its own clock (camera, paced replay) and a consumer
 * that is sometimes busy (the engine). It is the whole of "latest frame wins": there is no queue,
 * only one place for the newest frame. A `put` while a frame is still waiting overwrites it and
 * counts the overwritten one as dropped, so a slow consumer always gets the freshest frame and
 * never works through a backlog of stale ones.
 *
 * One consumer at a time: `take()` (or `for await`) from a single loop.
 */
export class LatestFrameSlot<T = Frame> implements AsyncIterable<T> {
  private held: T | undefined;
  private hasHeld = false;
  private waiter: ((value: T | undefined) => void) | undefined;
  private waiterReject: ((err: unknown) => void) | undefined;
  private closed = false;
  private failure: unknown;
  private failed = false;
  private droppedCount = 0;
  private putCount = 0;
  private takenCount = 0;

  /**
   * @param onDrop called synchronously with each overwritten frame (for counting or releasing it);
   *   it must return at once, it runs on the producer's path.
   */
  constructor(private readonly onDrop?: (dropped: T) => void) {}

  /** Frames overwritten before the consumer took them. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** Frames put since construction (taken + dropped + the one possibly waiting). */
  get puts(): number {
    return this.putCount;
  }

  /** Frames handed to the consumer. */
  get taken(): number {
    return this.takenCount;
  }

  /** True while a frame waits to be taken. */
  get full(): boolean {
    return this.hasHeld;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Offer the newest frame. Never blocks: hands it to a waiting consumer, or keeps it in the slot,
   * overwriting (and counting as dropped) a frame nobody took yet. Returns false, ignoring the
   * frame, once the slot is closed — producers racing a shutdown need not check first.
   */
  put(frame: T): boolean {
    if (this.closed) return false;
    this.putCount++;
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      this.waiterReject = undefined;
      this.takenCount++;
      waiter(frame);
      return true;
    }
    if (this.hasHeld) {
      this.droppedCount++;
      const old = this.held as T;
      this.held = frame;
      this.onDrop?.(old);
    } else {
      this.held = frame;
      this.hasHeld = true;
    }
    return true;
  }

  /**
   * The newest frame: at once if one is waiting, otherwise when the next `put` arrives.
   * After `close()`, the frame still held (if any) is returned once, then `undefined` — or, when
   * closed with an error, that error is thrown.
   */
  take(): Promise<T | undefined> {
    if (this.waiter) {
      // Two consumers would silently split the stream between them; that is always a bug.
      return Promise.reject(new Error("LatestFrameSlot.take: another take() is already waiting (one consumer only)"));
    }
    if (this.hasHeld) {
      const frame = this.held as T;
      this.held = undefined;
      this.hasHeld = false;
      this.takenCount++;
      return Promise.resolve(frame);
    }
    if (this.closed) {
      return this.failed ? Promise.reject(this.failure) : Promise.resolve(undefined);
    }
    return new Promise<T | undefined>((resolve, reject) => {
      this.waiter = resolve;
      this.waiterReject = reject;
    });
  }

  /**
   * No more frames. A waiting consumer wakes with `undefined` (or `error`); a frame already in
   * the slot can still be taken once. Idempotent: the first call decides.
   */
  close(error?: unknown): void {
    if (this.closed) return;
    this.closed = true;
    if (error !== undefined) {
      this.failed = true;
      this.failure = error;
    }
    const waiter = this.waiter;
    const reject = this.waiterReject;
    this.waiter = undefined;
    this.waiterReject = undefined;
    if (this.failed) reject?.(this.failure);
    else waiter?.(undefined);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      const frame = await this.take();
      if (frame === undefined) return;
      yield frame;
    }
  }
}

/**
 * Pump a source's frames into a slot until the source ends (then the slot is closed) or the slot
 * is closed by the consumer (then the pump stops reading). A source error closes the slot with
 * that error so the consumer sees it.
 */
export async function pumpIntoSlot<T>(frames: AsyncIterable<T>, slot: LatestFrameSlot<T>): Promise<void> {
  try {
    for await (const frame of frames) {
      if (!slot.put(frame)) break;
    }
    slot.close();
  } catch (err) {
    slot.close(err);
  }
}
