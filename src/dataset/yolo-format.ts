/**
 * YOLO (darknet) labels: one `.txt` per image, one object per line `class cx cy w h` — class
 * index into the classes file, box centre and size normalised to 0..1 — and a classes file with
 * one name per line (`classes.txt`, `obj.names`, `*.names` or Roboflow's `_darknet.labels`), or
 * an Ultralytics `data.yaml` with `names`, in the root or a first-level folder. When several are
 * present they must agree.
 *
 * Layouts read (those ImageTagger, TORSO-21 and Roboflow produce), also nested in split folders
 * (`train/`, `valid/`, ...):
 *   images/ + labels/   `.../images/a.png` is labelled by `.../labels/a.txt`
 *   same folder         `a.png` is labelled by `a.txt` beside it
 * An image without a label file is a frame with no objects (the darknet/Ultralytics convention
 * for background images). A label file without an image is an error. Image sizes come from the
 * image headers. Ground positions and the calibration cannot be stored in YOLO.
 *
 * The writer uses images/ + labels/ when the frame's image path has an `images` folder, else the
 * same folder, writes `classes.txt` in the root and formats numbers with 6 decimals, so the same
 * frames always give byte-identical label files.
 */
import path from "node:path";
import { parseDocument } from "yaml";
import { FoveaInputError } from "../core/errors.js";
import { isImagePath, listDatasetFiles, prepareOutputDir, withExtension, writeDatasetFile, writeDatasetFileLast } from "./dataset-files.js";
import { classesProblem } from "./frame-checks.js";
import { OrderedDatasetWrites } from "./ordered-writes.js";
import { imageSize, mapLimited } from "./image-size.js";
import { lineColumnAt } from "./json-text.js";
import { readInputFile, type DatasetWriterOptions } from "./native-format.js";
import type { Dataset, DatasetWriter, LabelledObject, TaggedFrame } from "./tagged-frame.js";

export const YOLO_CLASSES_FILE = "classes.txt";
/** Decimals of the normalised numbers the writer prints (1e-6 of 4K is 0.004 px). */
const DECIMALS = 6;
/** Box edges may overshoot 0..1 by this much from rounding in the tool that wrote them; clamped. */
const EDGE_TOLERANCE = 1e-3;

/** Ultralytics / Roboflow YOLOv5+ dataset files whose `names` list the classes. */
const YAML_CLASS_FILES: ReadonlySet<string> = new Set(["data.yaml", "data.yml", "dataset.yaml", "dataset.yml"]);

/** Is this file name a YOLO classes file? */
export function isYoloClassesFile(rel: string): boolean {
  const base = path.posix.basename(rel);
  return base === "classes.txt" || base === "_darknet.labels" || base.endsWith(".names") || YAML_CLASS_FILES.has(base);
}

/** Label file paths that may belong to an image, preferred first: labels/ folder, then beside it. */
export function yoloLabelCandidates(image: string): string[] {
  const parts = image.split("/");
  const i = parts.lastIndexOf("images");
  const beside = withExtension(image, ".txt");
  if (i < 0 || i === parts.length - 1) return [beside];
  const swapped = [...parts];
  swapped[i] = "labels";
  return [withExtension(swapped.join("/"), ".txt"), beside];
}

function formatYoloLine(classIndex: number, o: LabelledObject): string {
  const { xMin, yMin, xMax, yMax } = o.box;
  const nums = [(xMin + xMax) / 2, (yMin + yMax) / 2, xMax - xMin, yMax - yMin].map((v) => v.toFixed(DECIMALS));
  return `${classIndex} ${nums.join(" ")}\n`;
}

export class YoloDatasetWriter implements DatasetWriter {
  private readonly writes: OrderedDatasetWrites;
  /** Written by close(): a folder without its classes file is one whose writer did not finish. */
  private readonly classesText: string;

  private constructor(
    private readonly root: string,
    private readonly classIndex: ReadonlyMap<string, number>,
  ) {
    this.classesText = [...classIndex.keys()].join("\n") + "\n";
    this.writes = new OrderedDatasetWrites("YoloDatasetWriter", new Set(classIndex.keys()), [YOLO_CLASSES_FILE]);
  }

  static async open(dir: string, classes: readonly string[], options: DatasetWriterOptions = {}): Promise<YoloDatasetWriter> {
    const problem = classesProblem(classes);
    if (problem) throw new RangeError(`classes: ${problem}`);
    const root = path.resolve(dir);
    await prepareOutputDir(root, [YOLO_CLASSES_FILE, "images", "labels"], options.overwrite ?? false);
    return new YoloDatasetWriter(root, new Map(classes.map((c, i) => [c, i])));
  }

