/**
 * Turns a recording into a tagged-frame dataset: every (or every n-th) recorded frame becomes an
 * image, with the detections recorded for that frame as pre-tags for a person to correct. Match
 * footage becomes training data: record -> retag -> correct -> train.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import { DEFAULT_CLASSES } from "../core/detection.js";
import { FoveaInputError } from "../core/errors.js";
import { openDatasetWriter } from "../dataset/open-dataset-writer.js";
import type { DatasetFormat, LabelledObject } from "../dataset/tagged-frame.js";
import { decodeDetectionFrame, type DetectionMessage } from "../publish/codec.js";
import { channelSchema } from "./channel-schemas.js";
import { recordingInfo } from "./recording-contents.js";
import { RecordingReader } from "./recording-reader.js";
import { SCHEMA_COMPRESSED_IMAGE, SCHEMA_RAW_IMAGE, TOPIC_DETECTIONS, TOPIC_IMAGE } from "./recording-layout.js";

export interface RetagOptions {
  format: DatasetFormat;
  /** Keep every n-th recorded frame (footage at 30 fps is very redundant). Default 1. */
  every?: number;
  /** Dataset classes. Default: the recording's (its model's), else fovea's default classes. */
  classes?: readonly string[];
  /** Allow a non-empty output folder (the writer removes the files it owns first). */
  overwrite?: boolean;
  /**
   * Only frames that have recorded detections (frames the live pipeline dropped have none; as
   * training data they would claim "nothing here"). Default false: every recorded frame.
   */
  preTaggedOnly?: boolean;
}

export interface RetagResult {
  /** Frames written to the dataset. */
  frames: number;
  /** Of those, frames that had recorded detections (pre-tagged, possibly with zero objects). */
  preTagged: number;
  /** Objects written as pre-tags. */
  objects: number;
  classes: readonly string[];
  /** Why the recording's read stopped early (truncated), if it did. */
  problem?: string;
}

/** Detections wait this many frames for their image (they are written after it; drops leave gaps). */
const PENDING_IMAGES = 64;

export async function retagRecording(file: string, outDir: string, options: RetagOptions): Promise<RetagResult> {
  const every = options.every ?? 1;
  if (!Number.isInteger(every) || every < 1) throw new RangeError(`options.every: expected a positive integer, got ${every}`);
  const reader = await RecordingReader.open(file);
  // The metadata record precedes the first chunk; peek at it for the classes.
  for await (const _ of reader.messages(new Set([TOPIC_IMAGE]))) break;
  const info = recordingInfo(reader);
  const classes = options.classes ?? info.classes ?? [...DEFAULT_CLASSES];
  const known = new Set(classes);
  const writer = await openDatasetWriter(outDir, options.format, classes, {
    overwrite: options.overwrite,
    ...(info.calibration ? { calibration: path.join(outDir, "calibration.json") } : {}),
  });
  if (info.calibration) await writeFile(path.join(outDir, "calibration.json"), JSON.stringify(info.calibration, null, 2) + "\n");

  const result: RetagResult = { frames: 0, preTagged: 0, objects: 0, classes };
  // The recorder writes a frame's image before its detections (the pipeline processes it after
  // capture), so images wait here, by seq, until their detections arrive or they age out.
  const pending = new Map<number, { image: Buffer; ext: string; width: number; height: number }>();
  let imageIndex = 0;

  const flush = async (seq: number, detections: readonly DetectionMessage[] | undefined) => {
    const p = pending.get(seq);
    if (!p) return;
    pending.delete(seq);
    if (!detections && options.preTaggedOnly) return;
    const objects: LabelledObject[] = (detections ?? []).map((d) => {
      if (!known.has(d.label)) {
        throw new FoveaInputError(file, `frame ${seq}: detection label ${JSON.stringify(d.label)} is not one of the classes (${classes.join(", ")}); pass --classes`);
      }
      return { label: d.label, box: clampBox(d.box), ...(d.ground ? { ground: { x: d.ground.x, y: d.ground.y } } : {}) };
    });
    await writer.add({ image: `images/${String(seq).padStart(8, "0")}.${p.ext}`, width: p.width, height: p.height, objects }, p.image);
    result.frames++;
    if (detections) {
      result.preTagged++;
      result.objects += objects.length;
    }
  };

  try {
    for await (const m of reader.messages(new Set([TOPIC_IMAGE, TOPIC_DETECTIONS]))) {
      if (m.topic === TOPIC_IMAGE) {
        if (imageIndex++ % every !== 0) continue;
        pending.set(m.sequence, await datasetImage(m.schemaName, m.data, file, m.sequence));
        if (pending.size > PENDING_IMAGES) await flush(pending.keys().next().value!, undefined);
      } else {
        const d = decodeDetectionFrame(m.data);
        await flush(Number(d.seq), d.detections);
      }
    }
    for (const seq of [...pending.keys()]) await flush(seq, undefined);
  } finally {
    await writer.close();
  }
  if (reader.end?.problem) result.problem = reader.end.problem;
  return result;
}

/** Recorded boxes are clamped to the image (a box reaching past the border is still a tag). */
function clampBox(b: DetectionMessage["box"]): DetectionMessage["box"] {
  const c = (v: number) => Math.min(1, Math.max(0, v));
  return { xMin: c(b.xMin), yMin: c(b.yMin), xMax: c(b.xMax), yMax: c(b.yMax) };
}

/** The recorded image as a dataset image file: JPEG/PNG as recorded, raw frames as PNG. */
async function datasetImage(schemaName: string, data: Uint8Array, file: string, seq: number): Promise<{ image: Buffer; ext: string; width: number; height: number }> {
  if (schemaName === SCHEMA_RAW_IMAGE) {
    const o = channelSchema(SCHEMA_RAW_IMAGE).type.decode(data) as unknown as { width: number; height: number; data: Uint8Array };
    const image = await sharp(Buffer.from(o.data), { raw: { width: o.width, height: o.height, channels: 3 } }).png().toBuffer();
    return { image, ext: "png", width: o.width, height: o.height };
  }
  if (schemaName !== SCHEMA_COMPRESSED_IMAGE) {
    throw new FoveaInputError(file, `${TOPIC_IMAGE} has schema ${JSON.stringify(schemaName)}; expected ${SCHEMA_COMPRESSED_IMAGE} or ${SCHEMA_RAW_IMAGE}`);
  }
  const o = channelSchema(SCHEMA_COMPRESSED_IMAGE).type.decode(data) as unknown as { data: Uint8Array; format: string };
  const image = Buffer.from(o.data);
  const meta = await sharp(image).metadata().catch(() => undefined);
  if (!meta?.width || !meta.height || (meta.format !== "jpeg" && meta.format !== "png")) {
    throw new FoveaInputError(file, `frame ${seq}: image is not a decodable JPEG or PNG (format ${JSON.stringify(o.format)})`);
  }
  return { image, ext: meta.format === "jpeg" ? "jpg" : "png", width: meta.width, height: meta.height };
}
