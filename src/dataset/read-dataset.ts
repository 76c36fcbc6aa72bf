/**
 * Read a tagged-frame dataset in any supported format, detecting the format from the files.
 */
import { stat } from "node:fs/promises";
import path from "node:path";
import { FoveaInputError } from "../core/errors.js";
import { COCO_FILE, findCocoFiles, readCocoDataset } from "./coco-format.js";
import { listDatasetFiles } from "./dataset-files.js";
import { NATIVE_LABELS_FILE, NATIVE_MANIFEST_FILE, readNativeDataset } from "./native-format.js";
import { DATASET_FORMATS, type Dataset, type DatasetFormat } from "./tagged-frame.js";
import { YOLO_CLASSES_FILE, findYoloClassesFiles, readYoloDataset } from "./yolo-format.js";

export interface ReadDatasetOptions {
  /** `auto` (default) detects: fovea-dataset.json -> native, a classes file -> YOLO, a COCO JSON -> COCO. */
  format?: DatasetFormat | "auto";
  /** Named in error messages for the path (e.g. `--data`). */
  where?: string;
}

/** Which format a dataset folder (or COCO `.json` file) is in. */
export async function detectDatasetFormat(target: string, where = target): Promise<DatasetFormat> {
  const abs = path.resolve(target);
  let st;
  try {
    st = await stat(abs);
  } catch {
    throw new FoveaInputError(where, `'${target}' does not exist; expected a dataset folder (native, YOLO or COCO) or a COCO .json file`);
  }
  if (st.isFile()) {
    if (abs.toLowerCase().endsWith(".json")) return "coco";
    throw new FoveaInputError(where, `'${target}' is a file; expected a dataset folder or a COCO .json file`);
  }
  const files = await listDatasetFiles(abs);
  if (files.includes(NATIVE_MANIFEST_FILE)) return "native";
  if (findYoloClassesFiles(files).length > 0) return "yolo";
  if ((await findCocoFiles(abs)).length > 0) return "coco";
  // The writers add the manifest / classes file last: without it the writing was interrupted.
  if (files.includes(NATIVE_LABELS_FILE)) {
    throw new FoveaInputError(
      where,
      `incomplete native dataset: ${NATIVE_LABELS_FILE} without ${NATIVE_MANIFEST_FILE}, which is written when the dataset is finished (was fovea synth interrupted?); write it again`,
    );
  }
  if (files.some((f) => f.startsWith("labels/"))) {
    throw new FoveaInputError(
      where,
      `incomplete YOLO dataset: labels/ without a classes file (${YOLO_CLASSES_FILE}), which is written when the dataset is finished (was fovea synth interrupted?); write it again`,
    );
  }
  // COCO writes its one labels file last, so an interrupted COCO writer (or one stopped before its
  // first label) leaves only images/.
  if (files.some((f) => f.startsWith("images/"))) {
    throw new FoveaInputError(
      where,
      `incomplete dataset: images/ without labels (no ${NATIVE_MANIFEST_FILE}, classes file or COCO ${COCO_FILE}; fovea's writers add it when the dataset is finished, was fovea synth interrupted?); write it again`,
    );
  }
  throw new FoveaInputError(
    where,
    `no dataset found in '${target}': expected ${NATIVE_MANIFEST_FILE} (native), classes.txt / obj.names / _darknet.labels / data.yaml (YOLO) or a COCO .json with images, annotations and categories`,
  );
}

/** Read a dataset; every malformed file is a FoveaInputError naming the file and line. */
export async function readDataset(target: string, options: ReadDatasetOptions = {}): Promise<Dataset> {
  if (typeof target !== "string" || target.length === 0) throw new TypeError("target: expected a dataset folder or COCO .json path");
  const requested = options.format ?? "auto";
  if (requested !== "auto" && !DATASET_FORMATS.includes(requested))
    throw new RangeError(`options.format: expected auto, ${DATASET_FORMATS.join(", ")}; got ${JSON.stringify(requested)}`);
  const format = requested === "auto" ? await detectDatasetFormat(target, options.where) : requested;
  switch (format) {
    case "native":
      return readNativeDataset(target);
    case "yolo":
      return readYoloDataset(target);
    case "coco":
      return readCocoDataset(target);
  }
}
