import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDatasetWriter } from "./open-dataset-writer.js";
import { readDataset } from "./read-dataset.js";
import type { TaggedFrame } from "./tagged-frame.js";
import { pngImage, tempDir } from "./test-helpers.js";
import { inputError } from "../../test/support/input-error.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir("yolo")));
afterEach(() => cleanup());

async function put(rel: string, content: string | Buffer): Promise<void> {
  await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
  await writeFile(path.join(dir, rel), content);
}

/** A valid images/ + labels/ dataset: 100x50 images, 3 classes. */
async function writeValidSplitLayout(): Promise<void> {
  await put("classes.txt", "ball\ngoal_post\nrobot\n");
  await put("images/a.png", await pngImage(100, 50));
  await put("images/b.png", await pngImage(100, 50));
  await put("images/c.png", await pngImage(100, 50));
  // Ball centred at (25, 10) px, 10x10 px -> x 20..30 -> 0.2..0.3, y 5..15 -> 0.1..0.3.
  await put("labels/a.txt", "0 0.25 0.2 0.1 0.2\n2 0.5 0.5 0.5 1\n");
  await put("labels/b.txt", "");
  // c.png has no label file: a background frame.
}

describe("YOLO import", () => {
  it("reads the images/ + labels/ layout with sizes from the image headers", async () => {
    await writeValidSplitLayout();
    const ds = await readDataset(dir);
    expect(ds.format).toBe("yolo");
    expect(ds.classes).toEqual(["ball", "goal_post", "robot"]);
    expect(ds.frames.map((f) => [f.image, f.width, f.height, f.objects.length])).toEqual([
      ["images/a.png", 100, 50, 2],
      ["images/b.png", 100, 50, 0],
      ["images/c.png", 100, 50, 0],
    ]);
    const [ball, robot] = ds.frames[0].objects;
    expect(ball.label).toBe("ball");
    expect(ball.box.xMin).toBeCloseTo(0.2, 12);
    expect(ball.box.xMax).toBeCloseTo(0.3, 12);
    expect(ball.box.yMin).toBeCloseTo(0.1, 12);
    expect(ball.box.yMax).toBeCloseTo(0.3, 12);
    expect(robot).toEqual({ label: "robot", box: { xMin: 0.25, yMin: 0, xMax: 0.75, yMax: 1 } });
  });

  it("reads the same-folder layout with obj.names, in split folders (Roboflow darknet)", async () => {
    await put("train/_darknet.labels", "ball\nrobot\n");
    await put("train/x.jpg", await pngImage(40, 40)); // PNG bytes under .jpg: sharp sniffs the content
    await put("train/x.txt", "1 0.5 0.5 0.25 0.25\n");
    await put("valid/_darknet.labels", "ball\nrobot\n");
    await put("valid/y.png", await pngImage(20, 10));
    await put("valid/y.txt", "0 0.5 0.5 0.5 0.5\n");
    const ds = await readDataset(dir, { format: "yolo" });
    expect(ds.frames.map((f) => [f.image, f.width, f.height, f.objects.map((o) => o.label)])).toEqual([
      ["train/x.jpg", 40, 40, ["robot"]],
      ["valid/y.png", 20, 10, ["ball"]],
    ]);
  });

  it("reads an Ultralytics/Roboflow data.yaml (list or index map) with split folders", async () => {
    await put("data.yaml", "train: ../train/images\nval: ../valid/images\nnc: 2\nnames: ['ball', 'robot']\n");
    await put("train/images/p.jpg", await pngImage(30, 20));
    await put("train/labels/p.txt", "1 0.5 0.5 0.2 0.2\n");
    await put("valid/images/q.png", await pngImage(30, 20));
    let ds = await readDataset(dir);
    expect(ds.format).toBe("yolo");
    expect(ds.classes).toEqual(["ball", "robot"]);
    expect(ds.frames.map((f) => [f.image, f.objects.map((o) => o.label)])).toEqual([
      ["train/images/p.jpg", ["robot"]],
      ["valid/images/q.png", []],
    ]);
    await put("data.yaml", "names:\n  0: ball\n  1: robot\n");
    ds = await readDataset(dir);
    expect(ds.classes).toEqual(["ball", "robot"]);
    const cases: Array<[string, RegExp, RegExp]> = [
      ["nc: 3\nnames: [ball, robot]\n", /data\.yaml:1$/, /nc: 3 but names lists 2 classes/],
      ["path: .\nnames:\n  0: ball\n  2: robot\n", /data\.yaml:3$/, /names: expected class indices 0\.\.1 in order, got '2'/],
      ["train: x\n", /data\.yaml$/, /names: expected a list of class names/],
      ["names: [ball, robot\n", /data\.yaml:\d+$/, /invalid YAML/],
    ];
    for (const [text, where, problem] of cases) {
      await put("data.yaml", text);
      const err = await inputError(readDataset(dir));
      expect(err.where).toMatch(where);
      expect(err.problem).toMatch(problem);
    }
  });

  it("names file and line of every malformed label", async () => {
    const cases: Array<[string, RegExp]> = [
      ["0 0.5 0.5 0.1\n", /expected 5 fields 'class cx cy w h', got 4/],
      ["0 0.5 0.5 0.1 0.1 0.9\n", /expected 5 fields 'class cx cy w h', got 6/],
      ["3 0.5 0.5 0.1 0.1\n", /class: index 3 is out of range: the classes file names 3 classes \(0\.\.2\)/],
      ["-1 0.5 0.5 0.1 0.1\n", /class: expected a class index/],
      ["ball 0.5 0.5 0.1 0.1\n", /class: expected a class index/],
      ["0 1.5 0.5 0.1 0.1\n", /cx: expected a normalised coordinate 0\.\.1, got 1\.5/],
      ["0 0.5 -0.2 0.1 0.1\n", /cy: expected a normalised coordinate 0\.\.1, got -0\.2/],
      ["0 0.5 0.5 abc 0.1\n", /w: expected a number, got 'abc'/],
      ["0 0.5 0.5 0 0.1\n", /expected a box of positive size/],
      ["0 0.95 0.5 0.2 0.1\n", /box xMax = 1\.0500 lies outside the image/],
    ];
    await writeValidSplitLayout();
    for (const [line, problem] of cases) {
      await put("labels/a.txt", "1 0.5 0.5 0.1 0.1\n\n" + line);
      const err = await inputError(readDataset(dir));
      expect(err.where).toBe(path.join(dir, "labels/a.txt:3"));
      expect(err.problem).toMatch(problem);
    }
  });

  it("rejects a label file without its image, naming where it looked", async () => {
    await writeValidSplitLayout();
    await put("labels/zzz.txt", "0 0.5 0.5 0.1 0.1\n");
    const err = await inputError(readDataset(dir));
    expect(err.where).toBe(path.join(dir, "labels/zzz.txt"));
    expect(err.problem).toMatch(/label file without an image: looked for images\/zzz\.png/);
    await put("images/zzz.bmp", "BM");
    const bmp = await inputError(readDataset(dir));
    expect(bmp.where).toBe(path.join(dir, "images/zzz.bmp"));
    expect(bmp.problem).toMatch(/BMP images cannot be decoded/);
  });

  it("rejects classes files that disagree, empty class lines and a folder without classes", async () => {
    await writeValidSplitLayout();
    await put("obj.names", "ball\nrobot\n");
    expect((await inputError(readDataset(dir))).problem).toMatch(/names other classes/);
    await put("obj.names", "ball\ngoal_post\nrobot\n");
    expect((await readDataset(dir)).frames).toHaveLength(3);
    await put("classes.txt", "ball\n\nrobot\n");
    await put("obj.names", "ball\n\nrobot\n");
    const err = await inputError(readDataset(dir));
    expect(err.where).toMatch(/(classes\.txt|obj\.names):2$/);
    expect(err.problem).toMatch(/empty class name/);
    const { dir: empty, cleanup: c2 } = await tempDir("yolo-empty");
    await writeFile(path.join(empty, "notes.md"), "hi");
    expect((await inputError(readDataset(empty))).problem).toMatch(/no dataset found/);
    expect((await inputError(readDataset(empty, { format: "yolo" }))).problem).toMatch(/no YOLO classes file/);
    await c2();
  });
});

