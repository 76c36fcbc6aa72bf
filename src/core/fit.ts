/**
 * How an image of one size and aspect ratio is fitted to a network input of another: the one
 * place this geometry lives. Preprocessing places the pixels with it, training moves labels into
 * the input with it and the Detector maps the network's boxes back to the image with it, so
 * pixels, targets and detections agree.
 *
 * - `fill`: stretch the image to the input (aspect ratio not kept).
 * - `letterbox`: scale the whole image to fit inside the input keeping its aspect ratio, centred;
 *   the bands left over are LETTERBOX_PAD.
 * - `crop`: scale the image to cover the input keeping its aspect ratio, centred; what overflows
 *   is cut off.
 *
 * The scaled image is an image, so its size in input pixels is whole: along the axis the input
 * does not pin, round(source size x scale), half up. Preprocessing resizes the image to exactly
 * that size, so its aspect ratio may differ from the source's by under half a pixel, and the
 * transform below is exact for the pixels the network sees. Centring follows sharp's gravity
 * `centre`: a letterbox's odd padding pixel is at the right or bottom, a crop's odd overflow pixel
 * is cut from the left or top.
 */
import type { Box } from "./detection.js";

export const FIT_RULES = ["fill", "letterbox", "crop"] as const;
export type FitRule = (typeof FIT_RULES)[number];

/**
 * The byte value of letterbox bands (all three channels): black. It stays black under any
 * white-balance gain, and with a zero mean it normalises to 0, the value a `same` convolution
 * assumes beyond the input's edge, so the bands read to the network as outside the image. Runtime
 * and training pad alike because both preprocess through `resizeToInput`.
 */
export const LETTERBOX_PAD = 0;

/**
 * Where a source image lands in the network input. Normalised coordinates (0..1 over the image,
 * 0..1 over the input) map as input = image * scale + offset on each axis.
 */
export interface FitTransform {
  readonly fit: FitRule;
  /** Source image size, pixels. */
  readonly srcWidth: number;
  readonly srcHeight: number;
  /** Network input size, pixels. */
  readonly dstWidth: number;
  readonly dstHeight: number;
  /**
   * The whole scaled image in input pixels: a letterbox's content (left, top >= 0), or a crop's
   * image of which the input shows a part (left, top <= 0). Whole numbers.
   */
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
  readonly scaleX: number;
  readonly scaleY: number;
  readonly offsetX: number;
  readonly offsetY: number;
}

