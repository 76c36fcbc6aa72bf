/**
 * Replays the camera frames of a fovea MCAP recording (`/camera/image`) as a FrameSource, with the
 * recorded sequence numbers and capture times, so a match can be re-run through another model and
 * its detections compared frame by frame with the recorded ones.
 */
import { setTimeout as sleep } from "node:timers/promises";
import sharp from "sharp";
import { FoveaInputError } from "../core/errors.js";
import type { Frame, FrameSource, OpenSourceOptions, SourceCounters, SourceEvents, SourceInfo } from "../core/frame.js";
import type { Logger } from "../core/log.js";
import {
  channelSchema,
  type ChannelSchema,
  RECORDING_METADATA_NAME,
  SCHEMA_COMPRESSED_IMAGE,
  SCHEMA_RAW_IMAGE,
  TOPIC_IMAGE,
} from "../record/recording-format.js";
import { RecordingReader, type RecordingMessage } from "../record/recording-reader.js";

export interface McapSourceOptions {
  /**
   * Deliver frames as fast as the consumer takes them (pull mode, nothing dropped) instead of at
   * the recorded pace (live mode: a slow consumer drops frames, as on the robot). Default false.
   */
  unpaced?: boolean;
  /**
   * Start again from the beginning at the end, forever. Later passes continue the sequence
   * numbers and capture times (shifted by a pass's span) so they stay monotonic. Default false.
   */
  loop?: boolean;
  /** Camera identifier in published messages. Default: the recording's, else the file name. */
  cameraId?: string;
  events?: SourceEvents;
  logger?: Logger;
}

const IMAGE_TOPICS = new Set([TOPIC_IMAGE]);
/**
 * Frames read at open for the recorded frame rate: the median of their intervals. Two frames are
 * not enough: a camera's first interval is often its start-up, and a recorder that dropped a
 * frame leaves a double interval.
 */
const RATE_SAMPLE_FRAMES = 31;

export class McapSource implements FrameSource {
  readonly counters: SourceCounters = { corrupt: 0, reconnects: 0 };
  private readonly abort = new AbortController();
  private iterating = false;

  private constructor(
    readonly info: SourceInfo,
    private readonly reader: RecordingReader,
    private readonly options: McapSourceOptions,
  ) {}

  /** The recording's path. */
  get file(): string {
    return this.reader.file;
  }

  /** The recording was cut off (no footer): it plays up to its last complete chunk. */
  get truncated(): boolean {
    return !this.reader.endsCleanly;
  }

  /**
   * Open a recording. Not an MCAP file, no `/camera/image` channel, an image schema fovea cannot
   * decode, or no readable frame: a FoveaInputError naming the file and what is wrong.
   */
  static async open(file: string, options: McapSourceOptions = {}): Promise<McapSource> {
    const reader = await RecordingReader.open(file);
    // The first frames give the image size, the schema and the recorded frame rate.
    let firstMessage: RecordingMessage | undefined;
    const logTimes: bigint[] = [];
    for await (const m of reader.messages(IMAGE_TOPICS)) {
      firstMessage ??= m;
      logTimes.push(m.logTime);
      if (logTimes.length === RATE_SAMPLE_FRAMES) break;
    }
    if (!firstMessage) {
      if (!reader.topics.has(TOPIC_IMAGE)) {
        const found = [...reader.topics.keys()];
        const why = reader.end?.problem ? ` (${reader.end.problem})` : "";
        throw new FoveaInputError(
          file,
          `has no ${TOPIC_IMAGE} channel${why}; found ${found.length ? found.join(", ") : "no channels"}. Expected a recording made by \`fovea record\` or \`fovea run --record\``,
        );
      }
      throw new FoveaInputError(file, `has no readable frame on ${TOPIC_IMAGE}${reader.end?.problem ? ` (${reader.end.problem})` : ""}`);
    }
    const schemaName = firstMessage.schemaName;
    if (schemaName !== SCHEMA_COMPRESSED_IMAGE && schemaName !== SCHEMA_RAW_IMAGE) {
      throw new FoveaInputError(
        file,
        `${TOPIC_IMAGE} has schema ${JSON.stringify(schemaName)}; expected ${SCHEMA_COMPRESSED_IMAGE} or ${SCHEMA_RAW_IMAGE}`,
      );
    }
    const first = await decodeImage(firstMessage, channelSchema(schemaName), file);
    const fps = recordedRate(logTimes);
    const recorded = reader.metadata.get(RECORDING_METADATA_NAME);
    const cameraId = options.cameraId ?? (recorded?.get("cameraId") || file.split(/[\\/]/).pop()!);
    const truncated = !reader.endsCleanly;
    if (truncated)
      options.logger?.warn({ file }, "recording is truncated (the recorder stopped mid-write): replaying up to its last complete chunk");
    const info: SourceInfo = {
      description: `mcap:${file} ${first.width}x${first.height}${fps ? `@${fps.toFixed(1)}` : ""}${truncated ? " (truncated: plays up to the last complete chunk)" : ""}`,
      cameraId,
      ...(fps ? { fps } : {}),
      mode: options.unpaced ? "pull" : "live",
      recordedTimes: true,
    };
    return new McapSource(info, reader, options);
  }

