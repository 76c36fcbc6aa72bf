/**
 * The one preprocessing function of fovea: the runtime calls it on every frame and training
 * calls it on every tagged image, so a model always sees pixels prepared exactly as it was
 * trained with (parameters from the model's metadata).
 *
 * pixels (rgb24 or encoded) -> resize (metadata kernel and fit) -> raw RGB bytes
 * -> white-balance gains -> /255 -> (x - mean) / std -> Float32Array NHWC.
 *
 * The resize is sharp's for sharp kernels; kernel `area` decodes with sharp (files, encoded
 * frames) and resizes with AreaResizer, so rgb24 camera frames skip sharp altogether. Fits other
 * than `fill` resize the image to the scaled size `fitTransform` gives and then pad it (letterbox)
 * or cut the input out of it (crop), so the pixels land exactly where the transform says.
 */
import sharp, { type OutputInfo, type Sharp } from "sharp";
import { FoveaInputError } from "../core/errors.js";
import type { Frame } from "../core/frame.js";
import { coversInput, LETTERBOX_PAD, reuseFitTransform, type FitTransform } from "../core/fit.js";
import type { ModelMetadata, PreprocessSpec } from "../core/model-metadata.js";
import { AreaResizer } from "./area-resize.js";

/** Per-channel gains from the camera calibration, applied to 0..255 RGB before normalisation. */
export interface WhiteBalanceGains {
  r: number;
  g: number;
  b: number;
}

/** What preprocessing needs to know about the model (derive it with `preprocessParams`). */
export interface PreprocessParams {
  /** Model input width in pixels. */
  width: number;
  /** Model input height in pixels. */
  height: number;
  spec: PreprocessSpec;
}

/**
 * An image to preprocess: a frame as sources deliver it (rgb24 or encoded), or an image file on
 * disk (the training path reads tagged images this way).
 */
export type PreprocessInput =
  | Pick<Frame, "width" | "height" | "encoding" | "data" | "origin">
  | {
      file: string;
      /**
       * The size a dataset records for the image: decoding throws a FoveaInputError naming the
       * file when the image is another size (its labels' pixel sizes and the fit would be wrong).
       */
      size?: { width: number; height: number };
    };

export interface PreprocessOptions {
  /**
   * White-balance gains (from calibration). Used only when the model's `preprocess.whiteBalance`
   * is true; omitted means gains of 1.
   */
  whiteBalance?: WhiteBalanceGains;
  /**
   * Tensor to write into (length >= width*height*3), so the frame loop allocates nothing per frame.
   * Training passes a slice of its batch buffer here.
   */
  out?: Float32Array;
}

export interface PreprocessResult {
  /** NHWC float32 tensor of one image (`out` when given). */
  tensor: Float32Array;
  /**
   * Per-channel mean (R, G, B) of the resized, white-balanced image in 0..255 — cheap image
   * statistics the runtime compares with the model's augmentation envelope (`meanRange`).
   */
  channelMean: [number, number, number];
}

/** Preprocessing parameters of a model. */
export function preprocessParams(metadata: ModelMetadata): PreprocessParams {
  return { width: metadata.input.width, height: metadata.input.height, spec: metadata.preprocess };
}

function describeInput(input: PreprocessInput): string {
  return "file" in input ? input.file : (input.origin ?? "frame");
}

/** Throws unless a file's decoded size is the size its dataset records (when it records one). */
function checkRecordedSize(input: PreprocessInput, width: number, height: number): void {
  if (!("file" in input) || !input.size) return;
  if (input.size.width !== width || input.size.height !== height)
    throw new FoveaInputError(
      input.file,
      `the dataset records ${input.size.width}x${input.size.height} for this image, but it is ${width}x${height}`,
    );
}

