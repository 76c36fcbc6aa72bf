import { describe, expect, test } from "vitest";
import { compareDetectionRuns, formatComparison } from "./compare-detections.js";
import type { DetectionMessage } from "../publish/codec.js";

function det(label: string, x: number, confidence = 0.9): DetectionMessage {
  return { label, confidence, box: { xMin: x, yMin: 0.2, xMax: x + 0.1, yMax: 0.3 } };
}

describe("compareDetectionRuns", () => {
  test("identical runs: nothing changed, every detection matched", () => {
    const run = new Map([
      [0, [det("ball", 0.1), det("robot", 0.5)]],
      [1, [det("ball", 0.12)]],
    ]);
    const r = compareDetectionRuns(run, run);
    expect(r).toMatchObject({
      framesCompared: 2,
      framesChanged: 0,
      changes: [],
      onlyBaseline: 0,
      onlyCandidate: 0,
      maxConfidenceDelta: 0,
      meanMatchedIou: 1,
    });
    expect(r.perClass.ball).toEqual({ baseline: 2, candidate: 2, matched: 2, removed: 0, added: 0 });
  });

  test("moved, lost, new and relabelled detections are counted per frame and per class", () => {
    const baseline = new Map([
      [0, [det("ball", 0.1), det("robot", 0.5)]],
      [1, [det("ball", 0.1)]],
      [2, [det("goal_post", 0.7)]],
      [5, [det("ball", 0.1)]],
    ]);
    const candidate = new Map([
      // ball moved a little (IoU 0.6 > 0.5): same detection; robot lost
      [0, [det("ball", 0.1125)]],
      // ball moved far (IoU 0): one removed, one added
      [1, [det("ball", 0.4)]],
      // same box, other class: removed goal_post, added robot
      [2, [det("robot", 0.7)]],
      [7, [det("ball", 0.1)]],
    ]);
    const r = compareDetectionRuns(baseline, candidate);
    expect(r.framesCompared).toBe(3);
    expect(r.onlyBaseline).toBe(1);
    expect(r.onlyCandidate).toBe(1);
    expect(r.changes).toEqual([
      { seq: 0, removed: 1, added: 0, confidenceChanged: 0 },
      { seq: 1, removed: 1, added: 1, confidenceChanged: 0 },
      { seq: 2, removed: 1, added: 1, confidenceChanged: 0 },
    ]);
    expect(r.perClass.ball).toEqual({ baseline: 2, candidate: 2, matched: 1, removed: 1, added: 1 });
    expect(r.perClass.robot).toEqual({ baseline: 1, candidate: 1, matched: 0, removed: 1, added: 1 });
    expect(r.perClass.goal_post).toEqual({ baseline: 1, candidate: 0, matched: 0, removed: 1, added: 0 });
    expect(r.meanMatchedIou).toBeCloseTo(0.0875 / 0.1125, 6);
    const table = formatComparison(r, { baseline: "a.mcap", candidate: "b.mcap" });
    expect(table).toMatch(/frames compared 3, changed 3 \(100\.0%\), only in baseline 1, only in candidate 1/);
    expect(table).toMatch(/ball\s+2\s+2\s+1\s+1\s+1/);
  });

  test("a confidence change beyond the tolerance marks the frame changed", () => {
    const r = compareDetectionRuns(new Map([[3, [det("ball", 0.1, 0.9)]]]), new Map([[3, [det("ball", 0.1, 0.7)]]]), {
      confidenceTolerance: 0.1,
    });
    expect(r.changes).toEqual([{ seq: 3, removed: 0, added: 0, confidenceChanged: 1 }]);
    expect(r.maxConfidenceDelta).toBeCloseTo(0.2, 6);
  });

  test("two boxes of one class match one-to-one, best overlap first", () => {
    const r = compareDetectionRuns(new Map([[0, [det("ball", 0.1), det("ball", 0.15)]]]), new Map([[0, [det("ball", 0.15)]]]));
    expect(r.perClass.ball).toEqual({ baseline: 2, candidate: 1, matched: 1, removed: 1, added: 0 });
    expect(r.meanMatchedIou).toBe(1);
  });

  test("bad options name the option", () => {
    expect(() => compareDetectionRuns(new Map(), new Map(), { iou: 0 })).toThrow(/options\.iou/);
    expect(() => compareDetectionRuns(new Map(), new Map(), { confidenceTolerance: -1 })).toThrow(/options\.confidenceTolerance/);
  });
});
