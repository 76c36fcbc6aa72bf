/**
 * What every dataset writer does for each `add()`: reject a bad frame, a non-Buffer image or a
 * path written before, and run the file writes in call order even when the caller does not await
 * each add (labels.jsonl lines, YOLO label files and COCO ids follow the order frames were added).
 */
import { checkFrameForWriter } from "./frame-checks.js";
import type { TaggedFrame } from "./tagged-frame.js";

export class OrderedDatasetWrites {
  /** Folders already created under the root, so each is made once. */
  readonly madeDirs = new Set<string>();
  private tail: Promise<void> = Promise.resolve();
  private readonly written = new Set<string>();
  private closed = false;

  /**
   * @param writer name of the writer, for errors
   * @param classes the dataset's class names
   * @param reserved paths the writer owns besides the frames' files (e.g. the YOLO classes file)
   */
  constructor(
    private readonly writer: string,
    private readonly classes: ReadonlySet<string>,
    reserved: readonly string[] = [],
  ) {
    for (const p of reserved) this.written.add(p);
  }

  /**
   * Check one add() and claim its paths: the image's relative path (returned) and `more` (e.g. its
   * label file). Throws before anything is written.
   */
  accept(frame: TaggedFrame, image: Buffer, more: (rel: string) => readonly string[] = () => []): string {
    if (this.closed) throw new Error(`${this.writer}: add() after close()`);
    const rel = checkFrameForWriter(frame, this.classes);
    if (!Buffer.isBuffer(image)) throw new TypeError("image: expected a Buffer with the encoded image");
    const paths = [rel, ...more(rel)];
    for (const p of paths) {
      if (this.written.has(p)) throw new RangeError(`frame.image: '${rel}' would overwrite '${p}', already written`);
    }
    for (const p of paths) this.written.add(p);
    return rel;
  }

  /** Run `write` after every earlier one; the returned promise settles with this write. */
  then(write: () => Promise<void>): Promise<void> {
    const done = this.tail.then(write);
    this.tail = done.catch(() => {});
    return done;
  }

  /** No more adds. Resolves when every write has finished; false if it was already closed. */
  async close(): Promise<boolean> {
    if (this.closed) return false;
    this.closed = true;
    await this.tail;
    return true;
  }
}
