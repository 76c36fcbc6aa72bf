/**
 * Cuts a raw video byte stream (ffmpeg `-f rawvideo` on a pipe) into fixed-size frames.
 *
 * Hand-written because no library splits a raw pipe: the stream has no container, no markers,
 * only `frameBytes`-sized records arriving in pipe-sized chunks (64 KiB here) that straddle frame
 * boundaries. Copies are kept to the minimum: a chunk that holds a whole frame at a frame boundary
 * is passed on as a view (no copy); otherwise each byte is copied exactly once, into the frame's
 * own buffer, which is then handed over (never reused, so consumers may keep it).
 */
export class RawFrameSplitter {
  private partial: Buffer | undefined;
  private filled = 0;

  /**
   * @param frameBytes size of one frame, e.g. width*height*3 for rgb24
   * @param onFrame receives each complete frame, synchronously, as soon as its last byte arrived
   */
  constructor(
    readonly frameBytes: number,
    private readonly onFrame: (frame: Buffer) => void,
  ) {
    if (!Number.isSafeInteger(frameBytes) || frameBytes <= 0) {
      throw new RangeError(`frameBytes: expected a positive integer, got ${frameBytes}`);
    }
  }

  /** Bytes of an incomplete frame currently held. */
  get pendingBytes(): number {
    return this.filled;
  }

  push(chunk: Buffer): void {
    let offset = 0;
    const size = this.frameBytes;
    while (offset < chunk.length) {
      if (this.filled === 0 && chunk.length - offset >= size) {
        // Whole frame inside this chunk: a view is enough. Stream chunks are fresh allocations
        // that Node never reuses, so the view stays valid.
        this.onFrame(chunk.subarray(offset, offset + size));
        offset += size;
        continue;
      }
      if (!this.partial) this.partial = Buffer.allocUnsafe(size);
      const n = Math.min(size - this.filled, chunk.length - offset);
      chunk.copy(this.partial, this.filled, offset, offset + n);
      this.filled += n;
      offset += n;
      if (this.filled === size) {
        const frame = this.partial;
        this.partial = undefined;
        this.filled = 0;
        this.onFrame(frame);
      }
    }
  }

  /**
   * The stream ended (or its producer died). Returns how many bytes of an incomplete last frame
   * were discarded (0 when the stream ended on a frame boundary) and resets for a new stream.
   */
  end(): number {
    const discarded = this.filled;
    this.partial = undefined;
    this.filled = 0;
    return discarded;
  }
}
