/**
 * File-system conventions shared by the dataset readers and writers: which files are images,
 * how a dataset's files are listed, and where a writer may put a frame's files.
 */
import { copyFile, mkdir, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { FoveaInputError } from "../core/errors.js";

/** Image files the readers recognise (what sharp decodes). Lower-case, with the dot. */
export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set([".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff"]);

export function isImagePath(p: string): boolean {
  return IMAGE_EXTENSIONS.has(path.extname(p).toLowerCase());
}

/** Replace a path's extension (`images/a.png` -> `images/a.txt`). */
export function withExtension(p: string, ext: string): string {
  const parsed = path.posix.parse(p);
  return path.posix.join(parsed.dir, parsed.name + ext);
}

/**
 * All regular files below `root`, as sorted POSIX paths relative to it. Hidden entries
 * (`.git`, `.DS_Store`) are not part of a dataset and are left out.
 */
export async function listDatasetFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  const files: string[] = [];
  for (const e of entries) {
    if (!e.isFile()) continue;
    // `parentPath` arrived in Node 20.12; `path` is its older name (package.json allows 20.9).
    const parent = (e as { parentPath?: string }).parentPath ?? (e as unknown as { path: string }).path;
    const rel = path.relative(root, path.join(parent, e.name)).split(path.sep).join("/");
    if (rel.split("/").some((part) => part.startsWith("."))) continue;
    files.push(rel);
  }
  return files.sort();
}

/**
 * Check a frame's relative image path before a writer touches the disk: it must stay inside the
 * dataset root and name an image file.
 */
export function checkRelativeImagePath(image: unknown, where: string): string {
  if (typeof image !== "string" || image.length === 0)
    throw new TypeError(`${where}: expected a non-empty relative path, got ${JSON.stringify(image)}`);
  const norm = path.posix.normalize(image.split(path.sep).join("/"));
  if (path.posix.isAbsolute(norm) || norm === ".." || norm.startsWith("../")) {
    throw new RangeError(`${where}: expected a path inside the dataset root, got '${image}'`);
  }
  if (!isImagePath(norm)) {
    throw new RangeError(`${where}: expected an image file name ending in ${[...IMAGE_EXTENSIONS].join(", ")}, got '${image}'`);
  }
  return norm;
}

/**
 * Write a file below `root`, creating its folders. A writer passes its own `madeDirs` so each
 * folder is created once, not once per frame (a mkdir per file halves the write rate).
 */
export async function writeDatasetFile(root: string, rel: string, data: Buffer | string, madeDirs?: Set<string>): Promise<void> {
  const abs = path.join(root, rel);
  const dir = path.dirname(abs);
  if (!madeDirs?.has(dir)) {
    await mkdir(dir, { recursive: true });
    madeDirs?.add(dir);
  }
  await writeFile(abs, data);
}

/**
 * Write the file that marks a dataset finished (manifest, classes file, COCO annotations), the
 * last one a writer writes: into a hidden file beside it, then renamed into place, so a writer
 * stopped mid-write (killed, power lost) never leaves a cut-off marker that reads as finished.
 */
export async function writeDatasetFileLast(root: string, rel: string, data: Buffer | string): Promise<void> {
  const abs = path.join(root, rel);
  const partial = path.join(path.dirname(abs), `.${path.basename(abs)}.partial`);
  await mkdir(path.dirname(abs), { recursive: true });
  await writeFile(partial, data);
  await rename(partial, abs);
}

/**
 * Prepare an output folder: create it, and refuse to mix a new dataset into an old one unless
 * `overwrite` is set — then only the paths a writer owns (`owned`) are removed, nothing else.
 */
export async function prepareOutputDir(root: string, owned: readonly string[], overwrite: boolean): Promise<void> {
  await mkdir(root, { recursive: true });
  const present = (await readdir(root)).filter((n) => !n.startsWith("."));
  if (present.length === 0) return;
  if (!overwrite) {
    // Bad input rather than a caller's bug: the folder is whatever the user named (`--out`).
    throw new FoveaInputError(
      root,
      `is not empty (${present.slice(0, 3).join(", ")}${present.length > 3 ? ", ..." : ""}); choose a new folder, or overwrite (the writer then replaces only its own files)`,
    );
  }
  for (const name of owned) await rm(path.join(root, name), { recursive: true, force: true });
}

/** Name under which a writer keeps a copy of the calibration inside the dataset. */
export const CALIBRATION_COPY = "calibration.json";

/**
 * Make the calibration part of the dataset and return its path relative to `root`: a file
 * already inside the dataset is referenced, any other is copied in as `calibration.json`, so the
 * dataset stays valid when it is moved or copied to another machine.
 */
export async function storeCalibration(root: string, file: string): Promise<string> {
  const abs = path.resolve(file);
  const st = await stat(abs).catch(() => undefined);
  if (!st?.isFile()) throw new RangeError(`options.calibration: '${file}' is not a file`);
  const rel = path.relative(root, abs);
  if (!rel.startsWith("..") && !path.isAbsolute(rel)) return rel.split(path.sep).join("/");
  await copyFile(abs, path.join(root, CALIBRATION_COPY));
  return CALIBRATION_COPY;
}
