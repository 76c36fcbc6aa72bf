/**
 * Field-line paint coverage at a ground point, for the renderer's per-pixel loop. The lines sit
 * in a coarse grid so that a pixel tests the one or two segments near it, not all two dozen.
 */
import type { FieldLines } from "./field.js";

/** Grid cell size, metres. */
const CELL = 0.5;
/** Segments within this distance of a cell are listed in it; wider pixel footprints test every segment. */
const MARGIN = 0.3;

export class FieldLineIndex {
  /** Per segment: orientation (0 = constant y, 1 = constant x), at, from, to. */
  private readonly segs: Float64Array;
  private readonly count: number;
  private readonly circle: number;
  private readonly hw: number;
  private readonly x0: number;
  private readonly y0: number;
  private readonly nx: number;
  private readonly ny: number;
  /** Per cell: start offset into items (length nx*ny+1); bit 30 of an item marks the circle. */
  private readonly offsets: Int32Array;
  private readonly items: Int32Array;

  constructor(lines: FieldLines) {
    const segs: number[] = [];
    for (const s of lines.alongX) segs.push(0, s.at, s.from, s.to);
    for (const s of lines.alongY) segs.push(1, s.at, s.from, s.to);
    this.segs = Float64Array.from(segs);
    this.count = segs.length / 4;
    this.circle = lines.circleRadius;
    this.hw = lines.halfWidth;
    let xMax = 0,
      yMax = 0;
    for (let i = 0; i < this.count; i++) {
      const [o, at, , to] = [segs[4 * i], segs[4 * i + 1], segs[4 * i + 2], segs[4 * i + 3]];
      xMax = Math.max(xMax, Math.abs(o === 0 ? to : at));
      yMax = Math.max(yMax, Math.abs(o === 0 ? at : to));
    }
    this.x0 = -(xMax + 1);
    this.y0 = -(yMax + 1);
    this.nx = Math.ceil((2 * (xMax + 1)) / CELL);
    this.ny = Math.ceil((2 * (yMax + 1)) / CELL);
    const reach = MARGIN + this.hw;
    const offsets = new Int32Array(this.nx * this.ny + 1);
    const items: number[] = [];
    for (let cy = 0; cy < this.ny; cy++) {
      for (let cx = 0; cx < this.nx; cx++) {
        offsets[cy * this.nx + cx] = items.length;
        const xa = this.x0 + cx * CELL,
          ya = this.y0 + cy * CELL;
        for (let i = 0; i < this.count; i++) {
          const o = segs[4 * i],
            at = segs[4 * i + 1],
            from = segs[4 * i + 2],
            to = segs[4 * i + 3];
          // Segment's bounding rectangle, grown by reach, against the cell.
          const sx0 = (o === 0 ? from : at) - reach,
            sx1 = (o === 0 ? to : at) + reach;
          const sy0 = (o === 0 ? at : from) - reach,
            sy1 = (o === 0 ? at : to) + reach;
          if (sx1 >= xa && sx0 <= xa + CELL && sy1 >= ya && sy0 <= ya + CELL) items.push(i);
        }
        // Circle: nearest and farthest distance of the cell from the centre bracket the radius.
        const nearX = Math.max(xa, Math.min(0, xa + CELL)),
          nearY = Math.max(ya, Math.min(0, ya + CELL));
        const near = Math.hypot(nearX, nearY);
        const far = Math.hypot(Math.max(Math.abs(xa), Math.abs(xa + CELL)), Math.max(Math.abs(ya), Math.abs(ya + CELL)));
        if (near <= this.circle + reach && far >= this.circle - reach) items.push(1 << 30);
      }
    }
    offsets[this.nx * this.ny] = items.length;
    this.offsets = offsets;
    this.items = Int32Array.from(items);
  }

  /** Coverage (0..1) of line paint at ground point (x, y) for a pixel footprint `foot` metres wide. */
  coverage(x: number, y: number, foot: number): number {
    const hw = this.hw;
    const reach = hw + foot;
    let best = 0;
    const cx = Math.floor((x - this.x0) / CELL),
      cy = Math.floor((y - this.y0) / CELL);
    if (cx < 0 || cy < 0 || cx >= this.nx || cy >= this.ny) return 0;
    if (foot > MARGIN) {
      for (let i = 0; i < this.count; i++) best = Math.max(best, this.segment(i, x, y, reach, foot));
      best = Math.max(best, this.ring(x, y, reach, foot));
    } else {
      const cell = cy * this.nx + cx;
      for (let k = this.offsets[cell], end = this.offsets[cell + 1]; k < end; k++) {
        const item = this.items[k];
        const c = item === 1 << 30 ? this.ring(x, y, reach, foot) : this.segment(item, x, y, reach, foot);
        if (c > best) best = c;
      }
    }
    // A line narrower than the footprint covers at most its share of the pixel.
    const cap = Math.min(1, (2 * hw) / foot);
    return best <= 0 ? 0 : Math.min(best, cap);
  }

  private segment(i: number, x: number, y: number, reach: number, foot: number): number {
    const s = this.segs;
    const alongY = s[4 * i] === 1;
    const d = Math.abs((alongY ? x : y) - s[4 * i + 1]);
    if (d >= reach) return 0;
    const p = alongY ? y : x,
      from = s[4 * i + 2],
      to = s[4 * i + 3];
    const e = p < from ? from - p : p > to ? p - to : 0;
    if (e >= reach) return 0;
    const dist = e > 0 ? Math.sqrt(d * d + e * e) : d;
    return (this.hw - dist) / foot + 0.5;
  }

  private ring(x: number, y: number, reach: number, foot: number): number {
    const dc = Math.abs(Math.sqrt(x * x + y * y) - this.circle);
    return dc < reach ? (this.hw - dc) / foot + 0.5 : 0;
  }
}
