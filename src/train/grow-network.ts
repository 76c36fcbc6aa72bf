/**
 * Growing a trained heatmap network to larger widths (heatmap-widths.ts) without losing what it
 * learned.
 *
 * Growing is Net2Net's function-preserving widening: every weight of the trained network goes to
 * the same place in the wider one, the new filters start from the fresh initialiser, and every
 * weight that reads a new channel into an old filter starts at zero. The grown network computes
 * exactly what the trained one did, and training spends its images on the new capacity instead
 * of relearning the old.
 */
import * as tf from "@tensorflow/tfjs";
import type { ModelMetadata } from "../core/model-metadata.js";
import { heatmapGeometry } from "../heads/heatmap/network.js";
import { formatHeatmapWidths, heatmapWidths } from "./heatmap-widths.js";
import { buildModel } from "./network.js";

/**
 * Why `toMeta`'s network cannot hold `fromMeta`'s (another number of layers, other dilations,
 * an upsampling projection added or dropped, a narrower layer), or undefined when it can.
 */
export function growthProblem(fromMeta: ModelMetadata, toMeta: ModelMetadata): string | undefined {
  const from = heatmapWidths(fromMeta);
  const to = heatmapWidths(toMeta);
  const f = formatHeatmapWidths(from);
  const t = formatHeatmapWidths(to);
  if (from.convFilters.length !== to.convFilters.length || from.neckFilters.length !== to.neckFilters.length)
    return `${t} has another number of conv or neck layers than the model's ${f}; growing keeps the layers and widens them`;
  if (from.neckDilations.some((d, i) => d !== to.neckDilations[i])) return `${t} dilates the neck otherwise than the model's ${f}`;
  const projects = heatmapGeometry(toMeta).projectsBeforeUpsampling;
  if (projects !== heatmapGeometry(fromMeta).projectsBeforeUpsampling)
    return `${t} ${projects ? "adds" : "drops"} the 1x1 projection before the upsampling of the model's ${f} (the deepest filters equal the head's in one and not the other)`;
  const layers: Array<[string, number, number]> = [
    ...from.convFilters.map((n, i): [string, number, number] => [`conv${i + 1}`, n, to.convFilters[i]]),
    ...from.neckFilters.map((n, i): [string, number, number] => [`neck${i + 1}`, n, to.neckFilters[i]]),
    ["head", from.headFilters, to.headFilters],
  ];
  const narrower = layers.find(([, a, b]) => b < a);
  if (narrower)
    return `${t} is narrower than the model's ${f}: ${narrower[0]} has ${narrower[2]} filters, expected at least ${narrower[1]}`;
  return undefined;
}

/**
 * A network of `toMeta`'s (wider) widths that computes what `from` computes: `from`'s weights in
 * the leading channels, fresh initial weights in the new filters (seeded by `seed`), zeros where
 * a new channel feeds an old filter, and batch norm of new channels at its identity (gamma 1,
 * beta 0, moving mean 0, moving variance 1). Throws a RangeError if `toMeta` is not a growth of
 * `fromMeta` (growthProblem).
 */
export function growHeatmapNetwork(from: tf.LayersModel, fromMeta: ModelMetadata, toMeta: ModelMetadata, seed?: number): tf.LayersModel {
  const problem = growthProblem(fromMeta, toMeta);
  if (problem) throw new RangeError(`toMeta: ${problem}`);
  const grown = buildModel(toMeta, { seed });
  const fromLayers = new Map(from.layers.map((l) => [l.name, l]));
  for (const layer of grown.layers) {
    const fresh = layer.getWeights();
    if (fresh.length === 0) continue;
    const old = fromLayers.get(layer.name)?.getWeights() ?? [];
    if (old.length !== fresh.length)
      throw new RangeError(`layer '${layer.name}': the model has ${old.length} weight tensors there, the grown network ${fresh.length}`);
    const values = tf.tidy(() => fresh.map((w, i) => tf.tensor(placeWeights(layer.name, old[i], w), w.shape)));
    layer.setWeights(values);
    // getWeights() hands out the layers' own variables: only the copies are disposed.
    tf.dispose(values);
  }
  return grown;
}

/** The grown layer's weight tensor: `fresh` with `old` in its leading block (see growHeatmapNetwork). */
function placeWeights(layer: string, old: tf.Tensor, fresh: tf.Tensor): Float32Array {
  const out = fresh.dataSync().slice() as Float32Array;
  const src = old.dataSync() as Float32Array;
  if (old.rank !== fresh.rank || old.shape.some((n, i) => n > fresh.shape[i]))
    throw new RangeError(`layer '${layer}': weights of shape [${old.shape}] do not fit in [${fresh.shape}]`);
  if (fresh.rank === 1) {
    out.set(src);
    return out;
  }
  if (fresh.rank !== 4) throw new RangeError(`layer '${layer}': expected conv kernels or vectors, got rank ${fresh.rank}`);
  const [kh, kw, ci, co] = fresh.shape;
  const [okh, okw, oci, oco] = old.shape;
  if (kh !== okh || kw !== okw) throw new RangeError(`layer '${layer}': kernel ${okh}x${okw} cannot grow into ${kh}x${kw}`);
  for (let p = 0; p < kh * kw; p++) {
    for (let c = 0; c < ci; c++) {
      const row = (p * ci + c) * co;
      // A new input channel into an old filter starts at zero: the old filter's output is unchanged.
      for (let o = 0; o < oco; o++) out[row + o] = c < oci ? src[(p * oci + c) * oco + o] : 0;
    }
  }
  return out;
}
