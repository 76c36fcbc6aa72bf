import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convertDataset } from "./convert-dataset.js";
import { openDatasetWriter } from "./open-dataset-writer.js";
import { readDataset } from "./read-dataset.js";
import type { Dataset, TaggedFrame } from "./tagged-frame.js";
import { pngImage, tempDir } from "./test-helpers.js";

const CLASSES = ["ball", "goal_post", "robot", "X_crossing"];

/** Frames with awkward numbers (thirds, sevenths) so rounding in each format shows. */
function makeFrames(): TaggedFrame[] {
  const frames: TaggedFrame[] = [];
  for (let i = 0; i < 5; i++) {
    frames.push({
      image: `images/${String(i).padStart(4, "0")}.png`,
      width: 96,
      height: 64,
      objects: Array.from({ length: i }, (_, k) => ({
        label: CLASSES[(i + k) % CLASSES.length],
        box: { xMin: k / 7, yMin: 1 / 3, xMax: k / 7 + 1 / 9, yMax: 1 / 3 + 0.2 * ((k % 3) + 1) },
        ground: { x: 1 + i / 3, y: 0.5 - k / 7 },
      })),
    });
  }
  return frames;
}

function expectSameFrames(actual: Dataset, expected: TaggedFrame[], tolerance: number, withGround: boolean): void {
  expect(actual.classes).toEqual(CLASSES);
  expect(actual.frames.map((f) => [f.image, f.width, f.height, f.objects.map((o) => o.label)])).toEqual(
    expected.map((f) => [f.image, f.width, f.height, f.objects.map((o) => o.label)]),
  );
  actual.frames.forEach((f, i) =>
    f.objects.forEach((o, k) => {
      const e = expected[i].objects[k];
      for (const key of ["xMin", "yMin", "xMax", "yMax"] as const) expect(Math.abs(o.box[key] - e.box[key])).toBeLessThanOrEqual(tolerance);
      expect(o.ground).toEqual(withGround ? e.ground : undefined);
    }),
  );
}

let dir: string;
let cleanup: () => Promise<void>;
const frames = makeFrames();
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir("convert"));
  const w = await openDatasetWriter(path.join(dir, "native"), "native", CLASSES);
  for (const [i, f] of frames.entries()) await w.add(f, await pngImage(f.width, f.height, i * 40));
  await w.close();
});
afterAll(() => cleanup());

describe("convertDataset", () => {
  it("native -> yolo -> native keeps classes, images and boxes to 1e-6 (YOLO has no ground)", async () => {
    const toYolo = await convertDataset(path.join(dir, "native"), path.join(dir, "yolo"), "yolo");
    expect(toYolo).toMatchObject({ frames: 5, objects: 10, droppedGround: 10 });
    const yolo = await readDataset(path.join(dir, "yolo"));
    expect(yolo.format).toBe("yolo");
    // 6 decimals on centre and size: each edge is off by at most 0.5e-6 + 0.5e-6 / 2.
    expectSameFrames(yolo, frames, 1e-6, false);
    await convertDataset(path.join(dir, "yolo"), path.join(dir, "yolo-native"), "native");
    const back = await readDataset(path.join(dir, "yolo-native"));
    expect(back.format).toBe("native");
    expectSameFrames(back, frames, 1e-6, false);
    expect(await readFile(path.join(dir, "yolo-native/images/0003.png"))).toEqual(await readFile(path.join(dir, "native/images/0003.png")));
  });

  it("native -> coco -> native keeps ground positions and boxes to 1e-4 px", async () => {
    await convertDataset(path.join(dir, "native"), path.join(dir, "coco"), "coco");
    const coco = await readDataset(path.join(dir, "coco"));
    expect(coco.format).toBe("coco");
    // Pixel values are rounded to 1e-4 px; a 96 px wide image makes that ~1e-6 normalised.
    expectSameFrames(coco, frames, 1e-4 / 64, true);
    await convertDataset(path.join(dir, "coco"), path.join(dir, "coco-native"), "native");
    expectSameFrames(await readDataset(path.join(dir, "coco-native")), frames, 1e-4 / 64, true);
  });

  it("refuses to write over its source", async () => {
    await expect(convertDataset(path.join(dir, "native"), path.join(dir, "native"), "yolo")).rejects.toThrow(/dst: .* is the source/);
  });
});
