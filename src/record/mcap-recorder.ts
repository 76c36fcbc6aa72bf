/**
 * Records a run to an MCAP file that opens in Foxglove: camera frames, the boxes drawn over them,
 * the calibration, fovea's DetectionFrames and Status messages, and the model id.
 *
 * Latency is the product, so the recorder costs the frame loop a pointer store: observer calls
 * put the frame into a single latest-wins slot (small messages into a short bounded queue) and
 * return. A writer task, off the hot path, JPEG-encodes with sharp (on libuv's thread pool) and
 * appends to the file. When it cannot keep up, the frame waiting in the slot is replaced by the
 * newer one and counted in `recordingDropped`; the loop never waits for the disk. What does run
 * on the main thread between frames is @mcap/core's chunk building and CRCs (JavaScript): small
 * for JPEG, a few milliseconds per frame for raw 640x480 (scripts/bench-record.ts).
 *
 * Crash safety: messages go into small chunks (`chunkBytes`, default 1 MiB: about a second of
 * 640x480 JPEG at 30 fps); every complete chunk is a self-contained, CRC-checked record, so a
 * recording cut off by a crash reads back up to its last complete chunk (see RecordingReader).
 */
import sharp from "sharp";
import { McapWriter } from "@mcap/core";
import type { Calibration } from "../calib/calibration.js";
import type { Detection } from "../core/detection.js";
import type { Frame } from "../core/frame.js";
import type { Logger } from "../core/log.js";
import type { PipelineCounters, PipelineObserver, PipelineState, ProcessedFrame } from "../core/pipeline-types.js";
import {
  channelSchema,
  timestampOf,
  type ChannelSchema,
  RECORDING_LIBRARY,
  RECORDING_METADATA_NAME,
  RECORDING_PROFILE,
  SCHEMA_CAMERA_CALIBRATION,
  SCHEMA_COMPRESSED_IMAGE,
  SCHEMA_DETECTION_FRAME,
  SCHEMA_IMAGE_ANNOTATIONS,
  SCHEMA_RAW_IMAGE,
  SCHEMA_STATUS,
  TOPIC_ANNOTATIONS,
  TOPIC_CALIBRATION,
  TOPIC_DETECTIONS,
  TOPIC_IMAGE,
  TOPIC_STATUS,
} from "./recording-format.js";
import { FileWritable } from "./file-writable.js";
import { cameraCalibrationMessage, compressedImageMessage, imageAnnotationsMessage } from "./foxglove-messages.js";

export interface McapRecorderOptions {
  /** Replace an existing file. Without it an existing file is an error naming `forceFlag`. */
  force?: boolean;
  /** How the CLI spells `force`, for the error message. Default `--force`. */
  forceFlag?: string;
  /** Written to `/camera/calibration` (scaled to the frame size) and to the metadata record. */
  calibration?: Calibration;
  /** Model that produced the detections; empty for a capture-only recording. */
  modelId: string;
  /** The model's class names, in order (metadata; `fovea retag` uses them as dataset classes). */
  classes?: readonly string[];
  /** Camera identifier: the images' `frame_id` and the metadata. */
  cameraId: string;
  /**
   * `jpeg`: `/camera/image` is `foxglove.CompressedImage` (encoded frames that already are JPEG
   * or PNG are stored as they came). `raw`: `foxglove.RawImage` rgb8, lossless and ~10x larger.
   */
  imageEncoding: "jpeg" | "raw";
  /** JPEG quality 1..100 (default 85). */
  jpegQuality?: number;
  /** Chunk size in bytes: what a crash can lose at most (default 1 MiB). */
  chunkBytes?: number;
  /**
   * Flush written data to the disk (fdatasync) at most this often, milliseconds (default 1000;
   * 0: never). A process crash loses nothing the OS has; a power loss loses what it had not
   * flushed. The writer task waits for the flush (frames arriving meanwhile are dropped and
   * counted); the frame loop does not.
   */
  syncIntervalMs?: number;
  /** Source description for the metadata record. */
  source?: string;
  logger?: Logger;
}

/** What annotations need of a frame: not its pixels, which a queued message must not keep alive. */
interface FrameRef {
  seq: number;
  width: number;
  height: number;
  captureTimeNs: bigint;
}

/** A small message waiting for the writer. */
type Pending =
  | { kind: "processed"; frame: FrameRef; detections: readonly Detection[]; message: Uint8Array; publishTimeNs: bigint }
  | { kind: "status"; message: Uint8Array; timeNs: bigint };

/** Small messages (detections, status) that may wait for the writer; more are dropped and counted. */
const MESSAGE_QUEUE_LIMIT = 256;

export class McapRecorder implements PipelineObserver {
  private slot: Frame | undefined;
  private queue: Pending[] = [];
  private writing: Promise<void> | undefined;
  private closing = false;
  private closed: Promise<void> | undefined;
  private failure: Error | undefined;
  private recordingDroppedCount = 0;
  private messagesDroppedCount = 0;
  private framesWrittenCount = 0;
  private lastCalibrationSize = "";
  private lastSyncMs = performance.now();
  private syncUnsupported = false;
  private readonly jpegQuality: number;

