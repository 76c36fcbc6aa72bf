/**
 * Detections as a `foxglove.ImageAnnotations` message: one closed outline per box and a label
 * above it, in the image's pixel coordinates, stamped with the frame's capture time so Foxglove's
 * image panel draws them over the very frame they were detected in.
 */
import type { Detection } from "../core/detection.js";
import { DEFAULT_CLASSES } from "../core/detection.js";
import { timestampOf } from "./recording-format.js";

export interface Rgba {
  r: number;
  g: number;
  b: number;
  a: number;
}

// One colour per default class (order of DEFAULT_CLASSES); other labels get a stable colour from
// their name so a custom class keeps its colour across frames.
const PALETTE: Rgba[] = [
  { r: 1, g: 0.55, b: 0, a: 1 }, // ball
  { r: 1, g: 1, b: 1, a: 1 }, // goal_post
  { r: 0.2, g: 0.6, b: 1, a: 1 }, // robot
  { r: 0.9, g: 0.1, b: 0.9, a: 1 }, // obstacle
  { r: 1, g: 1, b: 0, a: 1 }, // L_crossing
  { r: 0, g: 1, b: 1, a: 1 }, // T_crossing
  { r: 0.5, g: 1, b: 0.3, a: 1 }, // X_crossing
  { r: 1, g: 0.2, b: 0.2, a: 1 }, // penalty_spot
];

/** The colour a label's boxes and texts are drawn in (0..1 channels, as Foxglove's Color). */
export function labelColour(label: string): Rgba {
  const i = (DEFAULT_CLASSES as readonly string[]).indexOf(label);
  if (i >= 0) return PALETTE[i];
  let h = 0;
  for (const c of label) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length];
}

/** The ImageAnnotations object (snake_case fields, for the recording's protobufjs type). */
export function detectionAnnotations(
  detections: readonly Detection[],
  image: { width: number; height: number; captureTimeNs: bigint },
): Record<string, unknown> {
  const timestamp = timestampOf(image.captureTimeNs);
  const points: unknown[] = [];
  const texts: unknown[] = [];
  for (const d of detections) {
    const x0 = d.box.xMin * image.width;
    const y0 = d.box.yMin * image.height;
    const x1 = d.box.xMax * image.width;
    const y1 = d.box.yMax * image.height;
    const colour = labelColour(d.label);
    points.push({
      timestamp,
      type: 2, // LINE_LOOP
      points: [
        { x: x0, y: y0 },
        { x: x1, y: y0 },
        { x: x1, y: y1 },
        { x: x0, y: y1 },
      ],
      outline_color: colour,
      thickness: 2,
    });
    const ground = d.ground ? ` (${d.ground.x.toFixed(2)}, ${d.ground.y.toFixed(2)}) m` : "";
    texts.push({
      timestamp,
      position: { x: x0, y: Math.max(0, y0 - 2) },
      text: `${d.label} ${Math.round(d.confidence * 100)}%${ground}`,
      font_size: 12,
      text_color: colour,
      background_color: { r: 0, g: 0, b: 0, a: 0.6 },
    });
  }
  return { timestamp, points, texts, circles: [], metadata: [] };
}
