/** One synthetic frame end to end: scene -> rays -> camera effects -> encoded (or raw) image + labels. */
import type { Calibration } from "../calib/calibration.js";
import { SceneRenderer, type RenderedLabel } from "./render.js";
import { applyCameraEffects, encodeImage } from "./effects.js";
import type { Scene } from "./scene.js";

/** Output encoding of rendered frames: compressed for datasets, raw rgb24 for in-memory sources and video. */
export type FrameOutput = "jpeg" | "png" | "rgb";

export interface FrameJob {
  index: number;
  scene: Scene;
  /** Seed of the sensor noise (per frame, so frames are independent of render order). */
  noiseSeed: number;
  output: FrameOutput;
}

export interface RenderedFrame {
  index: number;
  width: number;
  height: number;
  data: Buffer;
  labels: RenderedLabel[];
  /** The camera pose the frame was rendered through (the calibrated mount plus head motion). */
  mount: Scene["mount"];
}

/** Renders frames of one size and camera; reuses its buffers between frames. */
export class FrameRenderer {
  private readonly sceneRenderer: SceneRenderer;

  constructor(calibration: Calibration, width: number, height: number) {
    this.sceneRenderer = new SceneRenderer(calibration, width, height);
  }

  get renderer(): SceneRenderer {
    return this.sceneRenderer;
  }

  async render(job: FrameJob): Promise<RenderedFrame> {
    const r = this.sceneRenderer;
    const out = r.render(job.scene);
    const rgb = await applyCameraEffects(out.rgb, r.width, r.height, job.scene.effects, job.noiseSeed);
    const data = job.output === "rgb" ? rgb : await encodeImage(rgb, r.width, r.height, job.output);
    return { index: job.index, width: r.width, height: r.height, data, labels: out.labels, mount: job.scene.mount };
  }
}
