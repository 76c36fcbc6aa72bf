/**
 * @mcap/core's `IWritable` over a Node file handle. The library ships no Node file adapter (its
 * writer is environment-neutral), and the interface is two methods: `write` resolves when the
 * bytes are written, `position` answers synchronously how many bytes have been written so far.
 */
import { open, type FileHandle } from "node:fs/promises";
import type { IWritable } from "@mcap/core";
import { FoveaInputError } from "../core/errors.js";

export class FileWritable implements IWritable {
  private offset = 0n;

  private constructor(
    private readonly handle: FileHandle,
    /** The file's path, for error messages. */
    readonly file: string,
  ) {}

  /**
   * Create `file` for writing. Without `force` an existing file is never touched: the exclusive
   * create (`wx`) makes the check and the creation one step, so no race overwrites a recording.
   * `forceFlag` is how the caller spells `force`, for the error message (default `--force`).
   */
  static async create(file: string, options: { force?: boolean; forceFlag?: string } = {}): Promise<FileWritable> {
    try {
      return new FileWritable(await open(file, options.force ? "w" : "wx"), file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EEXIST") {
        throw new FoveaInputError(
          file,
          `already exists; refusing to overwrite a recording (pass ${options.forceFlag ?? "--force"} to replace it)`,
        );
      }
      if (code === "ENOENT") throw new FoveaInputError(file, "cannot create the file: its directory does not exist", { cause: err });
      if (code === "EISDIR") throw new FoveaInputError(file, "is a directory; expected a file path ending in .mcap", { cause: err });
      throw new FoveaInputError(file, `cannot create the file (${(err as Error).message})`, { cause: err });
    }
  }

  async write(buffer: Uint8Array): Promise<void> {
    // McapWriter reuses `buffer` once this resolves, so the whole buffer is written before then.
    let offset = 0;
    while (offset < buffer.byteLength) {
      const { bytesWritten } = await this.handle.write(buffer, offset, buffer.byteLength - offset);
      offset += bytesWritten;
    }
    this.offset += BigInt(buffer.byteLength);
  }

  position(): bigint {
    return this.offset;
  }

  /** Flush file data to the disk (power-loss safety of what has been written so far). */
  async sync(): Promise<void> {
    await this.handle.datasync();
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
