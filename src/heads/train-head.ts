/**
 * The training side of a head plug-in: how a batch's labels become targets, the loss of the
 * network's outputs against them, and a cheap accuracy count for the progress line. The trainer,
 * its worker threads and `scripts/bench-train.ts` go through this interface only, so a new head
 * is a folder under src/heads/ plus one line in `trainHeadFor`.
 *
 * Targets are plain typed arrays (structured-cloneable to the worker threads); tensors are made
 * from them inside the caller's tidy scope.
 */
import * as tf from "@tensorflow/tfjs";
import type { ModelMetadata } from "../core/model-metadata.js";
import type { LabelledObject } from "../dataset/tagged-frame.js";
import type { CellAccuracy } from "./grid/targets.js";
import { gridTrainHead, type GridLossOptions } from "./grid/train.js";
import { heatmapTrainHead, type HeatmapLossOptions } from "./heatmap/loss.js";

/** A batch's targets: named arrays with their shapes (batch first). */
export interface HeadTargets {
  batch: number;
  arrays: Record<string, { data: Float32Array; shape: number[] }>;
}

/** Loss terms (tensors owned by the caller's tidy scope). */
export interface HeadLoss {
  total: tf.Scalar;
  /** The classification / heatmap term. */
  classes: tf.Scalar;
  /** The box (position and size) term, unweighted. */
  boxes: tf.Scalar;
}

/** Object and background counts of a batch (from the first output, downloaded). */
export type { CellAccuracy };

export type HeadLossOptions = GridLossOptions & HeatmapLossOptions;

export interface TrainHead {
  readonly kind: string;
  encode(frames: ReadonlyArray<readonly LabelledObject[]>): HeadTargets;
  /** `outputs` in the model's output order. */
  loss(outputs: tf.Tensor[], targets: Record<string, tf.Tensor>): HeadLoss;
  accuracy(firstOutput: Float32Array, targets: HeadTargets): CellAccuracy;
}

/** The training head of a model's metadata. */
export function trainHeadFor(meta: ModelMetadata, options: HeadLossOptions = {}): TrainHead {
  switch (meta.head.kind) {
    case "grid":
      return gridTrainHead(meta, options);
    case "heatmap":
      return heatmapTrainHead(meta, options);
  }
}

/** Target arrays as tensors (owned by the caller's tidy scope). */
export function targetTensors(t: HeadTargets): Record<string, tf.Tensor> {
  return Object.fromEntries(Object.entries(t.arrays).map(([k, v]) => [k, tf.tensor(v.data, v.shape)]));
}

export function emptyAccuracy(): CellAccuracy {
  return { objectCorrect: 0, objectCells: 0, backgroundCorrect: 0, backgroundCells: 0 };
}