/** Throws unless an rgb24 frame's size and byte count agree. */
function checkRgb24(input: Pick<Frame, "width" | "height" | "encoding" | "data" | "origin">): void {
  const expected = input.width * input.height * 3;
  if (!Number.isInteger(input.width) || !Number.isInteger(input.height) || input.width <= 0 || input.height <= 0) {
    throw new FoveaInputError(describeInput(input), `expected a positive integer frame size, got ${input.width}x${input.height}`);
  }
  if (input.data.length !== expected) {
    throw new FoveaInputError(
      describeInput(input),
      `expected ${expected} bytes of rgb24 for ${input.width}x${input.height}, got ${input.data.length}`,
    );
  }
}

function openImage(input: PreprocessInput): Sharp {
  if ("file" in input) return sharp(input.file);
  if (input.encoding === "encoded") return sharp(input.data);
  checkRgb24(input);
  return sharp(input.data, { raw: { width: input.width, height: input.height, channels: 3 } });
}

function decodeError(input: PreprocessInput, err: unknown): FoveaInputError {
  const reason = err instanceof Error ? err.message : String(err);
  return new FoveaInputError(describeInput(input), `expected an image sharp can decode (JPEG, PNG, WebP, ...): ${reason}`, {
    cause: err,
  });
}

/** An area resizer with its output bytes and, for letterbox and crop, the input-size bytes. */
interface AreaEntry {
  resizer: AreaResizer;
  rgb: Uint8Array;
  placed?: Uint8Array;
}

/**
 * Area resizers by input and output size. Few sizes occur (one camera, a dataset's image sizes);
 * the bound only stops a dataset of many sizes from growing it.
 */
const areaResizers = new Map<string, AreaEntry>();
const MAX_AREA_RESIZERS = 16;

/** The last resizer used: a camera's frames all take this path, which builds no map key. */
let lastAreaResizer: AreaEntry | undefined;

function areaResizer(inWidth: number, inHeight: number, outWidth: number, outHeight: number): AreaEntry {
  const last = lastAreaResizer?.resizer;
  if (last && last.inWidth === inWidth && last.inHeight === inHeight && last.outWidth === outWidth && last.outHeight === outHeight) {
    return lastAreaResizer!;
  }
  const key = `${inWidth}x${inHeight}>${outWidth}x${outHeight}`;
  let entry = areaResizers.get(key);
  if (!entry) {
    if (areaResizers.size >= MAX_AREA_RESIZERS) areaResizers.delete(areaResizers.keys().next().value!);
    entry = { resizer: new AreaResizer(inWidth, inHeight, outWidth, outHeight), rgb: new Uint8Array(outWidth * outHeight * 3) };
    areaResizers.set(key, entry);
  }
  lastAreaResizer = entry;
  return entry;
}

/** The transform of the last image that was not fitted with `fill` (a camera's frames: computed once). */
let lastFit: FitTransform | undefined;

function fitFor(width: number, height: number, params: PreprocessParams): FitTransform {
  return (lastFit = reuseFitTransform(lastFit, params.spec.fit, width, height, params.width, params.height));
}

/**
 * Writes the scaled image `content` (t.width x t.height) into `out` (the input size) at its place:
 * the bands of a letterbox become LETTERBOX_PAD, the overflow of a crop is skipped. Every byte of
 * `out` is written.
 */
function placeScaled(content: Uint8Array, t: FitTransform, out: Uint8Array): Uint8Array {
  const rowBytes = t.dstWidth * 3;
  // Input columns the content covers, and the content column at the first of them.
  const x0 = Math.max(0, t.left);
  const x1 = Math.min(t.dstWidth, t.left + t.width);
  const runBytes = (x1 - x0) * 3;
  const contentRowBytes = t.width * 3;
  const skipBytes = (x0 - t.left) * 3;
  for (let y = 0; y < t.dstHeight; y++) {
    const row = y * rowBytes;
    const cy = y - t.top;
    if (cy < 0 || cy >= t.height) {
      out.fill(LETTERBOX_PAD, row, row + rowBytes);
      continue;
    }
    out.fill(LETTERBOX_PAD, row, row + x0 * 3);
    const from = cy * contentRowBytes + skipBytes;
    const to = row + x0 * 3;
    for (let i = 0; i < runBytes; i++) out[to + i] = content[from + i];
    out.fill(LETTERBOX_PAD, to + runBytes, row + rowBytes);
  }
  return out;
}

