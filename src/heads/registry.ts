/**
 * The heads fovea knows, for the runtime: each head's decoder (and its output tensors, defined
 * with the metadata in src/core/head-outputs.ts). Adding a
 * head is a folder under src/heads/ plus one case here and in ./train-head.ts (training side,
 * which loads TensorFlow.js and so stays out of the runtime's imports).
 */
import type { ModelMetadata } from "../core/model-metadata.js";
import type { DecodeOptions, HeadDecoder } from "./decoder.js";
import { GridDecoder } from "./grid/decode.js";
import { HeatmapDecoder } from "./heatmap/decode.js";

export { headOutputs, type OutputSpec } from "../core/head-outputs.js";

/** The decoder of a model's head, with its `decode` metadata (fields in `overrides` replaced). */
export function createDecoder(meta: ModelMetadata, overrides: Partial<DecodeOptions> = {}): HeadDecoder {
  switch (meta.head.kind) {
    case "grid":
      return GridDecoder.fromMetadata(meta, overrides);
    case "heatmap":
      return HeatmapDecoder.fromMetadata(meta, overrides);
  }
}
