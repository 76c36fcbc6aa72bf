/**
 * Training augmentation, applied between the two halves of the runtime's own preprocessing:
 *
 *   image --resizeToInput (sharp, metadata kernel)--> RGB bytes at the input size
 *         --augment (here)--> RGB bytes + moved labels
 *         --normalise (preprocess.ts)--> float tensor
 *
 * Training decodes and resizes each tagged image once (resizeToInput, cached) and augments the
 * small input-size image every epoch, so augmentation costs microseconds instead of a sharp
 * pipeline per image per epoch. The pixel operations are hand-written for that reason: sharp
 * works on encoded or raw buffers through libvips' pipeline (~1 ms per call), far more than one
 * pass over 100x100x3 bytes.
 *
 * Geometric changes (flip, crop-and-zoom shift) move the labels with the pixels; objects whose
 * centre leaves the view or lies under an occluder are dropped.
 */
import type { AugmentationEnvelope } from "../core/model-metadata.js";
import type { LabelledObject } from "../dataset/tagged-frame.js";
import { type Rng } from "../core/prng.js";

/** Augmentation ranges. Each is written into metadata.augmentation as the model's envelope. */
export interface AugmentOptions {
  /** Added to every channel, as a fraction of full scale (e.g. [-0.25, 0.25]). */
  brightness: [number, number];
  /** Factor around the image mean (e.g. [0.6, 1.4]). */
  contrast: [number, number];
  /** Hue rotation in degrees. */
  hue: [number, number];
  /** Saturation factor (0 = grey). */
  saturation: [number, number];
  /** Max std of additive Gaussian pixel noise, as a fraction of full scale. */
  noiseStd: number;
  /** Gaussian blur sigma in input pixels; 0 = none. */
  blurSigma: [number, number];
  /** Mirror left-right with probability 0.5. */
  flipHorizontal: boolean;
  /** Max crop as a fraction of each side: the view zooms in by up to 1/(1-shift) and moves. */
  shift: number;
  /** Max side of a random occluding rectangle as a fraction of the image; 0 = none. */
  occlusion: number;
  /** Probability that any augmentation is applied to an image (the rest pass unchanged). */
  probability: number;
}

/** Ranges that cover the lighting of indoor RoboCup halls and the synthetic renderer's camera. */
export const DEFAULT_AUGMENT: AugmentOptions = {
  brightness: [-0.2, 0.2],
  contrast: [0.7, 1.3],
  hue: [-12, 12],
  saturation: [0.7, 1.3],
  noiseStd: 0.03,
  blurSigma: [0, 0.8],
  flipHorizontal: true,
  shift: 0.15,
  occlusion: 0.2,
  probability: 0.9,
};

/** An image at the model input size with its labels. */
export interface AugmentSample {
  /** Interleaved RGB bytes, width*height*3. */
  rgb: Uint8Array;
  width: number;
  height: number;
  objects: LabelledObject[];
}

function clampByte(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** Crop [x0, x0+w) x [y0, y0+h) (input-pixel units, fractional) and stretch it back to full size. */
function cropZoom(src: Uint8Array, width: number, height: number, x0: number, y0: number, w: number, h: number, flip: boolean): Uint8Array {
  const out = new Uint8Array(src.length);
  const sx = w / width;
  const sy = h / height;
  for (let y = 0; y < height; y++) {
    const fy = Math.min(height - 1, Math.max(0, y0 + (y + 0.5) * sy - 0.5));
    const y1 = Math.floor(fy);
    const y2 = Math.min(height - 1, y1 + 1);
    const ty = fy - y1;
    for (let x = 0; x < width; x++) {
      const xs = flip ? width - 1 - x : x;
      const fx = Math.min(width - 1, Math.max(0, x0 + (xs + 0.5) * sx - 0.5));
      const x1 = Math.floor(fx);
      const x2 = Math.min(width - 1, x1 + 1);
      const tx = fx - x1;
      const o = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) {
        const a = src[(y1 * width + x1) * 3 + c] * (1 - tx) + src[(y1 * width + x2) * 3 + c] * tx;
        const b = src[(y2 * width + x1) * 3 + c] * (1 - tx) + src[(y2 * width + x2) * 3 + c] * tx;
        out[o + c] = a * (1 - ty) + b * ty + 0.5;
      }
    }
  }
  return out;
}

/** Separable Gaussian blur in place. */
function blur(rgb: Uint8Array, width: number, height: number, sigma: number): void {
  const r = Math.max(1, Math.ceil(2 * sigma));
  const k = Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const sum = k.reduce((a, b) => a + b, 0);
  const kernel = k.map((v) => v / sum);
  const tmp = new Float32Array(rgb.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        let acc = 0;
        for (let i = -r; i <= r; i++) acc += kernel[i + r] * rgb[(y * width + Math.min(width - 1, Math.max(0, x + i))) * 3 + c];
        tmp[(y * width + x) * 3 + c] = acc;
      }
    }
  }
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        let acc = 0;
        for (let i = -r; i <= r; i++) acc += kernel[i + r] * tmp[(Math.min(height - 1, Math.max(0, y + i)) * width + x) * 3 + c];
        rgb[(y * width + x) * 3 + c] = clampByte(acc + 0.5);
      }
    }
  }
}

/**
 * Hue rotation + saturation as one 3x3 colour matrix in YIQ space (luma kept), a standard cheap
 * approximation of an HSV hue shift.
 */
