/**
 * The grid head's training plug-in (src/heads/train-head.ts) over its targets and loss in
 * src/train/grid-targets.ts.
 */
import type { ModelMetadata } from "../../core/model-metadata.js";
import type { LabelledObject } from "../../dataset/tagged-frame.js";
import { cellAccuracy, encodeGridTargets, gridLoss, type GridLossOptions } from "./targets.js";
import type { HeadTargets, TrainHead } from "../train-head.js";

export type { GridLossOptions };

export function gridTrainHead(meta: ModelMetadata, options: GridLossOptions = {}): TrainHead {
  if (meta.head.kind !== "grid") throw new TypeError(`meta.head.kind: expected 'grid', got '${meta.head.kind}'`);
  const spec = { rows: meta.head.rows, cols: meta.head.cols, classes: meta.classes };
  const cells = spec.rows * spec.cols;
  const k = meta.classes.length + 1;
  return {
    kind: "grid",
    encode(frames: ReadonlyArray<readonly LabelledObject[]>): HeadTargets {
      const t = encodeGridTargets(frames, spec);
      return {
        batch: t.batch,
        arrays: {
          classes: { data: t.classes, shape: [t.batch, cells, k] },
          boxes: { data: t.boxes, shape: [t.batch, cells, 4] },
          positive: { data: t.positive, shape: [t.batch, cells] },
        },
      };
    },
    loss: (outputs, t) => gridLoss(outputs[0], outputs[1], { classes: t.classes, boxes: t.boxes, positive: t.positive }, options),
    accuracy: (pred, t) =>
      cellAccuracy(pred, {
        classes: t.arrays.classes.data,
        boxes: t.arrays.boxes.data,
        positive: t.arrays.positive.data,
        batch: t.batch,
        cells,
      }),
  };
}
