/**
 * Batch norm for training on the wasm backend: tfjs's BatchNormalization layer, whose training
 * forward pass is replaced by one custom-gradient op with the closed-form backward pass
 *
 *   x^ = (x - mean) / sqrt(var + eps),  y = gamma * x^ + beta
 *   dx = gamma / sqrt(var + eps) * (dy - mean(dy) - x^ * mean(dy * x^))
 *
 * Why: the layer's own path (moments -> batchNorm) back-propagates through FusedBatchNorm's and
 * Mean's generic gradients, which tile the per-channel factors and a tensor of ones to the input's
 * shape; on wasm those Tile and Multiply kernels cost more than the convolutions around them. Here
 * every per-channel factor broadcasts, and the backward pass is a handful of passes over the input.
 *
 * Inference (training false) and serialisation are the layer's own: the class keeps the name
 * `BatchNormalization`, so a saved model loads as a plain tfjs BatchNormalization anywhere (the
 * runtime's tfjs engine included), and `registerTrainingBatchNorm()` makes models loaded for
 * training (a checkpoint to resume) use this class.
 */
import * as tf from "@tensorflow/tfjs";

interface BatchNormInternals {
  axis: number;
  epsilon: number;
  momentum: number;
  gamma: { read(): tf.Tensor };
  beta: { read(): tf.Tensor };
  movingMean: { read(): tf.Tensor; write(v: tf.Tensor): void };
  movingVariance: { read(): tf.Tensor; write(v: tf.Tensor): void };
}

type BatchNormClass = new (args: Record<string, unknown>) => tf.layers.Layer;
const BatchNormalization = Object.getPrototypeOf(tf.layers.batchNormalization({})).constructor as BatchNormClass & {
  className: string;
};

/**
 * Training-mode batch norm over every axis but the last of `x` with a closed-form gradient.
 * `onStats` receives the batch mean and (biased) variance, to update moving statistics from;
 * they are computed inside the op, so no gradient is traced through them (dx accounts for them).
 */
export function batchNormTraining(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  epsilon: number,
  onStats?: (mean: tf.Tensor, variance: tf.Tensor) => void,
): tf.Tensor {
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const count = x.size / x.shape[x.shape.length - 1];
  const op = tf.customGrad((...args: unknown[]) => {
    const [xi, g, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const { mean, variance } = tf.moments(xi, axes);
    onStats?.(mean, variance);
    const r = tf.rsqrt(tf.add(variance, epsilon));
    const xhat = tf.mul(tf.sub(xi, mean), r);
    save([xhat, r, g]);
    return {
      value: tf.add(tf.mul(xhat, g), b),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const d = dy as tf.Tensor;
        const [xh, rs, gs] = saved;
        const dBeta = tf.sum(d, axes);
        const dGamma = tf.sum(tf.mul(d, xh), axes);
        const dx = tf.mul(tf.mul(gs, rs), tf.sub(tf.sub(d, tf.div(dBeta, count)), tf.mul(xh, tf.div(dGamma, count))));
        return [dx, dGamma, dBeta];
      },
    };
  });
  return (op as unknown as (...t: tf.Tensor[]) => tf.Tensor)(x, gamma, beta);
}

/** tfjs's BatchNormalization with the training pass of batchNormTraining. */
export class TrainingBatchNorm extends BatchNormalization {
  static override className = BatchNormalization.className;

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    const self = this as unknown as BatchNormInternals;
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    if (!kwargs.training || (self.axis !== -1 && self.axis !== x.rank - 1)) return super.call(inputs, kwargs);
    const decay = 1 - self.momentum;
    const update = (variable: BatchNormInternals["movingMean"], value: tf.Tensor) =>
      tf.tidy(() => {
        const orig = variable.read();
        variable.write(tf.sub(orig, tf.mul(tf.sub(orig, value), decay)));
      });
    return tf.tidy(() =>
      batchNormTraining(x, self.gamma.read(), self.beta.read(), self.epsilon, (mean, variance) => {
        update(self.movingMean, mean);
        update(self.movingVariance, variance);
      }),
    );
  }
}

/** A batch norm layer that trains with batchNormTraining (arguments as tf.layers.batchNormalization). */
export function trainingBatchNorm(args: Parameters<typeof tf.layers.batchNormalization>[0]): tf.layers.Layer {
  return new TrainingBatchNorm(args as Record<string, unknown>);
}

/**
 * Models deserialised after this call (tf.loadLayersModel, e.g. a checkpoint to resume) build
 * their batch norm layers as TrainingBatchNorm. For training processes only: the runtime keeps
 * tfjs's class (the two only differ while training).
 */
export function registerTrainingBatchNorm(): void {
  tf.serialization.registerClass(TrainingBatchNorm as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>);
}
