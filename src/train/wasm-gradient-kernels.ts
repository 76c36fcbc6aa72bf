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
// Loaded first so its stock kernels are registered before (and replaced by) the ones here.
import "@tensorflow/tfjs-backend-wasm";

type Pads = [[number, number], [number, number], [number, number], [number, number]];

/** The subset of the wasm backend's interface the kernels use. */
interface WasmBackendLike extends tf.KernelBackend {
  disposeData(dataId: object): boolean;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  /** A view of the tensor's bytes on the wasm heap (invalidated when the heap grows). */
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
}

/** Calls another wasm kernel directly (kernels cannot call tf ops: they run inside the engine). */
function call(backend: WasmBackendLike, kernelName: string, inputs: tf.NamedTensorInfoMap, attrs: Record<string, unknown>): tf.TensorInfo {
  const kernel = tf.getKernel(kernelName, "wasm");
  if (!kernel) throw new Error(`wasm-gradient-kernels: the wasm backend has no ${kernelName} kernel`);
  return kernel.kernelFunc({ inputs, backend, attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo;
}

function conv(backend: WasmBackendLike, x: tf.TensorInfo, filter: tf.TensorInfo, pads: Pads, dilation: [number, number]): tf.TensorInfo {
  return call(
    backend,
    tf.Conv2D,
    { x, filter },
    { strides: [1, 1], pad: pads, dataFormat: "NHWC", dilations: dilation, dimRoundingMode: undefined },
  );
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
  if (dataFormat !== "channelsLast")
    throw new Error(`wasm Conv2DBackpropFilter: dataFormat ${attrs.dataFormat} unsupported, expected NHWC`);
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
  const {
    filterHeight: kh,
    filterWidth: kw,
    strideHeight: sh,
    strideWidth: sw,
    outHeight: ho,
    outWidth: wo,
    inHeight: h,
    inWidth: w,
  } = info;
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
  const pads: Pads = [
    [0, 0],
    [top, Math.max(0, bottom)],
    [left, Math.max(0, right)],
    [0, 0],
  ];
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
  const dx = conv(
    backend,
    dy,
    ft,
    [
      [0, 0],
      [top, bottom],
      [left, right],
      [0, 0],
    ],
    [1, 1],
  );
  backend.disposeData(flipped.dataId);
  backend.disposeData(ft.dataId);
  return dx;
}

/**
 * MaxPoolGrad for non-overlapping windows (filter == stride, valid padding), the pooling of every
 * fovea network. Hand-written as one JIT-compiled loop over the wasm heap: the stock wasm kernel
 * is a generic C loop (500 ms per batch of 32 on the first pooling layer) and no composition of
 * wasm ops was faster (a broadcast Equal alone took longer). Like the cpu backend, the gradient
 * goes to the first (row-major) input equal to the window max.
 */
function maxPoolGrad(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const attrs = args.attrs as unknown as tf.MaxPoolGradAttrs;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const k = info.filterHeight;
  const nonOverlapping =
    info.filterWidth === k &&
    info.strideHeight === k &&
    info.strideWidth === k &&
    info.padInfo.top === 0 &&
    info.padInfo.left === 0 &&
    input.dtype === "float32" &&
    dy.dtype === "float32";
  if (!nonOverlapping) {
    if (!stockMaxPoolGrad) throw new Error("wasm MaxPoolGrad: stock kernel missing for overlapping/padded pooling");
    return stockMaxPoolGrad(args) as tf.TensorInfo;
  }
  const [n, h, w, c] = input.shape;
  const { outHeight: ho, outWidth: wo } = info;
  const out = backend.makeOutput(input.shape, "float32");
  // Views are taken after makeOutput: allocating may grow (and move) the wasm heap.
  const x = backend.typedArrayFromHeap(input);
  const g = backend.typedArrayFromHeap(dy);
  const dx = backend.typedArrayFromHeap(out);
  dx.fill(0);
  if (k === 2) {
    maxPoolGrad2x2(x, g, dx, n, h, w, c, ho, wo);
    return out;
  }
  const best = new Float32Array(c);
  const at = new Int32Array(c);
  let o = 0;
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < ho; i++) {
      for (let j = 0; j < wo; j++) {
        best.fill(-Infinity);
        at.fill(-1);
        for (let r = 0; r < k; r++) {
          for (let q = 0; q < k; q++) {
            const base = ((b * h + i * k + r) * w + j * k + q) * c;
            for (let ch = 0; ch < c; ch++) {
              const v = x[base + ch];
              if (v > best[ch]) {
                best[ch] = v;
                at[ch] = base + ch;
              }
            }
          }
        }
        for (let ch = 0; ch < c; ch++, o++) if (at[ch] >= 0) dx[at[ch]] = g[o];
      }
    }
  }
  return out;
}

