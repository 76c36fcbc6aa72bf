import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_CALIBRATION_FILE } from "../calib/calibration.js";
import { openDatasetWriter } from "./open-dataset-writer.js";
import { readDataset } from "./read-dataset.js";
import { pngImage, tempDir } from "./test-helpers.js";
import { inputError } from "../../test/support/input-error.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir("coco")));
afterEach(() => cleanup());

async function put(rel: string, content: string | Buffer): Promise<void> {
  await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
  await writeFile(path.join(dir, rel), content);
}

/** A hand-written COCO file, pretty-printed with 2-space indentation like most tools write it. */
function cocoText(overrides: { images?: unknown[]; annotations?: unknown[]; categories?: unknown[] } = {}): string {
  return JSON.stringify(
    {
      images: overrides.images ?? [
        { id: 7, file_name: "a.png", width: 200, height: 100 },
        { id: 8, file_name: "b.png", width: 200, height: 100 },
      ],
      annotations: overrides.annotations ?? [
        { id: 1, image_id: 7, category_id: 3, bbox: [20, 10, 40, 50], area: 2000, iscrowd: 0 },
        { id: 2, image_id: 7, category_id: 1, bbox: [150, 0, 50.5, 100.4], area: 5000, iscrowd: 0, ground: { x: 3, y: 1 } },
      ],
      categories: overrides.categories ?? [
        { id: 1, name: "robot" },
        { id: 3, name: "ball" },
      ],
    },
    null,
    2,
  );
}

async function writeImages(): Promise<void> {
  await put("images/a.png", await pngImage(200, 100));
  await put("images/b.png", await pngImage(200, 100));
}

