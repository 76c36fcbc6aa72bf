import { describe, expect, it } from "vitest";
import { perceptronOutput, trainPerceptron } from "./perceptron.js";

const truth = (f: (a: number, b: number) => number) =>
  [
    [0, 0],
    [0, 1],
    [1, 0],
    [1, 1],
  ].map(([a, b]) => ({ input: [a, b], target: f(a, b) as 0 | 1 }));

describe("perceptron (delta rule)", () => {
  it.each([
    ["AND", truth((a, b) => a & b)],
    ["OR", truth((a, b) => a | b)],
    [
      "NOT",
      [
        { input: [0], target: 1 as const },
        { input: [1], target: 0 as const },
      ],
    ],
  ])("learns %s", (_name, examples) => {
    const { perceptron, converged, epochs } = trainPerceptron(examples);
    expect(converged).toBe(true);
    expect(epochs).toBeGreaterThan(1); // it had to learn: zero weights are wrong at the start
    for (const e of examples) expect(perceptronOutput(perceptron, e.input)).toBe(e.target);
  });

  it("cannot learn XOR (not linearly separable)", () => {
    const examples = truth((a, b) => a ^ b);
    const { perceptron, converged } = trainPerceptron(examples, { maxEpochs: 200 });
    expect(converged).toBe(false);
    expect(examples.some((e) => perceptronOutput(perceptron, e.input) !== e.target)).toBe(true);
  });

  it("rejects inputs of different lengths", () => {
    expect(() =>
      trainPerceptron([
        { input: [0, 1], target: 1 },
        { input: [1], target: 0 },
      ]),
    ).toThrow(/examples/);
  });
});