/**
 * maxPoolGrad's loop for 2x2 windows (every fovea pooling), unrolled: the four candidates of a
 * channel are compared in registers instead of through per-window best/argmax arrays (4-5x faster
 * on the first pooling layer's [32,98,98,32]). Same tie rule: the first maximum in row-major order.
 */
function maxPoolGrad2x2(
  x: Float32Array,
  g: Float32Array,
  dx: Float32Array,
  n: number,
  h: number,
  w: number,
  c: number,
  ho: number,
  wo: number,
): void {
  let o = 0;
  const down = w * c;
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < ho; i++) {
      for (let j = 0; j < wo; j++) {
        const p00 = ((b * h + 2 * i) * w + 2 * j) * c;
        const p01 = p00 + c;
        const p10 = p00 + down;
        const p11 = p10 + c;
        for (let ch = 0; ch < c; ch++, o++) {
          let best = -Infinity;
          let at = -1;
          let v = x[p00 + ch];
          if (v > best) {
            best = v;
            at = p00 + ch;
          }
          v = x[p01 + ch];
          if (v > best) {
            best = v;
            at = p01 + ch;
          }
          v = x[p10 + ch];
          if (v > best) {
            best = v;
            at = p10 + ch;
          }
          v = x[p11 + ch];
          if (v > best) {
            best = v;
            at = p11 + ch;
          }
          if (at >= 0) dx[at] = g[o];
        }
      }
    }
  }
}

let stockMaxPoolGrad: tf.KernelFunc | undefined;

/**
 * BatchMatMul (unbatched) and _FusedMatMul as a 1x1 XNNPACK convolution: the stock wasm matmul is
 * a scalar blocked loop, 3-10x slower than XNNPACK's GEMM for the dense layers' shapes.
 */
function matMulAsConv(
  backend: WasmBackendLike,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  fused?: { bias?: tf.TensorInfo; activation: string; leakyreluAlpha?: number },
): tf.TensorInfo | undefined {
  const ra = a.shape.length;
  const rb = b.shape.length;
  const batchA = a.shape.slice(0, -2).reduce((p, q) => p * q, 1);
  const batchB = b.shape.slice(0, -2).reduce((p, q) => p * q, 1);
  if (batchA !== 1 || batchB !== 1 || a.dtype !== "float32" || b.dtype !== "float32") return undefined;
  if (fused && fused.activation !== "linear" && fused.activation !== "relu") return undefined;
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const kIn = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const nOut = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  const temps: tf.TensorInfo[] = [];
  let a2 = call(backend, tf.Reshape, { x: a }, { shape: transposeA ? [kIn, m] : [m, kIn] });
  temps.push(a2);
  if (transposeA) temps.push((a2 = call(backend, tf.Transpose, { x: a2 }, { perm: [1, 0] })));
  let b2 = call(backend, tf.Reshape, { x: b }, { shape: transposeB ? [nOut, kIn] : [kIn, nOut] });
  temps.push(b2);
  if (transposeB) temps.push((b2 = call(backend, tf.Transpose, { x: b2 }, { perm: [1, 0] })));
  const x = call(backend, tf.Reshape, { x: a2 }, { shape: [1, 1, m, kIn] });
  const filter = call(backend, tf.Reshape, { x: b2 }, { shape: [1, 1, kIn, nOut] });
  temps.push(x, filter);
  const convAttrs = { strides: [1, 1], pad: "valid", dataFormat: "NHWC", dilations: [1, 1], dimRoundingMode: undefined };
  const y = fused
    ? call(backend, tf.FusedConv2D, fused.bias ? { x, filter, bias: fused.bias } : { x, filter }, {
        ...convAttrs,
        activation: fused.activation,
        leakyreluAlpha: fused.leakyreluAlpha,
      })
    : call(backend, tf.Conv2D, { x, filter }, convAttrs);
  temps.push(y);
  const outBatch = ra >= rb ? a.shape.slice(0, -2) : b.shape.slice(0, -2);
  const out = call(backend, tf.Reshape, { x: y }, { shape: [...outBatch, m, nOut] });
  for (const t of temps) backend.disposeData(t.dataId);
  return out;
}

let stockBatchMatMul: tf.KernelFunc | undefined;
let stockFusedMatMul: tf.KernelFunc | undefined;

function batchMatMul(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const attrs = args.attrs as unknown as tf.BatchMatMulAttrs;
  return (
    matMulAsConv(args.backend as WasmBackendLike, a, b, attrs.transposeA, attrs.transposeB) ?? (stockBatchMatMul!(args) as tf.TensorInfo)
  );
}

