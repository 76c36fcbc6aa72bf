import { describe, expect, it } from "vitest";
import { AreaResizer } from "./area-resize.js";

/** Deterministic texture with gradients, so averages over differently placed boxes differ. */
function image(width: number, height: number, seed = 7): Uint8Array {
  const out = new Uint8Array(width * height * 3);
  let s = seed;
  for (let i = 0; i < out.length; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const x = Math.floor(i / 3) % width;
    out[i] = ((x * 255) / width + (s & 0x7f) + (i % 3) * 40) & 0xff;
  }
  return out;
}

/** Exact area average in floating point, the definition: each input pixel weighted by the area it covers. */
function referenceArea(src: Uint8Array, w: number, h: number, ow: number, oh: number): Float64Array {
  const out = new Float64Array(ow * oh * 3);
  for (let oy = 0; oy < oh; oy++) {
    const y0 = (oy * h) / oh;
    const y1 = ((oy + 1) * h) / oh;
    for (let ox = 0; ox < ow; ox++) {
      const x0 = (ox * w) / ow;
      const x1 = ((ox + 1) * w) / ow;
      const acc = [0, 0, 0];
      let area = 0;
      for (let y = Math.floor(y0); y < Math.ceil(y1); y++) {
        const cy = Math.min(y1, y + 1) - Math.max(y0, y);
        for (let x = Math.floor(x0); x < Math.ceil(x1); x++) {
          const a = (Math.min(x1, x + 1) - Math.max(x0, x)) * cy;
          area += a;
          for (let c = 0; c < 3; c++) acc[c] += a * src[(y * w + x) * 3 + c];
        }
      }
      for (let c = 0; c < 3; c++) out[(oy * ow + ox) * 3 + c] = acc[c] / area;
    }
  }
  return out;
}

/** The same bytes at a byte offset of 1, which the 32-bit load path cannot read. */
function unaligned(src: Uint8Array): Uint8Array {
  const copy = new Uint8Array(src.length + 1).subarray(1);
  copy.set(src);
  return copy;
}

describe("AreaResizer", () => {
  // Camera frame to model input (5-6 rows per output row), 2-3 and 10-11 rows per output row
  // (one pass, three passes of the 32-bit path), the eval/training image size, a width whose rows
  // are not whole 32-bit words, an upscale and a vertical total too large for 16-bit lanes (byte
  // path only).
  const cases: Array<[number, number, number, number]> = [
    [640, 480, 100, 100],
    [640, 480, 200, 200],
    [640, 480, 64, 44],
    [200, 150, 100, 100],
    [333, 97, 50, 40],
    [30, 20, 64, 48],
    [64, 257, 8, 2],
  ];

  it.each(cases)("%ix%i -> %ix%i is the exact area average rounded to a byte (|error| <= 0.5)", (w, h, ow, oh) => {
    const src = image(w, h);
    const ref = referenceArea(src, w, h, ow, oh);
    const resizer = new AreaResizer(w, h, ow, oh);
    const out = resizer.resize(src, new Uint8Array(ow * oh * 3));
    let worst = 0;
    for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(out[i] - ref[i]));
    // 0.5 is a byte's rounding; the 1e-9 is the float reference's own error.
    expect(worst).toBeLessThanOrEqual(0.5 + 1e-9);
    // The 32-bit load path and the byte path agree exactly.
    const slow = resizer.resize(unaligned(src), new Uint8Array(ow * oh * 3));
    expect(Buffer.from(slow).equals(Buffer.from(out))).toBe(true);
  });

  it("keeps a constant image constant, at the extremes of the byte range", () => {
    for (const v of [0, 1, 254, 255]) {
      const out = new AreaResizer(640, 480, 100, 100).resize(new Uint8Array(640 * 480 * 3).fill(v), new Uint8Array(30000));
      expect(out.every((x) => x === v)).toBe(true);
    }
  });

  it("averages 2x2 blocks by hand, rounding halves up", () => {
    // Red of the one output pixel: (10 + 11 + 20 + 22) / 4 = 15.75 -> 16; green (0 + 1 + 0 + 1) / 4 = 0.5 -> 1.
    const src = Uint8Array.from([10, 0, 0, 11, 1, 0, 20, 0, 255, 22, 1, 255]);
    expect(Array.from(new AreaResizer(2, 2, 1, 1).resize(src, new Uint8Array(3)))).toEqual([16, 1, 128]);
  });

  it("names the argument on bad sizes and buffers", () => {
    expect(() => new AreaResizer(0, 480, 100, 100)).toThrow(RangeError);
    expect(() => new AreaResizer(640, 480.5, 100, 100)).toThrow(/inHeight: expected a positive integer, got 480.5/);
    expect(() => new AreaResizer(640, 480, 100, -1)).toThrow(/outHeight/);
    const r = new AreaResizer(64, 48, 16, 12);
    expect(() => r.resize(new Uint8Array(10), new Uint8Array(16 * 12 * 3))).toThrow(/src: expected 9216 bytes of rgb24 for 64x48, got 10/);
    expect(() => r.resize(new Uint8Array(64 * 48 * 3), new Uint8Array(5))).toThrow(/dst: expected at least 576 bytes/);
  });
});