function colourMatrix(hueDeg: number, saturation: number): number[] {
  const toYiq = [0.299, 0.587, 0.114, 0.596, -0.274, -0.322, 0.211, -0.523, 0.312];
  const fromYiq = [1, 0.956, 0.621, 1, -0.272, -0.647, 1, -1.106, 1.703];
  const a = (hueDeg * Math.PI) / 180;
  const cos = Math.cos(a) * saturation;
  const sin = Math.sin(a) * saturation;
  const rot = [1, 0, 0, 0, cos, -sin, 0, sin, cos];
  const mul = (p: number[], q: number[]) =>
    Array.from(
      { length: 9 },
      (_, i) =>
        p[Math.floor(i / 3) * 3] * q[i % 3] + p[Math.floor(i / 3) * 3 + 1] * q[3 + (i % 3)] + p[Math.floor(i / 3) * 3 + 2] * q[6 + (i % 3)],
    );
  return mul(fromYiq, mul(rot, toYiq));
}

/**
 * Returns an augmented copy of `sample` (the input is not modified), deterministic for a given
 * `rng` state.
 */
export function augment(sample: AugmentSample, options: AugmentOptions, rng: Rng): AugmentSample {
  const { width, height } = sample;
  if (sample.rgb.length !== width * height * 3)
    throw new RangeError(`sample.rgb: expected ${width * height * 3} bytes for ${width}x${height}, got ${sample.rgb.length}`);
  if (!rng.chance(options.probability))
    return { ...sample, rgb: sample.rgb.slice(), objects: sample.objects.map((o) => ({ ...o, box: { ...o.box } })) };

  // Geometry: crop a (1-s) window at a random place, stretch it back, optionally mirrored.
  const flip = options.flipHorizontal && rng.chance(0.5);
  const sx = rng.range(0, options.shift);
  const sy = rng.range(0, options.shift);
  const cw = 1 - sx;
  const ch = 1 - sy;
  const cx0 = rng.range(0, sx);
  const cy0 = rng.range(0, sy);
  const rgb =
    sx > 0 || sy > 0 || flip
      ? cropZoom(sample.rgb, width, height, cx0 * width, cy0 * height, cw * width, ch * height, flip)
      : sample.rgb.slice();
  let objects: LabelledObject[] = [];
  for (const o of sample.objects) {
    let xMin = (o.box.xMin - cx0) / cw;
    let xMax = (o.box.xMax - cx0) / cw;
    const yMin = (o.box.yMin - cy0) / ch;
    const yMax = (o.box.yMax - cy0) / ch;
    if (flip) [xMin, xMax] = [1 - xMax, 1 - xMin];
    const cx = (xMin + xMax) / 2;
    const cy = (yMin + yMax) / 2;
    if (cx < 0 || cx >= 1 || cy < 0 || cy >= 1) continue;
    const clip = (v: number) => Math.min(1, Math.max(0, v));
    objects.push({ ...o, box: { xMin: clip(xMin), yMin: clip(yMin), xMax: clip(xMax), yMax: clip(yMax) } });
  }

  // Photometric: colour matrix, contrast around the mean, brightness, then blur and noise.
  const m = colourMatrix(rng.range(options.hue[0], options.hue[1]), rng.range(options.saturation[0], options.saturation[1]));
  const contrast = rng.range(options.contrast[0], options.contrast[1]);
  const brightness = rng.range(options.brightness[0], options.brightness[1]) * 255;
  let mean = 0;
  for (let i = 0; i < rgb.length; i++) mean += rgb[i];
  mean /= rgb.length;
  for (let i = 0; i < rgb.length; i += 3) {
    const r = rgb[i];
    const g = rgb[i + 1];
    const b = rgb[i + 2];
    for (let c = 0; c < 3; c++) {
      const v = m[c * 3] * r + m[c * 3 + 1] * g + m[c * 3 + 2] * b;
      rgb[i + c] = clampByte((v - mean) * contrast + mean + brightness + 0.5);
    }
  }
  const sigma = rng.range(options.blurSigma[0], options.blurSigma[1]);
  if (sigma > 0.3) blur(rgb, width, height, sigma);
  const noise = rng.range(0, options.noiseStd) * 255;
  if (noise > 0.5) for (let i = 0; i < rgb.length; i++) rgb[i] = clampByte(rgb[i] + rng.normal() * noise + 0.5);

  // Occlusion: a flat rectangle of a random colour; labels whose centre it covers are dropped.
  if (options.occlusion > 0 && rng.chance(0.5)) {
    const ow = rng.range(0.05, options.occlusion);
    const oh = rng.range(0.05, options.occlusion);
    const ox = rng.range(0, 1 - ow);
    const oy = rng.range(0, 1 - oh);
    const colour = [rng.int(0, 255), rng.int(0, 255), rng.int(0, 255)];
    for (let y = Math.floor(oy * height); y < Math.ceil((oy + oh) * height); y++) {
      for (let x = Math.floor(ox * width); x < Math.ceil((ox + ow) * width); x++) {
        for (let c = 0; c < 3; c++) rgb[(y * width + x) * 3 + c] = colour[c];
      }
    }
    objects = objects.filter((o) => {
      const cx = (o.box.xMin + o.box.xMax) / 2;
      const cy = (o.box.yMin + o.box.yMax) / 2;
      return !(cx >= ox && cx <= ox + ow && cy >= oy && cy <= oy + oh);
    });
  }
  return { rgb, width, height, objects };
}

/** The envelope written to metadata.augmentation: the ranges plus the observed mean range. */
export function augmentationEnvelope(options: AugmentOptions, observedMeanRange?: [number, number]): AugmentationEnvelope {
  return {
    brightness: options.brightness,
    contrast: options.contrast,
    hue: options.hue,
    saturation: options.saturation,
    noiseStd: options.noiseStd,
    blurSigma: options.blurSigma,
    flipHorizontal: options.flipHorizontal,
    shift: options.shift,
    occlusion: options.occlusion,
    ...(observedMeanRange ? { meanRange: observedMeanRange } : {}),
  };
}
