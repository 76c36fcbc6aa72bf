import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FoveaInputError } from "../core/errors.js";
import { fitTransform, LETTERBOX_PAD, toInputX, toInputY } from "../core/fit.js";
import { PreprocessSpecSchema } from "../core/model-metadata.js";
import { AreaResizer } from "./area-resize.js";
import { preprocess, resizeToInput, type PreprocessParams } from "./preprocess.js";

const SRC_W = 320;
const SRC_H = 240;
let dir: string;
let pngPath: string;
let rgb: Buffer;

/** A deterministic, non-uniform test image: gradients plus a pseudo-random texture. */
function makeImage(): Buffer {
  const buf = Buffer.alloc(SRC_W * SRC_H * 3);
  let s = 12345;
  for (let y = 0; y < SRC_H; y++) {
    for (let x = 0; x < SRC_W; x++) {
      s = (s * 1103515245 + 12345) & 0x7fffffff;
      const i = (y * SRC_W + x) * 3;
      buf[i] = (x * 255) / SRC_W;
      buf[i + 1] = (y * 255) / SRC_H;
      buf[i + 2] = s & 0xff;
    }
  }
  return buf;
}

const params: PreprocessParams = {
  width: 100,
  height: 100,
  spec: PreprocessSpecSchema.parse({ kernel: "cubic", mean: [0.5, 0.4, 0.3], std: [0.25, 0.2, 0.3] }),
};

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "fovea-preprocess-"));
  rgb = makeImage();
  pngPath = path.join(dir, "img.png");
  await sharp(rgb, { raw: { width: SRC_W, height: SRC_H, channels: 3 } })
    .png()
    .toFile(pngPath);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("preprocess", () => {
  it("gives the runtime (rgb24 frame) and the training path (file on disk) the same tensor", async () => {
    const fromFrame = await preprocess({ width: SRC_W, height: SRC_H, encoding: "rgb24", data: rgb }, params);
    const fromFile = await preprocess({ file: pngPath }, params);
    const { readFile } = await import("node:fs/promises");
    const png = await readFile(pngPath);
    const fromEncoded = await preprocess({ width: SRC_W, height: SRC_H, encoding: "encoded", data: png }, params);
    expect(fromFrame.tensor.length).toBe(100 * 100 * 3);
    expect(Array.from(fromFile.tensor)).toEqual(Array.from(fromFrame.tensor));
    expect(Array.from(fromEncoded.tensor)).toEqual(Array.from(fromFrame.tensor));
    expect(fromFile.channelMean).toEqual(fromFrame.channelMean);
  });

  it("matches an independent sharp resize + normalisation, with white balance and stats", async () => {
    const wb = { r: 1.2, g: 1, b: 0.8 };
    const { tensor, channelMean } = await preprocess({ file: pngPath }, params, { whiteBalance: wb });
    const ref = await sharp(pngPath).resize(100, 100, { kernel: "cubic", fit: "fill" }).raw().toBuffer();
    const gains = [wb.r, wb.g, wb.b];
    const sums = [0, 0, 0];
    let maxDiff = 0;
    for (let i = 0; i < ref.length; i++) {
      const c = i % 3;
      const v = Math.min(255, ref[i] * gains[c]);
      sums[c] += v;
      const expected = (v / 255 - params.spec.mean[c]) / params.spec.std[c];
      maxDiff = Math.max(maxDiff, Math.abs(expected - tensor[i]));
    }
    expect(maxDiff).toBeLessThan(1e-5);
    for (let c = 0; c < 3; c++) expect(channelMean[c]).toBeCloseTo(sums[c] / 10000, 6);
    // The red gain saturates some pixels; the blue gain darkens: the statistics must move.
    const plain = await preprocess({ file: pngPath }, params);
    expect(channelMean[2]).toBeLessThan(plain.channelMean[2]);
  });

  it("ignores white balance when the model was trained without it", async () => {
    const noWb = { ...params, spec: { ...params.spec, whiteBalance: false } };
    const a = await preprocess({ file: pngPath }, noWb, { whiteBalance: { r: 2, g: 2, b: 2 } });
    const b = await preprocess({ file: pngPath }, noWb);
    expect(Array.from(a.tensor)).toEqual(Array.from(b.tensor));
  });

  it("writes into the caller's buffer and returns it", async () => {
    const out = new Float32Array(100 * 100 * 3 + 7).fill(Number.NaN);
    const { tensor } = await preprocess({ file: pngPath }, params, { out });
    expect(tensor).toBe(out);
    expect(Number.isNaN(out[0])).toBe(false);
    expect(Number.isNaN(out[100 * 100 * 3])).toBe(true);
  });

  it("turns greyscale images into three equal channels", async () => {
    const grey = path.join(dir, "grey.png");
    await sharp(rgb, { raw: { width: SRC_W, height: SRC_H, channels: 3 } })
      .greyscale()
      .png()
      .toFile(grey);
    const flat = { ...params, spec: PreprocessSpecSchema.parse({}) };
    const { tensor } = await preprocess({ file: grey }, flat);
    let unequal = 0;
    for (let i = 0; i < tensor.length; i += 3) if (tensor[i + 1] !== tensor[i] || tensor[i + 2] !== tensor[i]) unequal++;
    expect(unequal).toBe(0);
    expect(new Set(tensor).size).toBeGreaterThan(10);
  });

  it("names the frame or file and what was expected on bad input", async () => {
    await expect(
      preprocess({ width: 10, height: 10, encoding: "rgb24", data: Buffer.alloc(299), origin: "camera:/dev/video9" }, params),
    ).rejects.toThrow(new FoveaInputError("camera:/dev/video9", "expected 300 bytes of rgb24 for 10x10, got 299"));
    const junk = path.join(dir, "junk.jpg");
    await writeFile(junk, "not an image");
    const err = await preprocess({ file: junk }, params).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FoveaInputError);
    expect((err as FoveaInputError).where).toBe(junk);
    await expect(preprocess({ file: pngPath }, params, { out: new Float32Array(10) })).rejects.toThrow(RangeError);
    await expect(preprocess({ file: pngPath }, params, { whiteBalance: { r: 0, g: 1, b: 1 } })).rejects.toThrow(/whiteBalance\.r/);
  });
});

