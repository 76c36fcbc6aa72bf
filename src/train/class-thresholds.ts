/**
 * Per-class decode thresholds from an eval: each class's best-F1 confidence, written into a
 * model's fovea.json (`decode.classScoreThresholds`) so the runtime's decoder uses them.
 */
import { readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { FoveaInputError, describeIssues } from "../core/errors.js";
import { loadModelDir, METADATA_FILE } from "../core/model-dir.js";
import { ModelMetadataSchema } from "../core/model-metadata.js";
import type { EvalReport } from "./evaluate.js";

/**
 * The best-F1 confidence of every model class that has one, rounded down to 3 decimals (down, so
 * the detection that set it still passes). Classes without a true positive keep the default.
 */
export function bestF1Thresholds(report: Pick<EvalReport, "classes" | "classesUnknownToModel">): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of report.classes) {
    if (!c.bestF1 || report.classesUnknownToModel.includes(c.label)) continue;
    out[c.label] = Math.floor(c.bestF1.threshold * 1000) / 1000;
  }
  return out;
}

/**
 * Replace `decode.classScoreThresholds` in the model directory's fovea.json, keeping every other
 * field as it is; the new metadata is validated before the file is replaced in one rename.
 */
export async function writeClassScoreThresholds(modelDir: string, thresholds: Readonly<Record<string, number>>): Promise<string> {
  const { metadataPath } = await loadModelDir(modelDir);
  // The raw JSON, not the parsed metadata: parsing fills defaults the file did not state.
  const raw = JSON.parse(await readFile(metadataPath, "utf8")) as { decode?: Record<string, unknown> };
  raw.decode = { ...raw.decode, classScoreThresholds: { ...thresholds } };
  const checked = ModelMetadataSchema.safeParse(raw);
  if (!checked.success) throw new FoveaInputError(metadataPath, describeIssues(checked.error.issues));
  const tmp = path.join(path.dirname(metadataPath), `.${METADATA_FILE}.tmp`);
  await writeFile(tmp, JSON.stringify(raw, null, 2) + "\n");
  await rename(tmp, metadataPath);
  return metadataPath;
}
