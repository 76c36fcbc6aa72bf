/**
 * The native tagged-frame format: the one format that keeps everything fovea knows about a frame
 * (classes, normalised boxes, ground positions, the calibration they refer to).
 *
 *   DIR/fovea-dataset.json   {"format": "fovea-dataset", "formatVersion": 1,
 *                             "classes": ["ball", ...], "calibration": "calib.json"?,
 *                             "synth": {"style": "wide", "seed": 11}?}
 *                            `calibration` (optional) is a path relative to DIR of the camera
 *                            calibration the ground positions were computed with (the writer
 *                            copies it into DIR so the dataset is self-contained).
 *                            `synth` (optional): the dataset was rendered by `fovea synth` with
 *                            this appearance style and seed.
 *   DIR/labels.jsonl         one TaggedFrame per line (JSON Lines), in the order written:
 *                            {"image": "images/000000.png", "width": 640, "height": 480,
 *                             "objects": [{"label": "ball",
 *                                          "box": {"xMin": 0.41, "yMin": 0.62, "xMax": 0.47, "yMax": 0.70},
 *                                          "ground": {"x": 2.31, "y": -0.12}}]}
 *                            `image` is relative to DIR; boxes are normalised (0..1, origin
 *                            top-left); `ground` (optional) is metres in the robot frame,
 *                            x forward, y left.
 *   DIR/images/              the images (PNG or JPEG).
 */
import { open, readFile, type FileHandle } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { FoveaInputError, describeIssues } from "../core/errors.js";
import {
  CALIBRATION_COPY,
  listDatasetFiles,
  prepareOutputDir,
  storeCalibration,
  writeDatasetFile,
  writeDatasetFileLast,
} from "./dataset-files.js";
import { boxProblem, classesProblem } from "./frame-checks.js";
import { OrderedDatasetWrites } from "./ordered-writes.js";
import { parseJsonText } from "./json-text.js";
import type { Dataset, DatasetWriter, TaggedFrame } from "./tagged-frame.js";

export const NATIVE_MANIFEST_FILE = "fovea-dataset.json";
export const NATIVE_LABELS_FILE = "labels.jsonl";
export const NATIVE_FORMAT_NAME = "fovea-dataset";
export const NATIVE_FORMAT_VERSION = 1;

export const NativeManifestSchema = z.object({
  format: z.literal(NATIVE_FORMAT_NAME),
  formatVersion: z.literal(NATIVE_FORMAT_VERSION),
  classes: z.array(z.string()).min(1),
  calibration: z.string().min(1).optional(),
  synth: z.object({ style: z.string().min(1), seed: z.number().int().nonnegative() }).optional(),
});
export type NativeManifest = z.infer<typeof NativeManifestSchema>;

const NumberField = z.number().refine(Number.isFinite, "expected a finite number");
const TaggedFrameLineSchema = z.object({
  image: z.string().min(1),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  objects: z.array(
    z.object({
      label: z.string(),
      box: z.object({ xMin: NumberField, yMin: NumberField, xMax: NumberField, yMax: NumberField }),
      ground: z.object({ x: NumberField, y: NumberField }).optional(),
    }),
  ),
  mount: z
    .object({ x: NumberField, y: NumberField, height: NumberField, pitch: NumberField, roll: NumberField, yaw: NumberField })
    .optional(),
});

/** Options of the dataset writers. */
export interface DatasetWriterOptions {
  /**
   * Camera calibration file the ground positions refer to (absolute or relative to the current
   * directory). Native and COCO datasets keep a copy (`calibration.json`) unless the file already
   * lies inside the dataset folder. YOLO ignores it.
   */
  calibration?: string;
  /** Allow a non-empty output folder: the writer first removes the files and folders it owns. */
  overwrite?: boolean;
  /** How `fovea synth` drew the frames (appearance style, seed). Native datasets record it in the manifest; YOLO and COCO ignore it. */
  synth?: { style: string; seed: number };
}

export class NativeDatasetWriter implements DatasetWriter {
  private readonly writes: OrderedDatasetWrites;

  private constructor(
    private readonly root: string,
    classes: ReadonlySet<string>,
    private readonly labels: FileHandle,
    /** Written by close(): a dataset without its manifest is one whose writer did not finish. */
    private readonly manifestText: string,
  ) {
    this.writes = new OrderedDatasetWrites("NativeDatasetWriter", classes);
  }

