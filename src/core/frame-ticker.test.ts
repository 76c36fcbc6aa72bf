import { describe, expect, it } from "vitest";
import { epochNowNs } from "./clock.js";
import { FrameTicker } from "./frame-ticker.js";

describe("FrameTicker", () => {
  it("ticks with the time each tick fired (never after it reached the loop) until stopped", async () => {
    const stamps: Array<{ fired: bigint; received: bigint }> = [];
    let ticker!: FrameTicker;
    const enough = new Promise<void>((resolve) => {
      ticker = new FrameTicker(200, (fired) => {
        stamps.push({ fired, received: epochNowNs() });
        if (stamps.length === 5) resolve();
      });
    });
    await enough;
    await ticker.stop();
    const n = stamps.length;
    await new Promise((r) => setTimeout(r, 30));
    expect(stamps.length).toBe(n);
    for (let i = 0; i < n; i++) {
      expect(stamps[i].fired).toBeLessThanOrEqual(stamps[i].received + 1000n);
      if (i > 0) expect(stamps[i].fired).toBeGreaterThan(stamps[i - 1].fired);
    }
    await ticker.stop();
  });

  it("rejects a bad rate naming it", () => {
    expect(() => new FrameTicker(0, () => undefined)).toThrow(/fps/);
  });
});
