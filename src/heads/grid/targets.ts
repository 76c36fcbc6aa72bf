/**
 * Training targets and loss of the grid head (GridHeadSchema in src/core/model-metadata.ts).
 *
 * Each labelled object is assigned to the cell holding its box centre; that cell's class target
 * is the object's class and its box target is (cx, cy) within the cell plus (w, h) of the image.
 * Every other cell is background (the last class). When two centres fall in one cell the smaller
 * object wins: the larger one is usually also visible as context, the small one (a ball at a
 * robot's feet) would otherwise never be learnt.
 */
import * as tf from "@tensorflow/tfjs";
import type { LabelledObject } from "../../dataset/tagged-frame.js";

/** Grid geometry and class list the targets are encoded for. */
export interface GridSpec {
  rows: number;
  cols: number;
  /** Class names in model output order (background is implicit, index classes.length). */
  classes: readonly string[];
}

/** Targets of a batch, in the layouts of the network outputs. */
export interface GridTargets {
  /** One-hot class targets [batch, cells, classes+1] (background last). */
  classes: Float32Array;
  /** Box targets [batch, cells, 4]: cx, cy within the cell, w, h of the image (0 on background). */
  boxes: Float32Array;
  /** 1 where a cell holds an object [batch, cells]. */
  positive: Float32Array;
  batch: number;
  cells: number;
}

function checkSpec(spec: GridSpec): void {
  if (!Number.isInteger(spec.rows) || spec.rows < 1) throw new RangeError(`spec.rows: expected a positive integer, got ${spec.rows}`);
  if (!Number.isInteger(spec.cols) || spec.cols < 1) throw new RangeError(`spec.cols: expected a positive integer, got ${spec.cols}`);
  if (spec.classes.length < 1) throw new RangeError("spec.classes: expected at least one class");
}

/**
 * Encode the objects of `frames` (one array of objects per image) into grid targets. Objects of
 * classes outside `spec.classes` are an error (naming the class): silently dropping them would
 * teach the network that they are background.
 */
export function encodeGridTargets(frames: ReadonlyArray<readonly LabelledObject[]>, spec: GridSpec): GridTargets {
  checkSpec(spec);
  const cells = spec.rows * spec.cols;
  const k = spec.classes.length + 1;
  const batch = frames.length;
  const classes = new Float32Array(batch * cells * k);
  const boxes = new Float32Array(batch * cells * 4);
  const positive = new Float32Array(batch * cells);
  const index = new Map(spec.classes.map((c, i) => [c, i]));
  const area = new Float64Array(cells);
  frames.forEach((objects, b) => {
    area.fill(Infinity);
    for (const o of objects) {
      const cls = index.get(o.label);
      if (cls === undefined)
        throw new RangeError(`frames[${b}]: label '${o.label}' is not one of the model classes (${spec.classes.join(", ")})`);
      const { xMin, yMin, xMax, yMax } = o.box;
      const cx = (xMin + xMax) / 2;
      const cy = (yMin + yMax) / 2;
      if (!(cx >= 0 && cx < 1 && cy >= 0 && cy < 1)) continue; // centre outside the image (cropped away)
      const col = Math.min(spec.cols - 1, Math.floor(cx * spec.cols));
      const row = Math.min(spec.rows - 1, Math.floor(cy * spec.rows));
      const cell = row * spec.cols + col;
      const a = Math.max(0, xMax - xMin) * Math.max(0, yMax - yMin);
      if (a >= area[cell]) continue;
      area[cell] = a;
      const c0 = (b * cells + cell) * k;
      classes.fill(0, c0, c0 + k);
      classes[c0 + cls] = 1;
      const b0 = (b * cells + cell) * 4;
      boxes[b0] = cx * spec.cols - col;
      boxes[b0 + 1] = cy * spec.rows - row;
      boxes[b0 + 2] = Math.min(1, xMax - xMin);
      boxes[b0 + 3] = Math.min(1, yMax - yMin);
      positive[b * cells + cell] = 1;
    }
    for (let cell = 0; cell < cells; cell++) {
      if (!positive[b * cells + cell]) classes[(b * cells + cell) * k + k - 1] = 1;
    }
  });
  return { classes, boxes, positive, batch, cells };
}

/** Weights of the loss terms. */
export interface GridLossOptions {
  /**
   * Weight of an object cell's class cross-entropy relative to a background cell's. Objects fill
   * a few of 100 cells; without it the network learns "all background". Default 3: the setting
   * the shipped model was trained with (the earlier default, 10, was not compared against it).
   */
  positiveWeight?: number;
  /** Weight of the box loss (squared error on object cells) against the class loss. Default 5. */
  boxWeight?: number;
}

/** Loss terms as scalars (tensors owned by the caller's tidy scope). */
export interface GridLossTensors {
  total: tf.Scalar;
  classes: tf.Scalar;
  boxes: tf.Scalar;
}

/**
 * Class cross-entropy (positives weighted up) normalised by the total weight, plus mean squared
 * box error over the object cells. `predClasses` are the softmax probabilities the head outputs.
 */
export function gridLoss(
  predClasses: tf.Tensor,
  predBoxes: tf.Tensor,
  targets: { classes: tf.Tensor; boxes: tf.Tensor; positive: tf.Tensor },
  options: GridLossOptions = {},
): GridLossTensors {
  const positiveWeight = options.positiveWeight ?? 3;
  const boxWeight = options.boxWeight ?? 5;
  return tf.tidy(() => {
    const eps = 1e-7;
    const ce = tf.neg(tf.sum(tf.mul(targets.classes, tf.log(tf.clipByValue(predClasses, eps, 1))), -1)); // [B, cells]
    const weight = tf.add(1, tf.mul(targets.positive, positiveWeight - 1));
    const classLoss = tf.div(tf.sum(tf.mul(ce, weight)), tf.sum(weight)) as tf.Scalar;
    const sq = tf.sum(tf.square(tf.sub(predBoxes, targets.boxes)), -1); // [B, cells]
    const boxLoss = tf.div(tf.sum(tf.mul(sq, targets.positive)), tf.maximum(1, tf.sum(targets.positive))) as tf.Scalar;
    const total = tf.add(classLoss, tf.mul(boxLoss, boxWeight)) as tf.Scalar;
    return { total, classes: classLoss, boxes: boxLoss };
  });
}

/** Cell-level accuracy counts of a batch (computed on the JS side from downloaded outputs). */
export interface CellAccuracy {
  /** Object cells whose arg-max class is the labelled class. */
  objectCorrect: number;
  objectCells: number;
  /** Background cells predicted as background. */
  backgroundCorrect: number;
  backgroundCells: number;
}

/** Count correctly classified object and background cells. */
export function cellAccuracy(predClasses: Float32Array, targets: GridTargets): CellAccuracy {
  const k = targets.classes.length / (targets.batch * targets.cells);
  const acc: CellAccuracy = { objectCorrect: 0, objectCells: 0, backgroundCorrect: 0, backgroundCells: 0 };
  for (let i = 0; i < targets.batch * targets.cells; i++) {
    let best = 0;
    let label = 0;
    for (let c = 0; c < k; c++) {
      if (predClasses[i * k + c] > predClasses[i * k + best]) best = c;
      if (targets.classes[i * k + c] === 1) label = c;
    }
    if (targets.positive[i]) {
      acc.objectCells++;
      if (best === label) acc.objectCorrect++;
    } else {
      acc.backgroundCells++;
      if (best === label) acc.backgroundCorrect++;
    }
  }
  return acc;
}
