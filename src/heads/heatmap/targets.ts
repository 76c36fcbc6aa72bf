/**
 * Training targets of the heatmap head (HeatmapHeadSchema), CenterNet's encoding:
 * - `heat` [B, rows, cols, C]: per class a Gaussian bump of peak 1 at each object's centre cell,
 *   its radius from the object's size (the radius at which a box shifted by it still overlaps the
 *   true one by IoU 0.7), overlapping bumps combined by max;
 * - `reg` [B, rows, cols, 4] at each centre cell: the centre's offset within the cell (0..1, x
 *   and y) and the log of the box width and height in cells;
 * - `mask` [B, rows, cols]: 1 at the cells that carry a `reg` target. When two centres share a
 *   cell the smaller object's box wins (the larger one is usually visible around it);
 * - `negWeight` [B, rows, cols, C], only with confuser weights: the weight of each cell's negative
 *   (background) loss, raised in one class's channel inside another class's boxes.
 *
 * Pure: no tensors, so the runtime-side tests and the trainer's main thread can use it.
 */
import type { LabelledObject } from "../../dataset/tagged-frame.js";

export interface HeatmapSpec {
  rows: number;
  cols: number;
  /** Class names in heatmap channel order. */
  classes: readonly string[];
}

export interface HeatmapTargets {
  batch: number;
  rows: number;
  cols: number;
  heat: Float32Array;
  reg: Float32Array;
  mask: Float32Array;
  /** Only when confuser weights are given (encodeConfuserWeights). */
  negWeight?: Float32Array;
}

/**
 * Per class channel, the weight of its negative cells inside the boxes of other classes, e.g.
 * `{ ball: { robot: 3 } }`: a ball fired on a robot's head or feet costs 3 times a ball fired on
 * grass. The false detections that cost most sit on other objects, on few cells among many of
 * plain field, so the unweighted loss spends little on them. Training only: the network is the same.
 */
export type ConfuserWeights = Readonly<Record<string, Readonly<Record<string, number>>>>;

/** One confuser weight resolved to channel indices. */
export interface ConfuserPair {
  /** Channel whose negative cells are weighted. */
  channel: number;
  /** Class whose boxes they lie in. */
  inside: number;
  weight: number;
}

/** Smallest size a box is given in the targets, in cells: log(0) would be -Infinity. */
export const MIN_SIZE_CELLS = 0.05;

/**
 * CenterNet's gaussian_radius (the smallest of three cases) for a box of h x w cells and a
 * minimum IoU between the true box and one whose corners are shifted by the radius.
 */
export function gaussianRadius(h: number, w: number, minOverlap = 0.7): number {
  const a1 = 1;
  const b1 = h + w;
  const c1 = (w * h * (1 - minOverlap)) / (1 + minOverlap);
  const r1 = (b1 + Math.sqrt(b1 * b1 - 4 * a1 * c1)) / 2;
  const a2 = 4;
  const b2 = 2 * (h + w);
  const c2 = (1 - minOverlap) * w * h;
  const r2 = (b2 + Math.sqrt(b2 * b2 - 4 * a2 * c2)) / 2;
  const a3 = 4 * minOverlap;
  const b3 = -2 * minOverlap * (h + w);
  const c3 = (minOverlap - 1) * w * h;
  const r3 = (b3 + Math.sqrt(b3 * b3 - 4 * a3 * c3)) / 2;
  return Math.min(r1, r2, r3);
}

/**
 * `weights` in `classes`' channel order, empty when none is given. Throws a RangeError naming a
 * class that is not one of `classes`, a class paired with itself or a weight that is not a
 * positive number.
 */
export function confuserPairs(classes: readonly string[], weights: ConfuserWeights | undefined): ConfuserPair[] {
  const pairs: ConfuserPair[] = [];
  const known = (name: string) => {
    const i = classes.indexOf(name);
    if (i < 0) throw new RangeError(`class '${name}' is not a class of the model (${classes.join(", ")})`);
    return i;
  };
  for (const [name, inside] of Object.entries(weights ?? {})) {
    const channel = known(name);
    for (const [other, weight] of Object.entries(inside)) {
      const box = known(other);
      if (box === channel) throw new RangeError(`'${name}:${other}' pairs a class with itself; expected two different classes`);
      if (!(weight > 0 && Number.isFinite(weight))) throw new RangeError(`'${name}:${other}': expected a positive weight, got ${weight}`);
      pairs.push({ channel, inside: box, weight });
    }
  }
  return pairs;
}

/**
 * The `negWeight` array of `frames` ([B, rows, cols, C], 1 by default): for each pair, the cells
 * of `channel` whose centre lies inside a box of class `inside` get at least its weight. Boxes are
 * mapped to cells as encodeHeatmapTargets maps them (normalised x times cols, y times rows). Unlike
 * a centre, a box whose centre was cropped away still counts: the part of a robot left in the
 * frame is still not a ball.
 */
