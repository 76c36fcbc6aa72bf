/** Small real images and temp folders for the dataset tests (not a mock: sharp encodes real PNGs). */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";

export async function pngImage(width: number, height: number, shade = 90): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: shade, g: 160, b: 60 } } })
    .png()
    .toBuffer();
}

/** A fresh temp folder; call the returned cleanup in afterEach/afterAll. */
export async function tempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `fovea-${prefix}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
