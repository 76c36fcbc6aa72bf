/**
 * Checks shared by every dataset reader and writer. Readers turn a problem into a
 * FoveaInputError naming the file and line; writers into a RangeError naming the argument (a
 * bad frame handed to a writer is a caller's bug, not bad input).
 */
import type { Box } from "../core/detection.js";
import { checkRelativeImagePath } from "./dataset-files.js";
import type { TaggedFrame } from "./tagged-frame.js";

/** What is wrong with a normalised box, or undefined when it is a proper box inside 0..1. */
export function boxProblem(box: Box): string | undefined {
  for (const k of ["xMin", "yMin", "xMax", "yMax"] as const) {
    const v = box[k];
    if (typeof v !== "number" || !Number.isFinite(v)) return `${k}: expected a number, got ${JSON.stringify(v)}`;
    if (v < 0 || v > 1) return `${k}: expected 0..1 (normalised), got ${v}`;
  }
  if (!(box.xMin < box.xMax)) return `xMin (${box.xMin}) must be less than xMax (${box.xMax})`;
  if (!(box.yMin < box.yMax)) return `yMin (${box.yMin}) must be less than yMax (${box.yMax})`;
  return undefined;
}

/** What is wrong with a class list, or undefined. */
export function classesProblem(classes: readonly unknown[]): string | undefined {
  if (!Array.isArray(classes) || classes.length === 0) return "expected a non-empty list of class names";
  const seen = new Set<string>();
  for (const [i, c] of classes.entries()) {
    if (typeof c !== "string" || c.trim().length === 0 || c !== c.trim())
      return `class ${i}: expected a non-empty name without surrounding spaces, got ${JSON.stringify(c)}`;
    if (/\s/.test(c)) return `class ${i}: '${c}' contains whitespace (YOLO class files and tables cannot hold it)`;
    if (seen.has(c)) return `class ${i}: '${c}' appears twice`;
    seen.add(c);
  }
  return undefined;
}

/** Validate a frame handed to a writer; returns its normalised relative image path. */
export function checkFrameForWriter(frame: TaggedFrame, classes: ReadonlySet<string>): string {
  if (frame === null || typeof frame !== "object") throw new TypeError("frame: expected a TaggedFrame object");
  const image = checkRelativeImagePath(frame.image, "frame.image");
  for (const k of ["width", "height"] as const) {
    if (!Number.isInteger(frame[k]) || frame[k] <= 0) throw new RangeError(`frame.${k}: expected a positive integer, got ${frame[k]}`);
  }
  if (!Array.isArray(frame.objects)) throw new TypeError("frame.objects: expected an array");
  frame.objects.forEach((o, i) => {
    if (!classes.has(o.label))
      throw new RangeError(`frame.objects[${i}].label: '${o.label}' is not one of the writer's classes (${[...classes].join(", ")})`);
    const problem = o.box ? boxProblem(o.box) : "expected a box";
    if (problem) throw new RangeError(`frame.objects[${i}].box: ${problem}`);
    if (o.ground !== undefined && !(Number.isFinite(o.ground.x) && Number.isFinite(o.ground.y))) {
      throw new RangeError(`frame.objects[${i}].ground: expected finite x and y in metres, got ${JSON.stringify(o.ground)}`);
    }
  });
  return image;
}