function fusedMatMul(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const { a, b, bias, preluActivationWeights } = args.inputs as {
    a: tf.TensorInfo;
    b: tf.TensorInfo;
    bias?: tf.TensorInfo;
    preluActivationWeights?: tf.TensorInfo;
  };
  const attrs = args.attrs as unknown as tf._FusedMatMulAttrs;
  const fusable = preluActivationWeights == null && (bias == null || bias.shape.length === 1);
  const out = fusable
    ? matMulAsConv(args.backend as WasmBackendLike, a, b, attrs.transposeA, attrs.transposeB, {
        bias,
        activation: attrs.activation,
        leakyreluAlpha: attrs.leakyreluAlpha,
      })
    : undefined;
  return out ?? (stockFusedMatMul!(args) as tf.TensorInfo);
}

let stockSum: tf.KernelFunc | undefined;

/**
 * Sum over all leading axes (a bias gradient): the stock kernel first transposes the whole
 * tensor to make the axes innermost (120 ms for a [32,98,98,32] gradient). XNNPACK average
 * pooling over the tensor viewed as one [N*H, W] image reads it once; times the pixel count.
 */
function sum(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const { x } = args.inputs as { x: tf.TensorInfo };
  const attrs = args.attrs as unknown as tf.SumAttrs;
  const rank = x.shape.length;
  const axes = tf.util.parseAxisParam(attrs.axis, x.shape).sort((p, q) => p - q);
  const leading = rank >= 2 && axes.length === rank - 1 && axes.every((v, i) => v === i);
  if (!leading || x.dtype !== "float32" || tf.util.sizeFromShape(x.shape) === 0) return stockSum!(args) as tf.TensorInfo;
  const c = x.shape[rank - 1];
  const cols = rank >= 3 ? x.shape[rank - 2] : 1;
  const rows = tf.util.sizeFromShape(x.shape) / c / cols;
  const image = call(backend, tf.Reshape, { x }, { shape: [1, rows, cols, c] });
  const mean = call(
    backend,
    tf.AvgPool,
    { x: image },
    { filterSize: [rows, cols], strides: [rows, cols], pad: "valid", dimRoundingMode: undefined },
  );
  const pixels = call(backend, tf.Fill, {}, { shape: [], value: rows * cols, dtype: "float32" });
  const total = call(backend, tf.Multiply, { a: mean, b: pixels }, {});
  const out = call(backend, tf.Reshape, { x: total }, { shape: attrs.keepDims ? [...x.shape.slice(0, -1).map(() => 1), c] : [c] });
  for (const t of [image, mean, pixels, total]) backend.disposeData(t.dataId);
  return out;
}

/** Identity shares the immutable buffer (as the cpu backend does) instead of copying it. */
function identity(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend }): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  if (x.dtype === "string") return stockIdentity!(args) as tf.TensorInfo;
  (args.backend as WasmBackendLike & { incRef(dataId: object): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

let stockIdentity: tf.KernelFunc | undefined;

let registered = false;

/** Replaces (or adds) a wasm kernel, returning the stock kernelFunc; keeps its setupFunc. */
function override(kernelName: string, kernelFunc: tf.KernelFunc): tf.KernelFunc | undefined {
  const stock = tf.getKernel(kernelName, "wasm");
  if (stock) tf.unregisterKernel(kernelName, "wasm");
  // The stock setupFunc binds the C function the fallback path calls; tfjs runs setupFuncs on
  // every setBackend, so this works whether or not the backend is initialised yet.
  tf.registerKernel({ kernelName, backendName: "wasm", kernelFunc, setupFunc: stock?.setupFunc });
  return stock?.kernelFunc;
}

/**
 * Registers the training kernels on the wasm backend (idempotent): Conv2DBackpropFilter (missing
 * in tfjs-backend-wasm 4.22), and faster Conv2DBackpropInput, MaxPoolGrad, BatchMatMul,
 * _FusedMatMul, leading-axes Sum (XNNPACK conv2d / avg-pool based) and a copy-free Identity. Cases they do not cover
 * fall back to the stock kernels.
 */
export function registerWasmGradientKernels(): void {
  if (registered) return;
  registered = true;
  override(tf.Conv2DBackpropFilter, conv2DBackpropFilter as tf.KernelFunc);
  stockBackpropInput = override(tf.Conv2DBackpropInput, conv2DBackpropInput as tf.KernelFunc);
  stockMaxPoolGrad = override(tf.MaxPoolGrad, maxPoolGrad as tf.KernelFunc);
  stockBatchMatMul = override(tf.BatchMatMul, batchMatMul as tf.KernelFunc);
  stockFusedMatMul = override(tf._FusedMatMul, fusedMatMul as tf.KernelFunc);
  stockSum = override(tf.Sum, sum as tf.KernelFunc);
  stockIdentity = override(tf.Identity, identity as tf.KernelFunc);
}
