/**
 * Reads a recording front to back with @mcap/core's McapStreamReader. Sequential reading needs no
 * summary or index, so it also reads a recording that a crash or power loss cut off: it yields
 * every message of every complete, CRC-valid chunk and then reports the truncated tail instead
 * of failing. (McapIndexedReader needs the footer and summary a cut-off file never got.)
 */
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { MCAP_MAGIC, McapStreamReader } from "@mcap/core";
import { FoveaInputError } from "../core/errors.js";

export interface RecordingMessage {
  readonly topic: string;
  /** Schema name of the message's channel, e.g. `foxglove.CompressedImage`. */
  readonly schemaName: string;
  /** MCAP message sequence (fovea stores the source frame number here). */
  readonly sequence: number;
  readonly logTime: bigint;
  readonly publishTime: bigint;
  readonly data: Uint8Array;
}

/** What a full read found out about the file. */
export interface RecordingEnd {
  /** The file ended cleanly with its footer. */
  complete: boolean;
  /** Why the read stopped early (truncated tail or corrupt record), if it did. */
  problem?: string;
}

export class RecordingReader {
  private endState: RecordingEnd | undefined;
  private readonly metadataRecords = new Map<string, Map<string, string>>();
  private readonly topicSchemas = new Map<string, string>();
  private readonly schemaBytes = new Map<string, Uint8Array>();

  private constructor(
    /** The recording's path. */
    readonly file: string,
    /** The file ends with MCAP's closing magic, i.e. the recorder finished it. */
    readonly endsCleanly: boolean,
  ) {}

  /** Open a recording; a missing, empty or non-MCAP file is a FoveaInputError naming the file. */
  static async open(file: string): Promise<RecordingReader> {
    if (typeof file !== "string" || file.length === 0) throw new TypeError("RecordingReader.open: file must be a non-empty path");
    let handle;
    try {
      handle = await open(file, "r");
    } catch (err) {
      throw new FoveaInputError(file, `cannot open the recording (${(err as Error).message})`, { cause: err });
    }
    try {
      const { size } = await handle.stat();
      if (size === 0) throw new FoveaInputError(file, "is empty; expected an MCAP recording");
      const head = Buffer.alloc(MCAP_MAGIC.length);
      await handle.read(head, 0, head.length, 0);
      if (!MCAP_MAGIC.every((b, i) => head[i] === b)) {
        throw new FoveaInputError(
          file,
          "is not an MCAP file (no MCAP magic at its start); expected a recording made by `fovea record` or `fovea run --record`",
        );
      }
      const tail = Buffer.alloc(MCAP_MAGIC.length);
      const endsCleanly =
        size >= 2 * MCAP_MAGIC.length &&
        (await handle.read(tail, 0, tail.length, size - tail.length)).bytesRead === tail.length &&
        MCAP_MAGIC.every((b, i) => tail[i] === b);
      return new RecordingReader(file, endsCleanly);
    } finally {
      await handle.close();
    }
  }

  /** How the last full pass over `messages()` ended (undefined until one has). */
  get end(): RecordingEnd | undefined {
    return this.endState;
  }

  /** Metadata records seen so far, by name. */
  get metadata(): ReadonlyMap<string, ReadonlyMap<string, string>> {
    return this.metadataRecords;
  }

  /** The schema bytes (a FileDescriptorSet for protobuf) the file stores under `name`, once seen. */
  schemaData(name: string): Uint8Array | undefined {
    return this.schemaBytes.get(name);
  }

  /** Topics seen so far, with their schema names. */
  get topics(): ReadonlyMap<string, string> {
    return this.topicSchemas;
  }

  /**
   * The messages in file order (optionally only some topics). Stops at a truncated tail or a
   * corrupt record and says so in `end`; breaking out of the loop closes the file.
   */
  async *messages(topics?: ReadonlySet<string>): AsyncGenerator<RecordingMessage> {
    const reader = new McapStreamReader({ validateCrcs: true });
    const schemas = new Map<number, string>();
    const channels = new Map<number, { topic: string; schemaName: string }>();
    const stream = createReadStream(this.file, { highWaterMark: 1 << 20 });
    let problem: string | undefined;
    try {
      outer: for await (const bytes of stream as AsyncIterable<Buffer>) {
        reader.append(bytes);
        for (;;) {
          let record;
          try {
            record = reader.nextRecord();
          } catch (err) {
            problem = `corrupt record after the last good chunk (${(err as Error).message})`;
            break outer;
          }
          if (!record) break;
          switch (record.type) {
            case "Schema":
              schemas.set(record.id, record.name);
              this.schemaBytes.set(record.name, record.data);
              break;
            case "Channel": {
              const schemaName = schemas.get(record.schemaId) ?? "";
              channels.set(record.id, { topic: record.topic, schemaName });
              this.topicSchemas.set(record.topic, schemaName);
              break;
            }
            case "Metadata":
              this.metadataRecords.set(record.name, record.metadata);
              break;
            case "Message": {
              const channel = channels.get(record.channelId);
              if (!channel || (topics && !topics.has(channel.topic))) break;
              yield {
                topic: channel.topic,
                schemaName: channel.schemaName,
                sequence: record.sequence,
                logTime: record.logTime,
                publishTime: record.publishTime,
                data: record.data,
              };
              break;
            }
          }
        }
      }
      if (!problem && !reader.done()) {
        problem = `truncated: the last ${reader.bytesRemaining()} bytes are an incomplete record (the recorder stopped mid-write); read up to the last complete chunk`;
      }
      this.endState = { complete: !problem && reader.done(), ...(problem ? { problem } : {}) };
    } finally {
      stream.destroy();
    }
  }
}
