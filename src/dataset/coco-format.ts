/**
 * COCO object-detection JSON: `images` ({id, file_name, width, height}), `annotations`
 * ({id, image_id, category_id, bbox: [x, y, w, h] in pixels from the top-left}) and
 * `categories` ({id, name}). Classes are the categories in file order. fovea adds two optional
 * fields other tools ignore: `ground` ({x, y}, metres) on an annotation and `info.calibration`
 * (path relative to the JSON's folder).
 *
 * Read: a `.json` file given directly, or the COCO files found in the folder, `annotations/`
 * or first-level split folders (Roboflow's `train/_annotations.coco.json`); several files are
 * merged when their categories agree. `file_name` is looked up relative to the JSON's folder,
 * then the dataset root, then `images/`; its `width` and `height` must be the image's own (read
 * from its header). Boxes may overshoot the image by up to 1 px (rounding in annotation tools)
 * and are clamped; anything else wrong is a FoveaInputError naming the file, line and field. Segmentations, keypoints and `iscrowd` are not used.
 *
 * Written: `annotations.json` in the root, one image/annotation/category per line (diffable,
 * and the line numbers in error messages point at one object).
 */
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
import { classesProblem } from "./frame-checks.js";
import { imageSize, mapLimited } from "./image-size.js";
import { OrderedDatasetWrites } from "./ordered-writes.js";
import { lineColumnAt, parseJsonText, topLevelArrayElementOffsets } from "./json-text.js";
import { readInputFile, type DatasetWriterOptions } from "./native-format.js";
import type { Dataset, DatasetWriter, TaggedFrame } from "./tagged-frame.js";

export const COCO_FILE = "annotations.json";
/** Pixels a box may overshoot the image before it is an error (annotation-tool rounding). */
const PIXEL_TOLERANCE = 1;

const Id = z.number().int();
const Finite = z.number().refine(Number.isFinite, "expected a finite number");
const CocoSchema = z.object({
  info: z
    .object({ calibration: z.string().min(1).optional() })
    .passthrough()
    .optional(),
  images: z.array(
    z
      .object({ id: Id, file_name: z.string().min(1), width: z.number().int().positive(), height: z.number().int().positive() })
      .passthrough(),
  ),
  annotations: z.array(
    z
      .object({
        id: Id.optional(),
        image_id: Id,
        category_id: Id,
        bbox: z.tuple([Finite, Finite, Finite, Finite]),
        ground: z.object({ x: Finite, y: Finite }).optional(),
      })
      .passthrough(),
  ),
  categories: z.array(z.object({ id: Id, name: z.string().min(1) }).passthrough()).min(1),
});

/** Does this parsed JSON look like a COCO detection file (used by format detection)? */
export function looksLikeCoco(json: unknown): boolean {
  return (
    typeof json === "object" &&
    json !== null &&
    Array.isArray((json as Record<string, unknown>).images) &&
    Array.isArray((json as Record<string, unknown>).annotations)
  );
}

/** Round pixel values so the JSON is short and stable; 1e-4 px is far below any label's accuracy. */
const px = (v: number) => Math.round(v * 1e4) / 1e4;

export class CocoDatasetWriter implements DatasetWriter {
  private readonly images: string[] = [];
  private readonly annotations: string[] = [];
  private readonly writes: OrderedDatasetWrites;

  private constructor(
    private readonly root: string,
    private readonly classes: readonly string[],
    private readonly calibration: string | undefined,
  ) {
    this.writes = new OrderedDatasetWrites("CocoDatasetWriter", new Set(classes), [COCO_FILE]);
  }

  static async open(dir: string, classes: readonly string[], options: DatasetWriterOptions = {}): Promise<CocoDatasetWriter> {
    const problem = classesProblem(classes);
    if (problem) throw new RangeError(`classes: ${problem}`);
    const root = path.resolve(dir);
    await prepareOutputDir(root, [COCO_FILE, "images", CALIBRATION_COPY], options.overwrite ?? false);
    const calibration = options.calibration ? await storeCalibration(root, options.calibration) : undefined;
    return new CocoDatasetWriter(root, [...classes], calibration);
  }

