/**
 * Software ray caster for synthetic scenes.
 *
 * Hand-written because no library here projects 3-D scenes through a distorted camera: sharp
 * composes 2-D images only, and a GPU renderer is not available on these machines. Casting one
 * ray per pixel through the same CameraModel the runtime uses makes lens distortion, occlusion
 * and ground truth exact by construction: the ray table is the camera's own undistortion.
 */
import type { LabelledObject } from "../dataset/tagged-frame.js";
import type { Calibration, MountPose } from "../calib/calibration.js";
import { CameraModel, type Vec3 } from "../calib/camera-model.js";
import { fieldFeatures, fieldLines, type FieldFeature } from "./field.js";
import { FieldLineIndex } from "./field-line-index.js";
import type { BallPattern, Entity, Lens, Primitive, Rgb, Scene, Texture } from "./scene.js";

/** A labelled object of a rendered frame plus what the renderer knows about its visibility. */
export interface RenderedLabel extends LabelledObject {
  /** Pixels of the object that are visible in the image. */
  visiblePixels: number;
}

export interface RenderResult {
  width: number;
  height: number;
  /** width*height*3 bytes, RGB, before motion blur and noise (see effects.ts). */
  rgb: Buffer;
  labels: RenderedLabel[];
}

/** Fraction of an object's unoccluded in-image pixels that must be visible for it to be labelled. */
const MIN_VISIBLE_FRACTION = 0.25;
/** Fraction of an object's projected extent that must lie inside the image for it to be labelled. */
const MIN_INSIDE_FRACTION = 0.2;
/** Half size (metres) of the ground square whose projection is a point feature's box. */
const FEATURE_HALF_SIZE = 0.2;
/** Lens cameras kept per renderer: a ray table costs a full undistortion pass, styles use a few lenses. */
const LENS_CACHE_SIZE = 8;

interface PreparedFeature extends FieldFeature {
  index: number;
}

export class SceneRenderer {
  readonly width: number;
  readonly height: number;
  readonly camera: CameraModel;
  private readonly calibration: Calibration;
  /** Ray table of the frame being rendered: the calibration's, or a styled lens's. */
  private rays: Float32Array;
  private readonly lensCameras = new Map<string, CameraModel>();
  private readonly color: Float32Array;
  private readonly depth: Float32Array;
  /** Entity index + 1 of the nearest surface per pixel; 0 = ground or hall. */
  private readonly id: Uint16Array;
  /** Entity index + 1 that last hit each pixel regardless of depth, to count unoccluded coverage. */
  private readonly stamp: Uint16Array;
  private readonly exhaustive: boolean;
  private linesFor: string | undefined;
  private lines: FieldLineIndex | undefined;
  private features: PreparedFeature[] = [];

  /**
   * @param calibration intrinsics and distortion of the camera (its mount is replaced per scene)
   * @param width output width in pixels
   * @param height output height in pixels
   * @param options.exhaustive cast every pixel at every part instead of its projected rectangle
   *   (slow; tests use it to check that the rectangles never cut anything off)
   */
  constructor(calibration: Calibration, width: number, height: number, options: { exhaustive?: boolean } = {}) {
    this.exhaustive = options.exhaustive ?? false;
    this.calibration = calibration;
    this.camera = new CameraModel(calibration, width, height);
    this.width = width;
    this.height = height;
    this.rays = this.camera.normalisedRays();
    const n = width * height;
    this.color = new Float32Array(n * 3);
    this.depth = new Float32Array(n);
    this.id = new Uint16Array(n);
    this.stamp = new Uint16Array(n);
  }

  /** Camera models of a scene: in the world (field) frame and in the observing robot's frame. */
  cameras(scene: Scene): { world: CameraModel; robot: CameraModel } {
    const { robot, mount } = scene;
    const base = scene.lens ? this.lensCamera(scene.lens) : this.camera;
    const c = Math.cos(robot.heading),
      s = Math.sin(robot.heading);
    const world: MountPose = {
      ...mount,
      x: robot.x + c * mount.x - s * mount.y,
      y: robot.y + s * mount.x + c * mount.y,
      yaw: mount.yaw + (robot.heading * 180) / Math.PI,
    };
    return { world: base.withMount(world), robot: base.withMount(mount) };
  }

  /** The camera with another lens: focal length scaled about the principal point, radial distortion replaced. */
  private lensCamera(lens: Lens): CameraModel {
    const key = `${lens.focalScale}/${lens.k1}/${lens.k2}`;
    let cam = this.lensCameras.get(key);
    if (cam) {
      // Most recently used last, so the oldest is evicted first.
      this.lensCameras.delete(key);
      this.lensCameras.set(key, cam);
      return cam;
    }
    const c = this.calibration,
      i = c.intrinsics;
    cam = new CameraModel(
      {
        ...c,
        intrinsics: { ...i, fx: i.fx * lens.focalScale, fy: i.fy * lens.focalScale },
        distortion: { ...c.distortion, k1: lens.k1, k2: lens.k2, k3: 0 },
      },
      this.width,
      this.height,
    );
    cam.normalisedRays();
    this.lensCameras.set(key, cam);
    if (this.lensCameras.size > LENS_CACHE_SIZE) this.lensCameras.delete(this.lensCameras.keys().next().value!);
    return cam;
  }

  render(scene: Scene): RenderResult {
    // Compared by value: scenes reach worker threads as structured clones, a new object per frame.
    const fieldKey = JSON.stringify(scene.field);
    if (this.linesFor !== fieldKey) {
      this.lines = new FieldLineIndex(fieldLines(scene.field));
      this.features = fieldFeatures(scene.field).map((f, index) => ({ ...f, index }));
      this.linesFor = fieldKey;
    }
    const { world } = this.cameras(scene);
    this.rays = world.normalisedRays();
    this.renderGround(scene, world);
    const coverage = this.renderEntities(scene, world);
    const rgb = this.toBytes(scene);
    const labels = [...this.entityLabels(scene, world, coverage), ...this.featureLabels(scene, world)];
    return { width: this.width, height: this.height, rgb, labels };
  }