describe("preprocess with kernel area", () => {
  const area: PreprocessParams = { ...params, spec: { ...params.spec, kernel: "area" } };

  it("gives rgb24 frames (aligned or not), encoded frames and files the same tensor", async () => {
    const fromFile = await preprocess({ file: pngPath }, area);
    const { readFile } = await import("node:fs/promises");
    const fromEncoded = await preprocess({ width: SRC_W, height: SRC_H, encoding: "encoded", data: await readFile(pngPath) }, area);
    const shifted = Buffer.alloc(rgb.length + 1).subarray(1);
    rgb.copy(shifted);
    for (const data of [rgb, shifted]) {
      const fromFrame = await preprocess({ width: SRC_W, height: SRC_H, encoding: "rgb24", data }, area);
      expect(Array.from(fromFrame.tensor)).toEqual(Array.from(fromFile.tensor));
      expect(fromFrame.channelMean).toEqual(fromFile.channelMean);
    }
    expect(Array.from(fromEncoded.tensor)).toEqual(Array.from(fromFile.tensor));
  });

  it("normalises the area-resized bytes, which resizeToInput returns as a copy the caller keeps", async () => {
    const expected = new AreaResizer(SRC_W, SRC_H, 100, 100).resize(rgb, new Uint8Array(30000));
    const frame = { width: SRC_W, height: SRC_H, encoding: "rgb24" as const, data: rgb };
    const kept = await resizeToInput(frame, area);
    expect(Buffer.from(expected).equals(kept)).toBe(true);
    // A later resize of another image must not change bytes handed out earlier.
    await resizeToInput({ ...frame, data: Buffer.alloc(rgb.length, 9) }, area);
    expect(Buffer.from(expected).equals(kept)).toBe(true);
    const { tensor } = await preprocess(frame, area);
    let worst = 0;
    for (let i = 0; i < expected.length; i++) {
      const c = i % 3;
      worst = Math.max(worst, Math.abs((expected[i] / 255 - area.spec.mean[c]) / area.spec.std[c] - tensor[i]));
    }
    expect(worst).toBeLessThan(1e-5);
  });

  it("names the frame on a bad rgb24 frame and the file on an undecodable one", async () => {
    await expect(
      preprocess({ width: 10, height: 10, encoding: "rgb24", data: Buffer.alloc(299), origin: "camera:/dev/video9" }, area),
    ).rejects.toThrow(new FoveaInputError("camera:/dev/video9", "expected 300 bytes of rgb24 for 10x10, got 299"));
    const junk = path.join(dir, "junk-area.jpg");
    await writeFile(junk, "not an image");
    const err = await preprocess({ file: junk }, area).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FoveaInputError);
    expect((err as FoveaInputError).where).toBe(junk);
  });

  it("checks a file against the size its dataset records, on both resize paths", async () => {
    for (const p of [area, params]) {
      const ok = await resizeToInput({ file: pngPath, size: { width: SRC_W, height: SRC_H } }, p);
      expect(ok.equals(await resizeToInput({ file: pngPath }, p))).toBe(true);
      await expect(resizeToInput({ file: pngPath, size: { width: 640, height: 480 } }, p)).rejects.toThrow(
        new FoveaInputError(pngPath, `the dataset records 640x480 for this image, but it is ${SRC_W}x${SRC_H}`),
      );
    }
  });
});

