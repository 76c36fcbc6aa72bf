/**
 * Pinhole camera with Brown-Conrady distortion, placed on the robot by its mounting pose.
 * Shared by the runtime's ground projection and the synthetic renderer so both agree exactly.
 *
 * Conventions: pixel coordinates (u, v) have pixel centres at integers, origin at the top-left
 * pixel's centre (OpenCV). Robot frame: x forward, y left, z up, metres, origin on the ground
 * under the robot. Camera frame (OpenCV): x right, y down, z along the optical axis.
 */
import type { Calibration, MountPose } from "./calibration.js";

export interface Vec3 {
  x: number;
  y: number;
  z: number;
}

export interface Pixel {
  u: number;
  v: number;
}

const DEG = Math.PI / 180;
/** Normalised radius at which we stop trusting the distortion polynomial even if it stays monotonic (~72° off axis). */
const MAX_NORMALISED_RADIUS = 3;

export class CameraModel {
  readonly width: number;
  readonly height: number;
  readonly fx: number;
  readonly fy: number;
  readonly cx: number;
  readonly cy: number;
  readonly k1: number;
  readonly k2: number;
  readonly k3: number;
  readonly p1: number;
  readonly p2: number;
  readonly mount: MountPose;
  /** Camera centre in the robot frame. */
  readonly position: Vec3;
  /** Camera axes expressed in the robot frame: image right, image down, optical axis. */
  readonly right: Vec3;
  readonly down: Vec3;
  readonly forward: Vec3;
  /**
   * Largest undistorted normalised radius the model projects to. Beyond it the distortion
   * polynomial folds back (its radial derivative turns negative) and far-off points would land
   * inside the image, so projection there returns null.
   */
  readonly maxRadius: number;
  private rays: Float32Array | undefined;

  /**
   * @param calibration validated calibration (see loadCalibration)
   * @param width actual image width in pixels; intrinsics scale from the reference resolution
   * @param height actual image height in pixels
   * @param mount mounting pose overriding the calibration's (the renderer moves the head with it)
   */
  constructor(calibration: Calibration, width: number, height: number, mount?: MountPose) {
    if (!Number.isInteger(width) || width <= 0) throw new RangeError(`width must be a positive integer, got ${width}`);
    if (!Number.isInteger(height) || height <= 0) throw new RangeError(`height must be a positive integer, got ${height}`);
    const ref = calibration.intrinsics;
    const sx = width / ref.width;
    const sy = height / ref.height;
    this.width = width;
    this.height = height;
    this.fx = ref.fx * sx;
    this.fy = ref.fy * sy;
    // Scale about pixel edges, not centres, so the principal point stays at the same place in the picture.
    this.cx = (ref.cx + 0.5) * sx - 0.5;
    this.cy = (ref.cy + 0.5) * sy - 0.5;
    const d = calibration.distortion;
    this.k1 = d.k1;
    this.k2 = d.k2;
    this.k3 = d.k3;
    this.p1 = d.p1;
    this.p2 = d.p2;
    this.mount = mount ?? calibration.mount;

    const m = this.mount;
    const cp = Math.cos(m.pitch * DEG),
      sp = Math.sin(m.pitch * DEG);
    const cyaw = Math.cos(m.yaw * DEG),
      syaw = Math.sin(m.yaw * DEG);
    const cr = Math.cos(m.roll * DEG),
      sr = Math.sin(m.roll * DEG);
    const forward = { x: cp * cyaw, y: cp * syaw, z: -sp };
    const right0 = { x: syaw, y: -cyaw, z: 0 };
    const down0 = { x: -sp * cyaw, y: -sp * syaw, z: -cp };
    this.forward = forward;
    this.right = { x: cr * right0.x + sr * down0.x, y: cr * right0.y + sr * down0.y, z: cr * right0.z + sr * down0.z };
    this.down = { x: -sr * right0.x + cr * down0.x, y: -sr * right0.y + cr * down0.y, z: -sr * right0.z + cr * down0.z };
    this.position = { x: m.x, y: m.y, z: m.height };

    let maxRadius = MAX_NORMALISED_RADIUS;
    for (let r = 0.01; r < MAX_NORMALISED_RADIUS; r += 0.01) {
      const r2 = r * r;
      if (1 + 3 * this.k1 * r2 + 5 * this.k2 * r2 * r2 + 7 * this.k3 * r2 * r2 * r2 < 0.05) {
        maxRadius = r - 0.01;
        break;
      }
    }
    this.maxRadius = maxRadius;
  }

  /** A model of the same camera with another mounting pose (same intrinsics and size). */
  withMount(mount: MountPose): CameraModel {
    const moved = new CameraModel(this.calibrationLike(), this.width, this.height, mount);
    moved.rays = this.rays; // the ray table depends on intrinsics only
    return moved;
  }

  private calibrationLike(): Calibration {
    return {
      cameraId: "derived",
      intrinsics: { width: this.width, height: this.height, fx: this.fx, fy: this.fy, cx: this.cx, cy: this.cy },
      distortion: { k1: this.k1, k2: this.k2, p1: this.p1, p2: this.p2, k3: this.k3 },
      mount: this.mount,
      whiteBalance: { r: 1, g: 1, b: 1 },
    };
  }

  /** Apply lens distortion to undistorted normalised coordinates. */
  distort(x: number, y: number): [number, number] {
    const r2 = x * x + y * y;
    const radial = 1 + r2 * (this.k1 + r2 * (this.k2 + r2 * this.k3));
    return [x * radial + 2 * this.p1 * x * y + this.p2 * (r2 + 2 * x * x), y * radial + this.p1 * (r2 + 2 * y * y) + 2 * this.p2 * x * y];
  }