/**
 * Kernel `area`: resize into the resizer's own byte buffer and return it. The bytes stay valid
 * until the next area resize of the same sizes, so callers use them before awaiting anything.
 */
async function areaResize(input: PreprocessInput, params: PreprocessParams): Promise<Uint8Array> {
  let data: Uint8Array;
  let width: number;
  let height: number;
  if (!("file" in input) && input.encoding === "rgb24") {
    checkRgb24(input);
    ({ data, width, height } = input);
  } else {
    let decoded: { data: Buffer; info: OutputInfo };
    try {
      // Same colour handling as the sharp path: plain 3-channel sRGB, whatever the file holds.
      decoded = await openImage(input).removeAlpha().toColourspace("srgb").raw().toBuffer({ resolveWithObject: true });
    } catch (err) {
      throw decodeError(input, err);
    }
    if (decoded.info.channels !== 3) {
      throw new FoveaInputError(describeInput(input), `expected 3-channel RGB after decoding, got ${decoded.info.channels} channels`);
    }
    ({ data } = decoded);
    ({ width, height } = decoded.info);
    checkRecordedSize(input, width, height);
  }
  if (params.spec.fit === "fill") {
    const { resizer, rgb } = areaResizer(width, height, params.width, params.height);
    return resizer.resize(data, rgb);
  }
  const t = fitFor(width, height, params);
  const entry = areaResizer(width, height, t.width, t.height);
  const scaled = entry.resizer.resize(data, entry.rgb);
  if (coversInput(t)) return scaled;
  // One scaled size can belong to inputs of different sizes: the buffer follows the input's.
  const n = params.width * params.height * 3;
  if (entry.placed?.length !== n) entry.placed = new Uint8Array(n);
  return placeScaled(scaled, t, entry.placed);
}

/**
 * Pixel size of the image: a frame's own (rgb24 or encoded), the size the Detector maps its boxes
 * back with, so a camera's frames cost no header parse; a file's from its header (sharp's pipeline
 * does not apply EXIF orientation, so neither does this).
 */
async function sourceSize(input: PreprocessInput, image: Sharp): Promise<[number, number]> {
  if (!("file" in input)) return [input.width, input.height];
  const { width, height } = await image.metadata();
  if (!width || !height) throw new FoveaInputError(describeInput(input), "expected an image with a width and height in its header");
  return [width, height];
}

/**
 * Resize the image to the model input and return its raw RGB bytes (width*height*3). Exposed so
 * tests and tools can inspect exactly the pixels the network sees before normalisation.
 */
export async function resizeToInput(input: PreprocessInput, params: PreprocessParams): Promise<Buffer> {
  // A copy: callers (training's cache) keep these bytes, the resizer reuses its buffer.
  if (params.spec.kernel === "area") return Buffer.from(await areaResize(input, params));
  let result: { data: Buffer; info: OutputInfo };
  try {
    let image = openImage(input);
    // Greyscale or alpha inputs become plain 3-channel sRGB so the tensor layout never varies;
    // rgb24 frames already are, and skip the extra pipeline stages.
    if ("file" in input || input.encoding === "encoded") image = image.removeAlpha().toColourspace("srgb");
    let t: FitTransform | undefined;
    if (params.spec.fit !== "fill" || ("file" in input && input.size)) {
      const [width, height] = await sourceSize(input, image);
      checkRecordedSize(input, width, height);
      if (params.spec.fit !== "fill") t = fitFor(width, height, params);
    }
    const kernel = params.spec.kernel;
    if (!t || coversInput(t)) {
      image = image.resize(params.width, params.height, { kernel, fit: "fill" });
    } else {
      // sharp's own contain/cover would round the scaled size and place it by its own rules: the
      // exact scaled size is resized to and placed here, so the pixels follow `fitTransform`.
      image = image.resize(t.width, t.height, { kernel, fit: "fill" });
      image =
        t.fit === "letterbox"
          ? image.extend({
              left: t.left,
              top: t.top,
              right: params.width - t.width - t.left,
              bottom: params.height - t.height - t.top,
              background: { r: LETTERBOX_PAD, g: LETTERBOX_PAD, b: LETTERBOX_PAD },
            })
          : image.extract({ left: -t.left, top: -t.top, width: params.width, height: params.height });
    }
    result = await image.raw().toBuffer({ resolveWithObject: true });
  } catch (err) {
    if (err instanceof FoveaInputError) throw err;
    throw decodeError(input, err);
  }
  if (result.info.channels !== 3 || result.data.length !== params.width * params.height * 3) {
    throw new FoveaInputError(describeInput(input), `expected 3-channel RGB after decoding, got ${result.info.channels} channels`);
  }
  return result.data;
}