  private renderGround(scene: Scene, cam: CameraModel): void {
    const { width, height } = this;
    const rays = this.rays,
      color = this.color,
      depth = this.depth,
      id = this.id,
      stamp = this.stamp;
    const Rx = cam.right.x,
      Ry = cam.right.y,
      Rz = cam.right.z;
    const Dx = cam.down.x,
      Dy = cam.down.y,
      Dz = cam.down.z;
    const Fx = cam.forward.x,
      Fy = cam.forward.y,
      Fz = cam.forward.z;
    const Cx = cam.position.x,
      Cy = cam.position.y,
      Cz = cam.position.z;
    const { field, look, lighting } = scene;
    const hallX = look.hallX,
      hallY = look.hallY,
      wallHeight = look.wallHeight,
      wallSeed = look.wallSeed;
    const stripeHi = 1 + look.stripeContrast,
      stripeLo = 1 - look.stripeContrast,
      texture = look.texture;
    const lines = this.lines!;
    const carpetX = field.length / 2 + field.borderStripWidth,
      carpetY = field.width / 2 + field.borderStripWidth;
    const lineReachX = field.length / 2 + 0.3,
      lineReachY = field.width / 2 + 0.3;
    const [cr, cg, cb] = lighting.cast;
    const groundLight = lighting.intensity * (lighting.ambient + (1 - lighting.ambient) * Math.sin(lighting.sunElevation));
    const wallLight = lighting.intensity * (lighting.ambient + (1 - lighting.ambient) * 0.5);
    const [ph0, ph1] = lighting.unevenPhase;
    const uneven = lighting.unevenness;
    const casters = this.shadowCasters(scene);
    // One rectangle around all shadows: most ground pixels skip the per-caster tests.
    let shX0 = Infinity,
      shX1 = -Infinity,
      shY0 = Infinity,
      shY1 = -Infinity;
    for (let k = 0; k < casters.length; k += 7) {
      shX0 = Math.min(shX0, casters[k] - casters[k + 4]);
      shX1 = Math.max(shX1, casters[k] + casters[k + 4]);
      shY0 = Math.min(shY0, casters[k + 1] - casters[k + 4]);
      shY1 = Math.max(shY1, casters[k + 1] + casters[k + 4]);
    }
    const [gr, gg, gb] = look.grass,
      [lr, lg, lb] = look.line,
      [fr, fg, fb] = look.floor;
    const invFx = 1 / cam.fx;
    const stripeInv = 1 / look.stripeWidth;
    const palette = look.wallPalette;
    const turf = look.turf,
      lineWear = look.lineWear ?? 0;
    const turfCos = turf ? Math.cos(turf.angle) : 1,
      turfSin = turf ? Math.sin(turf.angle) : 0;
    const spots = lighting.spots;
    let p = 0;
    for (let v = 0; v < height; v++) {
      for (let u = 0; u < width; u++, p++) {
        const rx = rays[2 * p],
          ry = rays[2 * p + 1];
        const dx = rx * Rx + ry * Dx + Fx,
          dy = rx * Ry + ry * Dy + Fy,
          dz = rx * Rz + ry * Dz + Fz;
        id[p] = 0;
        stamp[p] = 0;
        const tGround = dz < 0 ? -Cz / dz : Infinity;
        const gx = Cx + tGround * dx,
          gy = Cy + tGround * dy;
        let r: number, g: number, b: number;
        // The hall is convex and holds the camera: a ground hit inside its walls is the nearest surface.
        if (gx > -hallX && gx < hallX && gy > -hallY && gy < hallY) {
          depth[p] = tGround;
          let light =
            groundLight *
            (1 + uneven * SINE[((gx * 0.45 + ph0) * SINE_SCALE) & SINE_MASK] * SINE[((gy * 0.6 + ph1) * SINE_SCALE) & SINE_MASK]);
          if (spots) light *= spotGain(spots, gx, gy);
          if (gx >= shX0 && gx <= shX1 && gy >= shY0 && gy <= shY1)
            for (let k = 0; k < casters.length; k += 7) {
              const sx = gx - casters[k],
                sy = gy - casters[k + 1],
                reach = casters[k + 4];
              if (sx > reach || sx < -reach || sy > reach || sy < -reach) continue;
              const ux = casters[k + 2],
                uy = casters[k + 3];
              const along = (sx * ux + sy * uy) / reach,
                across = (sy * ux - sx * uy) / casters[k + 5];
              const q = along * along + across * across;
              // Soft penumbra: full shadow inside 60% of the ellipse, fading out to its edge.
              if (q < 1) light *= 1 - casters[k + 6] * (q < 0.36 ? 1 : (1 - q) / 0.64);
            }
          if (gx > -carpetX && gx < carpetX && gy > -carpetY && gy < carpetY) {
            const tex = 1 + texture * (hash2(Math.floor(gx * 40), Math.floor(gy * 40)) - 0.5);
            if (turf === undefined) {
              const stripe = (Math.floor(gx * stripeInv) & 1) === 0 ? stripeHi : stripeLo;
              const m = stripe * tex;
              r = gr * m;
              g = gg * m;
              b = gb * m;
            } else {
              const a1 = gx * turfCos + gy * turfSin,
                a2 = gy * turfCos - gx * turfSin;
              let m = tex;
              if (turf.kind === "mown") m *= (Math.floor(a1 * stripeInv) & 1) === 0 ? stripeHi : stripeLo;
              else if (turf.kind === "checker")
                m *= ((Math.floor(a1 * stripeInv) + Math.floor(a2 * stripeInv)) & 1) === 0 ? stripeHi : stripeLo;
              else if (turf.kind === "artificial") {
                // Rolls of turf laid side by side, fibres that catch the light along the roll, black rubber granules.
                m *= (Math.floor(a1 * stripeInv) & 1) === 0 ? stripeHi : stripeLo;
                m *= 1 + turf.grain * (hash2(Math.floor(a1 * 12), Math.floor(a2 * 70)) - 0.5);
                if (hash2(Math.floor(gx * 90) + 7, Math.floor(gy * 90)) > 0.96) m *= 0.45;
              }
              r = gr * m;
              g = gg * m;
              b = gb * m;
              if (turf.wear > 0) {
                const w = turf.wear * smoothstep(0.5, 0.9, valueNoise(gx * 0.8 + 31, gy * 0.8));
                if (w > 0) {
                  r += (turf.wearColor[0] * tex - r) * w;
                  g += (turf.wearColor[1] * tex - g) * w;
                  b += (turf.wearColor[2] * tex - b) * w;
                }
              }
            }
            if (gx > -lineReachX && gx < lineReachX && gy > -lineReachY && gy < lineReachY) {
              const dd = Math.sqrt(dx * dx + dy * dy + dz * dz);
              // Ground footprint of the pixel (geometric mean of its along- and across-view extent):
              // lines thinner than a pixel fade instead of flickering.
              const foot = Math.max(1e-4, tGround * dd * invFx * Math.sqrt(dd / -dz));
              let cov = lines.coverage(gx, gy, foot);
              if (lineWear > 0 && cov > 0)
                cov *=
                  1 -
                  lineWear *
                    smoothstep(0.25, 0.75, valueNoise(gx * 4, gy * 4 + 17) * 0.7 + 0.3 * hash2(Math.floor(gx * 60), Math.floor(gy * 60)));
              if (cov > 0) {
                r += (lr - r) * cov;
                g += (lg - g) * cov;
                b += (lb - b) * cov;
              }
            }
          } else {
            const tile = 0.9 + 0.2 * hash2(Math.floor(gx * 2), Math.floor(gy * 2));
            r = fr * tile;
            g = fg * tile;
            b = fb * tile;
          }
          r *= light * cr;
          g *= light * cg;
          b *= light * cb;
        } else {
          const tx = dx > 0 ? (hallX - Cx) / dx : dx < 0 ? (-hallX - Cx) / dx : Infinity;
          const ty = dy > 0 ? (hallY - Cy) / dy : dy < 0 ? (-hallY - Cy) / dy : Infinity;
          const tWall = tx < ty ? tx : ty;
          depth[p] = tWall;
          const z = Cz + tWall * dz;
          const along = tx < ty ? Cy + tWall * dy : Cx + tWall * dx;
          const wall = tx < ty ? (dx > 0 ? 1 : 2) : dy > 0 ? 3 : 4;
          if (z > wallHeight) {
            r = g = b = 40;
          } else if (z < 0.8) {
            // Advertising boards along the bottom of the wall.
            const c = palette[(hash2(Math.floor(along / 2.5) + 977 * wall, wallSeed) * palette.length) | 0];
            r = c[0];
            g = c[1];
            b = c[2];
          } else {
            // Audience and hall fittings: panels of palette colours with a little vertical variation.
            const c = palette[(hash2(Math.floor(along / 0.6) + 131 * wall, Math.floor(z / 0.9) + wallSeed) * palette.length) | 0];
            const shade = 0.55 + 0.3 * hash2(Math.floor(along / 0.3), wall + 7);
            r = c[0] * shade;
            g = c[1] * shade;
            b = c[2] * shade;
          }
          r *= wallLight * cr;
          g *= wallLight * cg;
          b *= wallLight * cb;
        }
        color[3 * p] = r;
        color[3 * p + 1] = g;
        color[3 * p + 2] = b;
      }
    }
  }

