/**
 * One optimisation step of a fovea network on a batch, and the matching evaluation pass, for any
 * head (src/heads/train-head.ts). Shared by the trainer and scripts/bench-train.ts so the
 * benchmark measures exactly what training runs.
 */
import * as tf from "@tensorflow/tfjs";
import { targetTensors, type HeadTargets, type TrainHead } from "../heads/train-head.js";

export { targetTensors };

/** A batch ready for the network: its input and head targets. */
export interface Batch {
  /** Network input, float32 (NHWC images, or cached conv features when fine-tuning). */
  input: Float32Array;
  /** Shape of `input` including the batch dimension, e.g. [32, 100, 100, 3]. */
  shape: number[];
  targets: HeadTargets;
}

export interface StepResult {
  loss: number;
  classLoss: number;
  boxLoss: number;
  /** The batch's first output (grid: class probabilities; heatmap: heatmaps), when requested. */
  predClasses?: Float32Array;
}

function inputTensor(b: Batch): tf.Tensor {
  return tf.tensor(b.input, b.shape);
}

/**
 * Runs one training step (forward with dropout, backward, optimizer update) on `model`. Only
 * `trainable` variables are updated (all when omitted).
 */
export async function trainStep(
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  batch: Batch,
  head: TrainHead,
  options: { trainable?: tf.Variable[]; wantPredictions?: boolean } = {},
): Promise<StepResult> {
  let predClasses: tf.Tensor | undefined;
  const parts = tf.tidy(() => {
    const x = inputTensor(batch);
    const t = targetTensors(batch.targets);
    let terms: [tf.Scalar, tf.Scalar] | undefined;
    const total = optimizer.minimize(
      () => {
        const outs = model.apply(x, { training: true }) as tf.Tensor[];
        const l = head.loss(outs, t);
        terms = [tf.keep(l.classes), tf.keep(l.boxes)];
        if (options.wantPredictions) predClasses = tf.keep(outs[0]);
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

/** Loss (and first output) of a batch without dropout or updates. */
export async function evaluateBatch(model: tf.LayersModel, batch: Batch, head: TrainHead): Promise<Required<StepResult>> {
  const out = tf.tidy(() => {
    const outs = model.apply(inputTensor(batch), { training: false }) as tf.Tensor[];
    const l = head.loss(outs, targetTensors(batch.targets));
    return [l.total, l.classes, l.boxes, outs[0]];
  });
  const [loss, classLoss, boxLoss, pred] = await Promise.all(out.map((t) => t.data()));
  out.forEach((t) => t.dispose());
  return { loss: loss[0], classLoss: classLoss[0], boxLoss: boxLoss[0], predClasses: pred as Float32Array };
}