  async add(frame: TaggedFrame, image: Buffer): Promise<void> {
    const rel = this.writes.accept(frame, image, (r) => [yoloLabelCandidates(r)[0]]);
    const labelRel = yoloLabelCandidates(rel)[0];
    const text = frame.objects.map((o) => formatYoloLine(this.classIndex.get(o.label)!, o)).join("");
    return this.writes.then(async () => {
      await writeDatasetFile(this.root, rel, image, this.writes.madeDirs);
      await writeDatasetFile(this.root, labelRel, text, this.writes.madeDirs);
    });
  }

  async close(): Promise<void> {
    if (await this.writes.close()) await writeDatasetFileLast(this.root, YOLO_CLASSES_FILE, this.classesText);
  }
}

/**
 * The `names` of an Ultralytics data.yaml: a list (`names: [ball, robot]`) or a map from class
 * index to name (`names: {0: ball, 1: robot}`); `nc`, when present, must agree.
 */
function parseYamlNames(text: string, file: string): string[] {
  const doc = parseDocument(text);
  const lineOf = (offset: number | undefined) => (offset === undefined ? file : `${file}:${lineColumnAt(text, offset).line}`);
  if (doc.errors.length > 0)
    throw new FoveaInputError(lineOf(doc.errors[0].pos[0]), `invalid YAML: ${doc.errors[0].message.split("\n")[0]}`);
  const node = doc.get("names", true) as { range?: [number, number, number] } | undefined;
  const where = lineOf(node?.range?.[0]);
  const data = doc.toJS() as { names?: unknown; nc?: unknown } | null;
  const raw = data?.names;
  let names: unknown[];
  if (Array.isArray(raw)) names = raw;
  else if (raw && typeof raw === "object") {
    const entries = Object.entries(raw as Record<string, unknown>);
    entries.forEach(([k], i) => {
      if (String(i) !== k)
        throw new FoveaInputError(where, `names: expected class indices 0..${entries.length - 1} in order, got '${k}' at position ${i}`);
    });
    names = entries.map(([, v]) => v);
  } else throw new FoveaInputError(where, "names: expected a list of class names or a map from class index to name");
  if (names.length === 0) throw new FoveaInputError(where, "names: no class names");
  names.forEach((n, i) => {
    if (typeof n !== "string" || n.trim() === "")
      throw new FoveaInputError(where, `names.${i}: expected a class name, got ${JSON.stringify(n)}`);
  });
  if (data?.nc !== undefined && data.nc !== names.length)
    throw new FoveaInputError(
      lineOf((doc.get("nc", true) as { range?: number[] } | undefined)?.range?.[0]),
      `nc: ${String(data.nc)} but names lists ${names.length} classes`,
    );
  return names.map((n) => (n as string).trim());
}

/** Read and check a classes file: one non-empty name per line, no duplicates. */
async function readClassesFile(file: string): Promise<string[]> {
  if (YAML_CLASS_FILES.has(path.basename(file))) {
    const names = parseYamlNames(await readInputFile(file), file);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) throw new FoveaInputError(file, `names: class '${dup}' appears twice`);
    return names;
  }
  const lines = (await readInputFile(file)).split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1].trim() === "") lines.pop();
  if (lines.length === 0) throw new FoveaInputError(file, "no class names (expected one name per line)");
  const seen = new Map<string, number>();
  return lines.map((l, i) => {
    const name = l.trim();
    if (name === "") throw new FoveaInputError(`${file}:${i + 1}`, "empty class name (expected one name per line)");
    const first = seen.get(name);
    if (first !== undefined) throw new FoveaInputError(`${file}:${i + 1}`, `class '${name}' already named on line ${first}`);
    seen.set(name, i + 1);
    return name;
  });
}

/** Where the classes of a YOLO dataset are: classes files in the root or first-level folders. */
export function findYoloClassesFiles(files: readonly string[]): string[] {
  return files.filter((f) => f.split("/").length <= 2 && isYoloClassesFile(f));
}

