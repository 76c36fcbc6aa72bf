import { describe, expect, it } from "vitest";
import type { Box } from "../core/detection.js";
import { averagePrecision, bestF1, precisionRecallCurve } from "./eval-average-precision.js";
import { matchFrame, matchingBox } from "./eval-matching.js";
import { DetectionEvaluator, percentile } from "./eval-metrics.js";

/** A small box around a point (the decoder's boxes only matter through their centre here). */
const at = (x: number, y: number, half = 0.01): Box => ({ xMin: x - half, yMin: y - half, xMax: x + half, yMax: y + half });

describe("matching rule", () => {
  it("enlarges small boxes to 5% of the image width in both directions", () => {
    // 200x100 image: min width 0.05 (10 px); min height 10 px = 0.1 of the height.
    const b = matchingBox({ xMin: 0.5, yMin: 0.5, xMax: 0.52, yMax: 0.52 }, { width: 200, height: 100, minBoxFraction: 0.05 });
    expect(b.xMin).toBeCloseTo(0.485, 12);
    expect(b.xMax).toBeCloseTo(0.535, 12);
    expect(b.yMin).toBeCloseTo(0.46, 12);
    expect(b.yMax).toBeCloseTo(0.56, 12);
    // Big boxes stay as they are.
    expect(matchingBox({ xMin: 0.1, yMin: 0.1, xMax: 0.5, yMax: 0.5 }, { width: 200, height: 100, minBoxFraction: 0.05 })).toEqual({
      xMin: 0.1,
      yMin: 0.1,
      xMax: 0.5,
      yMax: 0.5,
    });
  });

  it("matches each object once, strongest detection first, nearest centre when boxes overlap", () => {
    const objects = [
      { label: "ball", box: { xMin: 0.1, yMin: 0.1, xMax: 0.3, yMax: 0.3 } },
      { label: "ball", box: { xMin: 0.25, yMin: 0.1, xMax: 0.45, yMax: 0.3 } },
      { label: "robot", box: { xMin: 0.6, yMin: 0.6, xMax: 0.9, yMax: 0.9 } },
    ];
    const detections = [
      // Point (0.28, 0.2) lies in both balls' boxes; ball 0's centre (0.2) is 0.08 away, ball 1's (0.35) 0.07: ball 1.
      { label: "ball", confidence: 0.6, box: at(0.28, 0.2) },
      // Stronger, on ball 0 only.
      { label: "ball", confidence: 0.9, box: at(0.15, 0.2) },
      // Weaker duplicate on ball 0: already taken -> unmatched.
      { label: "ball", confidence: 0.5, box: at(0.16, 0.2) },
      // Right place, wrong class: unmatched.
      { label: "ball", confidence: 0.7, box: at(0.7, 0.7) },
    ];
    const m = matchFrame(detections, objects, { width: 100, height: 100, minBoxFraction: 0.05 });
    expect(m.objectOfDetection).toEqual([1, 0, -1, -1]);
    expect(m.detectionOfObject).toEqual([1, 0, -1]);
  });
});

describe("average precision", () => {
  it("integrates the interpolated precision-recall curve", () => {
    // 3 objects; by confidence: TP FP TP FP TP
    //   P/R: 1/(1/3), 1/2/(1/3), 2/3/(2/3), 1/2/(2/3), 3/5/1
    //   interpolated precision: 1, 2/3, 2/3, 3/5, 3/5
    //   AP = 1/3*1 + 1/3*2/3 + 1/3*3/5 = 15/45 + 10/45 + 9/45 = 34/45
    const dets = [0.9, 0.8, 0.7, 0.6, 0.5].map((confidence, i) => ({ confidence, truePositive: i % 2 === 0 }));
    expect(averagePrecision(dets.reverse(), 3)).toBeCloseTo(34 / 45, 12);
  });

  it("lets tied confidences enter together, whatever their order", () => {
    // One point: precision 1/2 at recall 1 -> AP 1/2, in either order.
    expect(
      averagePrecision(
        [
          { confidence: 0.8, truePositive: true },
          { confidence: 0.8, truePositive: false },
        ],
        1,
      ),
    ).toBe(0.5);
    expect(
      averagePrecision(
        [
          { confidence: 0.8, truePositive: false },
          { confidence: 0.8, truePositive: true },
        ],
        1,
      ),
    ).toBe(0.5);
    expect(
      precisionRecallCurve(
        [
          { confidence: 0.8, truePositive: false },
          { confidence: 0.8, truePositive: true },
        ],
        1,
      ),
    ).toEqual([{ threshold: 0.8, precision: 0.5, recall: 1 }]);
  });

  it("is 0 without detections, 1 for a perfect ranking and undefined without objects", () => {
    expect(averagePrecision([], 4)).toBe(0);
    expect(
      averagePrecision(
        [
          { confidence: 0.9, truePositive: true },
          { confidence: 0.2, truePositive: true },
          { confidence: 0.1, truePositive: false },
        ],
        2,
      ),
    ).toBe(1);
    expect(averagePrecision([{ confidence: 0.9, truePositive: false }], 0)).toBeNull();
    expect(() => averagePrecision([], -1)).toThrow(RangeError);
  });

  it("finds the best-F1 operating point", () => {
    // Same case as above: F1 at the five points = 1/2, 2/5, 2/3, 4/7, 3/4 -> best at 0.5 (P 3/5, R 1).
    const dets = [0.9, 0.8, 0.7, 0.6, 0.5].map((confidence, i) => ({ confidence, truePositive: i % 2 === 0 }));
    const best = bestF1(dets, 3)!;
    expect(best.threshold).toBe(0.5);
    expect(best.precision).toBeCloseTo(3 / 5, 12);
    expect(best.f1).toBeCloseTo(3 / 4, 12);
    // Only the first two detections: P/R 1/(1/3) -> F1 1/2 beats 1/2/(1/3) -> 2/5.
    expect(bestF1(dets.slice(0, 2), 3)!.threshold).toBe(0.9);
    expect(bestF1([{ confidence: 0.9, truePositive: false }], 2)).toBeNull();
  });
});

