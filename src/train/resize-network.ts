/**
 * Changing the widths (heatmap-widths.ts) of a trained heatmap network without starting over.
 *
 * A wider layer is Net2Net's function-preserving widening: every weight of the trained network
 * goes to the same place in the wider one, the new filters start from the fresh initialiser, and
 * every weight that reads a new channel into an old filter starts at zero. A network only grown
 * computes exactly what the trained one did, and training spends its images on the new capacity
 * instead of relearning the old.
 *
 * A narrower layer keeps its strongest filters (filter pruning by L1 norm, Li et al. 2017, with
 * the batch norm's scale folded in, so the norm measures what the filter adds after the norm),
 * and every layer reading it keeps only the weights of the kept channels. That changes what the
 * network computes; a short training recovers it far sooner than training from scratch, which is
 * how a trained network is trimmed to an inference budget.
 *
 * A stride-2 first conv (head.stem) can be added the same way, at twice the input size: each tap of
 * the trained first conv, which read one pixel of the half-size input (the 2x2 area average of the
 * full-size one), is spread over the full-size pixels under it. A 6x6 stem computes exactly what
 * the trained network did; a smaller kernel covers some of those pixels once, not twice, and gives
 * that one pixel both shares: exact on smooth areas, close elsewhere.
 */
import * as tf from "@tensorflow/tfjs";
import { firstConv, type HeatmapHead, type ModelMetadata } from "../core/model-metadata.js";
import { HEATMAP_LAYERS, heatmapGeometry, samePads } from "../heads/heatmap/network.js";
import { formatHeatmapWidths, heatmapWidths } from "./heatmap-widths.js";
import { buildModel } from "./network.js";

/**
 * Why `toMeta`'s network cannot take `fromMeta`'s weights (another number of layers, other
 * dilations, an upsampling projection added or dropped), or undefined when it can.
 */
export function resizeProblem(fromMeta: ModelMetadata, toMeta: ModelMetadata): string | undefined {
  const from = heatmapWidths(fromMeta);
  const to = heatmapWidths(toMeta);
  const f = formatHeatmapWidths(from);
  const t = formatHeatmapWidths(to);
  if (from.convFilters.length !== to.convFilters.length || from.neckFilters.length !== to.neckFilters.length)
    return `${t} has another number of conv or neck layers than the model's ${f}; a resize keeps the layers and changes their widths`;
  if (from.neckDilations.some((d, i) => d !== to.neckDilations[i])) return `${t} dilates the neck otherwise than the model's ${f}`;
  const fromStem = firstConv(fromMeta);
  const toStem = firstConv(toMeta);
  if (fromStem.stride !== toStem.stride || fromStem.kernelSize !== toStem.kernelSize) {
    const stem = `a ${toStem.kernelSize}x${toStem.kernelSize} stride-${toStem.stride} first conv`;
    if (fromStem.stride !== 1 || toStem.stride !== 2)
      return `${stem} can only replace a stride-1 first conv, and the model's is ${fromStem.kernelSize}x${fromStem.kernelSize} at stride ${fromStem.stride}`;
    const { width: w, height: h } = fromMeta.input;
    if (toMeta.input.width !== 2 * w || toMeta.input.height !== 2 * h)
      return `${stem} reads twice the model's ${w}x${h} input, ${2 * w}x${2 * h}, got ${toMeta.input.width}x${toMeta.input.height}`;
    // heatmapWidths above has thrown unless both heads are heatmap heads.
    const [fromStride, toStride] = [(fromMeta.head as HeatmapHead).stride, (toMeta.head as HeatmapHead).stride];
    if (toStride !== 2 * fromStride) return `${stem} doubles every stride: head stride ${2 * fromStride} expected, got ${toStride}`;
  } else if (toMeta.input.width !== fromMeta.input.width || toMeta.input.height !== fromMeta.input.height)
    return `the input ${toMeta.input.width}x${toMeta.input.height} differs from the model's ${fromMeta.input.width}x${fromMeta.input.height}`;
  const projects = heatmapGeometry(toMeta).projectsBeforeUpsampling;
  if (projects !== heatmapGeometry(fromMeta).projectsBeforeUpsampling)
    return `${t} ${projects ? "adds" : "drops"} the 1x1 projection before the upsampling of the model's ${f} (the deepest filters equal the head's in one and not the other)`;
  return undefined;
}

