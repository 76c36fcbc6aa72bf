import { describe, expect, it } from "vitest";
import { FoveaInputError } from "../core/errors.js";
import { dataFingerprint, train } from "./trainer.js";

describe("trainer input checks", () => {
  it("names the flag at fault", async () => {
    await expect(train({ data: [], out: "x", epochs: 1 })).rejects.toThrow(/--data/);
    await expect(train({ data: ["d"], out: "x", epochs: 0 })).rejects.toThrow(/--epochs/);
    await expect(train({ data: ["d"], out: "x", epochs: 1, fineTune: true })).rejects.toThrow(/--fine-tune.*--from/);
    await expect(train({ data: ["/nonexistent/fovea-data"], out: "x", epochs: 1, backend: "cpu", progress: false })).rejects.toBeInstanceOf(
      FoveaInputError,
    );
  });
});

describe("dataFingerprint", () => {
  const frame = (image: string, x: number) => ({
    image,
    objects: [{ label: "ball", box: { xMin: x, yMin: 0.1, xMax: x + 0.1, yMax: 0.2 } }],
  });
  it("depends on labels, not on frame order", () => {
    const a = dataFingerprint([frame("a.png", 0.1), frame("b.png", 0.2)]);
    expect(dataFingerprint([frame("b.png", 0.2), frame("a.png", 0.1)])).toBe(a);
    expect(dataFingerprint([frame("a.png", 0.1), frame("b.png", 0.3)])).not.toBe(a);
    expect(a).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});
