/**
 * The output tensors of a model, from its metadata's head: what the engines return by name and
 * what `loadModelDir` checks a model.onnx against.
 */
import type { ModelMetadata } from "./model-metadata.js";

/** One output tensor of a model: its name and its shape per image (batch dimension omitted). */
export interface OutputSpec {
  name: string;
  shape: number[];
}

/** The output tensors a model of `meta` has, in the network's output order. */
export function headOutputs(meta: ModelMetadata): OutputSpec[] {
  const head = meta.head;
  switch (head.kind) {
    case "grid": {
      const cells = head.rows * head.cols;
      return [
        { name: head.classesOutput, shape: [cells, meta.classes.length + 1] },
        { name: head.boxesOutput, shape: [cells, 4] },
      ];
    }
    case "heatmap": {
      const rows = meta.input.height / head.stride;
      const cols = meta.input.width / head.stride;
      return [
        { name: head.heatmapOutput, shape: [rows, cols, meta.classes.length] },
        { name: head.regressionOutput, shape: [rows, cols, 4] },
      ];
    }
  }
}
