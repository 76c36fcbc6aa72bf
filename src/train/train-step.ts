/**
 * One optimisation step of the grid-head network on a batch, and the matching evaluation pass.
 * Shared by the trainer and scripts/bench-train.ts so the benchmark measures exactly what
 * training runs.
 */
import * as tf from "@tensorflow/tfjs";
import { gridLoss, type GridLossOptions, type GridTargets } from "./grid-targets.js";

/** A batch ready for the network: its input and grid targets. */
export interface Batch {
  /** Network input, float32 (NHWC images, or cached conv features when fine-tuning). */
  input: Float32Array;
  /** Shape of `input` including the batch dimension, e.g. [32, 100, 100, 3]. */
  shape: number[];
  targets: GridTargets;
}

export interface StepResult {
  loss: number;
  classLoss: number;
  boxLoss: number;
  /** Softmax outputs of the batch [batch, cells, classes+1] (for accuracy), when requested. */
  predClasses?: Float32Array;
}

/** Grid targets as tensors (owned by the caller's tidy scope). */
export function targetTensors(t: GridTargets): { classes: tf.Tensor; boxes: tf.Tensor; positive: tf.Tensor } {
  const k = t.classes.length / (t.batch * t.cells);
  return {
    classes: tf.tensor3d(t.classes, [t.batch, t.cells, k]),
    boxes: tf.tensor3d(t.boxes, [t.batch, t.cells, 4]),
    positive: tf.tensor2d(t.positive, [t.batch, t.cells]),
  };
}

function inputTensor(b: Batch): tf.Tensor {
  return tf.tensor(b.input, b.shape);
}

/**
 * Runs one training step (forward with dropout, backward, optimizer update) on `model`, whose
 * outputs are [classes, boxes]. Only `trainable` variables are updated (all when omitted).
 */
export async function trainStep(
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  batch: Batch,
  options: GridLossOptions & { trainable?: tf.Variable[]; wantPredictions?: boolean } = {},
): Promise<StepResult> {
  let predClasses: tf.Tensor | undefined;
  const parts = tf.tidy(() => {
    const x = inputTensor(batch);
    const t = targetTensors(batch.targets);
    let terms: [tf.Scalar, tf.Scalar] | undefined;
    const total = optimizer.minimize(
      () => {
        const [cls, box] = model.apply(x, { training: true }) as tf.Tensor[];
        const l = gridLoss(cls, box, t, options);
        terms = [tf.keep(l.classes), tf.keep(l.boxes)];
        if (options.wantPredictions) predClasses = tf.keep(cls);
        return l.total;
      },
      true,
      options.trainable,
    ) as tf.Scalar;
    return [total, ...terms!] as tf.Scalar[];
  });
  const [loss, classLoss, boxLoss] = await Promise.all(parts.map((p) => p.data()));
  parts.forEach((p) => p.dispose());
  const result: StepResult = { loss: loss[0], classLoss: classLoss[0], boxLoss: boxLoss[0] };
  if (predClasses) {
    result.predClasses = (await predClasses.data()) as Float32Array;
    predClasses.dispose();
  }
  return result;
}

/** Loss (and predictions) of a batch without dropout or updates. */
export async function evaluateBatch(model: tf.LayersModel, batch: Batch, options: GridLossOptions = {}): Promise<Required<StepResult>> {
  const out = tf.tidy(() => {
    const [cls, box] = model.apply(inputTensor(batch), { training: false }) as tf.Tensor[];
    const l = gridLoss(cls, box, targetTensors(batch.targets), options);
    return [l.total, l.classes, l.boxes, cls];
  });
  const [loss, classLoss, boxLoss, pred] = await Promise.all(out.map((t) => t.data()));
  out.forEach((t) => t.dispose());
  return { loss: loss[0], classLoss: classLoss[0], boxLoss: boxLoss[0], predClasses: pred as Float32Array };
}
