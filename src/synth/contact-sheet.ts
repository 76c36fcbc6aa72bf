/**
 * A contact sheet: rendered frames in a grid with their ground-truth boxes and class names drawn
 * on, so a person can check the data at a glance. Drawing is SVG rasterised by sharp (librsvg).
 */
import sharp from "sharp";
import type { LabelledObject } from "../dataset/tagged-frame.js";

export interface SheetFrame {
  /** Encoded image (JPEG/PNG) or raw RGB when `raw` is set. */
  data: Buffer;
  width: number;
  height: number;
  raw?: boolean;
  labels: LabelledObject[];
}

const COLOURS: Record<string, string> = {
  ball: "#ff3030",
  goal_post: "#ffff40",
  robot: "#30a0ff",
  obstacle: "#ff9020",
  L_crossing: "#ff40ff",
  T_crossing: "#40ffff",
  X_crossing: "#a0ff40",
  penalty_spot: "#ffffff",
};

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function overlay(frame: SheetFrame, w: number, h: number): Buffer {
  const parts = frame.labels.map((l) => {
    const x = l.box.xMin * w,
      y = l.box.yMin * h,
      bw = (l.box.xMax - l.box.xMin) * w,
      bh = (l.box.yMax - l.box.yMin) * h;
    const c = COLOURS[l.label] ?? "#ffffff";
    const ty = y > 12 ? y - 3 : y + bh + 11;
    return (
      `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${bw.toFixed(1)}" height="${bh.toFixed(1)}" fill="none" stroke="${c}" stroke-width="1.5"/>` +
      `<text x="${x.toFixed(1)}" y="${ty.toFixed(1)}" font-family="sans-serif" font-size="10" fill="${c}" stroke="black" stroke-width="0.3">${escapeXml(l.label)}</text>`
    );
  });
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">${parts.join("")}</svg>`);
}

/**
 * Lay `frames` out `columns` wide, each scaled to `tileWidth` pixels, boxes drawn; returns a PNG.
 */
export async function contactSheet(frames: SheetFrame[], options: { columns?: number; tileWidth?: number } = {}): Promise<Buffer> {
  if (frames.length === 0) throw new RangeError("frames: need at least one frame for a contact sheet");
  const columns = options.columns ?? Math.ceil(Math.sqrt(frames.length));
  const tileWidth = options.tileWidth ?? 320;
  if (!Number.isInteger(columns) || columns <= 0) throw new RangeError(`columns must be a positive integer, got ${columns}`);
  const tileHeight = Math.round((tileWidth * frames[0].height) / frames[0].width);
  const gap = 4;
  const tiles = await Promise.all(
    frames.map(async (f, i) => {
      const img = f.raw ? sharp(f.data, { raw: { width: f.width, height: f.height, channels: 3 } }) : sharp(f.data);
      const scaled = await img.resize(tileWidth, tileHeight, { fit: "fill" }).png().toBuffer();
      const input = await sharp(scaled)
        .composite([{ input: overlay(f, tileWidth, tileHeight) }])
        .png()
        .toBuffer();
      return { input, left: (i % columns) * (tileWidth + gap), top: Math.floor(i / columns) * (tileHeight + gap) };
    }),
  );
  const rows = Math.ceil(frames.length / columns);
  return sharp({
    create: {
      width: columns * (tileWidth + gap) - gap,
      height: rows * (tileHeight + gap) - gap,
      channels: 3,
      background: { r: 20, g: 20, b: 20 },
    },
  })
    .composite(tiles)
    .png()
    .toBuffer();
}
