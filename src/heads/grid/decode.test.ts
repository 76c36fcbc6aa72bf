import { describe, expect, it } from "vitest";
import { DEFAULT_CLASSES } from "../../core/detection.js";
import { GridDecoder } from "./decode.js";

const C = DEFAULT_CLASSES.length;

/** An all-background head of rows x cols cells; `put` fills one cell. */
function head(rows: number, cols: number) {
  const classes = new Float32Array(rows * cols * (C + 1));
  const boxes = new Float32Array(rows * cols * 4);
  for (let i = 0; i < rows * cols; i++) classes[i * (C + 1) + C] = 1;
  return {
    out: { classes, boxes },
    put(row: number, col: number, cls: number, p: number, box: [number, number, number, number]) {
      const cell = row * cols + col;
      classes.fill(0, cell * (C + 1), (cell + 1) * (C + 1));
      classes[cell * (C + 1) + cls] = p;
      classes[cell * (C + 1) + C] = 1 - p;
      boxes.set(box, cell * 4);
    },
  };
}

const opts = { classes: [...DEFAULT_CLASSES], rows: 4, cols: 5, scoreThreshold: 0.5, nmsIou: 0.3, maxDetections: 64 };

describe("GridDecoder", () => {
  it("finds nothing in an all-background head", () => {
    const h = head(4, 5);
    expect(new GridDecoder(opts).decode(h.out)).toEqual([]);
  });

  it("places a cell's box in normalised image coordinates", () => {
    const h = head(4, 5);
    // cell row 1, col 2; centre at 0.5,0.25 of the cell; 0.1 x 0.2 of the image.
    h.put(1, 2, 0, 0.9, [0.5, 0.25, 0.1, 0.2]);
    const [d, ...rest] = new GridDecoder(opts).decode(h.out);
    expect(rest).toEqual([]);
    expect(d.label).toBe("ball");
    expect(d.classIndex).toBe(0);
    expect(d.confidence).toBeCloseTo(0.9, 6);
    // cx = (2 + 0.5)/5 = 0.5, cy = (1 + 0.25)/4 = 0.3125
    expect(d.box.xMin).toBeCloseTo(0.45, 6);
    expect(d.box.xMax).toBeCloseTo(0.55, 6);
    expect(d.box.yMin).toBeCloseTo(0.2125, 6);
    expect(d.box.yMax).toBeCloseTo(0.4125, 6);
  });

  it("applies the score threshold and ignores the background class", () => {
    const h = head(4, 5);
    h.put(0, 0, 2, 0.49, [0.5, 0.5, 0.1, 0.1]);
    h.put(3, 4, 7, 0.51, [0.5, 0.5, 0.1, 0.1]);
    const dets = new GridDecoder(opts).decode(h.out);
    expect(dets.map((d) => d.label)).toEqual(["penalty_spot"]);
  });

  it("applies a class's own threshold where the options give one", () => {
    const h = head(4, 5);
    h.put(0, 0, 0, 0.3, [0.5, 0.5, 0.1, 0.1]); // ball at 0.3: passes its own 0.25
    h.put(1, 1, 2, 0.45, [0.5, 0.5, 0.1, 0.1]); // robot at 0.45: fails its own 0.6
    h.put(2, 2, 7, 0.4, [0.5, 0.5, 0.1, 0.1]); // penalty spot at 0.4: fails the default 0.5
    h.put(3, 3, 1, 0.55, [0.5, 0.5, 0.1, 0.1]); // goal post at 0.55: passes the default
    const dets = new GridDecoder({ ...opts, classScoreThresholds: { ball: 0.25, robot: 0.6 } }).decode(h.out);
    expect(dets.map((d) => d.label)).toEqual(["goal_post", "ball"]);
    expect(() => new GridDecoder({ ...opts, classScoreThresholds: { football: 0.2 } })).toThrow(
      /^options\.classScoreThresholds\.football: 'football' is not one of options\.classes/,
    );
    expect(() => new GridDecoder({ ...opts, classScoreThresholds: { ball: -1 } })).toThrow(RangeError);
  });

  it("keeps several instances of one class and suppresses same-class overlaps only", () => {
    const h = head(4, 5);
    // Two goal posts far apart, plus one overlapping duplicate of the first with lower score.
    h.put(0, 0, 1, 0.8, [0.9, 0.5, 0.2, 0.5]);
    h.put(0, 1, 1, 0.7, [0.1, 0.5, 0.2, 0.5]);
    h.put(2, 4, 1, 0.95, [0.5, 0.5, 0.1, 0.3]);
    // A robot exactly where the first goal post is: different class, not suppressed.
    h.put(1, 0, 2, 0.6, [0.9, -0.5 + 1, 0.2, 0.5]);
    const dets = new GridDecoder(opts).decode(h.out);
    expect(dets.map((d) => [d.label, Number(d.confidence.toFixed(2))])).toEqual([
      ["goal_post", 0.95],
      ["goal_post", 0.8],
      ["robot", 0.6],
    ]);
  });

  it("caps the number of detections, keeping the strongest", () => {
    const h = head(4, 5);
    for (let c = 0; c < 5; c++) h.put(0, c, 0, 0.6 + c * 0.05, [0.5, 0.5, 0.05, 0.05]);
    const dets = new GridDecoder({ ...opts, maxDetections: 2 }).decode(h.out);
    expect(dets.map((d) => d.confidence.toFixed(2))).toEqual(["0.80", "0.75"]);
  });

  it("clamps boxes that leave the image", () => {
    const h = head(4, 5);
    h.put(0, 0, 0, 0.9, [0, 0, 0.5, 0.5]);
    const [d] = new GridDecoder(opts).decode(h.out);
    expect(d.box.xMin).toBe(0);
    expect(d.box.yMin).toBe(0);
    expect(d.box.xMax).toBeCloseTo(0.25, 6);
  });

  it("reuses its scratch space across frames without leaking state", () => {
    const dec = new GridDecoder(opts);
    const a = head(4, 5);
    a.put(0, 0, 1, 0.9, [0.5, 0.5, 0.5, 0.5]);
    a.put(0, 1, 1, 0.8, [0.5, 0.5, 0.5, 0.5]);
    expect(dec.decode(a.out)).toHaveLength(1);
    const b = head(4, 5);
    b.put(3, 3, 3, 0.7, [0.5, 0.5, 0.1, 0.1]);
    b.put(0, 0, 3, 0.6, [0.5, 0.5, 0.1, 0.1]);
    expect(dec.decode(b.out).map((d) => d.label)).toEqual(["obstacle", "obstacle"]);
  });

  it("rejects bad options naming the argument", () => {
    expect(() => new GridDecoder({ ...opts, rows: 0 })).toThrow(/options\.rows/);
    expect(() => new GridDecoder({ ...opts, nmsIou: 2 })).toThrow(/options\.nmsIou/);
    expect(() => new GridDecoder({ ...opts, classes: [] })).toThrow(/options\.classes/);
  });
});