  async add(frame: TaggedFrame, image: Buffer): Promise<void> {
    const rel = this.writes.accept(frame, image);
    const imageId = this.images.length + 1;
    this.images.push(JSON.stringify({ id: imageId, file_name: rel, width: frame.width, height: frame.height }));
    for (const o of frame.objects) {
      const x = px(o.box.xMin * frame.width);
      const y = px(o.box.yMin * frame.height);
      const w = px((o.box.xMax - o.box.xMin) * frame.width);
      const h = px((o.box.yMax - o.box.yMin) * frame.height);
      this.annotations.push(
        JSON.stringify({
          id: this.annotations.length + 1,
          image_id: imageId,
          category_id: this.classes.indexOf(o.label) + 1,
          bbox: [x, y, w, h],
          area: px(w * h),
          iscrowd: 0,
          ...(o.ground ? { ground: { x: o.ground.x, y: o.ground.y } } : {}),
        }),
      );
    }
    return this.writes.then(() => writeDatasetFile(this.root, rel, image, this.writes.madeDirs));
  }

  async close(): Promise<void> {
    if (!(await this.writes.close())) return;
    const info = JSON.stringify({ description: "written by fovea", ...(this.calibration ? { calibration: this.calibration } : {}) });
    const categories = this.classes.map((name, i) => JSON.stringify({ id: i + 1, name, supercategory: "" }));
    const list = (items: string[]) => (items.length ? `[\n    ${items.join(",\n    ")}\n  ]` : "[]");
    const text = `{\n  "info": ${info},\n  "images": ${list(this.images)},\n  "annotations": ${list(this.annotations)},\n  "categories": ${list(categories)}\n}\n`;
    await writeDatasetFileLast(this.root, COCO_FILE, text);
  }
}

/** The COCO files of a dataset folder (or the file itself). */
export async function findCocoFiles(target: string): Promise<string[]> {
  if (target.toLowerCase().endsWith(".json")) return [target];
  const files = await listDatasetFiles(target);
  const candidates = files.filter(
    (f) => f.endsWith(".json") && f.split("/").length <= 2 && path.posix.basename(f) !== "fovea-dataset.json",
  );
  const found: string[] = [];
  for (const f of candidates) {
    const abs = path.join(target, f);
    let json: unknown;
    try {
      json = JSON.parse(await readInputFile(abs));
    } catch {
      // Not JSON at all, so not a COCO file; a COCO file with a syntax error is reported when
      // it is the only candidate (see readCocoDataset).
      if (/coco|annotation|instances/i.test(f)) found.push(abs);
      continue;
    }
    if (looksLikeCoco(json)) found.push(abs);
  }
  return found;
}

interface CocoFileFrames {
  categories: string[];
  frames: Array<TaggedFrame & { abs: string }>;
  calibration?: string;
}

