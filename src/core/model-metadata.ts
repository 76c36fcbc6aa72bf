import { z } from "zod";
import { FIT_RULES } from "./fit.js";

/**
 * The metadata file `fovea.json` of a model directory `models/<name>/`. It carries everything
 * the runtime needs to run the model exactly as it was trained: classes, input size, the
 * preprocessing parameters, the output head and its decoding, and the augmentation envelope.
 *
 * Model directory layout:
 *   models/<name>/fovea.json        this metadata
 *   models/<name>/model.onnx        ONNX export (onnxruntime engine)
 *   models/<name>/tfjs/model.json   TensorFlow.js LayersModel (+ weight shards) (tfjs engine, training)
 *   models/<name>/eval.json         eval report (optional)
 */

export const PreprocessSpecSchema = z.object({
  /**
   * Resize kernel used to bring the source image to the input size: a sharp kernel, or `area`
   * (exact area average, fovea's own resize, which camera frames get inside the model's graph
   * when the frame is a whole multiple of the input). The kernels give different pixels, so a
   * model keeps the kernel it was trained with.
   */
  kernel: z.enum(["nearest", "linear", "cubic", "mitchell", "lanczos2", "lanczos3", "area"]).default("linear"),
  /**
   * How a source image is fitted to the input (geometry: src/core/fit.ts):
   * - `fill` stretches it to the input size (a 16:9 camera's objects come out squashed in a 4:3
   *   input);
   * - `letterbox` scales the whole image to fit inside the input keeping its aspect ratio,
   *   centred, and pads the bands with black;
   * - `crop` scales it to cover the input keeping its aspect ratio and cuts the overflow off
   *   centrally (objects there are not seen).
   * Detections are mapped back to the source image. At the input's own aspect ratio all three
   * give the same pixels.
   */
  fit: z.enum(FIT_RULES).default("fill"),
  /** Per-channel mean subtracted after scaling to 0..1 (RGB order). */
  mean: z.tuple([z.number(), z.number(), z.number()]).default([0, 0, 0]),
  /** Per-channel std the value is divided by after mean subtraction (RGB order). */
  std: z.tuple([z.number(), z.number(), z.number()]).default([1, 1, 1]),
  /** Apply the calibration's white-balance gains before normalisation. */
  whiteBalance: z.boolean().default(true),
});
export type PreprocessSpec = z.infer<typeof PreprocessSpecSchema>;

export const ArchitectureSchema = z.object({
  /** Filters of each 3x3 conv -> ReLU -> 2x2 max-pool block. */
  convFilters: z.array(z.number().int().positive()).min(1),
  kernelSize: z.number().int().positive().default(3),
  padding: z.enum(["valid", "same"]).default("valid"),
  /** Hidden dense layers after flatten (the seed: one of 512). */
  dense: z.array(z.number().int().positive()),
  /** Dropout rate before each dense layer, training only. */
  dropout: z.number().min(0).max(1).default(0),
});
export type Architecture = z.infer<typeof ArchitectureSchema>;

/**
 * Grid head: the image is split into rows x cols cells. Output `classes` has shape
 * [N, rows*cols, classes+1]: per cell a softmax over the classes with background LAST.
 * Output `boxes` has shape [N, rows*cols, 4]: per cell sigmoid (cx, cy) offset within the cell
 * and (w, h) as fractions of the image.
 */
export const GridHeadSchema = z.object({
  kind: z.literal("grid"),
  rows: z.number().int().positive(),
  cols: z.number().int().positive(),
  /**
   * How the cells are computed from the conv features.
   * - `dense` (the seed lecture's network): flatten -> architecture.dense -> one dense layer
   *   producing every cell's outputs. Each cell has its own weights.
   * - `convolutional`: the conv blocks must leave exactly rows x cols positions; a 3x3 `same`
   *   conv of `contextFilters` widens each position's view, then architecture.dense layers and
   *   the outputs are applied to every cell with shared weights (1x1 convolutions). Every labelled
   *   object trains the one per-cell classifier, so it learns from far fewer frames.
   */
  connection: z.enum(["dense", "convolutional"]).default("dense"),
  /** Filters of the 3x3 context conv of a `convolutional` head (0 = none). */
  contextFilters: z.number().int().min(0).default(0),
  /** ONNX / tfjs output names. */
  classesOutput: z.string().default("classes"),
  boxesOutput: z.string().default("boxes"),
});
export type GridHead = z.infer<typeof GridHeadSchema>;

