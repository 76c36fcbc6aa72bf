import { readdir, readFile } from "node:fs/promises";
import { basename, extname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import sharp from "sharp";
import { FoveaInputError } from "../core/errors.js";
import type { Frame, FrameSource, OpenSourceOptions, SourceCounters, SourceEvents, SourceInfo } from "../core/frame.js";
import { epochNowNs } from "../core/clock.js";
import { LatestFrameSlot } from "../core/latest-frame-slot.js";

/** File extensions taken as images; everything else in the folder is ignored. */
export const IMAGE_EXTENSIONS: readonly string[] = [".jpg", ".jpeg", ".png", ".webp"];
const SHARP_FORMATS = new Set(["jpeg", "png", "webp"]);

export interface ImageFolderOptions {
  /** Folder holding the images; they play in name order, numbers compared by value (2 < 10). */
  path: string;
  /** Frames per second when paced. Default 30. */
  fps?: number;
  /**
   * Deliver images as fast as the consumer takes them (pull mode, nothing dropped) instead of on
   * a clock at `fps` (live mode: a slow consumer drops frames, as with a camera). Default false.
   */
  unpaced?: boolean;
  /** Start again with the first image after the last, forever. Default false. */
  loop?: boolean;
  /** Camera identifier in published messages. Default: the folder's name. */
  cameraId?: string;
  /** `onCorrupt` hears of each unreadable image that was skipped. */
  events?: SourceEvents;
}

/**
 * A folder of JPEG/PNG/WebP images as a frame source. Frames are delivered `encoded` (the file's
 * bytes) — sharp decodes them once, in preprocessing. Each image's header is checked with sharp
 * here, so a file that is not an image (or is cut before its dimensions) is skipped and counted
 * instead of failing later; damage further into the pixel data is found by the decoder downstream.
 *
 * Sequence numbers are image positions (continuing across loops), so a skipped image leaves a gap.
 * Paced playback starts its clock when `frames()` is first iterated.
 */
export class ImageFolderSource implements FrameSource {
  readonly info: SourceInfo;
  readonly counters: SourceCounters = { corrupt: 0, reconnects: 0 };
  /** The images, in playback order. */
  readonly files: readonly string[];

  private readonly options: ImageFolderOptions;
  private readonly slot = new LatestFrameSlot<Frame>();
  private readonly stop = new AbortController();
  private producer: Promise<void> | undefined;
  private iterated = false;
  private closed = false;

  /** List the folder; a missing, unreadable or image-less folder is a FoveaInputError naming it. */
  static async open(options: ImageFolderOptions): Promise<ImageFolderSource> {
    if (typeof options.path !== "string" || !options.path) throw new TypeError("path: expected a folder path");
    const fps = options.fps ?? 30;
    if (!Number.isFinite(fps) || fps <= 0) throw new RangeError(`fps: expected a positive number, got ${fps}`);
    let names: string[];
    try {
      const entries = await readdir(options.path, { withFileTypes: true });
      names = entries.filter((e) => e.isFile() && IMAGE_EXTENSIONS.includes(extname(e.name).toLowerCase())).map((e) => e.name);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const problem =
        code === "ENOENT" ? "no such folder" : code === "ENOTDIR" ? "not a folder" : `cannot be listed (${(err as Error).message})`;
      throw new FoveaInputError(options.path, `${problem}; expected a folder of ${IMAGE_EXTENSIONS.join("/")} images`, { cause: err });
    }
    if (names.length === 0) {
      throw new FoveaInputError(options.path, `contains no images (expected ${IMAGE_EXTENSIONS.join(", ")} files)`);
    }
    const collator = new Intl.Collator("en", { numeric: true });
    names.sort(collator.compare);
    return new ImageFolderSource(
      { ...options, fps },
      names.map((n) => join(options.path, n)),
    );
  }

  private constructor(options: ImageFolderOptions, files: string[]) {
    this.options = options;
    this.files = files;
    this.info = {
      description: `dir:${options.path} ${files.length} images${options.unpaced ? " unpaced" : ` @${options.fps}`}${options.loop ? " loop" : ""}`,
      cameraId: options.cameraId ?? basename(options.path),
      fps: options.unpaced ? undefined : options.fps,
      mode: options.unpaced ? "pull" : "live",
    };
  }

  frames(): AsyncIterable<Frame> {
    if (this.iterated) throw new Error(`${this.info.description}: frames() can be iterated only once`);
    this.iterated = true;
    if (this.info.mode === "pull") return this.pull();
    this.producer = this.pace().then(
      () => this.slot.close(),
      (err: unknown) => this.slot.close(this.closed ? undefined : err),
    );
    return this.slot;
  }

  /** Frames overwritten in the paced slot before the consumer took them. */
  get dropped(): number {
    return this.slot.dropped;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stop.abort();
    this.slot.close();
    await this.producer;
  }

  /**
   * Every image once per pass, read and checked, in order; `undefined` stands for a skipped
   * (corrupt) image so that paced playback still spends its time slot. A whole pass without a
   * single readable image is fatal — looping over it would never deliver anything.
   */
  private async *images(): AsyncGenerator<Frame | undefined> {
    for (let pass = 0; ; pass++) {
      let readable = 0;
      for (let i = 0; i < this.files.length; i++) {
        if (this.closed) return;
        const frame = await this.read(this.files[i], pass * this.files.length + i);
        if (frame) readable++;
        yield frame;
      }
      if (readable === 0) throw new FoveaInputError(this.options.path, "none of its images could be read");
      if (!this.options.loop) return;
    }
  }

  private async *pull(): AsyncGenerator<Frame> {
    for await (const frame of this.images()) {
      if (this.closed) return;
      if (frame) yield { ...frame, captureTimeNs: epochNowNs() };
    }
  }

  /** Live playback on an absolute schedule (no drift): image k is due at start + k/fps. */
  private async pace(): Promise<void> {
    const periodMs = 1000 / (this.options.fps as number);
    const start = performance.now();
    let tick = 0;
    // The generator reads each image before its due time, so emission is on time.
    for await (const frame of this.images()) {
      const wait = start + tick++ * periodMs - performance.now();
      if (wait > 0) await sleep(wait, undefined, { signal: this.stop.signal }).catch(() => undefined);
      if (this.closed) return;
      if (frame) this.slot.put({ ...frame, captureTimeNs: epochNowNs() });
    }
  }

  private async read(file: string, seq: number): Promise<Frame | undefined> {
    try {
      const data = await readFile(file);
      const meta = await sharp(data).metadata();
      if (!meta.width || !meta.height || !SHARP_FORMATS.has(meta.format)) {
        throw new Error(`unsupported image format ${meta.format}`);
      }
      return { seq, captureTimeNs: 0n, width: meta.width, height: meta.height, encoding: "encoded", data, origin: file };
    } catch (err) {
      this.counters.corrupt++;
      this.options.events?.onCorrupt?.(`${file}: skipped, not a readable image (${(err as Error).message})`);
      return undefined;
    }
  }
}

/** `--source dir:PATH`. */
export async function openFromSpec(path: string, o: OpenSourceOptions): Promise<ImageFolderSource> {
  return ImageFolderSource.open({ path, fps: o.fps, unpaced: o.unpaced, loop: o.loop, cameraId: o.cameraId, events: o.events });
}