/** Parse one COCO file; images are returned with absolute paths. */
async function readCocoFile(file: string, root: string, rootFiles: ReadonlySet<string>): Promise<CocoFileFrames> {
  const text = await readInputFile(file);
  const json = parseJsonText(text, file);
  const offsets = topLevelArrayElementOffsets(text);
  const lineOf = (key: string, index: number) => {
    const off = offsets.get(key)?.[index];
    return off === undefined ? file : `${file}:${lineColumnAt(text, off).line}`;
  };
  const r = CocoSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    const [key, index] = issue.path;
    const where = typeof key === "string" && typeof index === "number" ? lineOf(key, index) : file;
    throw new FoveaInputError(where, describeIssues([issue]));
  }
  const coco = r.data;
  const jsonDir = path.dirname(file);

  const categoryIndex = new Map<number, number>();
  const names = new Set<string>();
  coco.categories.forEach((c, i) => {
    if (categoryIndex.has(c.id))
      throw new FoveaInputError(lineOf("categories", i), `categories.${i}.id: ${c.id} is used by another category`);
    if (names.has(c.name))
      throw new FoveaInputError(lineOf("categories", i), `categories.${i}.name: '${c.name}' is used by another category`);
    if (/\s/.test(c.name)) throw new FoveaInputError(lineOf("categories", i), `categories.${i}.name: '${c.name}' contains whitespace`);
    categoryIndex.set(c.id, i);
    names.add(c.name);
  });
  const categories = coco.categories.map((c) => c.name);

  const frameOf = new Map<number, TaggedFrame & { abs: string }>();
  const frames: Array<TaggedFrame & { abs: string }> = [];
  coco.images.forEach((img, i) => {
    // Line lookup scans the text: only on the error path.
    const where = () => lineOf("images", i);
    if (frameOf.has(img.id)) throw new FoveaInputError(where(), `images.${i}.id: ${img.id} is used by another image`);
    const tries = [jsonDir, root, path.join(root, "images")].map((d) => path.join(d, img.file_name));
    const abs = tries.find((t) => rootFiles.has(path.relative(root, t).split(path.sep).join("/")));
    if (!abs)
      throw new FoveaInputError(
        where(),
        `images.${i}.file_name: '${img.file_name}' not found (looked in ${[...new Set(tries.map(path.dirname))].join(", ")})`,
      );
    const frame = { image: "", abs, width: img.width, height: img.height, objects: [] };
    frameOf.set(img.id, frame);
    frames.push(frame);
  });
  // The boxes are in pixels of the size written here: one that contradicts the image would scale
  // every box of it wrongly, without any box lying outside. Checked before the boxes, so a box
  // beyond a wrong size is reported as the size it is. Headers only (sharp reads no pixels).
  const actual = await mapLimited(frames, 16, (f) => imageSize(f.abs));
  frames.forEach((f, i) => {
    const { width, height } = actual[i];
    if (width !== f.width || height !== f.height)
      throw new FoveaInputError(
        lineOf("images", i),
        `images.${i}: width x height ${f.width}x${f.height} contradicts the image ${f.abs}, which is ${width}x${height}; expected the image's own size (the boxes are in its pixels)`,
      );
  });

  coco.annotations.forEach((a, i) => {
    const where = () => lineOf("annotations", i);
    const frame = frameOf.get(a.image_id);
    if (!frame) throw new FoveaInputError(where(), `annotations.${i}.image_id: no image has id ${a.image_id}`);
    const ci = categoryIndex.get(a.category_id);
    if (ci === undefined)
      throw new FoveaInputError(
        where(),
        `annotations.${i}.category_id: no category has id ${a.category_id} (ids: ${[...categoryIndex.keys()].join(", ")})`,
      );
    const [x, y, w, h] = a.bbox;
    if (!(w > 0 && h > 0))
      throw new FoveaInputError(where(), `annotations.${i}.bbox: width and height must be > 0, got [${a.bbox.join(", ")}]`);
    const W = frame.width;
    const H = frame.height;
    if (x < -PIXEL_TOLERANCE || y < -PIXEL_TOLERANCE || x + w > W + PIXEL_TOLERANCE || y + h > H + PIXEL_TOLERANCE) {
      throw new FoveaInputError(
        where(),
        `annotations.${i}.bbox: [${a.bbox.join(", ")}] (x, y, w, h in pixels) lies outside the ${W}x${H} image`,
      );
    }
    const clamp = (v: number) => Math.min(1, Math.max(0, v));
    frame.objects.push({
      label: categories[ci],
      box: { xMin: clamp(x / W), yMin: clamp(y / H), xMax: clamp((x + w) / W), yMax: clamp((y + h) / H) },
      ...(a.ground ? { ground: { x: a.ground.x, y: a.ground.y } } : {}),
    });
  });
  const calibration = coco.info?.calibration ? path.resolve(jsonDir, coco.info.calibration) : undefined;
  return { categories, frames, calibration };
}

/** Read a COCO dataset: a `.json` file, or a folder holding one or more COCO files. */
export async function readCocoDataset(target: string): Promise<Dataset> {
  const abs = path.resolve(target);
  const isFile = abs.toLowerCase().endsWith(".json");
  const root = isFile ? path.dirname(abs) : abs;
  const files = await findCocoFiles(abs);
  if (files.length === 0)
    throw new FoveaInputError(
      abs,
      "no COCO JSON file (with 'images', 'annotations' and 'categories') in the folder, annotations/ or first-level folders",
    );
  const rootFiles = new Set(await listDatasetFiles(root));
  const parts = [];
  for (const f of files) parts.push(await readCocoFile(f, root, rootFiles));
  const classes = parts[0].categories;
  const frames: TaggedFrame[] = [];
  const seen = new Map<string, string>();
  parts.forEach((p, i) => {
    if (p.categories.join("\n") !== classes.join("\n")) {
      throw new FoveaInputError(
        files[i],
        `categories (${p.categories.join(", ")}) differ from ${files[0]} (${classes.join(", ")}); read the files separately`,
      );
    }
    for (const f of p.frames) {
      const image = path.relative(root, f.abs).split(path.sep).join("/");
      const other = seen.get(image);
      if (other !== undefined) throw new FoveaInputError(files[i], `image '${image}' is also listed in ${other}`);
      seen.set(image, files[i]);
      frames.push({ image, width: f.width, height: f.height, objects: f.objects });
    }
  });
  const dataset: Dataset = { root, format: "coco", classes, frames };
  const calibration = parts.find((p) => p.calibration)?.calibration;
  if (calibration) dataset.calibration = calibration;
  return dataset;
}
