/**
 * Convert a dataset between formats: labels are re-encoded, images copied byte for byte under
 * the same relative paths. What the target cannot hold is dropped and said in the result
 * (YOLO keeps no ground positions or calibration).
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { openDatasetWriter } from "./open-dataset-writer.js";
import { readDataset, type ReadDatasetOptions } from "./read-dataset.js";
import type { Dataset, DatasetFormat } from "./tagged-frame.js";

export interface ConvertDatasetOptions {
  /** Source format (default: auto-detect). */
  from?: ReadDatasetOptions["format"];
  /** Allow a non-empty destination (the writer removes only the files it owns). */
  overwrite?: boolean;
}

export interface ConvertResult {
  source: Dataset;
  frames: number;
  objects: number;
  /** Ground positions the target format could not store. */
  droppedGround: number;
}

export async function convertDataset(
  src: string,
  dst: string,
  format: DatasetFormat,
  options: ConvertDatasetOptions = {},
): Promise<ConvertResult> {
  const source = await readDataset(src, { format: options.from ?? "auto" });
  if (path.resolve(dst) === source.root) throw new RangeError(`dst: '${dst}' is the source dataset's folder; write to another folder`);
  const writer = await openDatasetWriter(dst, format, source.classes, { calibration: source.calibration, overwrite: options.overwrite });
  let objects = 0;
  let droppedGround = 0;
  try {
    for (const frame of source.frames) {
      await writer.add(frame, await readFile(path.join(source.root, frame.image)));
      objects += frame.objects.length;
      if (format === "yolo") droppedGround += frame.objects.filter((o) => o.ground).length;
    }
  } finally {
    await writer.close();
  }
  return { source, frames: source.frames.length, objects, droppedGround };
}
