import { describe, expect, it } from "vitest";
import type { Detection } from "../core/detection.js";
import { projectToGround, type GroundProjector } from "./ground-projection.js";

/** A camera that records where it was asked and answers a fixed mapping; null above v=100. */
function recordingCamera() {
  const asked: Array<[number, number]> = [];
  const cam: GroundProjector = {
    pixelToGround(u, v) {
      asked.push([u, v]);
      return v < 100 ? null : { x: v / 100, y: -u / 100 };
    },
  };
  return { cam, asked };
}

const det = (label: string, box: Detection["box"]): Detection => ({ label, classIndex: 0, confidence: 0.9, box });

describe("projectToGround", () => {
  it("uses the bottom centre for standing objects and the centre for field marks, in frame pixels", () => {
    const { cam, asked } = recordingCamera();
    const dets = [
      det("ball", { xMin: 0.5, yMin: 0.5, xMax: 0.6, yMax: 0.7 }),
      det("X_crossing", { xMin: 0.2, yMin: 0.6, xMax: 0.3, yMax: 0.8 }),
    ];
    projectToGround(dets, cam, 640, 480);
    expect(asked[0][0]).toBeCloseTo(0.55 * 640, 6);
    expect(asked[0][1]).toBeCloseTo(0.7 * 480, 6);
    expect(asked[1][0]).toBeCloseTo(0.25 * 640, 6);
    expect(asked[1][1]).toBeCloseTo(0.7 * 480, 6);
    expect(dets[0].ground!.x).toBeCloseTo(3.36, 6);
    expect(dets[0].ground!.y).toBeCloseTo(-3.52, 6);
  });

  it("leaves ground unset above the horizon", () => {
    const { cam } = recordingCamera();
    const dets = [det("robot", { xMin: 0.4, yMin: 0.0, xMax: 0.5, yMax: 0.1 })];
    projectToGround(dets, cam, 640, 480);
    expect(dets[0].ground).toBeUndefined();
  });
});
