import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { float32ToFloat16, fromFloat16Bits, roundToFloat16, toFloat16Bits } from "./float16.js";

describe("float16", () => {
  it("encodes what tfjs's own float16 decoder reads back as the nearest half", () => {
    const values = new Float32Array([
      0,
      -0,
      1,
      -1,
      0.1,
      1 / 3,
      65504,
      65519,
      65520,
      1e6,
      -1e6,
      6.1035156e-5,
      5.9604645e-8,
      2.9802322e-8,
      2.98023259e-8,
      1e-9,
      1 + 2 ** -11,
      1 + 3 * 2 ** -11,
      Infinity,
      -Infinity,
    ]);
    const half = float32ToFloat16(values);
    // Independent decoder: tfjs dequantises float16 weights with its own tables.
    const decoded = tf.io
      .decodeWeights(half.buffer as ArrayBuffer, [
        { name: "w", shape: [values.length], dtype: "float32", quantization: { dtype: "float16" } },
      ])
      .w.dataSync();
    const expected = [
      0,
      -0,
      1,
      -1,
      0.0999755859375,
      0.333251953125,
      65504,
      65504,
      Infinity,
      Infinity,
      -Infinity,
      6.103515625e-5,
      5.960464477539063e-8,
      0,
      5.960464477539063e-8,
      0,
      1,
      1 + 2 ** -9,
      Infinity,
      -Infinity,
    ];
    expect(Array.from(decoded)).toEqual(expected);
    expect(Array.from(half, fromFloat16Bits)).toEqual(expected);
  });

  it("keeps NaN a NaN and rounds random weights within half precision", () => {
    expect(Number.isNaN(fromFloat16Bits(toFloat16Bits(Number.NaN)))).toBe(true);
    const w = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i * 12.9898) * 0.2);
    const r = roundToFloat16(w);
    for (let i = 0; i < w.length; i++) expect(Math.abs(r[i] - w[i])).toBeLessThanOrEqual(Math.abs(w[i]) * 2 ** -11 + 2 ** -25);
    expect(roundToFloat16(r)).toEqual(r);
  });
});
