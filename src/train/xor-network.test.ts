import { describe, expect, it } from "vitest";
import { XOR_EXAMPLES, trainXor, xorForward } from "./xor-network.js";

describe("3-3-1 sigmoid network", () => {
  it("learns XOR by backpropagation", () => {
    const { net, mse } = trainXor({ seed: 3 });
    expect(mse[0]).toBeGreaterThan(0.2); // random start: about chance
    expect(mse[mse.length - 1]).toBeLessThan(0.01);
    for (const { input, target } of XOR_EXAMPLES) {
      const { out } = xorForward(net, input[0], input[1]);
      expect(Math.round(out)).toBe(target);
    }
  });

  it("is deterministic for a seed", () => {
    expect(trainXor({ seed: 5, epochs: 50 }).mse).toEqual(trainXor({ seed: 5, epochs: 50 }).mse);
  });
});
