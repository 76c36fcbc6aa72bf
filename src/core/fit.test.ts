import { describe, expect, it } from "vitest";
import { Rng } from "./prng.js";
import {
  boxToImage,
  boxToInput,
  coversInput,
  fitTransform,
  objectsToInput,
  reuseFitTransform,
  toImageX,
  toImageY,
  toInputX,
  toInputY,
  type FitTransform,
} from "./fit.js";

/** The placed image's rectangle in input pixels. */
const rect = (t: FitTransform) => ({ left: t.left, top: t.top, width: t.width, height: t.height });

describe("fitTransform", () => {
  it("letterboxes a 16:9 frame into a 4:3 input: full width, centred, 15-pixel bands", () => {
    const t = fitTransform("letterbox", 1280, 720, 160, 120);
    expect(rect(t)).toEqual({ left: 0, top: 15, width: 160, height: 90 });
    expect([t.scaleX, t.scaleY, t.offsetX, t.offsetY]).toEqual([1, 0.75, 0, 0.125]);
    // The image's top and bottom edges land on the band edges.
    expect(toInputY(t, 0) * 120).toBe(15);
    expect(toInputY(t, 1) * 120).toBe(105);
  });

  it("crops a 16:9 frame to a 4:3 input: scaled to the input's height, the middle 160 columns", () => {
    const t = fitTransform("crop", 1280, 720, 160, 120);
    // 1280 * 120/720 = 213.33 columns, a whole 213 in pixels; the 53 that overflow are cut 27 left, 26 right.
    expect(rect(t)).toEqual({ left: -27, top: 0, width: 213, height: 120 });
    expect(t.scaleX).toBeCloseTo(213 / 160, 12);
    expect(t.offsetX).toBeCloseTo(-27 / 160, 12);
    expect([t.scaleY, t.offsetY]).toEqual([1, 0]);
    // The input shows image columns 27/213 .. 187/213, about 12.7% .. 87.8% of the frame.
    expect(toImageX(t, 0)).toBeCloseTo(27 / 213, 12);
    expect(toImageX(t, 1)).toBeCloseTo(187 / 213, 12);
  });

  it("handles a frame taller than the input the same way on the other axis", () => {
    expect(rect(fitTransform("letterbox", 480, 640, 160, 120))).toEqual({ left: 35, top: 0, width: 90, height: 120 });
    expect(rect(fitTransform("crop", 480, 640, 160, 120))).toEqual({ left: 0, top: -47, width: 160, height: 213 });
  });

  it("puts an odd padding pixel at the bottom, as sharp's centre gravity does", () => {
    // 100x40 into 10x7: content 10x4, three rows of padding, one above and two below.
    expect(rect(fitTransform("letterbox", 100, 40, 10, 7))).toEqual({ left: 0, top: 1, width: 10, height: 4 });
  });

  it("gives every rule fill's geometry at the input's aspect ratio", () => {
    for (const fit of ["fill", "letterbox", "crop"] as const) {
      const t = fitTransform(fit, 640, 480, 160, 120);
      expect(coversInput(t)).toBe(true);
      expect([t.scaleX, t.scaleY, t.offsetX, t.offsetY]).toEqual([1, 1, 0, 0]);
    }
    expect(coversInput(fitTransform("fill", 1280, 720, 160, 120))).toBe(true);
    expect(coversInput(fitTransform("letterbox", 1280, 720, 160, 120))).toBe(false);
  });

  it("maps points image -> input -> image and back to where they were", () => {
    const rng = new Rng(5);
    for (const fit of ["fill", "letterbox", "crop"] as const) {
      for (const [sw, sh] of [
        [1280, 720],
        [480, 640],
        [333, 101],
      ]) {
        const t = fitTransform(fit, sw, sh, 160, 120);
        for (let i = 0; i < 50; i++) {
          const x = rng.next();
          const y = rng.next();
          expect(toImageX(t, toInputX(t, x))).toBeCloseTo(x, 12);
          expect(toImageY(t, toInputY(t, y))).toBeCloseTo(y, 12);
          expect(toInputX(t, toImageX(t, x))).toBeCloseTo(x, 12);
          expect(toInputY(t, toImageY(t, y))).toBeCloseTo(y, 12);
        }
      }
    }
  });

  it("maps boxes both ways, clipping to the input (crop) and to the image (letterbox bands)", () => {
    const lb = fitTransform("letterbox", 1280, 720, 160, 120);
    const box = { xMin: 0.25, yMin: 0.5, xMax: 0.5, yMax: 1 };
    const inInput = boxToInput(lb, box);
    expect(inInput).toEqual({ xMin: 0.25, yMin: 0.5, xMax: 0.5, yMax: 0.875 });
    expect(boxToImage(lb, inInput)).toEqual(box);
    // A box reaching into the bottom band ends at the image's bottom edge.
    expect(boxToImage(lb, { xMin: 0.1, yMin: 0.75, xMax: 0.2, yMax: 0.95 })).toEqual({
      xMin: 0.1,
      yMin: (0.75 - 0.125) / 0.75,
      xMax: 0.2,
      yMax: 1,
    });

    const crop = fitTransform("crop", 1280, 720, 160, 120);
    // Image columns 0.1 .. 0.2: the part left of 27/213 is not in the input.
    const b = boxToInput(crop, { xMin: 0.1, yMin: 0.2, xMax: 0.2, yMax: 0.4 });
    expect(b.xMin).toBe(0);
    expect(b.xMax).toBeCloseTo((0.2 * 213 - 27) / 160, 12);
    expect([b.yMin, b.yMax]).toEqual([0.2, 0.4]);
    // Written into the given box when asked, so the frame loop allocates nothing.
    const same = { xMin: 0, yMin: 0, xMax: 1, yMax: 1 };
    expect(boxToImage(crop, same, same)).toBe(same);
    expect(same.xMin).toBeCloseTo(27 / 213, 12);
    expect(same.xMax).toBeCloseTo(187 / 213, 12);
  });

  it("moves labels into the input: a crop drops objects centred outside it and clips the rest", () => {
    const crop = fitTransform("crop", 1280, 720, 160, 120);
    const objects = [
      { label: "ball", box: { xMin: 0.05, yMin: 0.5, xMax: 0.15, yMax: 0.6 } }, // centre 0.1 < 27/213: cut off
      { label: "robot", box: { xMin: 0.1, yMin: 0.3, xMax: 0.2, yMax: 0.9 }, ground: { x: 2, y: 1 } }, // centre 0.15: kept, clipped
      { label: "goal_post", box: { xMin: 0.5, yMin: 0.1, xMax: 0.55, yMax: 0.5 } },
      { label: "ball", box: { xMin: 0.86, yMin: 0.4, xMax: 0.9, yMax: 0.45 } }, // centre 0.88 > 187/213: cut off
    ];
    const moved = objectsToInput(objects, crop);
    expect(moved.map((o) => o.label)).toEqual(["robot", "goal_post"]);
    expect(moved[0].box.xMin).toBe(0);
    expect(moved[0].box.xMax).toBeCloseTo((0.2 * 213 - 27) / 160, 12);
    expect([moved[0].box.yMin, moved[0].box.yMax]).toEqual([0.3, 0.9]);
    expect(moved[0].ground).toEqual({ x: 2, y: 1 });
    expect(moved[1].box.xMin).toBeCloseTo((0.5 * 213 - 27) / 160, 12);
    expect(moved[1].box.xMax).toBeCloseTo((0.55 * 213 - 27) / 160, 12);
    // The labels handed in stay as they were.
    expect(objects[1].box).toEqual({ xMin: 0.1, yMin: 0.3, xMax: 0.2, yMax: 0.9 });

    const lb = objectsToInput(objects, fitTransform("letterbox", 1280, 720, 160, 120));
    expect(lb).toHaveLength(4);
    expect(lb[2].box).toEqual({ xMin: 0.5, yMin: 0.1 * 0.75 + 0.125, xMax: 0.55, yMax: 0.5 * 0.75 + 0.125 });
    expect(objectsToInput(objects, fitTransform("fill", 1280, 720, 160, 120))).toEqual(objects);
  });

  it("computes a frame size's transform once", () => {
    const t = fitTransform("letterbox", 1280, 720, 160, 120);
    expect(reuseFitTransform(t, "letterbox", 1280, 720, 160, 120)).toBe(t);
    expect(rect(reuseFitTransform(t, "letterbox", 640, 360, 160, 120))).toEqual(rect(t));
    expect(reuseFitTransform(t, "crop", 1280, 720, 160, 120)).not.toBe(t);
  });

  it("rejects bad sizes and rules naming them", () => {
    expect(() => fitTransform("fill", 0, 720, 160, 120)).toThrow(/srcWidth: expected a positive integer, got 0/);
    expect(() => fitTransform("crop", 1280, 720, 160.5, 120)).toThrow(/dstWidth/);
    expect(() => fitTransform("stretch" as "fill", 1280, 720, 160, 120)).toThrow(/fit: expected one of fill, letterbox, crop/);
  });
});
