/**
 * Average precision of one class: the area under the interpolated precision-recall curve
 * (all-point interpolation as in PASCAL VOC 2010+: precision at recall r is the best precision
 * at any recall >= r). Hand-written because no maintained JavaScript library computes detection
 * AP (the npm packages for it are unmaintained ports tied to IoU matching and COCO files); our
 * matching rule is a point-in-box rule anyway, so only this curve integration is needed.
 */

export interface ScoredDetection {
  confidence: number;
  /** Matched a labelled object of its class. */
  truePositive: boolean;
}

export interface PrecisionRecallPoint {
  /** Confidence threshold at which this point is reached (detections >= it count). */
  threshold: number;
  precision: number;
  recall: number;
}

/**
 * Precision-recall points, one per distinct confidence (tied detections enter together, so the
 * result does not depend on their order), strongest first.
 */
export function precisionRecallCurve(detections: readonly ScoredDetection[], positives: number): PrecisionRecallPoint[] {
  if (!Number.isInteger(positives) || positives < 0) throw new RangeError(`positives: expected an integer >= 0, got ${positives}`);
  const sorted = [...detections].sort((a, b) => b.confidence - a.confidence);
  const points: PrecisionRecallPoint[] = [];
  let tp = 0;
  let n = 0;
  for (let i = 0; i < sorted.length; i++) {
    n++;
    if (sorted[i].truePositive) tp++;
    if (i + 1 < sorted.length && sorted[i + 1].confidence === sorted[i].confidence) continue;
    points.push({ threshold: sorted[i].confidence, precision: tp / n, recall: positives > 0 ? tp / positives : 0 });
  }
  return points;
}

/**
 * Area under the interpolated precision-recall curve, 0..1. `null` when the class has no
 * labelled objects (AP is undefined, not 0 or 1).
 */
export function averagePrecision(detections: readonly ScoredDetection[], positives: number): number | null {
  const curve = precisionRecallCurve(detections, positives);
  if (positives === 0) return null;
  // Interpolate from the right: best precision at this recall or beyond.
  const interpolated = curve.map((p) => p.precision);
  for (let i = interpolated.length - 2; i >= 0; i--) interpolated[i] = Math.max(interpolated[i], interpolated[i + 1]);
  let ap = 0;
  let prevRecall = 0;
  curve.forEach((p, i) => {
    ap += (p.recall - prevRecall) * interpolated[i];
    prevRecall = p.recall;
  });
  return ap;
}

/** The point of the precision-recall curve with the highest F1 (precision/recall harmonic mean). */
export interface OperatingPoint extends PrecisionRecallPoint {
  f1: number;
}

/**
 * Best-F1 operating point: the confidence threshold a team would set for this class, with the
 * precision and recall it gives. `null` without objects or without any true positive.
 */
export function bestF1(detections: readonly ScoredDetection[], positives: number): OperatingPoint | null {
  let best: OperatingPoint | null = null;
  for (const p of precisionRecallCurve(detections, positives)) {
    if (p.precision + p.recall === 0) continue;
    const f1 = (2 * p.precision * p.recall) / (p.precision + p.recall);
    if (!best || f1 > best.f1) best = { ...p, f1 };
  }
  return best;
}
