/**
 * Loss of the heatmap head (CenterNet): a penalty-reduced pixel-wise focal loss on the class
 * heatmaps (alpha 2, beta 4; cells near a centre are penalised less for firing) normalised by
 * the number of objects, plus L1 on the offset and log-size at the objects' centre cells.
 * Targets with `negWeight` (confuser weights) scale each cell's negative term by it.
 */
import * as tf from "@tensorflow/tfjs";
import type { ModelMetadata } from "../../core/model-metadata.js";
import type { LabelledObject } from "../../dataset/tagged-frame.js";
import type { CellAccuracy, HeadLoss, HeadTargets, TrainHead } from "../train-head.js";
import { heatmapGeometry } from "./network.js";
import { confuserPairs, encodeHeatmapTargets, type ConfuserWeights } from "./targets.js";

export interface HeatmapLossOptions {
  /** Weight of the L1 loss on the sub-cell centre offset. Default 1. */
  offsetWeight?: number;
  /** Weight of the L1 loss on log width and height (cells). Default 1. */
  sizeWeight?: number;
  /**
   * Weight of each named class's heatmap loss (the others 1). The loss is normalised by the
   * number of objects of every class, so the most numerous (line crossings) steer a network short
   * of capacity; weighting the ones that matter most puts that capacity where a match needs it.
   */
  classWeights?: Record<string, number>;
  /**
   * Per class, the weight of its negative cells inside other classes' boxes (targets.ts,
   * ConfuserWeights), on top of `classWeights`: the false detections that cost most sit there.
   */
  confuserWeights?: ConfuserWeights;
}

/** Predictions are clipped away from 0 and 1 before the logs (CenterNet's clamp). */
const EPS = 1e-4;
/** Heat at or above which a cell counts as a detection in the progress line's accuracy. */
const ACCURACY_THRESHOLD = 0.3;

/**
 * `heatmapLoss`'s loss, `classWeights` the per-channel weights of the class loss ([classes],
 * built once by heatmapTrainHead) or undefined for all 1. `t.negWeight`, when the targets carry
 * it, weights each cell's negative term; the normalisation stays the number of objects, so a
 * weight adds loss rather than moving it between cells.
 */
export function heatmapLoss(
  heat: tf.Tensor,
  reg: tf.Tensor,
  t: Record<string, tf.Tensor>,
  options: HeatmapLossOptions = {},
  classWeights?: tf.Tensor1D,
): HeadLoss {
  const offsetWeight = options.offsetWeight ?? 1;
  const sizeWeight = options.sizeWeight ?? 1;
  return tf.tidy(() => {
    const gt = t.heat;
    const p = tf.clipByValue(heat, EPS, 1 - EPS);
    let pos = tf.cast(tf.greaterEqual(gt, 1), "float32");
    let neg = tf.sub(1, pos);
    if (classWeights) [pos, neg] = [tf.mul(pos, classWeights), tf.mul(neg, classWeights)];
    if (t.negWeight) neg = tf.mul(neg, t.negWeight);
    const posLoss = tf.sum(tf.mul(tf.mul(tf.log(p), tf.square(tf.sub(1, p))), pos));
    const nearCentre = tf.square(tf.square(tf.sub(1, gt)));
    const negLoss = tf.sum(tf.mul(tf.mul(tf.mul(tf.log(tf.sub(1, p)), tf.square(p)), nearCentre), neg));
    const objects = tf.maximum(1, tf.sum(t.mask));
    const classLoss = tf.div(tf.neg(tf.add(posLoss, negLoss)), objects) as tf.Scalar;
    const mask = tf.expandDims(t.mask, -1);
    const l1 = tf.mul(tf.abs(tf.sub(reg, t.reg)), mask); // [B, rows, cols, 4]
    const [off, size] = tf.split(l1, 2, -1);
    const boxLoss = tf.div(tf.add(tf.mul(tf.sum(off), offsetWeight), tf.mul(tf.sum(size), sizeWeight)), objects) as tf.Scalar;
    return { total: tf.add(classLoss, boxLoss) as tf.Scalar, classes: classLoss, boxes: boxLoss };
  });
}

export function heatmapTrainHead(meta: ModelMetadata, options: HeatmapLossOptions = {}): TrainHead {
  const { rows, cols } = heatmapGeometry(meta);
  const spec = { rows, cols, classes: meta.classes };
  const C = meta.classes.length;
  const weights = classWeightVector(meta.classes, options.classWeights);
  // Checked here so a bad pair fails when the head is made, not at the first batch.
  confuserPairs(meta.classes, options.confuserWeights);
  // Kept for the head's life (a training run): one small tensor, not one per step.
  const weightTensor = weights ? tf.keep(tf.tensor1d(weights)) : undefined;
  return {
    kind: "heatmap",
    encode(frames: ReadonlyArray<readonly LabelledObject[]>): HeadTargets {
      const t = encodeHeatmapTargets(frames, spec, options.confuserWeights);
      return {
        batch: t.batch,
        arrays: {
          heat: { data: t.heat, shape: [t.batch, rows, cols, C] },
          reg: { data: t.reg, shape: [t.batch, rows, cols, 4] },
          mask: { data: t.mask, shape: [t.batch, rows, cols] },
          ...(t.negWeight ? { negWeight: { data: t.negWeight, shape: [t.batch, rows, cols, C] } } : {}),
        },
      };
    },
    loss: (outputs, targets) => heatmapLoss(outputs[0], outputs[1], targets, options, weightTensor),
    /**
     * Objects: centre cells whose heat of the labelled class reaches the threshold. Background:
     * cells away from every object (target below 0.01 in every class) where no class does.
     */
    accuracy(pred: Float32Array, targets: HeadTargets): CellAccuracy {
      const heat = targets.arrays.heat.data;
      const acc: CellAccuracy = { objectCorrect: 0, objectCells: 0, backgroundCorrect: 0, backgroundCells: 0 };
      for (let cell = 0; cell < heat.length / C; cell++) {
        let near = false;
        let fired = false;
        for (let c = 0; c < C; c++) {
          const i = cell * C + c;
          if (heat[i] === 1) {
            acc.objectCells++;
            if (pred[i] >= ACCURACY_THRESHOLD) acc.objectCorrect++;
          }
          if (heat[i] >= 0.01) near = true;
          if (pred[i] >= ACCURACY_THRESHOLD) fired = true;
        }
        if (!near) {
          acc.backgroundCells++;
          if (!fired) acc.backgroundCorrect++;
        }
      }
      return acc;
    },
  };
}

/**
 * Per-class weights in the model's class order (1 where not named), or undefined when none is
 * named. Throws a RangeError naming the class that is not the model's or the weight that is not
 * a positive number.
 */
export function classWeightVector(classes: readonly string[], weights: Record<string, number> | undefined): number[] | undefined {
  if (!weights || Object.keys(weights).length === 0) return undefined;
  for (const [name, w] of Object.entries(weights)) {
    if (!classes.includes(name)) throw new RangeError(`class '${name}' is not a class of the model (${classes.join(", ")})`);
    if (!(w > 0 && Number.isFinite(w))) throw new RangeError(`class '${name}': expected a positive weight, got ${w}`);
  }
  return classes.map((c) => weights[c] ?? 1);
}
