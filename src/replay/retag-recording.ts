/**
 * Turns a recording into a tagged-frame dataset: every (or every n-th) recorded frame becomes an
 * image, with the detections recorded for that frame as pre-tags for a person to correct. Match
 * footage becomes training data: record -> retag -> correct -> train.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import sharp from "sharp";
import { DEFAULT_CLASSES } from "../core/detection.js";
import { FoveaInputError } from "../core/errors.js";
import { openDatasetWriter } from "../dataset/open-dataset-writer.js";
import type { DatasetFormat, DatasetWriter, LabelledObject } from "../dataset/tagged-frame.js";
import { decodeDetectionFrame, type DetectionMessage } from "../publish/codec.js";
import { channelSchema, SCHEMA_COMPRESSED_IMAGE, SCHEMA_RAW_IMAGE, TOPIC_DETECTIONS, TOPIC_IMAGE } from "../record/recording-format.js";
import { recordingInfo } from "../record/recording-contents.js";
import { RecordingReader } from "../record/recording-reader.js";

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

/** How many images (or DetectionFrames) wait for their partner before they go on alone. */
const PENDING_LIMIT = 64;

interface DatasetImage {
  image: Buffer;
  ext: string;
  width: number;
  height: number;
}

export async function retagRecording(file: string, outDir: string, options: RetagOptions): Promise<RetagResult> {
  const every = options.every ?? 1;
  if (!Number.isInteger(every) || every < 1) throw new RangeError(`options.every: expected a positive integer, got ${every}`);
  const reader = await RecordingReader.open(file);
  // The metadata record precedes the first chunk; peek at it for the classes.
  for await (const _ of reader.messages(new Set([TOPIC_IMAGE]))) break;
  const info = recordingInfo(reader);
  const classes = options.classes ?? info.classes ?? [...DEFAULT_CLASSES];
  const known = new Set(classes);
  // The recorded calibration travels with the dataset (its ground positions refer to it): the
  // writers take a calibration file and keep their own copy, so it goes through a temp file.
  let calibrationDir: string | undefined;
  let writer: DatasetWriter;
  try {
    let calibration: string | undefined;
    if (info.calibration) {
      calibrationDir = await mkdtemp(path.join(tmpdir(), "fovea-retag-"));
      calibration = path.join(calibrationDir, "calibration.json");
      await writeFile(calibration, JSON.stringify(info.calibration, null, 2) + "\n");
    }
    writer = await openDatasetWriter(outDir, options.format, classes, {
      overwrite: options.overwrite,
      ...(calibration ? { calibration } : {}),
    });
  } finally {
    if (calibrationDir) await rm(calibrationDir, { recursive: true, force: true });
  }

  const result: RetagResult = { frames: 0, preTagged: 0, objects: 0, classes };
  // A frame's image and its DetectionFrame may come in either order (the recorder writes what is
  // pending when it gets to it), so each side waits, by seq, for the other or until it ages out.
  const images = new Map<number, DatasetImage>();
  const detectionsBySeq = new Map<number, readonly DetectionMessage[]>();
  let imageIndex = 0;

  const write = async (seq: number, image: DatasetImage, detections: readonly DetectionMessage[] | undefined) => {
    if (!detections && options.preTaggedOnly) return;
    const objects: LabelledObject[] = (detections ?? []).map((d) => {
      if (!known.has(d.label)) {
        throw new FoveaInputError(
          file,
          `frame ${seq}: detection label ${JSON.stringify(d.label)} is not one of the classes (${classes.join(", ")}); pass --classes`,
        );
      }
      return { label: d.label, box: clampBox(d.box), ...(d.ground ? { ground: { x: d.ground.x, y: d.ground.y } } : {}) };
    });
    await writer.add(
      { image: `images/${String(seq).padStart(8, "0")}.${image.ext}`, width: image.width, height: image.height, objects },
      image.image,
    );
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
        const image = await datasetImage(m.schemaName, m.data, file, m.sequence);
        const detections = detectionsBySeq.get(m.sequence);
        if (detections) {
          detectionsBySeq.delete(m.sequence);
          await write(m.sequence, image, detections);
          continue;
        }
        images.set(m.sequence, image);
        if (images.size > PENDING_LIMIT) {
          const [oldest, waiting] = images.entries().next().value!;
          images.delete(oldest);
          await write(oldest, waiting, undefined);
        }
      } else {
        const d = decodeDetectionFrame(m.data);
        const seq = Number(d.seq);
        const image = images.get(seq);
        if (image) {
          images.delete(seq);
          await write(seq, image, d.detections);
          continue;
        }
        detectionsBySeq.set(seq, d.detections);
        if (detectionsBySeq.size > PENDING_LIMIT) detectionsBySeq.delete(detectionsBySeq.keys().next().value!);
      }
    }
    for (const [seq, image] of images) await write(seq, image, undefined);
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
async function datasetImage(schemaName: string, data: Uint8Array, file: string, seq: number): Promise<DatasetImage> {
  if (schemaName === SCHEMA_RAW_IMAGE) {
    const o = channelSchema(SCHEMA_RAW_IMAGE).type.decode(data) as unknown as { width: number; height: number; data: Uint8Array };
    const image = await sharp(Buffer.from(o.data), { raw: { width: o.width, height: o.height, channels: 3 } })
      .png()
      .toBuffer();
    return { image, ext: "png", width: o.width, height: o.height };
  }
  if (schemaName !== SCHEMA_COMPRESSED_IMAGE) {
    throw new FoveaInputError(
      file,
      `${TOPIC_IMAGE} has schema ${JSON.stringify(schemaName)}; expected ${SCHEMA_COMPRESSED_IMAGE} or ${SCHEMA_RAW_IMAGE}`,
    );
  }
  const o = channelSchema(SCHEMA_COMPRESSED_IMAGE).type.decode(data) as unknown as { data: Uint8Array; format: string };
  const image = Buffer.from(o.data);
  const meta = await sharp(image)
    .metadata()
    .catch(() => undefined);
  if (!meta?.width || !meta.height || (meta.format !== "jpeg" && meta.format !== "png")) {
    throw new FoveaInputError(file, `frame ${seq}: image is not a decodable JPEG or PNG (format ${JSON.stringify(o.format)})`);
  }
  return { image, ext: meta.format === "jpeg" ? "jpg" : "png", width: meta.width, height: meta.height };
}