  /** Blob shadows as flat (cx, cy, ux, uy, semi-major, semi-minor, strength) records. */
  private shadowCasters(scene: Scene): Float64Array {
    const { lighting } = scene;
    if (lighting.shadowStrength <= 0) return new Float64Array(0);
    // Shadows point away from the sun; their length follows its elevation.
    const ux = -Math.cos(lighting.sunAzimuth),
      uy = -Math.sin(lighting.sunAzimuth);
    const stretch = 1 / Math.tan(Math.max(lighting.sunElevation, 0.2));
    const out: number[] = [];
    for (const e of scene.entities) {
      if (e.shadow.height <= 0) continue;
      const len = Math.min(e.shadow.height * stretch, 6);
      out.push(
        e.ground.x + (ux * len) / 2,
        e.ground.y + (uy * len) / 2,
        ux,
        uy,
        len / 2 + e.shadow.radius,
        e.shadow.radius,
        lighting.shadowStrength,
      );
    }
    return Float64Array.from(out);
  }

  /** Cast rays at every entity within its projected bounds; returns unoccluded in-image pixel counts. */
  private renderEntities(scene: Scene, cam: CameraModel): Uint32Array {
    const coverage = new Uint32Array(scene.entities.length);
    const sun = sunDirection(scene);
    for (let e = 0; e < scene.entities.length; e++) {
      const entity = scene.entities[e];
      for (const part of entity.parts) {
        const bounds = this.screenBounds(cam, partBounds(part));
        if (!bounds) continue;
        if (part.material.net) this.castNet(scene, cam, prepare(part), part.material.net, bounds);
        else coverage[e] += this.castPart(scene, cam, prepare(part), e + 1, bounds, sun);
      }
    }
    return coverage;
  }

  /**
   * Pixel rectangle covering a world box, or null if it is entirely off-image or behind the
   * camera. The box is clipped at a near plane first, so a part reaching behind the camera (a
   * net beside it, a robot at its feet) still gets a tight rectangle instead of the whole image.
   */
  private screenBounds(cam: CameraModel, box: [number, number, number, number, number, number]): [number, number, number, number] | null {
    if (this.exhaustive) return [0, 0, this.width - 1, this.height - 1];
    const [x0, y0, z0, x1, y1, z1] = box;
    const near = 1e-3;
    const corners: Vec3[] = [];
    for (let i = 0; i < 8; i++) corners.push(cam.robotToCamera({ x: i & 1 ? x1 : x0, y: i & 2 ? y1 : y0, z: i & 4 ? z1 : z0 }));
    // Corners and edge midpoints (distortion bows edges outwards, past their ends' rectangle),
    // and where edges cross the near plane.
    const points: Vec3[] = corners.filter((c) => c.z >= near);
    for (let i = 0; i < 8; i++) {
      for (const bit of [1, 2, 4]) {
        if (i & bit) continue;
        const a = corners[i],
          b = corners[i | bit];
        const mid = { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2, z: (a.z + b.z) / 2 };
        if (mid.z >= near) points.push(mid);
        if ((a.z - near) * (b.z - near) < 0) {
          const t = (near - a.z) / (b.z - a.z);
          points.push({ x: a.x + t * (b.x - a.x), y: a.y + t * (b.y - a.y), z: near });
        }
      }
    }
    if (points.length === 0) return null;
    let uMin = Infinity,
      vMin = Infinity,
      uMax = -Infinity,
      vMax = -Infinity;
    const rMax2 = cam.maxRadius * cam.maxRadius;
    for (const c of points) {
      const x = c.x / c.z,
        y = c.y / c.z;
      if (x * x + y * y <= rMax2) {
        const [xd, yd] = cam.distort(x, y);
        const u = cam.fx * xd + cam.cx,
          v = cam.fy * yd + cam.cy;
        if (u < uMin) uMin = u;
        if (u > uMax) uMax = u;
        if (v < vMin) vMin = v;
        if (v > vMax) vMax = v;
      } else {
        // Beyond the modelled field of view (far outside the image): extend towards its side.
        if (x > 0) uMax = Infinity;
        else uMin = -Infinity;
        if (y > 0) vMax = Infinity;
        else vMin = -Infinity;
      }
    }
    const margin = 2;
    const a = Math.max(0, Math.floor(uMin - margin)),
      b = Math.max(0, Math.floor(vMin - margin));
    const c = Math.min(this.width - 1, Math.ceil(uMax + margin)),
      d = Math.min(this.height - 1, Math.ceil(vMax + margin));
    if (!(a <= c && b <= d)) return null;
    return [a, b, c, d];
  }