describe("DetectionEvaluator", () => {
  it("computes per-class figures, the confusion matrix and ground errors of a hand-made case", () => {
    const ev = new DetectionEvaluator({ classes: ["ball", "robot", "goal_post"], scoreThreshold: 0.5 });
    // Frame 1, 100x100: ball A, robot R, thin goal post G (2 px wide -> matched as 5 px).
    ev.addFrame({
      width: 100,
      height: 100,
      objects: [
        { label: "ball", box: { xMin: 0.1, yMin: 0.1, xMax: 0.2, yMax: 0.2 }, ground: { x: 1, y: 0 } },
        { label: "robot", box: { xMin: 0.5, yMin: 0.3, xMax: 0.7, yMax: 0.9 }, ground: { x: 3, y: 1 } },
        { label: "goal_post", box: { xMin: 0.9, yMin: 0.1, xMax: 0.92, yMax: 0.5 } },
      ],
      detections: [
        // d1 TP on A; ground error hypot(0.3, 0.4) = 0.5 m
        { label: "ball", confidence: 0.9, box: at(0.15, 0.15), ground: { x: 1.3, y: 0.4 } },
        // d2 duplicate on A: FP, background
        { label: "ball", confidence: 0.8, box: at(0.16, 0.16) },
        // d3 "ball" on the robot: FP; robot R has no robot detection above the threshold -> confused robot->ball
        { label: "ball", confidence: 0.7, box: at(0.6, 0.5) },
        // d4 robot on R but below the threshold: a TP for AP only
        { label: "robot", confidence: 0.3, box: at(0.6, 0.6) },
        // d5 goal post at x 0.93: inside G enlarged to 0.885..0.935 -> TP; G has no ground
        { label: "goal_post", confidence: 0.6, box: at(0.93, 0.3), ground: { x: 5, y: 2 } },
      ],
    });
    // Frame 2: ball B detected only below the threshold; a robot detection on nothing.
    ev.addFrame({
      width: 100,
      height: 100,
      objects: [{ label: "ball", box: { xMin: 0.4, yMin: 0.4, xMax: 0.5, yMax: 0.5 }, ground: { x: 2, y: 0 } }],
      detections: [
        { label: "ball", confidence: 0.4, box: at(0.45, 0.45), ground: { x: 2, y: 0.1 } },
        { label: "robot", confidence: 0.95, box: at(0.05, 0.95) },
      ],
    });
    const r = ev.report();
    expect(r.frames).toBe(2);
    const [ball, robot, post] = r.classes;
    // ball at 0.5: d1 TP, d2 FP, d3 FP; objects A, B -> P 1/3, R 1/2.
    // AP over .9 TP, .8 FP, .7 FP, .4 TP (2 objects): P/R 1/.5, .5/.5, 1/3/.5, .5/1 -> interp 1,.5,.5,.5 -> .5*1 + .5*.5 = .75
    expect(ball).toMatchObject({ objects: 2, detections: 3, truePositives: 1, falsePositives: 2, falseNegatives: 1, recall: 0.5 });
    expect(ball.precision).toBeCloseTo(1 / 3, 12);
    expect(ball.averagePrecision).toBeCloseTo(0.75, 12);
    expect(ball.ground).toEqual({ count: 1, median: 0.5, p90: 0.5, max: 0.5 });
    // robot at 0.5: d7 FP -> P 0, R 0. AP: .95 FP (P0 R0), .3 TP (P.5 R1) -> .5
    expect(robot).toMatchObject({
      objects: 1,
      detections: 1,
      truePositives: 0,
      falsePositives: 1,
      falseNegatives: 1,
      precision: 0,
      recall: 0,
      averagePrecision: 0.5,
      ground: null,
    });
    expect(post).toMatchObject({ objects: 1, detections: 1, truePositives: 1, precision: 1, recall: 1, averagePrecision: 1, ground: null });
    expect(r.meanAveragePrecision).toBeCloseTo((0.75 + 0.5 + 1) / 3, 12);
    expect(r.confusion.rows).toEqual(["ball", "robot", "goal_post", "background"]);
    expect(r.confusion.columns).toEqual(["ball", "robot", "goal_post", "missed"]);
    expect(r.confusion.counts).toEqual([
      [1, 0, 0, 1], // ball: A found by d1, B missed (its detection is below the threshold)
      [1, 0, 0, 0], // robot R: taken for a ball by d3
      [0, 0, 1, 0], // goal post G: found
      [1, 1, 0, 0], // background: d2 (duplicate ball), d7 (robot on nothing)
    ]);
    expect(r.ground).toEqual({ count: 1, median: 0.5, p90: 0.5, max: 0.5 });
  });

  it("sorts recall at the threshold by object size (longer side in image pixels)", () => {
    const ev = new DetectionEvaluator({ classes: ["ball", "robot"], scoreThreshold: 0.5 });
    // 640x480: balls of 10 px (missed), 20 px (found below the threshold only: missed), 20 px
    // (found), and a robot 300 px tall (found).
    ev.addFrame({
      width: 640,
      height: 480,
      objects: [
        { label: "ball", box: { xMin: 0.1, yMin: 0.1, xMax: 0.1 + 10 / 640, yMax: 0.1 + 5 / 480 } },
        { label: "ball", box: { xMin: 0.3, yMin: 0.3, xMax: 0.3 + 20 / 640, yMax: 0.3 + 20 / 480 } },
        { label: "ball", box: { xMin: 0.6, yMin: 0.6, xMax: 0.6 + 20 / 640, yMax: 0.6 + 20 / 480 } },
        { label: "robot", box: { xMin: 0.8, yMin: 0.2, xMax: 0.8 + 60 / 640, yMax: 0.2 + 300 / 480 } },
      ],
      detections: [
        { label: "ball", confidence: 0.4, box: at(0.3 + 10 / 640, 0.3 + 10 / 480) },
        { label: "ball", confidence: 0.9, box: at(0.6 + 10 / 640, 0.6 + 10 / 480) },
        { label: "robot", confidence: 0.8, box: at(0.8 + 30 / 640, 0.2 + 150 / 480) },
      ],
    });
    const [ball, robot] = ev.report().classes;
    expect(ball.recallBySize).toEqual([
      { minPixels: 0, maxPixels: 16, objects: 1, recall: 0 },
      { minPixels: 16, maxPixels: 32, objects: 2, recall: 0.5 },
      { minPixels: 32, maxPixels: 64, objects: 0, recall: null },
      { minPixels: 64, maxPixels: 128, objects: 0, recall: null },
      { minPixels: 128, maxPixels: null, objects: 0, recall: null },
    ]);
    expect(robot.recallBySize.map((b) => [b.objects, b.recall])).toEqual([
      [0, null],
      [0, null],
      [0, null],
      [0, null],
      [1, 1],
    ]);
  });

  it("reports undefined precision/recall/AP as null, never as 0 or 1", () => {
    const ev = new DetectionEvaluator({ classes: ["ball", "robot"], scoreThreshold: 0.5 });
    ev.addFrame({ width: 10, height: 10, objects: [{ label: "ball", box: at(0.5, 0.5) }], detections: [] });
    const [ball, robot] = ev.report().classes;
    expect(ball).toMatchObject({ precision: null, recall: 0, averagePrecision: 0 });
    expect(robot).toMatchObject({ precision: null, recall: null, averagePrecision: null });
    expect(ev.report().meanAveragePrecision).toBe(0);
  });

  it("rejects labels outside its classes and bad options, naming them", () => {
    const ev = new DetectionEvaluator({ classes: ["ball"], scoreThreshold: 0.5 });
    expect(() => ev.addFrame({ width: 10, height: 10, objects: [{ label: "robot", box: at(0.5, 0.5) }], detections: [] })).toThrow(
      /frame\.objects\[0\]\.label: 'robot'/,
    );
    expect(() => new DetectionEvaluator({ classes: ["ball"], scoreThreshold: 2 })).toThrow(/options\.scoreThreshold/);
    expect(() => new DetectionEvaluator({ classes: ["missed"], scoreThreshold: 0.5 })).toThrow(/reserved/);
  });

  it("interpolates percentiles between ranks", () => {
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2.5);
    // rank (4-1)*0.9 = 2.7 -> 3 + 0.7*(4-3)
    expect(percentile([1, 2, 3, 4], 0.9)).toBeCloseTo(3.7, 12);
    expect(percentile([7], 0.9)).toBe(7);
  });
});
