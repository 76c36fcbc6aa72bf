/** The frames of a synthetic set or clip, as render jobs: independent random scenes, or a continuous match. */
import type { MountPose } from "../calib/calibration.js";
import { deriveSeed } from "../core/prng.js";
import { sampleScene } from "./sample-scene.js";
import { MatchSequence } from "./sequence.js";
import type { FrameJob, FrameOutput } from "./render-frame.js";
import type { FieldDimensions } from "./field.js";
import type { SynthStyle } from "./style.js";

export interface FrameJobOptions {
  frames: number;
  seed: number;
  /** The calibrated camera mount the head moves around. */
  mount: MountPose;
  output: FrameOutput;
  /** A continuous clip (camera walking and turning, ball rolling) instead of independent scenes. */
  sequence?: boolean;
  /** Frame rate of a sequence (its motion per frame). */
  fps?: number;
  /** Field size; default adult-size. */
  field?: FieldDimensions;
  /** Appearance style of independent scenes (style.ts); default `default`. */
  style?: SynthStyle;
}

export function* frameJobs(options: FrameJobOptions): Generator<FrameJob> {
  const { frames, seed, mount, output } = options;
  if (!Number.isInteger(frames) || frames < 0) throw new RangeError(`frames must be a non-negative integer, got ${frames}`);
  if (options.sequence && options.style !== undefined && options.style !== "default")
    throw new RangeError(`style: a sequence renders in the default style only, got ${options.style}`);
  const clip = options.sequence ? new MatchSequence({ seed, mount, fps: options.fps, field: options.field }) : undefined;
  for (let index = 0; index < frames; index++) {
    const frameSeed = deriveSeed(seed, index);
    const scene = clip ? clip.next() : sampleScene(frameSeed, { mount, field: options.field, style: options.style });
    yield { index, scene, noiseSeed: frameSeed, output };
  }
}
