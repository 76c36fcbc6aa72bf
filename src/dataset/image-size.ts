/**
 * Pixel size of an image file from its header (sharp reads the header only, no decoding).
 * Cached per path, size and modification time, so reading the same dataset again in one process
 * (train, then eval) costs one stat per image.
 */
import { stat } from "node:fs/promises";
import sharp, { type Metadata } from "sharp";
import { FoveaInputError } from "../core/errors.js";

const cache = new Map<string, { key: string; width: number; height: number }>();

export async function imageSize(file: string): Promise<{ width: number; height: number }> {
  const st = await stat(file);
  const key = `${st.size}:${st.mtimeMs}`;
  const hit = cache.get(file);
  if (hit && hit.key === key) return { width: hit.width, height: hit.height };
  let meta: Metadata;
  try {
    meta = await sharp(file).metadata();
  } catch (err) {
    throw new FoveaInputError(file, `cannot read the image header: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (!meta.width || !meta.height) throw new FoveaInputError(file, "image header has no width/height");
  cache.set(file, { key, width: meta.width, height: meta.height });
  return { width: meta.width, height: meta.height };
}

/** Run `fn` over `items` with at most `limit` in flight (image headers: I/O bound). */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