/**
 * True when no layer of `toMeta` is narrower than `fromMeta`'s and a first conv it adds is spread
 * exactly: the resize preserves the function.
 */
export function isGrowth(fromMeta: ModelMetadata, toMeta: ModelMetadata): boolean {
  const from = heatmapWidths(fromMeta);
  const to = heatmapWidths(toMeta);
  const [fromStem, toStem] = [firstConv(fromMeta), firstConv(toMeta)];
  // A spread first conv is exact when every trained tap gets all the pixels under it.
  const exactStem =
    (fromStem.stride === toStem.stride && fromStem.kernelSize === toStem.kernelSize) ||
    (fromStem.stride === 1 && toStem.kernelSize === toStem.stride * fromStem.kernelSize);
  return (
    exactStem &&
    from.convFilters.every((n, i) => to.convFilters[i] >= n) &&
    from.neckFilters.every((n, i) => to.neckFilters[i] >= n) &&
    to.headFilters >= from.headFilters
  );
}

/** Per channel of a layer's output in the resized network: the trained channel it takes, or -1 (new). */
type ChannelMap = number[];

/**
 * A network of `toMeta`'s widths from `from`'s weights (see the file comment): wider layers keep
 * every trained filter and start new ones fresh (seeded by `seed`; zeros where a new channel
 * feeds an old filter; batch norm of new channels at identity), narrower layers keep their
 * strongest filters. Throws a RangeError if the layers do not correspond (resizeProblem).
 */
export function resizeHeatmapNetwork(from: tf.LayersModel, fromMeta: ModelMetadata, toMeta: ModelMetadata, seed?: number): tf.LayersModel {
  const problem = resizeProblem(fromMeta, toMeta);
  if (problem) throw new RangeError(`toMeta: ${problem}`);
  const resized = buildModel(toMeta, { seed });
  const fromLayers = new Map(from.layers.map((l) => [l.name, l]));
  const maps = channelMaps(from, resized);
  const [fromStem, toStem] = [firstConv(fromMeta), firstConv(toMeta)];
  const firstConvLayer = HEATMAP_LAYERS.conv(0);
  for (const layer of resized.layers) {
    const fresh = layer.getWeights();
    if (fresh.length === 0) continue;
    let old = fromLayers.get(layer.name)?.getWeights() ?? [];
    const spread = layer.name === firstConvLayer && toStem.stride !== fromStem.stride;
    if (spread) old = [spreadKernel(old[0], toStem.kernelSize, toStem.stride), ...old.slice(1)];
    if (old.length !== fresh.length)
      throw new RangeError(`layer '${layer.name}': the model has ${old.length} weight tensors there, the resized network ${fresh.length}`);
    // A batch norm's vectors follow its conv's output channels; a conv's kernel reads its producer's.
    const producer = producingConvs(layer)[0] as string | undefined;
    const isNorm = layer.getClassName() === "BatchNormalization";
    const outMap = isNorm ? (producer === undefined ? undefined : maps.get(producer)) : maps.get(layer.name);
    const inMap = isNorm || producer === undefined ? undefined : maps.get(producer);
    const values = tf.tidy(() => fresh.map((w, i) => tf.tensor(placeWeights(layer.name, old[i], w, outMap, inMap), w.shape)));
    layer.setWeights(values);
    // getWeights() hands out the layers' own variables: only the copies are disposed.
    tf.dispose(values);
    if (spread) old[0].dispose();
  }
  return resized;
}