function checkSize(name: string, v: number): void {
  if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${name}: expected a positive integer, got ${v}`);
}

/** round(a / b), half up, for non-negative integers: exact where a double quotient may not be. */
function roundDiv(a: number, b: number): number {
  return Math.floor((2 * a + b) / (2 * b));
}

/** The transform of `fit` from a `srcWidth` x `srcHeight` image to a `dstWidth` x `dstHeight` input. */
export function fitTransform(fit: FitRule, srcWidth: number, srcHeight: number, dstWidth: number, dstHeight: number): FitTransform {
  checkSize("srcWidth", srcWidth);
  checkSize("srcHeight", srcHeight);
  checkSize("dstWidth", dstWidth);
  checkSize("dstHeight", dstHeight);
  if (!FIT_RULES.includes(fit)) throw new RangeError(`fit: expected one of ${FIT_RULES.join(", ")}, got '${String(fit)}'`);
  // Aspect ratios compared in integers, so equal ratios give exactly `fill`'s geometry.
  const wider = srcWidth * dstHeight > dstWidth * srcHeight;
  const taller = srcWidth * dstHeight < dstWidth * srcHeight;
  let width = dstWidth;
  let height = dstHeight;
  if (fit === "letterbox") {
    if (wider) height = Math.max(1, roundDiv(srcHeight * dstWidth, srcWidth));
    else if (taller) width = Math.max(1, roundDiv(srcWidth * dstHeight, srcHeight));
  } else if (fit === "crop") {
    if (wider) width = roundDiv(srcWidth * dstHeight, srcHeight);
    else if (taller) height = roundDiv(srcHeight * dstWidth, srcWidth);
  }
  // sharp's centre gravity: embed offset floor((out - in) / 2), crop offset floor((in - out + 1) / 2).
  const left = fit === "crop" ? 0 - Math.floor((width - dstWidth + 1) / 2) : Math.floor((dstWidth - width) / 2);
  const top = fit === "crop" ? 0 - Math.floor((height - dstHeight + 1) / 2) : Math.floor((dstHeight - height) / 2);
  return {
    fit,
    srcWidth,
    srcHeight,
    dstWidth,
    dstHeight,
    left,
    top,
    width,
    height,
    scaleX: width / dstWidth,
    scaleY: height / dstHeight,
    offsetX: left / dstWidth,
    offsetY: top / dstHeight,
  };
}

/**
 * `t` when it is the transform of these arguments, else a new one: a caller keeps the last
 * transform and a camera's frames, all of one size, compute it once.
 */
export function reuseFitTransform(
  t: FitTransform | undefined,
  fit: FitRule,
  srcWidth: number,
  srcHeight: number,
  dstWidth: number,
  dstHeight: number,
): FitTransform {
  if (t && t.fit === fit && t.srcWidth === srcWidth && t.srcHeight === srcHeight && t.dstWidth === dstWidth && t.dstHeight === dstHeight) {
    return t;
  }
  return fitTransform(fit, srcWidth, srcHeight, dstWidth, dstHeight);
}

/** True when the image covers the input exactly (`fill`, or any rule at the input's aspect ratio). */
export function coversInput(t: FitTransform): boolean {
  return t.left === 0 && t.top === 0 && t.width === t.dstWidth && t.height === t.dstHeight;
}

/** Normalised image x -> normalised input x. */
export function toInputX(t: FitTransform, x: number): number {
  return x * t.scaleX + t.offsetX;
}

/** Normalised image y -> normalised input y. */
export function toInputY(t: FitTransform, y: number): number {
  return y * t.scaleY + t.offsetY;
}

/** Normalised input x -> normalised image x. */
export function toImageX(t: FitTransform, x: number): number {
  return (x - t.offsetX) / t.scaleX;
}

/** Normalised input y -> normalised image y. */
export function toImageY(t: FitTransform, y: number): number {
  return (y - t.offsetY) / t.scaleY;
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

/**
 * A box in image coordinates -> input coordinates, clipped to the input (a crop shows part of
 * the image). Written into `out`, which may be `box` itself.
 */
export function boxToInput(t: FitTransform, box: Box, out: Box = { xMin: 0, yMin: 0, xMax: 0, yMax: 0 }): Box {
  const { xMin, yMin, xMax, yMax } = box;
  out.xMin = clamp01(toInputX(t, xMin));
  out.yMin = clamp01(toInputY(t, yMin));
  out.xMax = clamp01(toInputX(t, xMax));
  out.yMax = clamp01(toInputY(t, yMax));
  return out;
}

/**
 * A box in input coordinates -> image coordinates, clipped to the image (a letterbox's bands lie
 * outside it). Written into `out`, which may be `box` itself, so the frame loop allocates nothing.
 */
export function boxToImage(t: FitTransform, box: Box, out: Box = { xMin: 0, yMin: 0, xMax: 0, yMax: 0 }): Box {
  const { xMin, yMin, xMax, yMax } = box;
  out.xMin = clamp01(toImageX(t, xMin));
  out.yMin = clamp01(toImageY(t, yMin));
  out.xMax = clamp01(toImageX(t, xMax));
  out.yMax = clamp01(toImageY(t, yMax));
  return out;
}

/**
 * Labelled objects of an image moved into the input: boxes mapped and clipped to the input; an
 * object whose centre falls outside it (cut off by a crop) is dropped, as augmentation drops one
 * shifted out of view. The objects themselves are not modified.
 */
export function objectsToInput<T extends { box: Box }>(objects: readonly T[], t: FitTransform): T[] {
  if (coversInput(t)) return objects.slice();
  const out: T[] = [];
  for (const o of objects) {
    const cx = toInputX(t, (o.box.xMin + o.box.xMax) / 2);
    const cy = toInputY(t, (o.box.yMin + o.box.yMax) / 2);
    if (cx < 0 || cx >= 1 || cy < 0 || cy >= 1) continue;
    out.push({ ...o, box: boxToInput(t, o.box) });
  }
  return out;
}