  /**
   * Remove lens distortion from distorted normalised coordinates. Newton's method with the
   * analytic Jacobian: OpenCV's fixed-point iteration stalls at ~1e-6 near the image corners,
   * which far away on the ground is more than the 1 mm the round trip must hold.
   */
  undistort(xd: number, yd: number): [number, number] {
    const { k1, k2, k3, p1, p2 } = this;
    let x = xd,
      y = yd;
    for (let i = 0; i < 20; i++) {
      const r2 = x * x + y * y;
      const radial = 1 + r2 * (k1 + r2 * (k2 + r2 * k3));
      const dRadial = k1 + r2 * (2 * k2 + 3 * k3 * r2);
      const ex = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x) - xd;
      const ey = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y - yd;
      const a = radial + 2 * x * x * dRadial + 2 * p1 * y + 6 * p2 * x;
      const b = 2 * x * y * dRadial + 2 * p1 * x + 2 * p2 * y;
      const c = 2 * x * y * dRadial + 2 * p1 * x + 2 * p2 * y;
      const d = radial + 2 * y * y * dRadial + 6 * p1 * y + 2 * p2 * x;
      const det = a * d - b * c;
      if (Math.abs(det) < 1e-12) break;
      const dx = (d * ex - b * ey) / det;
      const dy = (a * ey - c * ex) / det;
      x -= dx;
      y -= dy;
      if (Math.abs(dx) < 1e-15 && Math.abs(dy) < 1e-15) break;
    }
    return [x, y];
  }

  /** Point in the camera frame (OpenCV axes) for a point in the robot frame. */
  robotToCamera(p: Vec3): Vec3 {
    const dx = p.x - this.position.x,
      dy = p.y - this.position.y,
      dz = p.z - this.position.z;
    const r = this.right,
      d = this.down,
      f = this.forward;
    return {
      x: dx * r.x + dy * r.y + dz * r.z,
      y: dx * d.x + dy * d.y + dz * d.z,
      z: dx * f.x + dy * f.y + dz * f.z,
    };
  }

  /**
   * Pixel of a robot-frame point, or null when it is behind the camera or outside the field of
   * view the distortion model covers. The pixel may lie outside the image; see `contains`.
   */
  robotToPixel(p: Vec3): Pixel | null {
    const c = this.robotToCamera(p);
    if (c.z <= 1e-6) return null;
    const x = c.x / c.z,
      y = c.y / c.z;
    if (x * x + y * y > this.maxRadius * this.maxRadius) return null;
    const [xd, yd] = this.distort(x, y);
    return { u: this.fx * xd + this.cx, v: this.fy * yd + this.cy };
  }

  /** Pixel of a ground point (z = 0); null as for robotToPixel. */
  groundToPixel(p: { x: number; y: number }): Pixel | null {
    return this.robotToPixel({ x: p.x, y: p.y, z: 0 });
  }

  /** True when the pixel lies on the image (pixel centres at integers, edges at -0.5 and size-0.5). */
  contains(p: Pixel): boolean {
    return p.u >= -0.5 && p.v >= -0.5 && p.u < this.width - 0.5 && p.v < this.height - 0.5;
  }

  /** Viewing ray of a pixel in the robot frame (not normalised; its optical-axis component is 1). */
  pixelToRay(u: number, v: number): Vec3 {
    const [x, y] = this.undistort((u - this.cx) / this.fx, (v - this.cy) / this.fy);
    const r = this.right,
      d = this.down,
      f = this.forward;
    return { x: x * r.x + y * d.x + f.x, y: x * r.y + y * d.y + f.y, z: x * r.z + y * d.z + f.z };
  }

  /** Where the pixel's viewing ray meets the ground (z = 0); null at or above the horizon. */
  pixelToGround(u: number, v: number): { x: number; y: number } | null {
    const ray = this.pixelToRay(u, v);
    if (ray.z >= -1e-9) return null;
    const t = -this.position.z / ray.z;
    return { x: this.position.x + t * ray.x, y: this.position.y + t * ray.y };
  }

  /**
   * Image row of the horizon where it crosses the principal column (the vanishing point of the
   * horizontal direction the camera faces). Negative when the horizon is above the image.
   */
  get horizonRow(): number {
    const yaw = this.mount.yaw * DEG;
    const far = 1e6;
    const p = this.robotToPixel({
      x: this.position.x + far * Math.cos(yaw),
      y: this.position.y + far * Math.sin(yaw),
      z: this.position.z,
    });
    return p ? p.v : -Infinity;
  }

  /**
   * Undistorted normalised coordinates (x, y interleaved) of every pixel centre, row-major.
   * Pose-independent, computed once per model: the renderer turns them into rays per frame
   * with a 3x3 rotation instead of undistorting 300k pixels every frame.
   */
  normalisedRays(): Float32Array {
    if (this.rays) return this.rays;
    const rays = new Float32Array(this.width * this.height * 2);
    let i = 0;
    for (let v = 0; v < this.height; v++) {
      for (let u = 0; u < this.width; u++) {
        const [x, y] = this.undistort((u - this.cx) / this.fx, (v - this.cy) / this.fy);
        rays[i++] = x;
        rays[i++] = y;
      }
    }
    this.rays = rays;
    return rays;
  }
}