export function encodeConfuserWeights(
  frames: ReadonlyArray<readonly LabelledObject[]>,
  spec: HeatmapSpec,
  pairs: readonly ConfuserPair[],
): Float32Array {
  const { rows, cols } = spec;
  const C = spec.classes.length;
  const out = new Float32Array(frames.length * rows * cols * C).fill(1);
  const index = new Map(spec.classes.map((c, i) => [c, i]));
  frames.forEach((objects, b) => {
    for (const o of objects) {
      const cls = index.get(o.label);
      for (const p of pairs) {
        if (p.inside !== cls) continue;
        const { xMin, yMin, xMax, yMax } = o.box;
        // Cell (row, col) has its centre at (col + 0.5, row + 0.5) in cell units.
        const x0 = Math.max(0, Math.ceil(xMin * cols - 0.5));
        const x1 = Math.min(cols - 1, Math.floor(xMax * cols - 0.5));
        const y0 = Math.max(0, Math.ceil(yMin * rows - 0.5));
        const y1 = Math.min(rows - 1, Math.floor(yMax * rows - 0.5));
        for (let y = y0; y <= y1; y++) {
          for (let x = x0; x <= x1; x++) {
            const i = ((b * rows + y) * cols + x) * C + p.channel;
            if (p.weight > out[i]) out[i] = p.weight;
          }
        }
      }
    }
  });
  return out;
}

/**
 * Encode the objects of `frames` (one array per image). A label outside `spec.classes` is an
 * error naming it: dropping it silently would teach the network that it is background. With
 * `confusers` (non-empty) the targets carry `negWeight` too; without, a run pays nothing for it.
 */
export function encodeHeatmapTargets(
  frames: ReadonlyArray<readonly LabelledObject[]>,
  spec: HeatmapSpec,
  confusers?: ConfuserWeights,
): HeatmapTargets {
  const { rows, cols } = spec;
  if (!Number.isInteger(rows) || rows < 1) throw new RangeError(`spec.rows: expected a positive integer, got ${rows}`);
  if (!Number.isInteger(cols) || cols < 1) throw new RangeError(`spec.cols: expected a positive integer, got ${cols}`);
  const C = spec.classes.length;
  if (C < 1) throw new RangeError("spec.classes: expected at least one class");
  const batch = frames.length;
  const cells = rows * cols;
  const heat = new Float32Array(batch * cells * C);
  const reg = new Float32Array(batch * cells * 4);
  const mask = new Float32Array(batch * cells);
  const area = new Float64Array(cells);
  const index = new Map(spec.classes.map((c, i) => [c, i]));
  frames.forEach((objects, b) => {
    area.fill(Infinity);
    for (const o of objects) {
      const cls = index.get(o.label);
      if (cls === undefined)
        throw new RangeError(`frames[${b}]: label '${o.label}' is not one of the model classes (${spec.classes.join(", ")})`);
      const { xMin, yMin, xMax, yMax } = o.box;
      const cx = ((xMin + xMax) / 2) * cols;
      const cy = ((yMin + yMax) / 2) * rows;
      if (!(cx >= 0 && cx < cols && cy >= 0 && cy < rows)) continue; // centre outside the image (cropped away)
      const w = Math.max(MIN_SIZE_CELLS, (xMax - xMin) * cols);
      const h = Math.max(MIN_SIZE_CELLS, (yMax - yMin) * rows);
      const col = Math.floor(cx);
      const row = Math.floor(cy);
      const radius = Math.max(0, Math.floor(gaussianRadius(h, w)));
      const sigma = (2 * radius + 1) / 6;
      for (let y = Math.max(0, row - radius); y <= Math.min(rows - 1, row + radius); y++) {
        for (let x = Math.max(0, col - radius); x <= Math.min(cols - 1, col + radius); x++) {
          const g = Math.exp(-((x - col) ** 2 + (y - row) ** 2) / (2 * sigma * sigma));
          const i = ((b * rows + y) * cols + x) * C + cls;
          if (g > heat[i]) heat[i] = g;
        }
      }
      heat[((b * rows + row) * cols + col) * C + cls] = 1;
      const cell = row * cols + col;
      const a = w * h;
      if (a >= area[cell]) continue;
      area[cell] = a;
      const r0 = (b * cells + cell) * 4;
      reg[r0] = cx - col;
      reg[r0 + 1] = cy - row;
      reg[r0 + 2] = Math.log(w);
      reg[r0 + 3] = Math.log(h);
      mask[b * cells + cell] = 1;
    }
  });
  const pairs = confuserPairs(spec.classes, confusers);
  if (pairs.length === 0) return { batch, rows, cols, heat, reg, mask };
  return { batch, rows, cols, heat, reg, mask, negWeight: encodeConfuserWeights(frames, spec, pairs) };
}