/** Parse one label file into objects; every bad line is a FoveaInputError `file:line`. */
export function parseYoloLabels(text: string, file: string, classes: readonly string[]): LabelledObject[] {
  const objects: LabelledObject[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].trim();
    if (raw === "") continue;
    const where = `${file}:${i + 1}`;
    const fields = raw.split(/\s+/);
    if (fields.length !== 5) throw new FoveaInputError(where, `expected 5 fields 'class cx cy w h', got ${fields.length}: '${raw}'`);
    const [cls, ...coords] = fields;
    if (!/^\d+$/.test(cls)) throw new FoveaInputError(where, `class: expected a class index (integer >= 0), got '${cls}'`);
    const classIndex = Number(cls);
    if (classIndex >= classes.length) {
      throw new FoveaInputError(
        where,
        `class: index ${classIndex} is out of range: the classes file names ${classes.length} classes (0..${classes.length - 1})`,
      );
    }
    const names = ["cx", "cy", "w", "h"];
    const v = coords.map((s, k) => {
      const n = Number(s);
      if (s === "" || !Number.isFinite(n)) throw new FoveaInputError(where, `${names[k]}: expected a number, got '${s}'`);
      if (n < 0 || n > 1) throw new FoveaInputError(where, `${names[k]}: expected a normalised coordinate 0..1, got ${s}`);
      return n;
    });
    const [cx, cy, w, h] = v;
    if (w <= 0 || h <= 0) throw new FoveaInputError(where, `w, h: expected a box of positive size, got w=${coords[2]} h=${coords[3]}`);
    const edges = { xMin: cx - w / 2, yMin: cy - h / 2, xMax: cx + w / 2, yMax: cy + h / 2 };
    for (const [k, e] of Object.entries(edges)) {
      if (e < -EDGE_TOLERANCE || e > 1 + EDGE_TOLERANCE)
        throw new FoveaInputError(where, `box ${k} = ${e.toFixed(4)} lies outside the image (0..1): centre ± half size`);
    }
    const clamp = (x: number) => Math.min(1, Math.max(0, x));
    objects.push({
      label: classes[classIndex],
      box: { xMin: clamp(edges.xMin), yMin: clamp(edges.yMin), xMax: clamp(edges.xMax), yMax: clamp(edges.yMax) },
    });
  }
  return objects;
}

/** Read a YOLO dataset (see the layouts above). */
export async function readYoloDataset(dir: string): Promise<Dataset> {
  const root = path.resolve(dir);
  const files = await listDatasetFiles(root);
  const classFiles = findYoloClassesFiles(files);
  if (classFiles.length === 0)
    throw new FoveaInputError(
      root,
      "no YOLO classes file (classes.txt, obj.names, *.names, _darknet.labels or data.yaml) in the folder or its first-level folders",
    );
  const classLists = await Promise.all(classFiles.map((f) => readClassesFile(path.join(root, f))));
  const classes = classLists[0];
  classLists.forEach((list, i) => {
    if (list.join("\n") !== classes.join("\n")) {
      throw new FoveaInputError(
        path.join(root, classFiles[i]),
        `names other classes than ${path.join(root, classFiles[0])} (${list.join(", ")} vs ${classes.join(", ")})`,
      );
    }
  });

  const fileSet = new Set(files);
  const bmp = files.find((f) => /\.bmp$/i.test(f));
  // Not skipped quietly: a BMP is an image the dataset means to include.
  if (bmp)
    throw new FoveaInputError(
      path.join(root, bmp),
      "BMP images cannot be decoded by sharp (libvips); convert them to PNG or JPEG first (e.g. ffmpeg -i a.bmp a.png)",
    );
  const images = files.filter(isImagePath);
  const imageDirs = new Set(images.map((f) => path.posix.dirname(f)));
  const labelOf = new Map<string, string>();
  const claimed = new Map<string, string>();
  for (const img of images) {
    const present = yoloLabelCandidates(img).filter((c) => fileSet.has(c));
    if (present.length > 1) throw new FoveaInputError(path.join(root, img), `two label files: ${present.join(" and ")}; keep one`);
    if (present.length === 1) {
      const other = claimed.get(present[0]);
      if (other)
        throw new FoveaInputError(
          path.join(root, present[0]),
          `labels two images: ${other} and ${img} (same name, different extension); rename one`,
        );
      claimed.set(present[0], img);
      labelOf.set(img, present[0]);
    }
  }
  // Every label file must have its image: a .txt in a labels/ folder or beside images is a label.
  for (const f of files) {
    if (!f.endsWith(".txt") || isYoloClassesFile(f) || claimed.has(f)) continue;
    const dirParts = path.posix.dirname(f).split("/");
    if (!dirParts.includes("labels") && !imageDirs.has(path.posix.dirname(f))) continue;
    const parts = f.split("/");
    const li = parts.lastIndexOf("labels", parts.length - 2);
    const stems = [withExtension(f, "")];
    if (li >= 0) stems.unshift(withExtension([...parts.slice(0, li), "images", ...parts.slice(li + 1)].join("/"), ""));
    throw new FoveaInputError(
      path.join(root, f),
      `label file without an image: looked for ${stems.map((s) => `${s}.png/.jpg/...`).join(" and ")} in ${root}`,
    );
  }

  const frames = await mapLimited(images, 16, async (img): Promise<TaggedFrame> => {
    const { width, height } = await imageSize(path.join(root, img));
    const label = labelOf.get(img);
    const objects = label ? parseYoloLabels(await readInputFile(path.join(root, label)), path.join(root, label), classes) : [];
    return { image: img, width, height, objects };
  });
  if (frames.length === 0) throw new FoveaInputError(root, "no images (.png, .jpg, ...) found");
  return { root, format: "yolo", classes, frames };
}