describe("COCO import", () => {
  it("reads images, pixel boxes (clamping 1 px overshoot) and the fovea ground extension", async () => {
    await writeImages();
    await put("annotations/instances.json", cocoText());
    const ds = await readDataset(dir);
    expect(ds.format).toBe("coco");
    expect(ds.classes).toEqual(["robot", "ball"]);
    expect(ds.frames.map((f) => f.image)).toEqual(["images/a.png", "images/b.png"]);
    // ball [20,10,40,50] px in 200x100 -> x 0.1..0.3, y 0.1..0.6
    expect(ds.frames[0].objects[0]).toEqual({ label: "ball", box: { xMin: 0.1, yMin: 0.1, xMax: 0.3, yMax: 0.6 } });
    // robot [150,0,50.5,100.4] overshoots by 0.5 / 0.4 px -> clamped to 1
    expect(ds.frames[0].objects[1]).toEqual({ label: "robot", box: { xMin: 0.75, yMin: 0, xMax: 1, yMax: 1 }, ground: { x: 3, y: 1 } });
    expect(ds.frames[1].objects).toEqual([]);
  });

  it("reads a .json file given directly, resolving file_name beside it", async () => {
    await put("split/a.png", await pngImage(200, 100));
    await put("split/b.png", await pngImage(200, 100));
    await put("split/_annotations.coco.json", cocoText());
    const ds = await readDataset(path.join(dir, "split/_annotations.coco.json"));
    expect(ds.root).toBe(path.join(dir, "split"));
    expect(ds.frames.map((f) => f.image)).toEqual(["a.png", "b.png"]);
  });

  it("names file, line and field of broken references and boxes", async () => {
    await writeImages();
    const ann = (o: object) => [
      { id: 1, image_id: 7, category_id: 3, bbox: [20, 10, 40, 50] },
      { id: 2, image_id: 7, category_id: 1, bbox: [1, 1, 2, 2], ...o },
    ];
    const cases: Array<[string, RegExp, RegExp]> = [
      [cocoText({ annotations: ann({ image_id: 99 }) }), /annotations\.1\.image_id: no image has id 99/, /instances\.json:(\d+)$/],
      [
        cocoText({ annotations: ann({ category_id: 2 }) }),
        /annotations\.1\.category_id: no category has id 2 \(ids: 1, 3\)/,
        /instances\.json:(\d+)$/,
      ],
      [
        cocoText({ annotations: ann({ bbox: [190, 0, 20, 10] }) }),
        /annotations\.1\.bbox: \[190, 0, 20, 10\].*outside the 200x100 image/,
        /instances\.json:(\d+)$/,
      ],
      [
        cocoText({ annotations: ann({ bbox: [1, 1, 0, 10] }) }),
        /annotations\.1\.bbox: width and height must be > 0/,
        /instances\.json:(\d+)$/,
      ],
      [cocoText({ annotations: ann({ bbox: [1, 1, 2] }) }), /annotations\.1\.bbox/, /instances\.json:(\d+)$/],
    ];
    for (const [text, problem, where] of cases) {
      await put("instances.json", text);
      const err = await inputError(readDataset(dir));
      expect(err.problem).toMatch(problem);
      const m = where.exec(err.where);
      expect(m).not.toBeNull();
      // The line named is the line where annotations[1] starts in the pretty-printed text.
      const line = text.split("\n")[Number(m![1]) - 1];
      expect(line.trim()).toBe("{");
      expect(
        text
          .split("\n")
          .slice(Number(m![1]), Number(m![1]) + 2)
          .join(""),
      ).toMatch(/"id": 2,/);
    }
  });

  it("refuses an image size that contradicts the image, naming the file, the line and both sizes", async () => {
    await writeImages();
    // b.png is 200x100; this file says 400x200, in which every box of it would be half as large.
    const text = cocoText({
      images: [
        { id: 7, file_name: "a.png", width: 200, height: 100 },
        { id: 8, file_name: "b.png", width: 400, height: 200 },
      ],
      annotations: [{ id: 1, image_id: 8, category_id: 3, bbox: [300, 100, 40, 50] }],
    });
    await put("instances.json", text);
    const err = await inputError(readDataset(dir));
    expect(err.problem).toBe(
      `images.1: width x height 400x200 contradicts the image ${path.join(dir, "images", "b.png")}, which is 200x100; expected the image's own size (the boxes are in its pixels)`,
    );
    const [, line] = /instances\.json:(\d+)$/.exec(err.where)!;
    expect(
      text
        .split("\n")
        .slice(Number(line), Number(line) + 2)
        .join(""),
    ).toMatch(/"id": 8,/);
  });

  it("rejects a missing image, duplicate ids and invalid JSON with its position", async () => {
    await writeImages();
    await put(
      "instances.json",
      cocoText({
        images: [
          { id: 7, file_name: "a.png", width: 200, height: 100 },
          { id: 8, file_name: "nope.png", width: 200, height: 100 },
        ],
      }),
    );
    let err = await inputError(readDataset(dir));
    expect(err.problem).toMatch(/images\.1\.file_name: 'nope\.png' not found \(looked in /);
    await put(
      "instances.json",
      cocoText({
        categories: [
          { id: 1, name: "robot" },
          { id: 1, name: "ball" },
        ],
      }),
    );
    err = await inputError(readDataset(dir));
    expect(err.problem).toMatch(/categories\.1\.id: 1 is used by another category/);
    const broken = cocoText().replace('"iscrowd": 0\n    },', '"iscrowd": 0\n    }');
    await put("instances.json", broken);
    err = await inputError(readDataset(dir, { format: "coco" }));
    expect(err.problem).toMatch(/^invalid JSON/);
    expect(err.where).toMatch(/instances\.json:\d+:\d+$/);
    const [, line] = /:(\d+):\d+$/.exec(err.where)!;
    // The parser trips on the `{` that follows the missing comma.
    expect(broken.split("\n")[Number(line) - 1].trim()).toBe("{");
  });
});

describe("COCO export", () => {
  it("writes one object per line with 1-based ids, pixel boxes and the ground extension", async () => {
    const w = await openDatasetWriter(dir, "coco", ["ball", "robot"], { calibration: DEFAULT_CALIBRATION_FILE });
    await w.add(
      {
        image: "images/a.png",
        width: 200,
        height: 100,
        objects: [{ label: "robot", box: { xMin: 0.1, yMin: 0.2, xMax: 0.3, yMax: 0.7 }, ground: { x: 2, y: -1 } }],
      },
      await pngImage(200, 100),
    );
    await w.close();
    const text = await readFile(path.join(dir, "annotations.json"), "utf8");
    const coco = JSON.parse(text);
    expect(coco.info.calibration).toBe("calibration.json");
    expect((await readDataset(dir)).calibration).toBe(path.join(dir, "calibration.json"));
    expect(coco.images).toEqual([{ id: 1, file_name: "images/a.png", width: 200, height: 100 }]);
    // 0.1*200 = 20, 0.2*100 = 20, w 0.2*200 = 40, h 0.5*100 = 50
    expect(coco.annotations).toEqual([
      { id: 1, image_id: 1, category_id: 2, bbox: [20, 20, 40, 50], area: 2000, iscrowd: 0, ground: { x: 2, y: -1 } },
    ]);
    expect(coco.categories.map((c: { id: number; name: string }) => [c.id, c.name])).toEqual([
      [1, "ball"],
      [2, "robot"],
    ]);
    expect(text.split("\n").find((l) => l.includes('"image_id"'))).toMatch(/^ {4}\{"id":1,"image_id":1,/);
  });
});