  private castPart(
    scene: Scene,
    cam: CameraModel,
    part: Prepared,
    ident: number,
    bounds: [number, number, number, number],
    sun: [number, number, number],
  ): number {
    const rays = this.rays,
      color = this.color,
      depth = this.depth,
      id = this.id,
      stamp = this.stamp;
    const Rx = cam.right.x,
      Ry = cam.right.y,
      Rz = cam.right.z;
    const Dx = cam.down.x,
      Dy = cam.down.y,
      Dz = cam.down.z;
    const Fx = cam.forward.x,
      Fy = cam.forward.y,
      Fz = cam.forward.z;
    const Cx = cam.position.x,
      Cy = cam.position.y,
      Cz = cam.position.z;
    const { intensity, ambient, cast } = scene.lighting;
    const [castR, castG, castB] = cast;
    const [sunX, sunY, sunZ] = sun;
    const [u0, v0, u1, v1] = bounds;
    const width = this.width;
    const hit = { t: 0, nx: 0, ny: 0, nz: 0 };
    const spots = scene.lighting.spots,
      texture = part.part.material.texture;
    let count = 0;
    for (let v = v0; v <= v1; v++) {
      for (let u = u0; u <= u1; u++) {
        const p = v * width + u;
        const rx = rays[2 * p],
          ry = rays[2 * p + 1];
        const dx = rx * Rx + ry * Dx + Fx,
          dy = rx * Ry + ry * Dy + Fy,
          dz = rx * Rz + ry * Dz + Fz;
        if (!intersect(part, Cx, Cy, Cz, dx, dy, dz, hit)) continue;
        if (stamp[p] !== ident) {
          stamp[p] = ident;
          count++;
        }
        if (hit.t >= depth[p]) continue;
        depth[p] = hit.t;
        id[p] = ident;
        const dot = hit.nx * sunX + hit.ny * sunY + hit.nz * sunZ;
        const lambert = dot > 0 ? dot : 0;
        // Faces away from the sun still get light bounced off the bright carpet and walls.
        let light = intensity * (ambient + (1 - ambient) * (0.15 + 0.85 * lambert));
        let base = surfaceColor(part.part, hit);
        if (spots || texture) {
          const hx = Cx + hit.t * dx,
            hy = Cy + hit.t * dy,
            hz = Cz + hit.t * dz;
          if (spots) light *= spotGain(spots, hx, hy);
          if (texture) base = textured(texture, base, hx, hy, hz);
        }
        color[3 * p] = base[0] * light * castR;
        color[3 * p + 1] = base[1] * light * castG;
        color[3 * p + 2] = base[2] * light * castB;
      }
    }
    return count;
  }

  /**
   * A net: where the mesh is resolved (strings at least ~a pixel apart) its strings are opaque and
   * the holes see through; farther away it blends in as the haze a camera sees, without hiding
   * what is behind it. Nets are never labelled and never counted as occluders.
   */
  private castNet(scene: Scene, cam: CameraModel, part: Prepared, spacing: number, bounds: [number, number, number, number]): void {
    const rays = this.rays,
      color = this.color,
      depth = this.depth;
    const R = cam.right,
      D = cam.down,
      F = cam.forward,
      C = cam.position;
    const { intensity, ambient, cast } = scene.lighting;
    const [nr, ng, nb] = part.part.material.color;
    const light = intensity * (ambient + (1 - ambient) * 0.6);
    const string = 0.012;
    const haze = (0.8 * string) / spacing;
    // The net's plane is spanned by the box's two longest axes (boxes of nets are axis-aligned).
    const thin = part.hx <= part.hy && part.hx <= part.hz ? 0 : part.hy <= part.hz ? 1 : 2;
    const invFx = 1 / cam.fx;
    const hit = { t: 0, nx: 0, ny: 0, nz: 0 };
    const [u0, v0, u1, v1] = bounds;
    for (let v = v0; v <= v1; v++) {
      for (let u = u0; u <= u1; u++) {
        const p = v * this.width + u;
        const rx = rays[2 * p],
          ry = rays[2 * p + 1];
        const dx = rx * R.x + ry * D.x + F.x,
          dy = rx * R.y + ry * D.y + F.y,
          dz = rx * R.z + ry * D.z + F.z;
        if (!intersect(part, C.x, C.y, C.z, dx, dy, dz, hit) || hit.t >= depth[p]) continue;
        const foot = hit.t * Math.sqrt(dx * dx + dy * dy + dz * dz) * invFx;
        let alpha: number;
        if (foot < spacing / 3) {
          const reach = (string + foot) / (2 * spacing);
          const mx = (C.x + hit.t * dx) / spacing,
            my = (C.y + hit.t * dy) / spacing,
            mz = (C.z + hit.t * dz) / spacing;
          const on =
            (thin !== 0 && Math.abs(mx - Math.round(mx)) < reach) ||
            (thin !== 1 && Math.abs(my - Math.round(my)) < reach) ||
            (thin !== 2 && Math.abs(mz - Math.round(mz)) < reach);
          if (!on) continue;
          alpha = 1;
          depth[p] = hit.t;
        } else {
          alpha = haze;
        }
        color[3 * p] += (nr * light * cast[0] - color[3 * p]) * alpha;
        color[3 * p + 1] += (ng * light * cast[1] - color[3 * p + 1]) * alpha;
        color[3 * p + 2] += (nb * light * cast[2] - color[3 * p + 2]) * alpha;
      }
    }
  }