/**
 * Preprocess one image into the model's NHWC float32 input tensor.
 * Throws FoveaInputError naming the frame origin/file when the pixels are not what was expected.
 */
export async function preprocess(
  input: PreprocessInput,
  params: PreprocessParams,
  options: PreprocessOptions = {},
): Promise<PreprocessResult> {
  const n = params.width * params.height * 3;
  if (options.out && options.out.length < n) {
    throw new RangeError(`out: expected a Float32Array of at least ${n} elements, got ${options.out.length}`);
  }
  // The area path's bytes are the resizer's own buffer (no copy per frame): normalise them
  // before any further await.
  const rgb = params.spec.kernel === "area" ? await areaResize(input, params) : await resizeToInput(input, params);
  const tensor = options.out ?? new Float32Array(n);
  const channelMean = normalise(rgb, tensor, params.spec, options.whiteBalance);
  return { tensor, channelMean };
}

/**
 * Raw RGB bytes -> normalised float tensor, returning the per-channel mean. Hand-written: sharp's
 * `linear()` works in 8-bit output and cannot produce float tensors; one pass over 30k values.
 */
export function normalise(
  rgb: Uint8Array,
  out: Float32Array,
  spec: PreprocessSpec,
  whiteBalance?: WhiteBalanceGains,
): [number, number, number] {
  const useWb = spec.whiteBalance && whiteBalance !== undefined;
  const g0 = useWb ? whiteBalance.r : 1;
  const g1 = useWb ? whiteBalance.g : 1;
  const g2 = useWb ? whiteBalance.b : 1;
  if (!(g0 > 0 && Number.isFinite(g0))) throw new RangeError(`whiteBalance.r: expected a positive gain, got ${g0}`);
  if (!(g1 > 0 && Number.isFinite(g1))) throw new RangeError(`whiteBalance.g: expected a positive gain, got ${g1}`);
  if (!(g2 > 0 && Number.isFinite(g2))) throw new RangeError(`whiteBalance.b: expected a positive gain, got ${g2}`);
  const applyWb = g0 !== 1 || g1 !== 1 || g2 !== 1;
  // Fold /255, mean and std into one multiply-add per channel; scalars, so a frame allocates nothing.
  const k0 = 1 / (255 * spec.std[0]);
  const k1 = 1 / (255 * spec.std[1]);
  const k2 = 1 / (255 * spec.std[2]);
  const o0 = -spec.mean[0] / spec.std[0];
  const o1 = -spec.mean[1] / spec.std[1];
  const o2 = -spec.mean[2] / spec.std[2];
  let sum0 = 0;
  let sum1 = 0;
  let sum2 = 0;
  for (let i = 0; i < rgb.length; i += 3) {
    let r = rgb[i];
    let g = rgb[i + 1];
    let b = rgb[i + 2];
    if (applyWb) {
      // A camera's gain saturates at full scale; clamping keeps the tensor in the range the
      // network was trained on.
      r = Math.min(255, r * g0);
      g = Math.min(255, g * g1);
      b = Math.min(255, b * g2);
    }
    sum0 += r;
    sum1 += g;
    sum2 += b;
    out[i] = r * k0 + o0;
    out[i + 1] = g * k1 + o1;
    out[i + 2] = b * k2 + o2;
  }
  const pixels = rgb.length / 3;
  return [sum0 / pixels, sum1 / pixels, sum2 / pixels];
}
