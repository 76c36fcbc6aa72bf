import { describe, expect, it } from "vitest";
import { FoveaInputError } from "../core/errors.js";
import { WebcamSource } from "./webcam-source.js";

// A real snapshot needs a camera (and fswebcam); this machine has neither, so only what runs
// here is tested: argument checks, and that a failing snapshot tool surfaces as bad input.
describe("WebcamSource", () => {
  it("rejects bad arguments by name", async () => {
    await expect(WebcamSource.open({ width: -1 })).rejects.toThrow(/^width: expected a positive integer/);
    await expect(WebcamSource.open({ height: 1.5 })).rejects.toThrow(/^height:/);
    await expect(WebcamSource.open({ fps: 0 })).rejects.toThrow(RangeError);
    await expect(WebcamSource.open({ device: "" })).rejects.toThrow(/^device:/);
  });

  it.skipIf(process.platform !== "linux")(
    "without a working snapshot tool and camera, open() is a FoveaInputError naming the webcam",
    async () => {
      const err = await WebcamSource.open({ device: "/dev/video-fovea-missing", width: 320, height: 240 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FoveaInputError);
      expect((err as FoveaInputError).where).toBe("webcam:/dev/video-fovea-missing");
      expect((err as Error).message).toMatch(/could not take a snapshot/);
    },
  );
});