/**
 * A stride-1 kernel [k0, k0, ci, co] over a half-size input as a `kernelSize` kernel at `stride`
 * over the full-size input (the file comment): each new tap takes the trained tap of the
 * half-size pixel it lies in, divided by how many of the new taps share that pixel on each axis.
 */
export function spreadKernel(kernel: tf.Tensor, kernelSize: number, stride: number): tf.Tensor {
  const [k0, k0w, ci, co] = kernel.shape;
  if (kernel.rank !== 4 || k0 !== k0w)
    throw new RangeError(`kernel: expected a square [k, k, in, out] kernel, got [${kernel.shape.join(", ")}]`);
  // Pads of TensorFlow's `same` on an even axis: any even size gives the same ones.
  const before = samePads(2 * stride * kernelSize, kernelSize, stride)[0];
  const oldBefore = samePads(2 * kernelSize, k0, 1)[0];
  const tapOf = Array.from({ length: kernelSize }, (_, t) => Math.floor((t - before) / stride) + oldBefore);
  const share = tapOf.map((a) => tapOf.filter((b) => b === a).length);
  const src = kernel.dataSync();
  const out = new Float32Array(kernelSize * kernelSize * ci * co);
  for (let r = 0; r < kernelSize; r++) {
    for (let c = 0; c < kernelSize; c++) {
      const [a, b] = [tapOf[r], tapOf[c]];
      if (a < 0 || a >= k0 || b < 0 || b >= k0) continue;
      const scale = 1 / (share[r] * share[c]);
      const from = (a * k0 + b) * ci * co;
      const to = (r * kernelSize + c) * ci * co;
      for (let i = 0; i < ci * co; i++) out[to + i] = src[from + i] * scale;
    }
  }
  return tf.tensor4d(out, [kernelSize, kernelSize, ci, co]);
}

function hasKernel(layer: tf.layers.Layer): boolean {
  return layer.getWeights().length > 0 && layer.getClassName() !== "BatchNormalization";
}

function inbound(layer: tf.layers.Layer): tf.layers.Layer[] {
  // tfjs keeps a layer's graph edges in inboundNodes; a layer built once has one node.
  const nodes = (layer as unknown as { inboundNodes: Array<{ inboundLayers: tf.layers.Layer[] }> }).inboundNodes;
  return nodes[0]?.inboundLayers ?? [];
}

/** Names of the convs whose output channels reach `layer`'s input unchanged in number and order. */
function producingConvs(layer: tf.layers.Layer): string[] {
  const out: string[] = [];
  const walk = (l: tf.layers.Layer) => {
    for (const up of inbound(l)) {
      if (hasKernel(up)) out.push(up.name);
      else walk(up);
    }
  };
  walk(layer);
  return out;
}

/**
 * The channel map of every conv's output. Convs whose outputs are added together share one map
 * (their channels are the same channels), chosen by their summed filter strength.
 */
function channelMaps(from: tf.LayersModel, resized: tf.LayersModel): Map<string, ChannelMap> {
  const strength = filterStrengths(from);
  // Groups of convs added together, found where an Add layer reads them.
  const groupOf = new Map<string, string[]>();
  for (const layer of resized.layers) {
    if (hasKernel(layer)) groupOf.set(layer.name, groupOf.get(layer.name) ?? [layer.name]);
    if (layer.getClassName() === "Add") {
      const group = [...new Set(producingConvs(layer).flatMap((n) => groupOf.get(n) ?? [n]))];
      for (const n of group) groupOf.set(n, group);
    }
  }
  const maps = new Map<string, ChannelMap>();
  for (const layer of resized.layers) {
    if (!hasKernel(layer) || maps.has(layer.name)) continue;
    const group = groupOf.get(layer.name) ?? [layer.name];
    const width = layer.getWeights()[0].shape.at(-1)!;
    const trained = strength.get(layer.name) ?? [];
    const summed = trained.map((_, c) => group.reduce((s, n) => s + (strength.get(n)?.[c] ?? 0), 0));
    const map = pickChannels(summed, width);
    for (const n of group) maps.set(n, map);
  }
  return maps;
}

