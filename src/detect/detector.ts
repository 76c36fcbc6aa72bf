/**
 * The one path from engine outputs to a frame's detections, shared by the frame loop and
 * `fovea eval`: the model head's decoder (with the model's per-class thresholds, or the caller's
 * overrides), boxes mapped from the network input back to the image (the model's fit), ground
 * projection through the calibrated camera when there is one, and the check of the frame against
 * the training augmentation envelope.
 */
import { CameraModel } from "../calib/camera-model.js";
import type { Calibration, MountPose } from "../calib/calibration.js";
import type { Detection } from "../core/detection.js";
import { boxToImage, coversInput, reuseFitTransform, type FitTransform } from "../core/fit.js";
import type { ModelMetadata } from "../core/model-metadata.js";
import type { DecodeOptions, EngineOutput, HeadDecoder } from "../heads/decoder.js";
import { createDecoder } from "../heads/registry.js";
import { projectToGround } from "./ground-projection.js";

export interface DetectorOptions {
  /** Camera calibration: detections get ground positions (robot frame, metres). */
  calibration?: Calibration;
  /** Replaces fields of the model's `decode` settings (eval decodes down to a low threshold). */
  decode?: Partial<DecodeOptions>;
}

export class Detector {
  readonly decoder: HeadDecoder;
  private readonly cameras = new Map<string, CameraModel>();
  private lastCamera: { width: number; height: number; camera: CameraModel } | undefined;
  private readonly meanRange?: readonly [number, number];
  /** Fit of the last frame size (a camera's frames: computed once). */
  private fit?: FitTransform;

  constructor(
    readonly metadata: ModelMetadata,
    private readonly options: DetectorOptions = {},
  ) {
    this.decoder = createDecoder(metadata, options.decode);
    this.meanRange = metadata.augmentation?.meanRange;
  }

  /**
   * Detections of image `image` of a batch's outputs, for a source frame of `width` x `height`
   * pixels: boxes normalised to the frame (with letterbox or crop, mapped back from the input;
   * ground positions need the frame's pixel size). `mount` is the camera's pose for this frame
   * when it differs from the calibration's (a moving head).
   */
  detect(output: EngineOutput, width: number, height: number, image = 0, mount?: MountPose): Detection[] {
    const detections = this.decoder.decode(output, image);
    if (this.metadata.preprocess.fit !== "fill" && detections.length > 0) this.toImage(detections, width, height);
    if (this.options.calibration && detections.length > 0) {
      const camera = mount ? new CameraModel({ ...this.options.calibration, mount }, width, height) : this.cameraFor(width, height);
      projectToGround(detections, camera, width, height);
    }
    return detections;
  }

  /** True when a frame's per-channel input mean (0..255) lies outside the training envelope. */
  outsideEnvelope(channelMean: ArrayLike<number>): boolean {
    const r = this.meanRange;
    if (!r) return false;
    return (
      channelMean[0] < r[0] ||
      channelMean[0] > r[1] ||
      channelMean[1] < r[0] ||
      channelMean[1] > r[1] ||
      channelMean[2] < r[0] ||
      channelMean[2] > r[1]
    );
  }

  /**
   * Boxes from input to image coordinates in place. A crop's boxes already end at what the network
   * saw; a letterbox's are clipped to the image, and one wholly in a band (no image under it) is
   * no detection.
   */
  private toImage(detections: Detection[], width: number, height: number): void {
    const { input, preprocess } = this.metadata;
    const t = (this.fit = reuseFitTransform(this.fit, preprocess.fit, width, height, input.width, input.height));
    if (coversInput(t)) return;
    let kept = 0;
    for (let i = 0; i < detections.length; i++) {
      const d = detections[i];
      const b = boxToImage(t, d.box, d.box);
      if (b.xMax > b.xMin && b.yMax > b.yMin) detections[kept++] = d;
    }
    detections.length = kept;
  }

  private cameraFor(width: number, height: number): CameraModel {
    // A camera's frames keep their size: the last one answers without building a key per frame.
    const last = this.lastCamera;
    if (last && last.width === width && last.height === height) return last.camera;
    const key = `${width}x${height}`;
    let cam = this.cameras.get(key);
    if (!cam) this.cameras.set(key, (cam = new CameraModel(this.options.calibration!, width, height)));
    this.lastCamera = { width, height, camera: cam };
    return cam;
  }
}