  private constructor(
    /** The recording's path. */
    readonly file: string,
    private readonly writable: FileWritable,
    private readonly writer: McapWriter,
    private readonly channels: Record<"image" | "annotations" | "calibration" | "detections" | "status", number>,
    private readonly options: McapRecorderOptions,
  ) {
    this.jpegQuality = options.jpegQuality ?? 85;
  }

  /** Create the file (refusing to overwrite without `force`), register channels, write metadata. */
  static async create(file: string, options: McapRecorderOptions): Promise<McapRecorder> {
    if (typeof file !== "string" || file.length === 0) throw new TypeError("McapRecorder.create: file must be a non-empty path");
    if (options.imageEncoding !== "jpeg" && options.imageEncoding !== "raw") {
      throw new TypeError(
        `McapRecorder.create: options.imageEncoding must be "jpeg" or "raw", got ${JSON.stringify(options.imageEncoding)}`,
      );
    }
    const q = options.jpegQuality;
    if (q !== undefined && !(Number.isInteger(q) && q >= 1 && q <= 100)) {
      throw new RangeError(`McapRecorder.create: options.jpegQuality must be an integer 1..100, got ${q}`);
    }
    const chunkBytes = options.chunkBytes ?? 1024 * 1024;
    if (!(Number.isInteger(chunkBytes) && chunkBytes >= 1024)) {
      throw new RangeError(`McapRecorder.create: options.chunkBytes must be an integer >= 1024, got ${chunkBytes}`);
    }
    const sync = options.syncIntervalMs;
    if (sync !== undefined && !(Number.isFinite(sync) && sync >= 0)) {
      throw new RangeError(`McapRecorder.create: options.syncIntervalMs must be a number >= 0, got ${sync}`);
    }
    const writable = await FileWritable.create(file, { force: options.force, forceFlag: options.forceFlag });
    try {
      // Uncompressed chunks: lz4/zstd would need native or wasm codecs the project does not
      // carry, and JPEG payloads do not compress anyway.
      const writer = new McapWriter({ writable, chunkSize: chunkBytes });
      await writer.start({ profile: RECORDING_PROFILE, library: RECORDING_LIBRARY });
      const register = async (topic: string, schema: ChannelSchema): Promise<number> => {
        const schemaId = await writer.registerSchema({ name: schema.name, encoding: schema.encoding, data: schema.data });
        return writer.registerChannel({ topic, schemaId, messageEncoding: "protobuf", metadata: new Map() });
      };
      const channels = {
        image: await register(TOPIC_IMAGE, channelSchema(options.imageEncoding === "raw" ? SCHEMA_RAW_IMAGE : SCHEMA_COMPRESSED_IMAGE)),
        annotations: await register(TOPIC_ANNOTATIONS, channelSchema(SCHEMA_IMAGE_ANNOTATIONS)),
        calibration: await register(TOPIC_CALIBRATION, channelSchema(SCHEMA_CAMERA_CALIBRATION)),
        detections: await register(TOPIC_DETECTIONS, channelSchema(SCHEMA_DETECTION_FRAME)),
        status: await register(TOPIC_STATUS, channelSchema(SCHEMA_STATUS)),
      };
      const metadata = new Map<string, string>([
        ["modelId", options.modelId],
        ["cameraId", options.cameraId],
        ["imageEncoding", options.imageEncoding],
        ["startedAt", new Date().toISOString()],
      ]);
      if (options.source) metadata.set("source", options.source);
      if (options.classes) metadata.set("classes", JSON.stringify(options.classes));
      if (options.calibration) metadata.set("calibration", JSON.stringify(options.calibration));
      await writer.addMetadata({ name: RECORDING_METADATA_NAME, metadata });
      return new McapRecorder(file, writable, writer, channels, options);
    } catch (err) {
      await writable.close();
      throw new Error(`${file}: cannot write the recording (${(err as Error).message})`, { cause: err });
    }
  }

  /** Frames the recorder could not keep up with (or could not write after a write error). */
  get recordingDropped(): number {
    return this.recordingDroppedCount;
  }

  /** Detection/status messages dropped because the writer fell behind. */
  get messagesDropped(): number {
    return this.messagesDroppedCount;
  }

  /** Frames written to the file so far. */
  get framesWritten(): number {
    return this.framesWrittenCount;
  }

  /** The write error that stopped the recording, if any (the run goes on without recording). */
  get error(): Error | undefined {
    return this.failure;
  }

  onSourceFrame(frame: Frame): void {
    if (this.closing || this.failure) {
      this.recordingDroppedCount++;
      return;
    }
    // Frames are immutable once a source delivers them (the pipeline's own latest-frame slot
    // relies on the same), so the slot keeps a reference rather than a copy.
    if (this.slot) this.recordingDroppedCount++;
    this.slot = frame;
    this.kick();
  }

  onProcessed(p: ProcessedFrame): void {
    const { seq, width, height, captureTimeNs } = p.frame;
    this.enqueue({
      kind: "processed",
      frame: { seq, width, height, captureTimeNs },
      detections: p.detections.slice(),
      message: p.message,
      publishTimeNs: p.publishTimeNs,
    });
  }