describe("YOLO export", () => {
  const frames: TaggedFrame[] = [
    {
      image: "images/f0.png",
      width: 64,
      height: 48,
      objects: [
        { label: "robot", box: { xMin: 0.1, yMin: 0.2, xMax: 0.4, yMax: 0.9 } },
        { label: "ball", box: { xMin: 1 / 3, yMin: 0.5, xMax: 0.5, yMax: 0.75 }, ground: { x: 1, y: 0 } },
      ],
    },
    { image: "images/f1.png", width: 64, height: 48, objects: [] },
  ];

  async function writeYolo(root: string): Promise<void> {
    const w = await openDatasetWriter(root, "yolo", ["ball", "robot"]);
    const img = await pngImage(64, 48);
    for (const f of frames) await w.add(f, img);
    await w.close();
  }

  it("writes classes.txt and labels/ with fixed 6-decimal numbers, byte-identical every time", async () => {
    await writeYolo(path.join(dir, "one"));
    await writeYolo(path.join(dir, "two"));
    const read = (p: string) => readFile(path.join(dir, p));
    expect(await read("one/classes.txt")).toEqual(Buffer.from("ball\nrobot\n"));
    // robot: cx (0.1+0.4)/2 = 0.25, cy (0.2+0.9)/2 = 0.55, w 0.3, h 0.7 (class 1)
    // ball: cx (1/3+1/2)/2 = 0.416667, cy 0.625, w 1/6 = 0.166667, h 0.25 (class 0)
    expect((await read("one/labels/f0.txt")).toString()).toBe(
      "1 0.250000 0.550000 0.300000 0.700000\n0 0.416667 0.625000 0.166667 0.250000\n",
    );
    expect((await read("one/labels/f1.txt")).toString()).toBe("");
    for (const f of ["classes.txt", "labels/f0.txt", "labels/f1.txt", "images/f0.png"])
      expect(await read(`two/${f}`)).toEqual(await read(`one/${f}`));
    const ds = await readDataset(path.join(dir, "one"));
    expect(ds.frames[0].objects[1].box.xMin).toBeCloseTo(1 / 3, 6);
    expect(ds.frames[0].objects[1].ground).toBeUndefined();
  });
});
