import { describe, expect, it } from "vitest";
import { Rng } from "../core/prng.js";
import { DEFAULT_AUGMENT, augment, augmentationEnvelope, type AugmentOptions } from "./augment.js";

const W = 40;
const H = 30;
/** Grey image with a red square at x 8..15, y 6..13 labelled as a ball. */
function sample() {
  const rgb = new Uint8Array(W * H * 3).fill(100);
  for (let y = 6; y < 14; y++) for (let x = 8; x < 16; x++) rgb.set([230, 20, 20], (y * W + x) * 3);
  return { rgb, width: W, height: H, objects: [{ label: "ball", box: { xMin: 8 / W, yMin: 6 / H, xMax: 16 / W, yMax: 14 / H } }] };
}
const none: AugmentOptions = {
  brightness: [0, 0],
  contrast: [1, 1],
  hue: [0, 0],
  saturation: [1, 1],
  noiseStd: 0,
  blurSigma: [0, 0],
  flipHorizontal: false,
  shift: 0,
  occlusion: 0,
  probability: 1,
};

/** Centre of the red pixels, normalised. */
function redCentre(rgb: Uint8Array): [number, number] {
  let sx = 0,
    sy = 0,
    n = 0;
  for (let i = 0; i < W * H; i++)
    if (rgb[i * 3] > 180 && rgb[i * 3 + 1] < 80) {
      sx += (i % W) + 0.5;
      sy += Math.floor(i / W) + 0.5;
      n++;
    }
  return [sx / n / W, sy / n / H];
}

describe("augment", () => {
  it("with empty ranges leaves pixels and labels unchanged", () => {
    const s = sample();
    const out = augment(s, none, new Rng(1));
    expect(Buffer.from(out.rgb).equals(Buffer.from(s.rgb))).toBe(true);
    expect(out.objects).toEqual(s.objects);
  });

  it("moves the labels with the pixels under flips and crops", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const out = augment(sample(), { ...none, flipHorizontal: true, shift: 0.3 }, new Rng(seed));
      expect(out.objects).toHaveLength(1);
      const b = out.objects[0].box;
      const [rx, ry] = redCentre(out.rgb);
      expect(Math.abs(rx - (b.xMin + b.xMax) / 2)).toBeLessThan(1.5 / W);
      expect(Math.abs(ry - (b.yMin + b.yMax) / 2)).toBeLessThan(1.5 / H);
    }
  });

  it("changes photometry within the ranges and is deterministic per seed", () => {
    const a = augment(sample(), DEFAULT_AUGMENT, new Rng(9));
    const b = augment(sample(), DEFAULT_AUGMENT, new Rng(9));
    expect(Buffer.from(a.rgb).equals(Buffer.from(b.rgb))).toBe(true);
    const bright = augment(sample(), { ...none, brightness: [0.2, 0.2] }, new Rng(1));
    expect(bright.rgb[0]).toBe(100 + 51);
    const grey = augment(sample(), { ...none, saturation: [0, 0] }, new Rng(1));
    const p = (10 * W + 10) * 3;
    expect(Math.max(grey.rgb[p], grey.rgb[p + 1], grey.rgb[p + 2]) - Math.min(grey.rgb[p], grey.rgb[p + 1], grey.rgb[p + 2])).toBeLessThan(
      3,
    );
  });

  it("drops labels whose centre an occluder covers", () => {
    let dropped = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const out = augment(sample(), { ...none, occlusion: 0.6 }, new Rng(seed));
      if (out.objects.length === 0) {
        dropped++;
        const p = (10 * W + 12) * 3; // centre of the red square
        expect([out.rgb[p], out.rgb[p + 1], out.rgb[p + 2]]).not.toEqual([230, 20, 20]);
      }
    }
    expect(dropped).toBeGreaterThan(0);
  });

  it("writes its ranges and the observed mean range into the envelope", () => {
    const env = augmentationEnvelope(DEFAULT_AUGMENT, [40, 180]);
    expect(env.brightness).toEqual(DEFAULT_AUGMENT.brightness);
    expect(env.meanRange).toEqual([40, 180]);
  });
});
