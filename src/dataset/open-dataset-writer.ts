/**
 * One entry point for writing a tagged-frame dataset in any format (`fovea synth --format`,
 * `convertDataset`).
 */
import { CocoDatasetWriter } from "./coco-format.js";
import { NativeDatasetWriter, type DatasetWriterOptions } from "./native-format.js";
import type { DatasetFormat, DatasetWriter } from "./tagged-frame.js";
import { YoloDatasetWriter } from "./yolo-format.js";

export type { DatasetWriterOptions };

/**
 * Open a writer that creates a dataset in `dir` (created if missing; it must be empty unless
 * `options.overwrite`). `classes` fixes the class order (YOLO class indices, COCO category ids).
 * Call `add(frame, encodedImage)` per frame — in order; lines come out in call order — then
 * `close()`. Bad frames are rejected with a RangeError naming the field.
 */
export async function openDatasetWriter(
  dir: string,
  format: DatasetFormat,
  classes: readonly string[],
  options: DatasetWriterOptions = {},
): Promise<DatasetWriter> {
  if (typeof dir !== "string" || dir.length === 0) throw new TypeError("dir: expected a folder path");
  switch (format) {
    case "native":
      return NativeDatasetWriter.open(dir, classes, options);
    case "yolo":
      return YoloDatasetWriter.open(dir, classes, options);
    case "coco":
      return CocoDatasetWriter.open(dir, classes, options);
    default:
      throw new RangeError(`format: expected native, yolo or coco, got ${JSON.stringify(format)}`);
  }
}