  private toBytes(scene: Scene): Buffer {
    const { width, height } = this;
    const out = Buffer.allocUnsafe(width * height * 3);
    const color = this.color;
    const vig = scene.effects.vignette;
    const cx = (width - 1) / 2,
      cy = (height - 1) / 2;
    const norm = 1 / (cx * cx + cy * cy);
    let p = 0;
    for (let v = 0; v < height; v++) {
      const dv = (v - cy) * (v - cy);
      for (let u = 0; u < width; u++, p++) {
        const f = 1 - vig * ((u - cx) * (u - cx) + dv) * norm;
        const i = 3 * p;
        const r = color[i] * f + 0.5,
          g = color[i + 1] * f + 0.5,
          b = color[i + 2] * f + 0.5;
        out[i] = r < 0 ? 0 : r > 255 ? 255 : r;
        out[i + 1] = g < 0 ? 0 : g > 255 ? 255 : g;
        out[i + 2] = b < 0 ? 0 : b > 255 ? 255 : b;
      }
    }
    return out;
  }

  private entityLabels(scene: Scene, cam: CameraModel, coverage: Uint32Array): RenderedLabel[] {
    const { width, height } = this;
    const n = scene.entities.length;
    const minU = new Int32Array(n).fill(width),
      minV = new Int32Array(n).fill(height);
    const maxU = new Int32Array(n).fill(-1),
      maxV = new Int32Array(n).fill(-1);
    const visible = new Uint32Array(n);
    const id = this.id;
    let p = 0;
    for (let v = 0; v < height; v++) {
      for (let u = 0; u < width; u++, p++) {
        const e = id[p];
        if (e === 0) continue;
        const i = e - 1;
        visible[i]++;
        if (u < minU[i]) minU[i] = u;
        if (u > maxU[i]) maxU[i] = u;
        if (v < minV[i]) minV[i] = v;
        if (v > maxV[i]) maxV[i] = v;
      }
    }
    const minPixels = Math.max(4, Math.round(width * height * 2e-5));
    const out: RenderedLabel[] = [];
    for (let i = 0; i < n; i++) {
      const entity = scene.entities[i];
      if (!entity.label || visible[i] < minPixels) continue;
      if (visible[i] < MIN_VISIBLE_FRACTION * coverage[i]) continue;
      if (insideFraction(cam, entity, width, height) < MIN_INSIDE_FRACTION) continue;
      out.push({
        label: entity.label,
        box: { xMin: minU[i] / width, yMin: minV[i] / height, xMax: (maxU[i] + 1) / width, yMax: (maxV[i] + 1) / height },
        ground: toRobotFrame(scene, entity.ground.x, entity.ground.y),
        visiblePixels: visible[i],
      });
    }
    return out;
  }

  private featureLabels(scene: Scene, cam: CameraModel): RenderedLabel[] {
    const { width, height } = this;
    const out: RenderedLabel[] = [];
    for (const f of this.features) {
      const p = cam.groundToPixel(f);
      if (!p || !cam.contains(p)) continue;
      const pix = Math.round(p.v) * width + Math.round(p.u);
      if (this.id[pix] !== 0) continue; // hidden behind a robot, ball or obstacle
      let uMin = Infinity,
        vMin = Infinity,
        uMax = -Infinity,
        vMax = -Infinity;
      for (const [ox, oy] of [
        [-1, -1],
        [-1, 1],
        [1, -1],
        [1, 1],
        [0, -1],
        [0, 1],
        [-1, 0],
        [1, 0],
      ]) {
        const q = cam.groundToPixel({ x: f.x + ox * FEATURE_HALF_SIZE, y: f.y + oy * FEATURE_HALF_SIZE });
        if (!q) continue;
        uMin = Math.min(uMin, q.u);
        uMax = Math.max(uMax, q.u);
        vMin = Math.min(vMin, q.v);
        vMax = Math.max(vMax, q.v);
      }
      // Too far away to see the crossing's shape: a sub-3-pixel box teaches nothing.
      if (!(uMax - uMin >= 3 && vMax - vMin >= 2)) continue;
      const clip = (x: number, size: number) => Math.min(1, Math.max(0, (x + 0.5) / size));
      out.push({
        label: f.label,
        box: { xMin: clip(uMin, width), yMin: clip(vMin, height), xMax: clip(uMax, width), yMax: clip(vMax, height) },
        ground: toRobotFrame(scene, f.x, f.y),
        visiblePixels: 1,
      });
    }
    return out;
  }
}

/** World (field) point in the observing robot's frame. */
export function toRobotFrame(scene: Scene, x: number, y: number): { x: number; y: number } {
  const { robot } = scene;
  const c = Math.cos(robot.heading),
    s = Math.sin(robot.heading);
  const dx = x - robot.x,
    dy = y - robot.y;
  return { x: c * dx + s * dy, y: -s * dx + c * dy };
}

function sunDirection(scene: Scene): [number, number, number] {
  const { sunAzimuth, sunElevation } = scene.lighting;
  return [Math.cos(sunAzimuth) * Math.cos(sunElevation), Math.sin(sunAzimuth) * Math.cos(sunElevation), Math.sin(sunElevation)];
}

/** Fraction of the entity's projected bounding rectangle inside the image (0 when behind the camera). */
function insideFraction(cam: CameraModel, entity: Entity, width: number, height: number): number {
  let uMin = Infinity,
    vMin = Infinity,
    uMax = -Infinity,
    vMax = -Infinity;
  for (const part of entity.parts) {
    const [x0, y0, z0, x1, y1, z1] = partBounds(part);
    for (const x of [x0, x1])
      for (const y of [y0, y1])
        for (const z of [z0, z1]) {
          const p = cam.robotToPixel({ x, y, z });
          if (!p) return 1; // straddles the camera plane: judged by the occlusion rule alone
          uMin = Math.min(uMin, p.u);
          uMax = Math.max(uMax, p.u);
          vMin = Math.min(vMin, p.v);
          vMax = Math.max(vMax, p.v);
        }
  }
  const area = (uMax - uMin) * (vMax - vMin);
  if (!(area > 0)) return 0;
  const iw = Math.max(0, Math.min(uMax, width - 0.5) - Math.max(uMin, -0.5));
  const ih = Math.max(0, Math.min(vMax, height - 0.5) - Math.max(vMin, -0.5));
  return (iw * ih) / area;
}

