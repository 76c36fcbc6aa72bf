import { createInterface } from "node:readline";
import type { Readable } from "node:stream";

/**
 * The last lines a child process wrote to stderr. ffmpeg explains its failures there ("No such
 * file or directory", "Invalid data found when processing input", "Device or resource busy"), so
 * error messages and degraded events quote it. A small ring: a long-running camera process must
 * not accumulate its whole log in memory.
 */
export class StderrTail {
  private readonly lines: string[] = [];

  /** @param maxLines how many of the most recent lines to keep */
  constructor(readonly maxLines = 20) {
    if (!Number.isSafeInteger(maxLines) || maxLines <= 0) {
      throw new RangeError(`maxLines: expected a positive integer, got ${maxLines}`);
    }
  }

  /** Follow a stream line by line until it ends. */
  follow(stream: Readable): void {
    createInterface({ input: stream, crlfDelay: Infinity }).on("line", (line) => this.add(line));
  }

  add(line: string): void {
    const trimmed = line.trimEnd();
    if (!trimmed) return;
    if (this.lines.length === this.maxLines) this.lines.shift();
    this.lines.push(trimmed);
  }

  clear(): void {
    this.lines.length = 0;
  }

  /** The kept lines joined with " | " for a one-line message, or "(no stderr output)". */
  toString(): string {
    return this.lines.length ? this.lines.join(" | ") : "(no stderr output)";
  }

  get all(): readonly string[] {
    return this.lines;
  }
}