/** `width` channels from trained ones of these strengths: all of them first, else the strongest in order. */
function pickChannels(strengths: number[], width: number): ChannelMap {
  const n = strengths.length;
  if (width >= n) return Array.from({ length: width }, (_, c) => (c < n ? c : -1));
  const kept = strengths
    .map((s, c) => [s, c] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1])
    .slice(0, width)
    .map(([, c]) => c);
  return kept.sort((a, b) => a - b);
}

/** Per conv, per output channel: L1 norm of its filter times its batch norm's scale (if any). */
function filterStrengths(model: tf.LayersModel): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const byName = new Map(model.layers.map((l) => [l.name, l]));
  for (const layer of model.layers) {
    if (!hasKernel(layer)) continue;
    const kernel = layer.getWeights()[0];
    const co = kernel.shape.at(-1)!;
    const k = kernel.dataSync();
    const s = new Array<number>(co).fill(0);
    for (let i = 0; i < k.length; i++) s[i % co] += Math.abs(k[i]);
    const bn = byName.get(HEATMAP_LAYERS.batchNorm(layer.name));
    if (bn) {
      const [gamma, , , variance] = bn.getWeights().map((w) => w.dataSync());
      // Keras' epsilon (the trainer's batch norm uses 1e-3), the same the exporter folds with.
      const eps = (bn.getConfig().epsilon as number | undefined) ?? 1e-3;
      for (let c = 0; c < co; c++) s[c] *= Math.abs(gamma[c]) / Math.sqrt(variance[c] + eps);
    }
    out.set(layer.name, s);
  }
  return out;
}

/**
 * The resized layer's weight tensor: `fresh` where a channel is new, `old`'s values where the
 * output channel (`outMap`) and, for a kernel, the input channel (`inMap`) are trained ones; zero
 * where a new input channel feeds a trained filter.
 */
function placeWeights(layer: string, old: tf.Tensor, fresh: tf.Tensor, outMap?: ChannelMap, inMap?: ChannelMap): Float32Array {
  const out = fresh.dataSync().slice() as Float32Array;
  const src = old.dataSync() as Float32Array;
  if (old.rank !== fresh.rank) throw new RangeError(`layer '${layer}': weights of rank ${old.rank} cannot become rank ${fresh.rank}`);
  const co = fresh.shape.at(-1)!;
  const oco = old.shape.at(-1)!;
  const outs = outMap ?? Array.from({ length: co }, (_, o) => (o < oco ? o : -1));
  if (outs.length !== co || outs.some((c) => c >= oco))
    throw new RangeError(`layer '${layer}': ${co} output channels cannot come from the model's ${oco}`);
  if (fresh.rank === 1) {
    outs.forEach((c, o) => {
      if (c >= 0) out[o] = src[c];
    });
    return out;
  }
  if (fresh.rank !== 4) throw new RangeError(`layer '${layer}': expected conv kernels or vectors, got rank ${fresh.rank}`);
  const [kh, kw, ci] = fresh.shape;
  const [okh, okw, oci] = old.shape;
  if (kh !== okh || kw !== okw) throw new RangeError(`layer '${layer}': kernel ${okh}x${okw} cannot become ${kh}x${kw}`);
  const ins = inMap ?? Array.from({ length: ci }, (_, c) => (c < oci ? c : -1));
  if (ins.length !== ci || ins.some((c) => c >= oci))
    throw new RangeError(`layer '${layer}': ${ci} input channels cannot come from the model's ${oci}`);
  for (let p = 0; p < kh * kw; p++) {
    for (let c = 0; c < ci; c++) {
      const row = (p * ci + c) * co;
      outs.forEach((oc, o) => {
        if (oc < 0) return; // a new filter keeps its fresh weights
        // A new input channel into a trained filter starts at zero: that filter's output is unchanged.
        out[row + o] = ins[c] < 0 ? 0 : src[(p * oci + ins[c]) * oco + oc];
      });
    }
  }
  return out;
}