/**
 * Heatmap head (CenterNet-style): the network predicts, at `stride` input pixels per cell, one
 * sigmoid heatmap per class (a peak at each object's centre) and 4 regression channels per cell:
 * the centre's sub-cell offset (x, y, in cells) and log of the box width and height in cells.
 *
 * Network (see src/heads/heatmap/network.ts): architecture.convFilters are 3x3 `same` conv ->
 * ReLU blocks, each followed by a 2x2 max-pool except the last; `neckFilters` 3x3 convs run at the
 * deepest stride, then one nearest 2x upsampling plus a 1x1 lateral conv from the block at
 * `stride` brings the features back to `stride`, and a 1x1 conv gives the outputs.
 *
 * Outputs: `heatmapOutput` [N, H/stride, W/stride, classes] and `regressionOutput`
 * [N, H/stride, W/stride, 4].
 */
export const HeatmapHeadSchema = z.object({
  kind: z.literal("heatmap"),
  /** Input pixels per output cell (a power of two the conv blocks reach). */
  stride: z.number().int().positive(),
  /**
   * The first block's conv, when it is not architecture.kernelSize at stride 1: a stride-2 first
   * conv reads the input at full resolution and hands the blocks half of it, so the network sees
   * a 320x240 input's detail (a small ball's pattern) at about the cost of a 160x120 input beyond
   * that one conv. Every block's stride, and `stride`, then count input pixels: twice the stride
   * of the same block without it.
   */
  stem: z
    .object({
      kernelSize: z.number().int().min(2),
      stride: z.literal(2),
    })
    .optional(),
  /** 3x3 conv -> ReLU layers at the deepest stride, widening the view (context). */
  neckFilters: z.array(z.number().int().positive()).default([]),
  /**
   * Dilation of each neck conv (same length as neckFilters; default 1 each). A dilated 3x3 conv
   * sees a (2d+1)-cell square at the same multiply-adds: the view a close robot or goal post that
   * fills the frame needs.
   */
  neckDilations: z.array(z.number().int().positive()).optional(),
  /** Channels of the upsampled + lateral features the outputs are computed from. */
  headFilters: z.number().int().positive(),
  /**
   * Batch norm after every conv but the outputs (conv -> BN -> ReLU): trains a deep stack much
   * faster from scratch. Folded into the convs' weights at ONNX export, so inference costs nothing
   * more; the tfjs model keeps the layers (`<conv>_bn`) with their moving statistics.
   */
  batchNorm: z.boolean().default(false),
  /** ONNX / tfjs output names. */
  heatmapOutput: z.string().default("heatmap"),
  regressionOutput: z.string().default("regression"),
});
export type HeatmapHead = z.infer<typeof HeatmapHeadSchema>;

export const HeadSchema = z.discriminatedUnion("kind", [GridHeadSchema, HeatmapHeadSchema]);
export type Head = z.infer<typeof HeadSchema>;

export const DecodeSpecSchema = z.object({
  /** Minimum class probability (grid) or heatmap peak (heatmap) for a detection. */
  scoreThreshold: z.number().min(0).max(1).default(0.5),
  /**
   * Minimum probability per class name, for the classes listed; the others use `scoreThreshold`.
   * Classes differ in how sure the network gets (a ball is a few pixels, a robot is large), so one
   * threshold trades one class's misses for another's false alarms. `fovea eval --set-thresholds`
   * writes each class's best-F1 confidence here.
   */
  classScoreThresholds: z.record(z.string(), z.number().min(0).max(1)).optional(),
  /** Per-class non-maximum suppression: boxes overlapping more than this IoU are merged. */
  nmsIou: z.number().min(0).max(1).default(0.3),
  /** Detections per frame at most. */
  maxDetections: z.number().int().positive().default(64),
});
export type DecodeSpec = z.infer<typeof DecodeSpecSchema>;

