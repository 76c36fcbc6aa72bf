/**
 * Dilated ("atrous") convolution that trains: tfjs's Conv2D layer, whose pass for a dilation
 * above 1 is replaced by one custom-gradient op.
 *
 * Why: tfjs's Conv2D and FusedConv2D gradients refuse dilations above 1 ("not yet supported in
 * gradients"), on every backend, while the forward kernels (wasm's XNNPACK included) run them.
 * A dilated neck widens the network's view at no cost in multiply-adds; its gradients are:
 *
 *   y[i]  = sum_a x[i + a*d - p] w[a]                    ('same' padding p = d*(k-1)/2, stride 1)
 *   dx    = conv(dy, w rotated 180 degrees, in/out channels swapped, dilation d, 'same')
 *   dw[a] = sum_i x[i + a*d - p]^T dy[i]                 (a conv of the padded x with dy, stride d)
 *
 * Inference and serialisation are the layer's own: the class keeps the name `Conv2D`, so a saved
 * model loads as a plain tfjs Conv2D anywhere (the runtime's tfjs engine included), and
 * `registerTrainingConv2D()` makes models loaded for training (a checkpoint to resume, `--from`)
 * use this class.
 */
import * as tf from "@tensorflow/tfjs";

interface ConvInternals {
  kernel: { read(): tf.Tensor4D };
  bias: { read(): tf.Tensor1D } | null;
  strides: number[];
  padding: string;
  dataFormat: string;
  dilationRate: number[];
  activation: { apply(x: tf.Tensor): tf.Tensor } | null;
}

type ConvClass = new (args: Record<string, unknown>) => tf.layers.Layer;
const Conv2D = Object.getPrototypeOf(tf.layers.conv2d({ filters: 1, kernelSize: 1 })).constructor as ConvClass & { className: string };

/**
 * `x` [N, H, W, Ci] convolved with `w` [k, k, Ci, Co] at dilation `d`, stride 1, `same` padding,
 * with the gradient above. `k` must be odd (the padding is then the same on both sides).
 */
export function dilatedConv2d(x: tf.Tensor4D, w: tf.Tensor4D, d: number): tf.Tensor4D {
  const [kh, kw] = w.shape;
  if (kh % 2 === 0 || kw % 2 === 0) throw new RangeError(`dilatedConv2d: w: expected an odd kernel size, got ${kh}x${kw}`);
  const ph = (d * (kh - 1)) / 2;
  const pw = (d * (kw - 1)) / 2;
  const op = tf.customGrad((...args: unknown[]) => {
    const [xi, wi, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    save([xi, wi]);
    return {
      value: tf.conv2d(xi, wi, 1, "same", "NHWC", d),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const g = dy as tf.Tensor4D;
        const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
        const wT = tf.transpose(tf.reverse(ws, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
        const dx = tf.conv2d(g, wT, 1, "same", "NHWC", d);
        // dw as one convolution (the backend's fast kernel, as for undilated convs): over the
        // padded input with batch and channels swapped, dy as the filter, stride d.
        const xp = tf.pad(xs, [
          [0, 0],
          [ph, ph],
          [pw, pw],
          [0, 0],
        ]);
        const xT = tf.transpose(xp, [3, 1, 2, 0]) as tf.Tensor4D;
        const gT = tf.transpose(g, [1, 2, 0, 3]) as tf.Tensor4D;
        const dw = tf.transpose(tf.conv2d(xT, gT, d, "valid"), [1, 2, 0, 3]);
        return [dx, dw];
      },
    };
  });
  return (op as unknown as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor4D)(x, w);
}

/** tfjs's Conv2D with the pass of dilatedConv2d where its dilation is above 1. */
export class TrainingConv2D extends Conv2D {
  static override className = Conv2D.className;

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    const self = this as unknown as ConvInternals;
    const [dh, dw] = self.dilationRate;
    if (
      (dh === 1 && dw === 1) ||
      dh !== dw ||
      self.padding !== "same" ||
      self.dataFormat !== "channelsLast" ||
      self.strides.some((s) => s !== 1)
    ) {
      return super.call(inputs, kwargs);
    }
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
    return tf.tidy(() => {
      let y: tf.Tensor = dilatedConv2d(x, self.kernel.read(), dh);
      if (self.bias) y = tf.add(y, self.bias.read());
      return self.activation ? self.activation.apply(y) : y;
    });
  }
}

/** A conv layer that trains at any dilation (arguments as tf.layers.conv2d). */
export function trainingConv2d(args: Parameters<typeof tf.layers.conv2d>[0]): tf.layers.Layer {
  return new TrainingConv2D(args as unknown as Record<string, unknown>);
}

/**
 * Models deserialised after this call (tf.loadLayersModel, e.g. a checkpoint to resume) build
 * their conv layers as TrainingConv2D. For training processes only: the runtime keeps tfjs's
 * class (the two differ only in the gradient).
 */
export function registerTrainingConv2D(): void {
  tf.serialization.registerClass(TrainingConv2D as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>);
}
