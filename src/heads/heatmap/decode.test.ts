import { describe, expect, it } from "vitest";
import { HeatmapDecoder } from "./decode.js";

const classes = ["ball", "robot"];
const rows = 6;
const cols = 8;
const opts = { classes, rows, cols, scoreThreshold: 0.3, nmsIou: 0.5, maxDetections: 16 };

function outputs(batch = 1) {
  const heatmap = new Float32Array(batch * rows * cols * 2);
  const regression = new Float32Array(batch * rows * cols * 4);
  return {
    out: { heatmap, regression },
    put(b: number, row: number, col: number, c: number, v: number, reg: [number, number, number, number] = [0.5, 0.5, 0, 0]) {
      heatmap[((b * rows + row) * cols + col) * 2 + c] = v;
      regression.set(reg, ((b * rows + row) * cols + col) * 4);
    },
  };
}

describe("HeatmapDecoder", () => {
  it("gives the known box for a peak at a known cell", () => {
    const o = outputs();
    // Cell (row 2, col 5), centre offset (0.25, 0.75), 2 x 1 cells.
    o.put(0, 2, 5, 1, 0.9, [0.25, 0.75, Math.log(2), 0]);
    const [d, ...rest] = new HeatmapDecoder(opts).decode(o.out);
    expect(rest).toEqual([]);
    expect(d.label).toBe("robot");
    expect(d.confidence).toBeCloseTo(0.9, 6);
    expect(d.box.xMin).toBeCloseTo((5.25 - 1) / cols, 6);
    expect(d.box.xMax).toBeCloseTo((5.25 + 1) / cols, 6);
    expect(d.box.yMin).toBeCloseTo((2.75 - 0.5) / rows, 6);
    expect(d.box.yMax).toBeCloseTo((2.75 + 0.5) / rows, 6);
  });

  it("fires only at local maxima: a weaker neighbour of a peak is no detection, a distant one is", () => {
    const o = outputs();
    o.put(0, 3, 3, 0, 0.8);
    o.put(0, 3, 4, 0, 0.7); // beside the peak
    o.put(0, 0, 7, 0, 0.5); // its own peak
    o.put(0, 5, 0, 0, 0.2); // below threshold
    const found = new HeatmapDecoder(opts).decode(o.out);
    expect(found.map((d) => d.confidence.toFixed(1))).toEqual(["0.8", "0.5"]);
  });

  it("keeps objects of different classes in one cell and applies per-class thresholds", () => {
    const o = outputs();
    o.put(0, 1, 1, 0, 0.4);
    o.put(0, 1, 1, 1, 0.6);
    expect(new HeatmapDecoder(opts).decode(o.out).map((d) => d.label)).toEqual(["robot", "ball"]);
    expect(new HeatmapDecoder({ ...opts, classScoreThresholds: { ball: 0.5 } }).decode(o.out).map((d) => d.label)).toEqual(["robot"]);
  });

  it("decodes the requested image of a batch and keeps no state between frames", () => {
    const o = outputs(2);
    o.put(1, 4, 6, 1, 0.95);
    const dec = new HeatmapDecoder(opts);
    expect(dec.decode(o.out, 0)).toEqual([]);
    expect(dec.decode(o.out, 1)).toHaveLength(1);
    expect(dec.decode(o.out, 1)).toHaveLength(1);
  });

  it("rejects bad options naming them", () => {
    expect(() => new HeatmapDecoder({ ...opts, rows: 0 })).toThrow(/options.rows/);
    expect(() => new HeatmapDecoder({ ...opts, scoreThreshold: 2 })).toThrow(/options.scoreThreshold/);
    expect(() => new HeatmapDecoder({ ...opts, classScoreThresholds: { dog: 0.5 } })).toThrow(/classScoreThresholds.dog/);
  });
});
