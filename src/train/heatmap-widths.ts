/**
 * Heatmap network widths: the `conv/neck/head` filters of `--widths` and of
 * scripts/heatmap-widths.ts, e.g. `16-24-64-96/96-96/48`. Free of TensorFlow.js so the CLI can
 * check the flag before loading it.
 */
import { firstConv, type HeatmapHead, type ModelMetadata } from "../core/model-metadata.js";

/** Filters of a heatmap network: conv blocks, neck convs (with their dilations) and head. */
export interface HeatmapWidths {
  convFilters: number[];
  neckFilters: number[];
  /** One per neck conv; 1 = undilated. */
  neckDilations: number[];
  headFilters: number;
}

const WIDTHS = /^(\d+(?:-\d+)*)\/(\d+(?:d\d+)?(?:-\d+(?:d\d+)?)*)?\/(\d+)$/;

/**
 * Parse `conv/neck/head` filters such as `16-24-48-64/64-64/32`; a neck conv written `64d2` is
 * dilated by 2. `flag` names the option in the error.
 */
export function parseHeatmapWidths(flag: string, spec: string): HeatmapWidths {
  const m = WIDTHS.exec(spec.trim());
  const bad = () => new RangeError(`${flag}: expected conv/neck/head filters like 16-24-48-64/64-64d2/32, got '${spec}'`);
  if (!m) throw bad();
  const neckSpec = m[2] ? m[2].split("-").map((n) => n.split("d").map(Number)) : [];
  const widths: HeatmapWidths = {
    convFilters: m[1].split("-").map(Number),
    neckFilters: neckSpec.map(([f]) => f),
    neckDilations: neckSpec.map(([, d]) => d ?? 1),
    headFilters: Number(m[3]),
  };
  const all = [...widths.convFilters, ...widths.neckFilters, ...widths.neckDilations, widths.headFilters];
  if (all.some((n) => !Number.isInteger(n) || n < 1)) throw bad();
  return widths;
}

/** The widths of a heatmap model's metadata. */
export function heatmapWidths(meta: ModelMetadata): HeatmapWidths {
  const head = heatmapHead(meta, "meta.head");
  return {
    convFilters: [...meta.architecture.convFilters],
    neckFilters: [...head.neckFilters],
    neckDilations: head.neckFilters.map((_, i) => head.neckDilations?.[i] ?? 1),
    headFilters: head.headFilters,
  };
}

/** `conv/neck/head`, the form parseHeatmapWidths reads. */
export function formatHeatmapWidths(w: HeatmapWidths): string {
  const neck = w.neckFilters.map((f, i) => (w.neckDilations[i] > 1 ? `${f}d${w.neckDilations[i]}` : `${f}`));
  return `${w.convFilters.join("-")}/${neck.join("-")}/${w.headFilters}`;
}

/**
 * `meta` with other widths (the metadata's dilations field only where a neck conv is dilated)
 * and the description of the network they make (describeHeatmapNetwork).
 */
export function withHeatmapWidths(meta: ModelMetadata, w: HeatmapWidths): ModelMetadata {
  const head = heatmapHead(meta, "meta.head");
  const { neckDilations: _dropped, ...rest } = head;
  const widened: ModelMetadata = {
    ...meta,
    architecture: { ...meta.architecture, convFilters: [...w.convFilters] },
    head: {
      ...rest,
      neckFilters: [...w.neckFilters],
      ...(w.neckDilations.some((d) => d > 1) ? { neckDilations: [...w.neckDilations] } : {}),
      headFilters: w.headFilters,
    },
  };
  return { ...widened, description: describeHeatmapNetwork(widened) };
}

/** A model's `description` for its heatmap network, written from the metadata. */
export function describeHeatmapNetwork(meta: ModelMetadata): string {
  const head = heatmapHead(meta, "meta.head");
  const w = heatmapWidths(meta);
  const bn = head.batchNorm === true;
  const deepest = firstConv(meta).stride * 2 ** (w.convFilters.length - 1);
  const stem = head.stem ? `, the first a ${head.stem.kernelSize}x${head.stem.kernelSize} conv at stride ${head.stem.stride}` : "";
  const dilated = w.neckDilations.some((d) => d > 1) ? ` (dilations ${w.neckDilations.join(", ")})` : "";
  const neck =
    w.neckFilters.length === 0
      ? ""
      : `, ${w.neckFilters.length === 1 ? "a context conv" : `${w.neckFilters.length} context convs`} of ${w.neckFilters.join(", ")}${dilated} at stride ${deepest}`;
  const input = `input ${meta.input.width}x${meta.input.height} (${meta.preprocess.kernel} resize, ${meta.preprocess.fit})`;
  return (
    `Heatmap detector (CenterNet-style head) on the seed lecture blocks${bn ? " with batch norm" : ""}: ` +
    `3x3 conv -> ${bn ? "BN -> " : ""}ReLU -> 2x2 max-pool (${w.convFilters.join(", ")} filters${stem})${neck}, ` +
    `nearest upsampling + lateral to stride ${head.stride} (${w.headFilters}); ${input}` +
    `${bn ? "; batch norm folded into the convs in model.onnx" : ""}.`
  );
}

/** A first conv (head.stem) as `--stem` writes it: `4s2` is a 4x4 kernel at stride 2. */
export interface HeatmapStem {
  kernelSize: number;
  stride: 2;
}

/** Parse `--stem`'s `<kernel>s<stride>`, e.g. `4s2`. `flag` names the option in the error. */
export function parseHeatmapStem(flag: string, spec: string): HeatmapStem {
  const m = /^(\d+)s(\d+)$/.exec(spec.trim());
  const kernelSize = Number(m?.[1]);
  if (!m || Number(m[2]) !== 2 || !(kernelSize >= 2 && kernelSize <= 8))
    throw new RangeError(`${flag}: expected a first conv of kernel 2 to 8 at stride 2 like 4s2, got '${spec}'`);
  return { kernelSize, stride: 2 };
}

/**
 * `meta` with a stride-2 first conv and its description. Every stride doubles; with `scaleInput`
 * the input doubles too (a trained model's layers then see what they saw, at twice the detail),
 * else it stays (a fresh model: give the larger input with --input).
 */
export function withHeatmapStem(meta: ModelMetadata, stem: HeatmapStem, scaleInput: boolean): ModelMetadata {
  const head = heatmapHead(meta, "meta.head");
  const scale = stem.stride / firstConv(meta).stride;
  const input = scaleInput ? { ...meta.input, width: meta.input.width * scale, height: meta.input.height * scale } : meta.input;
  const stemmed: ModelMetadata = { ...meta, input, head: { ...head, stride: head.stride * scale, stem: { ...stem } } };
  return { ...stemmed, description: describeHeatmapNetwork(stemmed) };
}

function heatmapHead(meta: ModelMetadata, where: string): HeatmapHead {
  if (meta.head.kind !== "heatmap") throw new RangeError(`${where}.kind: expected 'heatmap', got '${meta.head.kind}'`);
  return meta.head;
}