  onStatus(status: { state: PipelineState; counters: PipelineCounters; message: Uint8Array; timeNs: bigint }): void {
    this.enqueue({ kind: "status", message: status.message, timeNs: status.timeNs });
  }

  /**
   * Resolves when everything handed over so far is written (or the recording failed). For pull
   * sources that must record every frame; the live frame loop never waits for it.
   */
  async whenIdle(): Promise<void> {
    while (this.writing) await this.writing;
  }

  /** Write what is pending, finish the file (summary and index) and close it. Idempotent. */
  close(): Promise<void> {
    this.closed ??= this.finish();
    return this.closed;
  }

  private enqueue(item: Pending): void {
    if (this.closing || this.failure) return;
    if (this.queue.length >= MESSAGE_QUEUE_LIMIT) {
      this.queue.shift();
      this.messagesDroppedCount++;
    }
    this.queue.push(item);
    this.kick();
  }

  private kick(): void {
    // setImmediate: even the writer's synchronous part (chunk building) runs after the observer
    // call has returned to the frame loop.
    this.writing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.drain());
  }

  private async drain(): Promise<void> {
    try {
      while (!this.failure) {
        const item = this.queue.shift();
        if (item) {
          await this.writeSmall(item);
          continue;
        }
        const frame = this.slot;
        if (!frame) break;
        this.slot = undefined;
        await this.writeFrame(frame);
        const every = this.options.syncIntervalMs ?? 1000;
        if (every > 0 && !this.syncUnsupported && performance.now() - this.lastSyncMs >= every) {
          this.lastSyncMs = performance.now();
          // A pipe or device cannot be synced (EINVAL); that costs durability, not the recording.
          await this.writable.sync().catch((err: unknown) => {
            this.syncUnsupported = true;
            this.options.logger?.warn(
              { err, file: this.file },
              "recording cannot be flushed to disk (fdatasync failed); continuing without",
            );
          });
        }
      }
    } catch (err) {
      this.failure = err instanceof Error ? err : new Error(String(err));
      if (this.slot) this.recordingDroppedCount++;
      this.slot = undefined;
      this.queue = [];
      this.options.logger?.error({ err: this.failure, file: this.file }, "recording stopped: write failed");
    } finally {
      this.writing = undefined;
    }
  }

  private async writeFrame(frame: Frame): Promise<void> {
    const logTime = frame.captureTimeNs;
    const size = `${frame.width}x${frame.height}`;
    if (this.options.calibration && size !== this.lastCalibrationSize) {
      this.lastCalibrationSize = size;
      await this.writer.addMessage({
        channelId: this.channels.calibration,
        sequence: 0,
        logTime,
        publishTime: logTime,
        data: cameraCalibrationMessage(this.options.calibration, frame, this.options.cameraId),
      });
    }
    const data =
      this.options.imageEncoding === "raw"
        ? await this.rawImage(frame)
        : await compressedImageMessage(frame, this.options.cameraId, this.jpegQuality);
    await this.writer.addMessage({
      channelId: this.channels.image,
      // MCAP's per-message sequence carries the source frame number (replay restores it).
      sequence: frame.seq >>> 0,
      logTime,
      publishTime: logTime,
      data,
    });
    this.framesWrittenCount++;
  }

  private async rawImage(frame: Frame): Promise<Uint8Array> {
    const data = frame.encoding === "rgb24" ? frame.data : await sharp(frame.data).removeAlpha().toColourspace("srgb").raw().toBuffer();
    return channelSchema(SCHEMA_RAW_IMAGE)
      .type.encode({
        timestamp: timestampOf(frame.captureTimeNs),
        frame_id: this.options.cameraId,
        width: frame.width,
        height: frame.height,
        encoding: "rgb8",
        step: frame.width * 3,
        data,
      })
      .finish();
  }

  private async writeSmall(item: Pending): Promise<void> {
    if (item.kind === "status") {
      await this.writer.addMessage({
        channelId: this.channels.status,
        sequence: 0,
        logTime: item.timeNs,
        publishTime: item.timeNs,
        data: item.message,
      });
      return;
    }
    const { frame } = item;
    const sequence = frame.seq >>> 0;
    // Annotations are stamped with the capture time: Foxglove pairs them with the image by it.
    await this.writer.addMessage({
      channelId: this.channels.annotations,
      sequence,
      logTime: frame.captureTimeNs,
      publishTime: item.publishTimeNs,
      data: imageAnnotationsMessage(item.detections, frame),
    });
    await this.writer.addMessage({
      channelId: this.channels.detections,
      sequence,
      logTime: item.publishTimeNs,
      publishTime: item.publishTimeNs,
      data: item.message,
    });
  }

  private async finish(): Promise<void> {
    this.closing = true;
    await this.whenIdle();
    try {
      if (!this.failure) await this.writer.end();
    } catch (err) {
      this.failure ??= err instanceof Error ? err : new Error(String(err));
    } finally {
      await this.writable.close();
    }
    if (this.failure) this.options.logger?.error({ err: this.failure, file: this.file }, "recording incomplete");
  }
}