  static async open(dir: string, classes: readonly string[], options: DatasetWriterOptions = {}): Promise<NativeDatasetWriter> {
    const problem = classesProblem(classes);
    if (problem) throw new RangeError(`classes: ${problem}`);
    const root = path.resolve(dir);
    await prepareOutputDir(root, [NATIVE_MANIFEST_FILE, NATIVE_LABELS_FILE, "images", CALIBRATION_COPY], options.overwrite ?? false);
    const manifest: NativeManifest = { format: NATIVE_FORMAT_NAME, formatVersion: NATIVE_FORMAT_VERSION, classes: [...classes] };
    if (options.calibration) manifest.calibration = await storeCalibration(root, options.calibration);
    if (options.synth) manifest.synth = { style: options.synth.style, seed: options.synth.seed };
    const labels = await open(path.join(root, NATIVE_LABELS_FILE), "w");
    return new NativeDatasetWriter(root, new Set(classes), labels, JSON.stringify(manifest, null, 2) + "\n");
  }

  async add(frame: TaggedFrame, image: Buffer): Promise<void> {
    const rel = this.writes.accept(frame, image);
    const line: TaggedFrame = {
      image: rel,
      width: frame.width,
      height: frame.height,
      objects: frame.objects.map((o) => ({
        label: o.label,
        box: { xMin: o.box.xMin, yMin: o.box.yMin, xMax: o.box.xMax, yMax: o.box.yMax },
        ...(o.ground ? { ground: { x: o.ground.x, y: o.ground.y } } : {}),
      })),
      ...(frame.mount
        ? {
            mount: {
              x: frame.mount.x,
              y: frame.mount.y,
              height: frame.mount.height,
              pitch: frame.mount.pitch,
              roll: frame.mount.roll,
              yaw: frame.mount.yaw,
            },
          }
        : {}),
    };
    const text = JSON.stringify(line) + "\n";
    return this.writes.then(async () => {
      await writeDatasetFile(this.root, rel, image, this.writes.madeDirs);
      await this.labels.write(text);
    });
  }

  async close(): Promise<void> {
    if (!(await this.writes.close())) return;
    await this.labels.close();
    await writeDatasetFileLast(this.root, NATIVE_MANIFEST_FILE, this.manifestText);
  }
}

/** Read a native dataset; every problem is a FoveaInputError naming the file and line. */
export async function readNativeDataset(dir: string): Promise<Dataset> {
  const root = path.resolve(dir);
  const manifestFile = path.join(root, NATIVE_MANIFEST_FILE);
  const manifestJson = parseJsonText(await readInputFile(manifestFile), manifestFile);
  const parsed = NativeManifestSchema.safeParse(manifestJson);
  if (!parsed.success) throw new FoveaInputError(manifestFile, describeIssues(parsed.error.issues));
  const manifest = parsed.data;
  const classProblem = classesProblem(manifest.classes);
  if (classProblem) throw new FoveaInputError(manifestFile, `classes: ${classProblem}`);
  const classes = new Set(manifest.classes);

  const labelsFile = path.join(root, NATIVE_LABELS_FILE);
  const text = await readInputFile(labelsFile);
  const files = new Set(await listDatasetFiles(root));
  const frames: TaggedFrame[] = [];
  const lineOfImage = new Map<string, number>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].trim();
    if (raw.length === 0) continue;
    const lineNo = i + 1;
    const where = `${labelsFile}:${lineNo}`;
    const r = TaggedFrameLineSchema.safeParse(parseJsonText(raw, labelsFile, i));
    if (!r.success) throw new FoveaInputError(where, describeIssues(r.error.issues));
    const frame = r.data;
    const image = path.posix.normalize(frame.image);
    if (image.startsWith("../") || path.posix.isAbsolute(image))
      throw new FoveaInputError(where, `image: expected a path inside ${root}, got '${frame.image}'`);
    if (!files.has(image)) throw new FoveaInputError(where, `image: '${frame.image}' does not exist in ${root}`);
    const earlier = lineOfImage.get(image);
    if (earlier !== undefined) throw new FoveaInputError(where, `image: '${frame.image}' is already labelled on line ${earlier}`);
    lineOfImage.set(image, lineNo);
    frame.objects.forEach((o, j) => {
      if (!classes.has(o.label))
        throw new FoveaInputError(
          where,
          `objects.${j}.label: '${o.label}' is not one of the classes in ${NATIVE_MANIFEST_FILE} (${manifest.classes.join(", ")})`,
        );
      const problem = boxProblem(o.box);
      if (problem) throw new FoveaInputError(where, `objects.${j}.box.${problem}`);
    });
    frames.push({ ...frame, image });
  }
  const dataset: Dataset = { root, format: "native", classes: manifest.classes, frames };
  if (manifest.calibration) dataset.calibration = path.resolve(root, manifest.calibration);
  if (manifest.synth) dataset.synth = manifest.synth;
  return dataset;
}

/** Read a text file a dataset needs; a missing one is bad input, named. */
export async function readInputFile(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new FoveaInputError(file, code === "ENOENT" ? "file not found" : `cannot read: ${(err as Error).message}`, { cause: err });
  }
}