  frames(): AsyncIterable<Frame> {
    if (this.iterating) throw new Error(`McapSource(${this.file}): frames() can be iterated once`);
    this.iterating = true;
    return this.generateFrames();
  }

  async close(): Promise<void> {
    this.abort.abort();
  }

  private async *generateFrames(): AsyncGenerator<Frame> {
    const signal = this.abort.signal;
    let seqOffset = 0;
    let timeOffsetNs = 0n;
    // Paced replay: frame i is due at wall time start + (logTime_i - logTime_0).
    let startMs: number | undefined;
    let firstLogTime: bigint | undefined;
    for (let pass = 0; !signal.aborted; pass++) {
      let maxSeq = -1;
      let lastLogTime: bigint | undefined;
      let passFirstLogTime: bigint | undefined;
      let frameIntervalNs = 0n;
      for await (const m of this.reader.messages(IMAGE_TOPICS)) {
        if (signal.aborted) return;
        let frame: Frame;
        try {
          frame = await decodeImage(m, channelSchema(m.schemaName), this.file);
        } catch (err) {
          this.counters.corrupt++;
          this.options.events?.onCorrupt?.((err as Error).message);
          continue;
        }
        if (lastLogTime !== undefined && m.logTime > lastLogTime) frameIntervalNs = m.logTime - lastLogTime;
        passFirstLogTime ??= m.logTime;
        lastLogTime = m.logTime;
        maxSeq = Math.max(maxSeq, frame.seq);
        const captureTimeNs = frame.captureTimeNs + timeOffsetNs;
        if (!this.options.unpaced) {
          startMs ??= performance.now();
          firstLogTime ??= captureTimeNs;
          const waitMs = startMs + Number(captureTimeNs - firstLogTime) / 1e6 - performance.now();
          if (waitMs > 0) {
            try {
              await sleep(waitMs, undefined, { signal });
            } catch {
              return; // closed while waiting
            }
          }
        }
        yield { ...frame, seq: frame.seq + seqOffset, captureTimeNs };
      }
      const end = this.reader.end;
      if (end?.problem) {
        this.counters.corrupt++;
        this.options.events?.onCorrupt?.(`${this.file}: ${end.problem}`);
        this.options.logger?.warn({ file: this.file, problem: end.problem }, "recording replay stopped early");
      }
      if (!this.options.loop || lastLogTime === undefined || passFirstLogTime === undefined) return;
      seqOffset += maxSeq + 1;
      timeOffsetNs += lastLogTime - passFirstLogTime + (frameIntervalNs || 1n);
    }
  }
}

/** Frames per second from recorded capture times: the median interval, or undefined without one. */
export function recordedRate(logTimes: readonly bigint[]): number | undefined {
  const intervals: bigint[] = [];
  for (let i = 1; i < logTimes.length; i++) if (logTimes[i] > logTimes[i - 1]) intervals.push(logTimes[i] - logTimes[i - 1]);
  if (intervals.length === 0) return undefined;
  intervals.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const mid = intervals.length >> 1;
  const median = intervals.length % 2 ? Number(intervals[mid]) : (Number(intervals[mid - 1]) + Number(intervals[mid])) / 2;
  return 1e9 / median;
}

/**
 * A recorded image message as a Frame (encoded JPEG/PNG as recorded, or rgb24 from RawImage).
 * Throws a FoveaInputError naming the file and the frame.
 */
async function decodeImage(m: RecordingMessage, schema: ChannelSchema, file: string): Promise<Frame> {
  try {
    return await decodeImageMessage(m, schema, file);
  } catch (err) {
    if (err instanceof FoveaInputError) throw err;
    throw new FoveaInputError(`${file}: frame ${m.sequence}`, `expected a decodable ${schema.name} message: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

async function decodeImageMessage(m: RecordingMessage, schema: ChannelSchema, file: string): Promise<Frame> {
  const where = `${file}: frame ${m.sequence}`;
  const o = schema.type.decode(m.data) as unknown as Record<string, unknown>;
  const data = Buffer.from((o.data as Uint8Array).buffer, (o.data as Uint8Array).byteOffset, (o.data as Uint8Array).byteLength);
  const base = { seq: m.sequence, captureTimeNs: m.logTime, origin: `${file}#${m.sequence}` };
  if (schema.name === SCHEMA_RAW_IMAGE) {
    const width = o.width as number;
    const height = o.height as number;
    if (o.encoding !== "rgb8" || (o.step as number) !== width * 3 || data.length !== width * height * 3) {
      throw new FoveaInputError(
        where,
        `expected a RawImage in rgb8 with step = width*3, got ${String(o.encoding)}, ${width}x${height}, step ${String(o.step)}, ${data.length} bytes`,
      );
    }
    return { ...base, width, height, encoding: "rgb24", data };
  }
  const meta = await sharp(data).metadata();
  if (!meta.width || !meta.height) throw new FoveaInputError(where, `expected a ${String(o.format)} image with a size, sharp found none`);
  return { ...base, width: meta.width, height: meta.height, encoding: "encoded", data };
}

/** `--source mcap:PATH`. */
export async function openFromSpec(path: string, o: OpenSourceOptions): Promise<McapSource> {
  return McapSource.open(path, { unpaced: o.unpaced, loop: o.loop, cameraId: o.cameraId, events: o.events });
}