/** Training augmentation ranges; the runtime reports frames whose statistics fall outside. */
export const AugmentationEnvelopeSchema = z
  .object({
    brightness: z.tuple([z.number(), z.number()]).optional(),
    contrast: z.tuple([z.number(), z.number()]).optional(),
    hue: z.tuple([z.number(), z.number()]).optional(),
    saturation: z.tuple([z.number(), z.number()]).optional(),
    noiseStd: z.number().optional(),
    blurSigma: z.tuple([z.number(), z.number()]).optional(),
    flipHorizontal: z.boolean().optional(),
    shift: z.number().optional(),
    occlusion: z.number().optional(),
    /** Observed per-channel mean range of the (augmented) training inputs, 0..255 RGB. */
    meanRange: z.tuple([z.number(), z.number()]).optional(),
  })
  .passthrough();
export type AugmentationEnvelope = z.infer<typeof AugmentationEnvelopeSchema>;

export const ModelMetadataSchema = z
  .object({
    format: z.literal("fovea-model"),
    formatVersion: z.literal(1),
    /** Published as `model_id` in every DetectionFrame. */
    id: z.string().min(1),
    /** false for a randomly initialised stand-in model; the runtime warns loudly. */
    trained: z.boolean(),
    description: z.string().default(""),
    classes: z.array(z.string().min(1)).min(1),
    input: z.object({
      width: z.number().int().positive(),
      height: z.number().int().positive(),
      channels: z.literal(3),
      /** Input tensor name in both engines. */
      name: z.string().default("input"),
    }),
    preprocess: PreprocessSpecSchema,
    architecture: ArchitectureSchema,
    head: HeadSchema,
    decode: DecodeSpecSchema,
    augmentation: AugmentationEnvelopeSchema.default({}),
    files: z.object({
      onnx: z.string().default("model.onnx"),
      tfjs: z.string().default("tfjs/model.json"),
    }),
    /** Free-form training provenance: data fingerprint, epochs, seed, date. */
    training: z.record(z.string(), z.unknown()).optional(),
    /** Eval summary (per-class AP etc.). */
    eval: z.record(z.string(), z.unknown()).optional(),
  })
  // Checked here, with the schema, so every reader and writer of fovea.json (loadModelDir,
  // exportModelDir, `fovea eval --set-thresholds`) rejects a threshold for a class the model lacks.
  .superRefine((m, ctx) => {
    for (const name of Object.keys(m.decode.classScoreThresholds ?? {})) {
      if (!m.classes.includes(name)) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ["decode", "classScoreThresholds", name],
          message: `'${name}' is not one of the model's classes (${m.classes.join(", ")})`,
        });
      }
    }
    if (m.head.kind === "heatmap" && m.head.neckDilations && m.head.neckDilations.length !== m.head.neckFilters.length) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ["head", "neckDilations"],
        message: `expected one dilation per neck conv (${m.head.neckFilters.length}), got ${m.head.neckDilations.length}`,
      });
    }
  });
export type ModelMetadata = z.infer<typeof ModelMetadataSchema>;
export type ModelMetadataInput = z.input<typeof ModelMetadataSchema>;

/**
 * The first conv's kernel and stride: a heatmap head's `stem`, else architecture.kernelSize at
 * stride 1 (every network without one).
 */
export function firstConv(meta: ModelMetadata): { kernelSize: number; stride: number } {
  return (meta.head.kind === "heatmap" ? meta.head.stem : undefined) ?? { kernelSize: meta.architecture.kernelSize, stride: 1 };
}
