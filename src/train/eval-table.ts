/**
 * The human-readable form of an eval report (stdout of `fovea eval`); `--json` prints the report
 * itself instead.
 */
import type { EvalReport } from "./evaluate.js";
import type { GroundErrorStats } from "./eval-metrics.js";

const num = (v: number | null, digits = 3) => (v === null ? "-" : v.toFixed(digits));
const ground = (g: GroundErrorStats | null) => (g ? `${g.median.toFixed(2)} / ${g.p90.toFixed(2)}` : "-");

/** Lay out rows as columns: first column left-aligned, the rest right-aligned. */
function columns(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

export function formatEvalTable(r: EvalReport): string {
  const lines: string[] = [];
  lines.push(
    `model   ${r.model.id}${r.model.trained ? "" : "  (UNTRAINED stand-in: figures are meaningless)"}  [${r.engine.engine}/${r.engine.device}]`,
  );
  lines.push(`data    ${r.data.root}  (${r.data.format}, ${r.data.frames} frames, ${r.data.objects} objects)`);
  // One threshold: said once. Per-class thresholds (the model's decode.classScoreThresholds): a column.
  const perClass = r.classes.some((c) => c.scoreThreshold !== r.scoreThreshold);
  const at = perClass ? "each class's confidence threshold (column 'at conf')" : `confidence >= ${r.scoreThreshold}`;
  lines.push(
    `match   detection point in the labelled box enlarged to >= ${(r.minBoxFraction * 100).toFixed(0)}% of the image width; precision/recall at ${at}`,
  );
  lines.push("");
  const header = [
    "class",
    "objects",
    ...(perClass ? ["at conf"] : []),
    "detections",
    "TP",
    "FP",
    "FN",
    "precision",
    "recall",
    "AP",
    "best F1 @ conf",
    "ground m med / p90",
  ];
  const body = r.classes.map((c) => [
    c.label + (r.classesUnknownToModel.includes(c.label) ? " *" : ""),
    String(c.objects),
    ...(perClass ? [String(c.scoreThreshold)] : []),
    String(c.detections),
    String(c.truePositives),
    String(c.falsePositives),
    String(c.falseNegatives),
    num(c.precision),
    num(c.recall),
    num(c.averagePrecision),
    c.bestF1 ? `${c.bestF1.f1.toFixed(2)} @ ${c.bestF1.threshold.toFixed(2)}` : "-",
    ground(c.ground),
  ]);
  lines.push(columns([header, ...body]));
  lines.push("");
  lines.push(
    `mean AP ${num(r.meanAveragePrecision)} (classes with labelled objects)` +
      (r.classesUnknownToModel.length ? "; * = class the model does not predict" : ""),
  );
  if (r.ground)
    lines.push(
      `ground position error ${r.ground.count} matched detections: median ${r.ground.median.toFixed(3)} m, p90 ${r.ground.p90.toFixed(3)} m, max ${r.ground.max.toFixed(3)} m`,
    );
  else lines.push("ground position error: - (no matched detection with a labelled ground position)");
  lines.push("");
  lines.push("recall at the threshold by object size (longer side in image pixels), recall (objects)");
  const bins = r.classes[0].recallBySize;
  lines.push(
    columns([
      ["class", ...bins.map((b) => (b.maxPixels === null ? `>= ${b.minPixels}` : `${b.minPixels}-${b.maxPixels}`))],
      ...r.classes
        .filter((c) => c.objects > 0)
        .map((c) => [c.label, ...c.recallBySize.map((b) => (b.objects ? `${num(b.recall, 2)} (${b.objects})` : "-"))]),
    ]),
  );
  lines.push("");
  lines.push("confusion matrix (rows: labelled, columns: detected)");
  const m = r.confusion;
  // background x missed is not a thing (nothing detected, nothing there): shown as "-".
  const last = m.rows.length - 1;
  lines.push(
    columns([
      ["", ...m.columns],
      ...m.rows.map((row, i) => [row, ...m.counts[i].map((n, j) => (i === last && j === m.columns.length - 1 ? "-" : String(n)))]),
    ]),
  );
  return lines.join("\n") + "\n";
}
