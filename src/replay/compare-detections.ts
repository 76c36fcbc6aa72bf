/**
 * Frame-by-frame comparison of two detection runs over the same frames (a recording against a
 * re-run with another model, or two recordings): which frames changed and, per class, how many
 * detections each side has, how many match, and how many appeared or disappeared.
 */
import type { BoxMessage, DetectionMessage } from "../publish/codec.js";

export interface CompareOptions {
  /** Boxes of the same class overlapping at least this IoU are the same detection. Default 0.5. */
  iou?: number;
  /** Matched detections whose confidences differ by more than this count as changed. Default 0.05. */
  confidenceTolerance?: number;
}

export interface ClassComparison {
  /** Detections of the class in the baseline (the recording). */
  baseline: number;
  /** Detections of the class in the candidate (the re-run or second recording). */
  candidate: number;
  /** Pairs that are the same detection (same class, IoU >= threshold). */
  matched: number;
  /** Baseline detections with no partner: gone in the candidate. */
  removed: number;
  /** Candidate detections with no partner: new in the candidate. */
  added: number;
}

export interface FrameChange {
  seq: number;
  removed: number;
  added: number;
  /** Matched pairs whose confidence moved more than the tolerance. */
  confidenceChanged: number;
}

export interface ComparisonReport {
  /** Frames present in both runs and compared. */
  framesCompared: number;
  /** Compared frames whose detections differ. */
  framesChanged: number;
  /** The changed frames, in seq order. */
  changes: FrameChange[];
  /** Frames only the baseline / only the candidate has (dropped by one of the runs). */
  onlyBaseline: number;
  onlyCandidate: number;
  perClass: Record<string, ClassComparison>;
  /** Largest confidence difference over matched pairs. */
  maxConfidenceDelta: number;
  /** Mean IoU over matched pairs (1 when nothing matched). */
  meanMatchedIou: number;
}

function iouOf(a: BoxMessage, b: BoxMessage): number {
  const w = Math.min(a.xMax, b.xMax) - Math.max(a.xMin, b.xMin);
  const h = Math.min(a.yMax, b.yMax) - Math.max(a.yMin, b.yMin);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const union = (a.xMax - a.xMin) * (a.yMax - a.yMin) + (b.xMax - b.xMin) * (b.yMax - b.yMin) - inter;
  return union > 0 ? inter / union : 0;
}

/** Greedy one-to-one matching of same-class detections by descending IoU. */
function matchFrame(base: readonly DetectionMessage[], cand: readonly DetectionMessage[], iou: number): Array<[number, number, number]> {
  const pairs: Array<[number, number, number]> = [];
  for (let i = 0; i < base.length; i++) {
    for (let j = 0; j < cand.length; j++) {
      if (base[i].label !== cand[j].label) continue;
      const v = iouOf(base[i].box, cand[j].box);
      if (v >= iou) pairs.push([i, j, v]);
    }
  }
  pairs.sort((p, q) => q[2] - p[2]);
  const usedB = new Set<number>();
  const usedC = new Set<number>();
  const out: Array<[number, number, number]> = [];
  for (const p of pairs) {
    if (usedB.has(p[0]) || usedC.has(p[1])) continue;
    usedB.add(p[0]);
    usedC.add(p[1]);
    out.push(p);
  }
  return out;
}

/**
 * Compare two runs given as detections by frame number. Frames only one side has are counted,
 * not compared (a live run drops frames; a replay of the same recording may not drop the same).
 */
export function compareDetectionRuns(
  baseline: ReadonlyMap<number, readonly DetectionMessage[]>,
  candidate: ReadonlyMap<number, readonly DetectionMessage[]>,
  options: CompareOptions = {},
): ComparisonReport {
  const iou = options.iou ?? 0.5;
  const tolerance = options.confidenceTolerance ?? 0.05;
  if (!(iou > 0 && iou <= 1)) throw new RangeError(`options.iou: expected a number in (0, 1], got ${iou}`);
  if (!(tolerance >= 0)) throw new RangeError(`options.confidenceTolerance: expected a number >= 0, got ${tolerance}`);
  const perClass: Record<string, ClassComparison> = {};
  const cls = (label: string): ClassComparison => (perClass[label] ??= { baseline: 0, candidate: 0, matched: 0, removed: 0, added: 0 });
  const changes: FrameChange[] = [];
  let framesCompared = 0;
  let maxConfidenceDelta = 0;
  let iouSum = 0;
  let matchedTotal = 0;
  const seqs = [...baseline.keys()].filter((s) => candidate.has(s)).sort((a, b) => a - b);
  for (const seq of seqs) {
    const b = baseline.get(seq)!;
    const c = candidate.get(seq)!;
    framesCompared++;
    for (const d of b) cls(d.label).baseline++;
    for (const d of c) cls(d.label).candidate++;
    const matches = matchFrame(b, c, iou);
    let confidenceChanged = 0;
    for (const [i, j, v] of matches) {
      cls(b[i].label).matched++;
      const delta = Math.abs(b[i].confidence - c[j].confidence);
      maxConfidenceDelta = Math.max(maxConfidenceDelta, delta);
      if (delta > tolerance) confidenceChanged++;
      iouSum += v;
      matchedTotal++;
    }
    const matchedB = new Set(matches.map((m) => m[0]));
    const matchedC = new Set(matches.map((m) => m[1]));
    const removed = b.filter((d, i) => !matchedB.has(i) && ++cls(d.label).removed).length;
    const added = c.filter((d, j) => !matchedC.has(j) && ++cls(d.label).added).length;
    if (removed || added || confidenceChanged) changes.push({ seq, removed, added, confidenceChanged });
  }
  return {
    framesCompared,
    framesChanged: changes.length,
    changes,
    onlyBaseline: [...baseline.keys()].filter((s) => !candidate.has(s)).length,
    onlyCandidate: [...candidate.keys()].filter((s) => !baseline.has(s)).length,
    perClass,
    maxConfidenceDelta,
    meanMatchedIou: matchedTotal ? iouSum / matchedTotal : 1,
  };
}

/** The report as a terminal table. */
export function formatComparison(report: ComparisonReport, names: { baseline: string; candidate: string }): string {
  const lines: string[] = [];
  const pct = report.framesCompared ? ((100 * report.framesChanged) / report.framesCompared).toFixed(1) : "0.0";
  lines.push(`baseline:  ${names.baseline}`, `candidate: ${names.candidate}`);
  lines.push(
    `frames compared ${report.framesCompared}, changed ${report.framesChanged} (${pct}%), only in baseline ${report.onlyBaseline}, only in candidate ${report.onlyCandidate}`,
  );
  lines.push(`matched pairs: mean IoU ${report.meanMatchedIou.toFixed(3)}, max confidence change ${report.maxConfidenceDelta.toFixed(3)}`);
  const header = ["class", "baseline", "candidate", "matched", "removed", "added"];
  const rows = Object.entries(report.perClass)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([label, c]) => [label, c.baseline, c.candidate, c.matched, c.removed, c.added].map(String));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]) => r.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join("  ");
  lines.push("", fmt(header), ...rows.map(fmt));
  if (report.changes.length) {
    const shown = report.changes
      .slice(0, 20)
      .map((c) => `${c.seq} (-${c.removed} +${c.added}${c.confidenceChanged ? ` ~${c.confidenceChanged}` : ""})`);
    lines.push(
      "",
      `changed frames (seq, -removed +added ~confidence): ${shown.join(", ")}${report.changes.length > 20 ? `, ... ${report.changes.length - 20} more` : ""}`,
    );
  }
  return lines.join("\n") + "\n";
}