function partBounds(part: Primitive): [number, number, number, number, number, number] {
  switch (part.kind) {
    case "sphere": {
      const [x, y, z] = part.center,
        r = part.radius;
      return [x - r, y - r, z - r, x + r, y + r, z + r];
    }
    case "cylinder":
      return [part.x - part.radius, part.y - part.radius, part.z0, part.x + part.radius, part.y + part.radius, part.z1];
    case "box": {
      const [x, y, z] = part.center,
        [hx, hy, hz] = part.half;
      const c = Math.abs(Math.cos(part.heading)),
        s = Math.abs(Math.sin(part.heading));
      const ex = c * hx + s * hy,
        ey = s * hx + c * hy;
      return [x - ex, y - ey, z - hz, x + ex, y + ey, z + hz];
    }
    case "ellipsoid": {
      // The box around the ellipsoid's own bounding box: loose at odd headings, never too small.
      const [x, y, z] = part.center,
        [hx, hy, hz] = part.radii;
      const c = Math.abs(Math.cos(part.heading)),
        s = Math.abs(Math.sin(part.heading));
      const ex = c * hx + s * hy,
        ey = s * hx + c * hy;
      return [x - ex, y - ey, z - hz, x + ex, y + ey, z + hz];
    }
    case "cone": {
      const r = Math.max(part.r0, part.r1);
      return [part.x - r, part.y - r, part.z0, part.x + r, part.y + r, part.z1];
    }
  }
}

/** A primitive with its per-frame constants precomputed (no allocation or trigonometry per pixel). */
interface Prepared {
  /** 0 sphere, 1 cylinder, 2 box, 3 ellipsoid, 4 cone. */
  kind: 0 | 1 | 2 | 3 | 4;
  cx: number;
  cy: number;
  cz: number;
  r: number;
  hx: number;
  hy: number;
  hz: number;
  cos: number;
  sin: number;
  z0: number;
  z1: number;
  /** Cone: radius at z1 (`r` is the radius at z0). */
  r1: number;
  part: Primitive;
}

function prepare(part: Primitive): Prepared {
  const p: Prepared = { kind: 0, cx: 0, cy: 0, cz: 0, r: 0, hx: 0, hy: 0, hz: 0, cos: 1, sin: 0, z0: 0, z1: 0, r1: 0, part };
  switch (part.kind) {
    case "sphere":
      [p.cx, p.cy, p.cz] = part.center;
      p.r = part.radius;
      break;
    case "cylinder":
      p.kind = 1;
      p.cx = part.x;
      p.cy = part.y;
      p.z0 = part.z0;
      p.z1 = part.z1;
      p.r = part.radius;
      break;
    case "box":
      p.kind = 2;
      [p.cx, p.cy, p.cz] = part.center;
      [p.hx, p.hy, p.hz] = part.half;
      p.cos = Math.cos(part.heading);
      p.sin = Math.sin(part.heading);
      break;
    case "ellipsoid":
      p.kind = 3;
      [p.cx, p.cy, p.cz] = part.center;
      [p.hx, p.hy, p.hz] = part.radii;
      p.cos = Math.cos(part.heading);
      p.sin = Math.sin(part.heading);
      break;
    case "cone":
      p.kind = 4;
      p.cx = part.x;
      p.cy = part.y;
      p.z0 = part.z0;
      p.z1 = part.z1;
      p.r = part.r0;
      p.r1 = part.r1;
      break;
  }
  return p;
}

/** Ray (origin o, direction d) against a primitive; fills the nearest hit in front of the origin. */
function intersect(
  q: Prepared,
  ox: number,
  oy: number,
  oz: number,
  dx: number,
  dy: number,
  dz: number,
  hit: { t: number; nx: number; ny: number; nz: number },
): boolean {
  if (q.kind === 0) {
    const lx = ox - q.cx,
      ly = oy - q.cy,
      lz = oz - q.cz;
    const a = dx * dx + dy * dy + dz * dz;
    const b = lx * dx + ly * dy + lz * dz;
    const c = lx * lx + ly * ly + lz * lz - q.r * q.r;
    const disc = b * b - a * c;
    if (disc < 0) return false;
    const t = (-b - Math.sqrt(disc)) / a;
    if (t <= 0) return false;
    hit.t = t;
    const inv = 1 / q.r;
    hit.nx = (lx + t * dx) * inv;
    hit.ny = (ly + t * dy) * inv;
    hit.nz = (lz + t * dz) * inv;
    return true;
  }
  if (q.kind === 1) {
    const lx = ox - q.cx,
      ly = oy - q.cy,
      r = q.r;
    const a = dx * dx + dy * dy;
    let best = Infinity;
    if (a > 1e-12) {
      const b = lx * dx + ly * dy;
      const c = lx * lx + ly * ly - r * r;
      const disc = b * b - a * c;
      if (disc < 0) return false;
      const t = (-b - Math.sqrt(disc)) / a;
      const z = oz + t * dz;
      if (t > 0 && z >= q.z0 && z <= q.z1) {
        best = t;
        hit.nx = (lx + t * dx) / r;
        hit.ny = (ly + t * dy) / r;
        hit.nz = 0;
      }
    }
    if (dz < -1e-12 && oz > q.z1) {
      // Top cap: what a head camera sees of a short obstacle.
      const t = (q.z1 - oz) / dz;
      if (t > 0 && t < best) {
        const px = lx + t * dx,
          py = ly + t * dy;
        if (px * px + py * py <= r * r) {
          best = t;
          hit.nx = 0;
          hit.ny = 0;
          hit.nz = 1;
        }
      }
    }
    if (best === Infinity) return false;
    hit.t = best;
    return true;
  }
  if (q.kind === 3) return intersectEllipsoid(q, ox, oy, oz, dx, dy, dz, hit);
  if (q.kind === 4) return intersectCone(q, ox, oy, oz, dx, dy, dz, hit);
  // Slab test in the box's own frame (turned by heading about z).
  const c = q.cos,
    s = q.sin;
  const rx = ox - q.cx,
    ry = oy - q.cy;
  const lox = c * rx + s * ry,
    loy = -s * rx + c * ry,
    loz = oz - q.cz;
  const ldx = c * dx + s * dy,
    ldy = -s * dx + c * dy;
  let tMin = -Infinity,
    tMax = Infinity,
    axis = -1,
    sign = 0;
  // x slab
  if (ldx > 1e-12 || ldx < -1e-12) {
    let t1 = (-q.hx - lox) / ldx,
      t2 = (q.hx - lox) / ldx,
      sg = -1;
    if (t1 > t2) {
      const tmp = t1;
      t1 = t2;
      t2 = tmp;
      sg = 1;
    }
    if (t1 > tMin) {
      tMin = t1;
      axis = 0;
      sign = sg;
    }
    if (t2 < tMax) tMax = t2;
  } else if (lox < -q.hx || lox > q.hx) return false;
  if (ldy > 1e-12 || ldy < -1e-12) {
    let t1 = (-q.hy - loy) / ldy,
      t2 = (q.hy - loy) / ldy,
      sg = -1;
    if (t1 > t2) {
      const tmp = t1;
      t1 = t2;
      t2 = tmp;
      sg = 1;
    }
    if (t1 > tMin) {
      tMin = t1;
      axis = 1;
      sign = sg;
    }
    if (t2 < tMax) tMax = t2;
  } else if (loy < -q.hy || loy > q.hy) return false;
  if (dz > 1e-12 || dz < -1e-12) {
    let t1 = (-q.hz - loz) / dz,
      t2 = (q.hz - loz) / dz,
      sg = -1;
    if (t1 > t2) {
      const tmp = t1;
      t1 = t2;
      t2 = tmp;
      sg = 1;
    }
    if (t1 > tMin) {
      tMin = t1;
      axis = 2;
      sign = sg;
    }
    if (t2 < tMax) tMax = t2;
  } else if (loz < -q.hz || loz > q.hz) return false;
  if (tMin > tMax || tMin <= 0 || axis < 0) return false;
  hit.t = tMin;
  if (axis === 0) {
    hit.nx = c * sign;
    hit.ny = s * sign;
    hit.nz = 0;
  } else if (axis === 1) {
    hit.nx = -s * sign;
    hit.ny = c * sign;
    hit.nz = 0;
  } else {
    hit.nx = 0;
    hit.ny = 0;
    hit.nz = sign;
  }
  return true;
}

