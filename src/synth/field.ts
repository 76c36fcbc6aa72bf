/**
 * The field of play, RoboCup Humanoid League Laws of the Game (Law 1 dimension table),
 * adult-size column (the robot this runtime serves is adult-size):
 *   field length A = 14 m, width B = 9 m, goal depth C = 0.6 m, goal width D = 2.6 m,
 *   goal area length E = 1 m, width F = 4 m, penalty mark distance G = 2.1 m,
 *   centre circle diameter H = 3 m, border strip I = 1 m, penalty area length J = 3 m,
 *   width K = 6 m, goal height 1.8 m; lines 5 cm wide, all white.
 * Kid-size (9 x 6 m, goal area 1 x 3, penalty mark 1.5, circle 1.5, penalty area 2 x 5,
 * goal height 1.2 m) is available as KID_SIZE_FIELD.
 *
 * Field frame: origin at the centre mark, x towards one goal, y to the left of x, z up, metres.
 */

export interface FieldDimensions {
  length: number;
  width: number;
  goalDepth: number;
  goalWidth: number;
  goalHeight: number;
  /** Diameter of the posts and crossbar. */
  postDiameter: number;
  goalAreaLength: number;
  goalAreaWidth: number;
  penaltyMarkDistance: number;
  centreCircleDiameter: number;
  borderStripWidth: number;
  penaltyAreaLength: number;
  penaltyAreaWidth: number;
  lineWidth: number;
  /** Arm length of the penalty mark and centre mark crosses. */
  markSize: number;
  ballRadius: number;
}

export const ADULT_SIZE_FIELD: FieldDimensions = {
  length: 14,
  width: 9,
  goalDepth: 0.6,
  goalWidth: 2.6,
  goalHeight: 1.8,
  postDiameter: 0.12,
  goalAreaLength: 1,
  goalAreaWidth: 4,
  penaltyMarkDistance: 2.1,
  centreCircleDiameter: 3,
  borderStripWidth: 1,
  penaltyAreaLength: 3,
  penaltyAreaWidth: 6,
  lineWidth: 0.05,
  markSize: 0.15,
  // FIFA size 5 ball (circumference ~0.69 m), the adult-size ball.
  ballRadius: 0.11,
};

export const KID_SIZE_FIELD: FieldDimensions = {
  ...ADULT_SIZE_FIELD,
  length: 9,
  width: 6,
  goalHeight: 1.2,
  postDiameter: 0.1,
  goalAreaWidth: 3,
  penaltyMarkDistance: 1.5,
  centreCircleDiameter: 1.5,
  penaltyAreaLength: 2,
  penaltyAreaWidth: 5,
  // FIFA size 1 ball.
  ballRadius: 0.075,
};

/** An axis-aligned line segment: `at` is its constant coordinate, it spans `from`..`to` on the other axis. */
export interface LineSegment {
  at: number;
  from: number;
  to: number;
}

export interface FieldLines {
  /** Lines of constant y (running along x). */
  alongX: LineSegment[];
  /** Lines of constant x (running along y). */
  alongY: LineSegment[];
  circleRadius: number;
  halfWidth: number;
}

export interface FieldFeature {
  label: "L_crossing" | "T_crossing" | "X_crossing" | "penalty_spot";
  x: number;
  y: number;
}

export function fieldLines(f: FieldDimensions): FieldLines {
  const hl = f.length / 2,
    hw = f.width / 2,
    m = f.markSize / 2;
  const alongX: LineSegment[] = [
    { at: hw, from: -hl, to: hl },
    { at: -hw, from: -hl, to: hl },
    { at: 0, from: -m, to: m }, // centre mark arm across the centre line
  ];
  const alongY: LineSegment[] = [{ at: 0, from: -hw, to: hw }];
  for (const s of [-1, 1]) {
    const goalLine = s * hl;
    const ga = s * (hl - f.goalAreaLength),
      pa = s * (hl - f.penaltyAreaLength),
      pm = s * (hl - f.penaltyMarkDistance);
    alongY.push({ at: goalLine, from: -hw, to: hw });
    alongY.push({ at: ga, from: -f.goalAreaWidth / 2, to: f.goalAreaWidth / 2 });
    alongY.push({ at: pa, from: -f.penaltyAreaWidth / 2, to: f.penaltyAreaWidth / 2 });
    for (const side of [-1, 1]) {
      alongX.push({ at: (side * f.goalAreaWidth) / 2, from: Math.min(ga, goalLine), to: Math.max(ga, goalLine) });
      alongX.push({ at: (side * f.penaltyAreaWidth) / 2, from: Math.min(pa, goalLine), to: Math.max(pa, goalLine) });
    }
    alongX.push({ at: 0, from: pm - m, to: pm + m });
    alongY.push({ at: pm, from: -m, to: m });
  }
  return { alongX, alongY, circleRadius: f.centreCircleDiameter / 2, halfWidth: f.lineWidth / 2 };
}

/** The labelled point features: line crossings by shape, and the penalty marks. */
export function fieldFeatures(f: FieldDimensions): FieldFeature[] {
  const hl = f.length / 2,
    hw = f.width / 2,
    r = f.centreCircleDiameter / 2;
  const out: FieldFeature[] = [
    { label: "T_crossing", x: 0, y: hw },
    { label: "T_crossing", x: 0, y: -hw },
    { label: "X_crossing", x: 0, y: r },
    { label: "X_crossing", x: 0, y: -r },
    { label: "X_crossing", x: 0, y: 0 },
  ];
  for (const s of [-1, 1]) {
    out.push({ label: "penalty_spot", x: s * (hl - f.penaltyMarkDistance), y: 0 });
    for (const side of [-1, 1]) {
      out.push({ label: "L_crossing", x: s * hl, y: side * hw });
      out.push({ label: "T_crossing", x: s * hl, y: (side * f.goalAreaWidth) / 2 });
      out.push({ label: "T_crossing", x: s * hl, y: (side * f.penaltyAreaWidth) / 2 });
      out.push({ label: "L_crossing", x: s * (hl - f.goalAreaLength), y: (side * f.goalAreaWidth) / 2 });
      out.push({ label: "L_crossing", x: s * (hl - f.penaltyAreaLength), y: (side * f.penaltyAreaWidth) / 2 });
    }
  }
  return out;
}
