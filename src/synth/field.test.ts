import { describe, expect, it } from "vitest";
import { ADULT_SIZE_FIELD, KID_SIZE_FIELD, fieldFeatures, fieldLines, type FieldLines } from "./field.js";
import { MatchSequence } from "./sequence.js";

/** Lines passing through (x, y): segments touching it, and the centre circle. */
function linesThrough(lines: FieldLines, x: number, y: number): number {
  const eps = 1e-9;
  let n = 0;
  for (const s of lines.alongX) if (Math.abs(y - s.at) < eps && x >= s.from - eps && x <= s.to + eps) n++;
  for (const s of lines.alongY) if (Math.abs(x - s.at) < eps && y >= s.from - eps && y <= s.to + eps) n++;
  if (Math.abs(Math.hypot(x, y) - lines.circleRadius) < eps) n++;
  return n;
}

describe("field", () => {
  it.each([
    ["adult", ADULT_SIZE_FIELD],
    ["kid", KID_SIZE_FIELD],
  ] as const)("puts every %s-size crossing where lines meet", (_name, field) => {
    const lines = fieldLines(field);
    const features = fieldFeatures(field);
    const count = (label: string) => features.filter((f) => f.label === label).length;
    expect([count("L_crossing"), count("T_crossing"), count("X_crossing"), count("penalty_spot")]).toEqual([12, 10, 3, 2]);
    for (const f of features) expect(linesThrough(lines, f.x, f.y), `${f.label} at ${f.x},${f.y}`).toBeGreaterThanOrEqual(2);
    // penalty marks sit on the field's long axis at the rules' distance from the goal lines
    for (const f of features.filter((f) => f.label === "penalty_spot"))
      expect(field.length / 2 - Math.abs(f.x)).toBeCloseTo(field.penaltyMarkDistance, 9);
  });
});

describe("MatchSequence", () => {
  it("is deterministic per seed and moves the robot and the ball continuously", () => {
    const mount = { x: 0, y: 0, height: 1.3, pitch: 25, roll: 0, yaw: 0 };
    const a = new MatchSequence({ seed: 4, mount }),
      b = new MatchSequence({ seed: 4, mount });
    const scenesA = Array.from({ length: 300 }, () => a.next());
    const scenesB = Array.from({ length: 300 }, () => b.next());
    expect(JSON.stringify(scenesA[299])).toBe(JSON.stringify(scenesB[299]));
    const ballAt = (i: number) => scenesA[i].entities.find((e) => e.label === "ball")!.ground;
    let robotPath = 0,
      maxStep = 0;
    for (let i = 1; i < 300; i++) {
      const step = Math.hypot(scenesA[i].robot.x - scenesA[i - 1].robot.x, scenesA[i].robot.y - scenesA[i - 1].robot.y);
      robotPath += step;
      maxStep = Math.max(maxStep, step, Math.hypot(ballAt(i).x - ballAt(i - 1).x, ballAt(i).y - ballAt(i - 1).y));
    }
    expect(robotPath).toBeGreaterThan(0.5); // walks over 10 s
    expect(maxStep).toBeLessThan(0.2); // no teleporting between frames at 30 fps
  });
});
