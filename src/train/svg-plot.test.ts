import { describe, expect, it } from "vitest";
import { lineChart } from "./svg-plot.js";

describe("lineChart", () => {
  it("draws one polyline per series with a legend, scaled into the plot area", () => {
    const svg = lineChart({
      title: "loss <train>",
      xLabel: "epoch",
      yLabel: "loss",
      series: [
        {
          name: "train",
          points: [
            [1, 2],
            [2, 1],
            [3, 0.5],
          ],
        },
        {
          name: "val",
          points: [
            [1, 2.5],
            [2, 1.5],
            [3, NaN],
          ],
        },
      ],
    });
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg).toContain("loss &lt;train&gt;");
    expect(svg).toContain(">val<");
    const coords = [...svg.matchAll(/cx="([\d.]+)" cy="([\d.]+)"/g)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(coords).toHaveLength(5); // the NaN point is skipped
    for (const [x, y] of coords) {
      expect(x).toBeGreaterThanOrEqual(64);
      expect(x).toBeLessThanOrEqual(640 - 150);
      expect(y).toBeGreaterThanOrEqual(36);
      expect(y).toBeLessThanOrEqual(400 - 48);
    }
  });
});