/** Ellipsoid: the ray in the ellipsoid's own frame, scaled to a unit sphere (t is unchanged by the linear map). */
function intersectEllipsoid(
  q: Prepared,
  ox: number,
  oy: number,
  oz: number,
  dx: number,
  dy: number,
  dz: number,
  hit: { t: number; nx: number; ny: number; nz: number },
): boolean {
  const c = q.cos,
    s = q.sin;
  const rx = ox - q.cx,
    ry = oy - q.cy;
  const lx = (c * rx + s * ry) / q.hx,
    ly = (-s * rx + c * ry) / q.hy,
    lz = (oz - q.cz) / q.hz;
  const ex = (c * dx + s * dy) / q.hx,
    ey = (-s * dx + c * dy) / q.hy,
    ez = dz / q.hz;
  const a = ex * ex + ey * ey + ez * ez;
  const b = lx * ex + ly * ey + lz * ez;
  const cc = lx * lx + ly * ly + lz * lz - 1;
  const disc = b * b - a * cc;
  if (disc < 0) return false;
  const t = (-b - Math.sqrt(disc)) / a;
  if (t <= 0) return false;
  // Normal: gradient of the implicit surface, back in world axes.
  const nx = (lx + t * ex) / q.hx,
    ny = (ly + t * ey) / q.hy,
    nz = (lz + t * ez) / q.hz;
  const inv = 1 / Math.sqrt(nx * nx + ny * ny + nz * nz);
  hit.t = t;
  hit.nx = (c * nx - s * ny) * inv;
  hit.ny = (s * nx + c * ny) * inv;
  hit.nz = nz * inv;
  return true;
}

/** Truncated cone about a vertical axis: radius R(z) = a0 + k z between z0 and z1, with both caps. */
function intersectCone(
  q: Prepared,
  ox: number,
  oy: number,
  oz: number,
  dx: number,
  dy: number,
  dz: number,
  hit: { t: number; nx: number; ny: number; nz: number },
): boolean {
  const lx = ox - q.cx,
    ly = oy - q.cy;
  const k = (q.r1 - q.r) / (q.z1 - q.z0),
    a0 = q.r - k * q.z0;
  const ro = a0 + k * oz;
  const A = dx * dx + dy * dy - k * k * dz * dz;
  const B = lx * dx + ly * dy - k * dz * ro;
  const C = lx * lx + ly * ly - ro * ro;
  let best = Infinity;
  const side = (t: number) => {
    if (!(t > 0) || t >= best) return;
    const z = oz + t * dz;
    // Outside the slab, or on the mirrored nappe beyond the apex.
    if (z < q.z0 || z > q.z1 || a0 + k * z < 0) return;
    best = t;
    const px = lx + t * dx,
      py = ly + t * dy,
      pz = -k * (a0 + k * z);
    const inv = 1 / Math.sqrt(px * px + py * py + pz * pz);
    hit.nx = px * inv;
    hit.ny = py * inv;
    hit.nz = pz * inv;
  };
  if (A > 1e-12 || A < -1e-12) {
    const disc = B * B - A * C;
    if (disc >= 0) {
      const sq = Math.sqrt(disc);
      side((-B - sq) / A);
      side((-B + sq) / A);
    }
  } else if (B !== 0) side(-C / (2 * B));
  const cap = (z: number, r: number, nz: number) => {
    const t = (z - oz) / dz;
    if (!(t > 0) || t >= best) return;
    const px = lx + t * dx,
      py = ly + t * dy;
    if (px * px + py * py > r * r) return;
    best = t;
    hit.nx = 0;
    hit.ny = 0;
    hit.nz = nz;
  };
  if (dz < -1e-12 && oz > q.z1) cap(q.z1, q.r1, 1);
  if (dz > 1e-12 && oz < q.z0) cap(q.z0, q.r, -1);
  if (best === Infinity) return false;
  hit.t = best;
  return true;
}

const ICOSAHEDRON = (() => {
  const g = (1 + Math.sqrt(5)) / 2;
  const raw = [
    [-1, g, 0],
    [1, g, 0],
    [-1, -g, 0],
    [1, -g, 0],
    [0, -1, g],
    [0, 1, g],
    [0, -1, -g],
    [0, 1, -g],
    [g, 0, -1],
    [g, 0, 1],
    [-g, 0, -1],
    [-g, 0, 1],
  ];
  const n = Math.hypot(1, g);
  return raw.map(([x, y, z]) => [x / n, y / n, z / n]);
})();
/** cos of the angular radius of a classic ball's 12 pentagon patches. */
const PATCH_COS = Math.cos(0.36);

