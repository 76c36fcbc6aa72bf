/** Camera effects applied after rendering: motion blur (sharp convolution), sensor noise, encoding. */
import sharp from "sharp";
import type { Effects } from "./scene.js";
import { mix32 } from "../core/prng.js";

/** Motion-blur kernel: a line of `length` pixels at `angle`, splatted bilinearly into a square matrix. */
export function motionKernel(length: number, angle: number): { width: number; height: number; kernel: number[] } {
  const half = Math.ceil(length / 2);
  const size = 2 * half + 1;
  const kernel = new Array<number>(size * size).fill(0);
  const steps = Math.max(2, Math.ceil(length * 4));
  for (let i = 0; i <= steps; i++) {
    const s = (i / steps - 0.5) * length;
    const x = half + s * Math.cos(angle),
      y = half + s * Math.sin(angle);
    const x0 = Math.floor(x),
      y0 = Math.floor(y),
      fx = x - x0,
      fy = y - y0;
    for (const [dx, dy, w] of [
      [0, 0, (1 - fx) * (1 - fy)],
      [1, 0, fx * (1 - fy)],
      [0, 1, (1 - fx) * fy],
      [1, 1, fx * fy],
    ] as const) {
      const xx = x0 + dx,
        yy = y0 + dy;
      if (xx >= 0 && yy >= 0 && xx < size && yy < size) kernel[yy * size + xx] += w;
    }
  }
  return { width: size, height: size, kernel };
}

/**
 * Blur then noise, as in a camera: the scene smears during the exposure, noise is added at
 * read-out. Returns a new raw RGB buffer; deterministic for a given `seed`.
 */
export async function applyCameraEffects(rgb: Buffer, width: number, height: number, effects: Effects, seed: number): Promise<Buffer> {
  let out = rgb;
  const length = (effects.blurLength * width) / 640;
  if (length >= 1.5) {
    const k = motionKernel(length, effects.blurAngle);
    const scale = k.kernel.reduce((a, b) => a + b, 0);
    out = await sharp(rgb, { raw: { width, height, channels: 3 } })
      .convolve({ ...k, scale })
      .raw()
      .toBuffer();
  } else {
    out = Buffer.from(rgb);
  }
  addSensorNoise(out, effects.noise, seed);
  if (effects.jpegQuality !== undefined) out = await jpegArtefacts(out, width, height, effects.jpegQuality);
  return out;
}

/**
 * Round trip through a JPEG of `quality` with 4:2:0 chroma, as a camera or a recorder that
 * stores frames compressed leaves them: block edges, ringing and smeared colour.
 */
export async function jpegArtefacts(rgb: Buffer, width: number, height: number, quality: number): Promise<Buffer> {
  const jpeg = await sharp(rgb, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: Math.round(quality), chromaSubsampling: "4:2:0" })
    .toBuffer();
  return sharp(jpeg).raw().toBuffer();
}

/**
 * Gaussian-like sensor noise in place: a shared luminance part plus smaller per-channel parts.
 * Hand-written because sharp/libvips has no seeded noise generator; xorshift32 keeps it
 * deterministic and cheap (three draws per pixel).
 */
export function addSensorNoise(rgb: Buffer, sigma: number, seed: number): void {
  if (sigma <= 0) return;
  let s = mix32(seed) | 1;
  // Sum of two uniforms minus one has variance 1/6: scale to the requested sigma. The xorshift
  // steps are inlined: a closure call per draw cost as much as the rest of the loop.
  const luma = (sigma * 0.8 * Math.sqrt(6)) / 4294967296,
    chroma = (sigma * 0.6 * Math.sqrt(6)) / 4294967296;
  for (let i = 0; i < rgb.length; i += 3) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const a = s >>> 0;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const b = s >>> 0;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const l = (a + b - 4294967296) * luma;
    const c = ((s >>> 0) - 2147483648) * chroma;
    const r = rgb[i] + l + c + 0.5,
      g = rgb[i + 1] + l - c + 0.5,
      bl = rgb[i + 2] + l + c + 0.5;
    rgb[i] = r < 0 ? 0 : r > 255 ? 255 : r;
    rgb[i + 1] = g < 0 ? 0 : g > 255 ? 255 : g;
    rgb[i + 2] = bl < 0 ? 0 : bl > 255 ? 255 : bl;
  }
}

export type ImageFormat = "jpeg" | "png";

/** Encode raw RGB to JPEG (default: small and fast, what cameras deliver) or PNG. */
export async function encodeImage(rgb: Buffer, width: number, height: number, format: ImageFormat = "jpeg"): Promise<Buffer> {
  const img = sharp(rgb, { raw: { width, height, channels: 3 } });
  return format === "png" ? img.png({ compressionLevel: 3 }).toBuffer() : img.jpeg({ quality: 90, chromaSubsampling: "4:4:4" }).toBuffer();
}