describe("preprocess with letterbox and crop", () => {
  // A 16:9 frame: green field, a red rectangle at source pixels x 100..200, y 50..130.
  const W = 320;
  const H = 180;
  const RECT = { x0: 100, y0: 50, x1: 200, y1: 130 };
  const frameRgb = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const red = x >= RECT.x0 && x < RECT.x1 && y >= RECT.y0 && y < RECT.y1;
      frameRgb.set(red ? [220, 30, 30] : [40, 160, 40], (y * W + x) * 3);
    }
  }
  const frame = { width: W, height: H, encoding: "rgb24" as const, data: frameRgb };
  const input = (kernel: "linear" | "area", fit: "fill" | "letterbox" | "crop"): PreprocessParams => ({
    width: 64,
    height: 48,
    spec: PreprocessSpecSchema.parse({ kernel, fit }),
  });

  /** Bounding box of the red pixels of an input-size image, in input pixels (end exclusive). */
  function redBox(rgb: Uint8Array, width: number, height: number) {
    let x0 = width;
    let y0 = height;
    let x1 = 0;
    let y1 = 0;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = (y * width + x) * 3;
        if (rgb[i] > 128 && rgb[i + 1] < 100) {
          x0 = Math.min(x0, x);
          y0 = Math.min(y0, y);
          x1 = Math.max(x1, x + 1);
          y1 = Math.max(y1, y + 1);
        }
      }
    }
    return { x0, y0, x1, y1 };
  }

  /** Where fitTransform puts the rectangle, in input pixels. */
  function expectedBox(fit: "letterbox" | "crop") {
    const t = fitTransform(fit, W, H, 64, 48);
    return {
      x0: toInputX(t, RECT.x0 / W) * 64,
      y0: toInputY(t, RECT.y0 / H) * 48,
      x1: toInputX(t, RECT.x1 / W) * 64,
      y1: toInputY(t, RECT.y1 / H) * 48,
    };
  }

  /** Rows (input pixels, end exclusive) that are pure letterbox padding. */
  function bandRows(rgb: Uint8Array, from: number, to: number): boolean {
    for (let i = from * 64 * 3; i < to * 64 * 3; i++) if (rgb[i] !== LETTERBOX_PAD) return false;
    return true;
  }

  for (const kernel of ["linear", "area"] as const) {
    it(`letterboxes (kernel ${kernel}): the rectangle lands where fitTransform says, the bands are padding`, async () => {
      // 320x180 -> 64x48: content 64x36 at row 6, so rows 0..5 and 42..47 are bands.
      const rgb = await resizeToInput(frame, input(kernel, "letterbox"));
      const e = expectedBox("letterbox");
      expect(e).toEqual({ x0: 20, y0: 16, x1: 40, y1: 32 });
      const got = redBox(rgb, 64, 48);
      // Whole input pixels here: the area average is exact, the linear kernel blurs an edge by at most a pixel.
      const tol = kernel === "area" ? 0 : 1;
      for (const k of ["x0", "y0", "x1", "y1"] as const) expect(Math.abs(got[k] - e[k])).toBeLessThanOrEqual(tol);
      expect(bandRows(rgb, 0, 6)).toBe(true);
      expect(bandRows(rgb, 42, 48)).toBe(true);
      expect(rgb[6 * 64 * 3 + 1]).toBeGreaterThan(100);
      expect(rgb[41 * 64 * 3 + 1]).toBeGreaterThan(100);
    });

    it(`crops (kernel ${kernel}): the rectangle lands where fitTransform says`, async () => {
      const rgb = await resizeToInput(frame, input(kernel, "crop"));
      const e = expectedBox("crop");
      const got = redBox(rgb, 64, 48);
      // Edges fall inside input pixels (a scale of 85/320): a pixel is red when mostly covered.
      for (const k of ["x0", "y0", "x1", "y1"] as const) expect(Math.abs(got[k] - e[k])).toBeLessThanOrEqual(1);
      expect(e.x0).toBeCloseTo((100 * 85) / 320 - 11, 9);
      // No padding anywhere: every pixel is field or rectangle.
      for (let i = 0; i < rgb.length; i += 3) expect(rgb[i + 1] > 100 || rgb[i] > 128).toBe(true);
    });

    it(`gives frames, encoded frames and files the same letterboxed and cropped pixels (kernel ${kernel})`, async () => {
      const file = path.join(dir, `fit-${kernel}.png`);
      const png = await sharp(frameRgb, { raw: { width: W, height: H, channels: 3 } })
        .png()
        .toBuffer();
      await writeFile(file, png);
      for (const fit of ["letterbox", "crop"] as const) {
        const fromFrame = await resizeToInput(frame, input(kernel, fit));
        expect((await resizeToInput({ file }, input(kernel, fit))).equals(fromFrame)).toBe(true);
        expect((await resizeToInput({ width: W, height: H, encoding: "encoded", data: png }, input(kernel, fit))).equals(fromFrame)).toBe(
          true,
        );
      }
    });

    it(`keeps fill's pixels for a frame at the input's aspect ratio (kernel ${kernel})`, async () => {
      const p = (fit: "fill" | "letterbox" | "crop"): PreprocessParams => ({
        ...params,
        spec: PreprocessSpecSchema.parse({ kernel, fit }),
      });
      // 320x240 into 100x100 is no aspect match; into 160x120 it is.
      const same = (fit: "fill" | "letterbox" | "crop") => ({ ...p(fit), width: 160, height: 120 });
      const fill = await resizeToInput({ file: pngPath }, same("fill"));
      expect((await resizeToInput({ file: pngPath }, same("letterbox"))).equals(fill)).toBe(true);
      expect((await resizeToInput({ file: pngPath }, same("crop"))).equals(fill)).toBe(true);
    });
  }

  it("letterboxes as sharp's own contain does where sharp's rounding agrees", async () => {
    const ours = await resizeToInput(frame, input("linear", "letterbox"));
    const theirs = await sharp(frameRgb, { raw: { width: W, height: H, channels: 3 } })
      .resize(64, 48, { kernel: "linear", fit: "contain", background: { r: 0, g: 0, b: 0 } })
      .raw()
      .toBuffer();
    expect(ours.equals(theirs)).toBe(true);
  });

  it("leaves fill as it was: a stretch of the whole frame", async () => {
    const ours = await resizeToInput(frame, input("linear", "fill"));
    const theirs = await sharp(frameRgb, { raw: { width: W, height: H, channels: 3 } })
      .resize(64, 48, { kernel: "linear", fit: "fill" })
      .raw()
      .toBuffer();
    expect(ours.equals(theirs)).toBe(true);
    const area = await resizeToInput(frame, input("area", "fill"));
    expect(area.equals(Buffer.from(new AreaResizer(W, H, 64, 48).resize(frameRgb, new Uint8Array(64 * 48 * 3))))).toBe(true);
  });
});