function surfaceColor(part: Primitive, hit: { nx: number; ny: number; nz: number }): [number, number, number] {
  const m = part.material;
  const pattern = m.pattern;
  if (!pattern) return m.color;
  const r = pattern.rotation;
  const bx = r[0] * hit.nx + r[1] * hit.ny + r[2] * hit.nz;
  const by = r[3] * hit.nx + r[4] * hit.ny + r[5] * hit.nz;
  const bz = r[6] * hit.nx + r[7] * hit.ny + r[8] * hit.nz;
  switch (pattern.kind) {
    case "solid":
      return pattern.base;
    case "halves":
      return bz > 0 ? pattern.base : pattern.accent;
    case "stripes":
      return (Math.floor((bz + 1) * 3) & 1) === 0 ? pattern.base : pattern.accent;
    case "patches": {
      const limit = pattern.size === undefined ? PATCH_COS : Math.cos(pattern.size);
      for (const [px, py, pz] of ICOSAHEDRON) if (bx * px + by * py + bz * pz > limit) return pattern.accent;
      return pattern.base;
    }
    default:
      return styledBallColor(pattern, bx, by, bz);
  }
}

/** The ball patterns only appearance styles draw. */
function styledBallColor(pattern: BallPattern, bx: number, by: number, bz: number): Rgb {
  const n = pattern.count ?? 6;
  switch (pattern.kind) {
    case "octants":
      return (bx > 0 !== by > 0) !== bz > 0 ? pattern.accent : pattern.base;
    case "rings":
      return (Math.floor(((bz + 1) * n) / 2) & 1) === 0 ? pattern.base : pattern.accent;
    case "dots": {
      const limit = Math.cos(pattern.size ?? 0.25);
      const points = sphereDots(n);
      for (let i = 0; i < points.length; i += 3)
        if (bx * points[i] + by * points[i + 1] + bz * points[i + 2] > limit) return pattern.accent;
      return pattern.base;
    }
    case "seams": {
      const w = pattern.size ?? 0.05;
      return Math.abs(bx) < w || Math.abs(by) < w || Math.abs(bz) < w ? pattern.accent : pattern.base;
    }
    case "swirl": {
      const turns = (Math.atan2(by, bx) / (2 * Math.PI) + 0.8 * bz) * n;
      return (Math.floor(turns) & 1) === 0 ? pattern.base : pattern.accent;
    }
    default:
      return pattern.base;
  }
}

const DOTS = new Map<number, Float64Array>();
/** `n` nearly even directions on the unit sphere (Fibonacci lattice), cached per n. */
function sphereDots(n: number): Float64Array {
  let d = DOTS.get(n);
  if (d) return d;
  d = new Float64Array(3 * n);
  const golden = Math.PI * (3 - Math.sqrt(5));
  for (let i = 0; i < n; i++) {
    const z = 1 - (2 * i + 1) / n,
      r = Math.sqrt(1 - z * z);
    d[3 * i] = r * Math.cos(golden * i);
    d[3 * i + 1] = r * Math.sin(golden * i);
    d[3 * i + 2] = z;
  }
  DOTS.set(n, d);
  return d;
}

/** Surface colour under a world-space texture at hit point (x, y, z). */
function textured(t: Texture, base: Rgb, x: number, y: number, z: number): Rgb {
  const inv = 1 / t.scale;
  switch (t.kind) {
    case "bands": {
      const f = z * inv;
      return f - Math.floor(f) < t.fill ? t.accent : base;
    }
    case "stripes": {
      const f = (x + y) * inv;
      return f - Math.floor(f) < t.fill ? t.accent : base;
    }
    case "checker":
      return ((Math.floor(x * inv) + Math.floor(y * inv) + Math.floor(z * inv)) & 1) === 0 ? t.accent : base;
    case "speckle": {
      const h = hash2(Math.floor(x * inv) + 7919 * Math.floor(z * inv), Math.floor(y * inv));
      if (h >= t.fill) return base;
      const m = 0.5 + h / (2 * t.fill);
      return [base[0] + (t.accent[0] - base[0]) * m, base[1] + (t.accent[1] - base[1]) * m, base[2] + (t.accent[2] - base[2]) * m];
    }
  }
}

/** Light multiplier of the spot-light pools at ground point (x, y). */
function spotGain(spots: number[], x: number, y: number): number {
  let gain = 1;
  for (let k = 0; k < spots.length; k += 4) {
    const ex = x - spots[k],
      ey = y - spots[k + 1],
      r = spots[k + 2];
    const q = (ex * ex + ey * ey) / (r * r);
    if (q < 1) gain += spots[k + 3] * (1 - q) * (1 - q);
  }
  return gain;
}

function smoothstep(a: number, b: number, x: number): number {
  const t = x <= a ? 0 : x >= b ? 1 : (x - a) / (b - a);
  return t * t * (3 - 2 * t);
}

/** Smooth value noise in [0, 1): bilinear between hashed lattice values, for worn turf and paint. */
function valueNoise(x: number, y: number): number {
  const x0 = Math.floor(x),
    y0 = Math.floor(y);
  let fx = x - x0,
    fy = y - y0;
  fx = fx * fx * (3 - 2 * fx);
  fy = fy * fy * (3 - 2 * fy);
  const a = hash2(x0, y0),
    b = hash2(x0 + 1, y0),
    c = hash2(x0, y0 + 1),
    d = hash2(x0 + 1, y0 + 1);
  return a + (b - a) * fx + (c - a) * fy + (a - b - c + d) * fx * fy;
}

/** Sine table for the light's slow unevenness over the field: Math.sin twice per pixel costs more than the rest of the lighting. */
const SINE_SIZE = 1024;
const SINE_MASK = SINE_SIZE - 1;
const SINE_SCALE = SINE_SIZE / (2 * Math.PI);
const SINE = Float32Array.from({ length: SINE_SIZE }, (_, i) => Math.sin((2 * Math.PI * i) / SINE_SIZE));

/** Deterministic hash of two integers to [0, 1): turf texture and wall panels. */
function hash2(a: number, b: number): number {
  let h = Math.imul(a | 0, 0x27d4eb2d) ^ Math.imul(b | 0, 0x165667b1);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}
