import { describe, expect, it } from "vitest";
import { onStopSignals } from "./stop-signals.js";

describe("onStopSignals", () => {
  it("the first SIGINT or SIGTERM aborts with its name and removes both handlers, so a second one gets the default action", () => {
    for (const first of ["SIGTERM", "SIGINT"] as const) {
      const before = [process.listenerCount("SIGINT"), process.listenerCount("SIGTERM")];
      const seen: string[] = [];
      const stop = onStopSignals((s) => seen.push(s));
      expect([process.listenerCount("SIGINT"), process.listenerCount("SIGTERM")]).toEqual(before.map((n) => n + 1));
      // Delivered to the listeners as a real signal would be, without ending the test process.
      process.emit(first, first);
      expect(stop.signal.aborted).toBe(true);
      expect(stop.signal.reason).toBe(first);
      expect(seen).toEqual([first]);
      // Nothing of ours left for the second signal of either kind.
      expect([process.listenerCount("SIGINT"), process.listenerCount("SIGTERM")]).toEqual(before);
      stop.dispose();
    }
  });

  it("dispose removes the handlers of a run that ended without a signal", () => {
    const before = process.listenerCount("SIGTERM");
    const stop = onStopSignals();
    stop.dispose();
    expect(process.listenerCount("SIGTERM")).toBe(before);
    expect(stop.signal.aborted).toBe(false);
  });
});
