/**
 * Matching of detections to labelled objects in one frame, the rule `fovea eval` scores by:
 * a detection matches a labelled object of its class when the detection's point (its box centre)
 * lies in the object's box, enlarged to at least `minBoxFraction` of the image width in both
 * directions; each object is matched at most once, strongest detection first.
 *
 * A point rule rather than IoU because the robot uses a detection's point (its ground
 * position), and point features (crossings, penalty spot) have no meaningful extent.
 */
import type { Box, Detection } from "../core/detection.js";
import type { LabelledObject } from "../dataset/tagged-frame.js";

export interface MatchOptions {
  /** Image size in pixels (the enlargement is a fraction of the width, in pixels both ways). */
  width: number;
  height: number;
  /** Minimum size of an object's box for matching, as a fraction of the image width. */
  minBoxFraction: number;
}

export interface FrameMatch {
  /** Per detection (same order as given): index of the matched object, or -1. */
  objectOfDetection: number[];
  /** Per object: index of the matched detection, or -1. */
  detectionOfObject: number[];
}

/** The object's box grown symmetrically to at least `minBoxFraction` of the image width, normalised. */
export function matchingBox(box: Box, o: MatchOptions): Box {
  const minW = o.minBoxFraction;
  const minH = (o.minBoxFraction * o.width) / o.height;
  const grow = (lo: number, hi: number, min: number): [number, number] => {
    if (hi - lo >= min) return [lo, hi];
    const c = (lo + hi) / 2;
    return [c - min / 2, c + min / 2];
  };
  const [xMin, xMax] = grow(box.xMin, box.xMax, minW);
  const [yMin, yMax] = grow(box.yMin, box.yMax, minH);
  return { xMin, yMin, xMax, yMax };
}

export function detectionPoint(d: Pick<Detection, "box">): { x: number; y: number } {
  return { x: (d.box.xMin + d.box.xMax) / 2, y: (d.box.yMin + d.box.yMax) / 2 };
}

function contains(b: Box, p: { x: number; y: number }): boolean {
  return p.x >= b.xMin && p.x <= b.xMax && p.y >= b.yMin && p.y <= b.yMax;
}

/** Detection indices by confidence, strongest first; ties keep the given order. */
export function byConfidence(detections: readonly Pick<Detection, "confidence">[]): number[] {
  return detections.map((_, i) => i).sort((a, b) => detections[b].confidence - detections[a].confidence || a - b);
}

/**
 * Greedy matching, strongest detection first: each detection takes the unmatched object of its
 * class whose (enlarged) box holds its point, the nearest centre (in pixels) when several do.
 * `sameClass: false` lets a detection take an object of any class (used for the confusion
 * matrix, after same-class matching, on what is left over).
 */
export function matchFrame(
  detections: readonly Pick<Detection, "label" | "confidence" | "box">[],
  objects: readonly LabelledObject[],
  options: MatchOptions,
  taken: { detections?: readonly boolean[]; objects?: readonly boolean[]; sameClass?: boolean } = {},
): FrameMatch {
  const objectOfDetection = detections.map(() => -1);
  const detectionOfObject = objects.map(() => -1);
  const boxes = objects.map((obj) => matchingBox(obj.box, options));
  const sameClass = taken.sameClass ?? true;
  for (const di of byConfidence(detections)) {
    if (taken.detections?.[di]) continue;
    const d = detections[di];
    const p = detectionPoint(d);
    let best = -1;
    let bestDist = Infinity;
    objects.forEach((obj, oi) => {
      if (detectionOfObject[oi] >= 0 || taken.objects?.[oi]) return;
      if (sameClass && obj.label !== d.label) return;
      if (!contains(boxes[oi], p)) return;
      const dx = ((obj.box.xMin + obj.box.xMax) / 2 - p.x) * options.width;
      const dy = ((obj.box.yMin + obj.box.yMax) / 2 - p.y) * options.height;
      const dist = dx * dx + dy * dy;
      if (dist < bestDist) {
        bestDist = dist;
        best = oi;
      }
    });
    if (best >= 0) {
      objectOfDetection[di] = best;
      detectionOfObject[best] = di;
    }
  }
  return { objectOfDetection, detectionOfObject };
}
