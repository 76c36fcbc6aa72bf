/**
 * Convolution gradient kernels for the tfjs wasm backend, built from its XNNPACK conv2d.
 *
 * tfjs-backend-wasm 4.22 has no `Conv2DBackpropFilter` kernel (so `model.fit` of a conv net fails
 * there), and its `Conv2DBackpropInput` is a plain C loop. Both gradients are themselves
 * convolutions, so they are expressed here as calls to the backend's own fast `Conv2D`,
 * `Transpose`, `Reverse` and `Slice` kernels. Nothing in tfjs or elsewhere provides them, hence
 * this file.
 *
 *   dW[kh,kw,ci,co] = sum_{n,i,j} x[n, i*s+kh-pt, j*s+kw-pl, ci] * dy[n,i,j,co]
 *     = conv2d(x^T [Ci,H,W,N], dy^T [Ho,Wo,N,Co], stride 1, dilation s)  -> [Ci,kh,kw,Co]
 *   dx = conv2d(dy padded by (k-1-p), flip(W) with in/out channels swapped), stride 1
 */
import * as tf from "@tensorflow/tfjs";

type Pads = [[number, number], [number, number], [number, number], [number, number]];

/** The subset of the wasm backend's interface the kernels use. */
interface WasmBackendLike extends tf.KernelBackend {
  disposeData(dataId: object): boolean;
}

/** Calls another wasm kernel directly (kernels cannot call tf ops: they run inside the engine). */
function call(backend: WasmBackendLike, kernelName: string, inputs: Record<string, tf.TensorInfo>, attrs: Record<string, unknown>): tf.TensorInfo {
  const kernel = tf.getKernel(kernelName, "wasm");
  if (!kernel) throw new Error(`wasm-gradient-kernels: the wasm backend has no ${kernelName} kernel`);
  return kernel.kernelFunc({ inputs, backend, attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo;
}

function conv(backend: WasmBackendLike, x: tf.TensorInfo, filter: tf.TensorInfo, pads: Pads, dilation: [number, number]): tf.TensorInfo {
  return call(backend, tf.Conv2D, { x, filter }, { strides: [1, 1], pad: pads, dataFormat: "NHWC", dilations: dilation, dimRoundingMode: undefined });
}

/** Drops rows/cols at the bottom/right that the forward conv never read (valid pad, stride > 1). */
function cropTo(backend: WasmBackendLike, x: tf.TensorInfo, height: number, width: number): tf.TensorInfo {
  const [n, h, w, c] = x.shape;
  if (h === height && w === width) return x;
  return call(backend, tf.Slice, { x }, { begin: [0, 0, 0, 0], size: [n, Math.min(h, height), Math.min(w, width), c] });
}

function conv2DBackpropFilter(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const attrs = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  const dataFormat = tf.backend_util.convertConv2DDataFormat(attrs.dataFormat);
  if (dataFormat !== "channelsLast") throw new Error(`wasm Conv2DBackpropFilter: dataFormat ${attrs.dataFormat} unsupported, expected NHWC`);
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    dataFormat,
  );
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, outHeight: ho, outWidth: wo, inHeight: h, inWidth: w } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  // Pad (or crop, when negative) so that the dilated dy "filter" yields exactly kh x kw outputs.
  const bottom = kh - h - top + (ho - 1) * sh;
  const right = kw - w - left + (wo - 1) * sw;
  const temps: tf.TensorInfo[] = [];
  const xc = cropTo(backend, x, h + Math.min(0, bottom), w + Math.min(0, right));
  if (xc !== x) temps.push(xc);
  const xt = call(backend, tf.Transpose, { x: xc }, { perm: [3, 1, 2, 0] }); // [Ci,H,W,N]
  const dyt = call(backend, tf.Transpose, { x: dy }, { perm: [1, 2, 0, 3] }); // [Ho,Wo,N,Co]
  temps.push(xt, dyt);
  const pads: Pads = [[0, 0], [top, Math.max(0, bottom)], [left, Math.max(0, right)], [0, 0]];
  const g = conv(backend, xt, dyt, pads, [sh, sw]); // [Ci,kh,kw,Co]
  temps.push(g);
  const dw = call(backend, tf.Transpose, { x: g }, { perm: [1, 2, 0, 3] });
  for (const t of temps) backend.disposeData(t.dataId);
  return dw;
}

let stockBackpropInput: tf.KernelFunc | undefined;

function conv2DBackpropInput(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const attrs = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
  const dataFormat = tf.backend_util.convertConv2DDataFormat(attrs.dataFormat);
  const info = tf.backend_util.computeConv2DInfo(
    attrs.inputShape,
    filter.shape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    dataFormat,
  );
  // Strided convs would need a zero-dilated dy; the stock kernel handles those (none in fovea's nets).
  if (info.strideHeight !== 1 || info.strideWidth !== 1 || dataFormat !== "channelsLast") {
    if (!stockBackpropInput) throw new Error("wasm Conv2DBackpropInput: stock kernel missing for strided/NCHW case");
    return stockBackpropInput(args) as tf.TensorInfo;
  }
  const { filterHeight: kh, filterWidth: kw, inHeight: h, inWidth: w, outHeight: ho, outWidth: wo } = info;
  const top = kh - 1 - info.padInfo.top;
  const left = kw - 1 - info.padInfo.left;
  const bottom = h - ho + kh - 1 - top;
  const right = w - wo + kw - 1 - left;
  const flipped = call(backend, tf.Reverse, { x: filter }, { dims: [0, 1] });
  const ft = call(backend, tf.Transpose, { x: flipped }, { perm: [0, 1, 3, 2] }); // [kh,kw,Co,Ci]
  const dx = conv(backend, dy, ft, [[0, 0], [top, bottom], [left, right], [0, 0]], [1, 1]);
  backend.disposeData(flipped.dataId);
  backend.disposeData(ft.dataId);
  return dx;
}

let registered = false;

/**
 * Registers the conv gradient kernels on the wasm backend (idempotent). Call before training on
 * `tf.setBackend('wasm')`. `Conv2DBackpropInput` replaces the stock kernel for stride-1 convs.
 */
export function registerWasmGradientKernels(): void {
  if (registered) return;
  registered = true;
  if (!tf.getKernel(tf.Conv2DBackpropFilter, "wasm")) {
    tf.registerKernel({ kernelName: tf.Conv2DBackpropFilter, backendName: "wasm", kernelFunc: conv2DBackpropFilter as tf.KernelFunc });
  }
  const stock = tf.getKernel(tf.Conv2DBackpropInput, "wasm");
  if (stock) {
    stockBackpropInput = stock.kernelFunc;
    tf.unregisterKernel(tf.Conv2DBackpropInput, "wasm");
  }
  // Keep the stock setupFunc (it binds the C function the strided fallback calls); tfjs runs
  // setupFuncs on every setBackend, so this works whether or not the backend is up yet.
  tf.registerKernel({
    kernelName: tf.Conv2DBackpropInput,
    backendName: "wasm",
    kernelFunc: conv2DBackpropInput as tf.KernelFunc,
    setupFunc: stock?.setupFunc,
  });
}

/** The kernels, exported for the gradient tests. */
export const wasmGradientKernelNames = [tf.Conv2DBackpropFilter, tf.Conv2DBackpropInput] as const;
