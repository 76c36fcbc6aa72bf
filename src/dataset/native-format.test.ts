import { copyFile, mkdir, readFile, writeFile, unlink } from "node:fs/promises";
import { DEFAULT_CALIBRATION_FILE } from "../calib/calibration.js";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FoveaInputError } from "../core/errors.js";
import { openDatasetWriter } from "./open-dataset-writer.js";
import { readDataset } from "./read-dataset.js";
import type { TaggedFrame } from "./tagged-frame.js";
import { pngImage, tempDir } from "./test-helpers.js";

const CLASSES = ["ball", "goal_post", "L_crossing"];
const FRAMES: TaggedFrame[] = [
  {
    image: "images/000000.png",
    width: 64,
    height: 48,
    objects: [
      { label: "ball", box: { xMin: 0.1, yMin: 0.2, xMax: 0.3, yMax: 0.45 }, ground: { x: 2.5, y: -0.25 } },
      { label: "L_crossing", box: { xMin: 0.6, yMin: 0.7, xMax: 0.62, yMax: 0.73 } },
    ],
  },
  { image: "images/000001.png", width: 64, height: 48, objects: [] },
];

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir("native")));
afterEach(() => cleanup());

async function writeNative(root: string, options = {}): Promise<void> {
  const w = await openDatasetWriter(root, "native", CLASSES, options);
  for (const f of FRAMES) await w.add(f, await pngImage(f.width, f.height));
  await w.close();
}

async function expectInputError(p: Promise<unknown>, where: RegExp, problem: RegExp): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FoveaInputError);
  expect((err as FoveaInputError).where).toMatch(where);
  expect((err as FoveaInputError).problem).toMatch(problem);
}

describe("native dataset format", () => {
  it("writes the manifest, one JSON line per frame and the images, and reads them back", async () => {
    await writeNative(dir, { calibration: DEFAULT_CALIBRATION_FILE });
    const manifest = JSON.parse(await readFile(path.join(dir, "fovea-dataset.json"), "utf8"));
    // A calibration from outside is copied in, so the dataset can move.
    expect(manifest).toEqual({ format: "fovea-dataset", formatVersion: 1, classes: CLASSES, calibration: "calibration.json" });
    expect(await readFile(path.join(dir, "calibration.json"))).toEqual(await readFile(DEFAULT_CALIBRATION_FILE));
    const lines = (await readFile(path.join(dir, "labels.jsonl"), "utf8")).trimEnd().split("\n");
    expect(lines.map((l) => JSON.parse(l))).toEqual(FRAMES);

    const ds = await readDataset(dir);
    expect(ds.format).toBe("native");
    expect(ds.root).toBe(path.resolve(dir));
    expect(ds.classes).toEqual(CLASSES);
    expect(ds.frames).toEqual(FRAMES);
    expect(ds.calibration).toBe(path.join(dir, "calibration.json"));
  });

  it("keeps a frame's own camera pose (a moving head) through write and read", async () => {
    const mount = { x: 0.03, y: 0, height: 1.28, pitch: 31.5, roll: -2, yaw: 40 };
    const w = await openDatasetWriter(dir, "native", CLASSES);
    await w.add({ image: "images/000000.png", width: 64, height: 48, objects: [], mount }, await pngImage(64, 48));
    await w.close();
    expect((await readDataset(dir)).frames[0].mount).toEqual(mount);
  });

  it("is refused as incomplete until its writer finished (each format writes its manifest or labels file last)", async () => {
    const problem = {
      native: /incomplete native dataset/,
      yolo: /incomplete YOLO dataset/,
      coco: /incomplete dataset: images\/ without labels/,
    };
    for (const format of ["native", "yolo", "coco"] as const) {
      const root = path.join(dir, format);
      const w = await openDatasetWriter(root, format, CLASSES);
      await w.add(FRAMES[0], await pngImage(FRAMES[0].width, FRAMES[0].height));
      // An interrupted writer (fovea synth killed) leaves the frames written so far and no manifest.
      await new Promise((r) => setTimeout(r, 50));
      await expectInputError(readDataset(root), new RegExp(format), problem[format]);
      await w.close();
      expect((await readDataset(root)).frames).toHaveLength(1);
    }
  });

  it("refuses a non-empty folder unless told to overwrite, which keeps files it does not own", async () => {
    await writeNative(dir);
    await expect(openDatasetWriter(dir, "native", CLASSES)).rejects.toThrow(/not empty/);
    await mkdir(path.join(dir, "cam"));
    await copyFile(DEFAULT_CALIBRATION_FILE, path.join(dir, "cam/head.json"));
    await writeNative(dir, { overwrite: true, calibration: path.join(dir, "cam/head.json") });
    const ds = await readDataset(dir);
    expect(ds.frames).toHaveLength(2);
    // Already inside the dataset: referenced, not copied.
    expect(ds.calibration).toBe(path.join(dir, "cam/head.json"));
    await expect(openDatasetWriter(path.join(dir, "z"), "native", CLASSES, { calibration: path.join(dir, "none.json") })).rejects.toThrow(
      /options\.calibration: .*none\.json' is not a file/,
    );
  });

  it("rejects bad frames handed to the writer, naming the field", async () => {
    const w = await openDatasetWriter(dir, "native", CLASSES);
    const img = await pngImage(8, 8);
    await expect(
      w.add({ image: "a.png", width: 8, height: 8, objects: [{ label: "robot", box: { xMin: 0, yMin: 0, xMax: 1, yMax: 1 } }] }, img),
    ).rejects.toThrow(/frame\.objects\[0\]\.label: 'robot' is not one of/);
    await expect(
      w.add({ image: "a.png", width: 8, height: 8, objects: [{ label: "ball", box: { xMin: 0, yMin: 0, xMax: 1.2, yMax: 1 } }] }, img),
    ).rejects.toThrow(/frame\.objects\[0\]\.box: xMax: expected 0\.\.1/);
    await expect(w.add({ image: "../a.png", width: 8, height: 8, objects: [] }, img)).rejects.toThrow(
      /frame\.image: expected a path inside/,
    );
    await expect(w.add({ image: "a.txt", width: 8, height: 8, objects: [] }, img)).rejects.toThrow(
      /frame\.image: expected an image file name/,
    );
    await w.close();
    await expect(openDatasetWriter(path.join(dir, "x"), "native", ["ball", "ball"])).rejects.toThrow(
      /classes: class 1: 'ball' appears twice/,
    );
    await expect(openDatasetWriter(path.join(dir, "y"), "voc" as never, CLASSES)).rejects.toThrow(RangeError);
  });

  it("names file, line and column of a JSON syntax error", async () => {
    await writeNative(dir);
    const file = path.join(dir, "labels.jsonl");
    const lines = (await readFile(file, "utf8")).split("\n");
    lines[1] = lines[1].replace('"width":64', '"width" 64');
    await writeFile(file, lines.join("\n"));
    await expectInputError(readDataset(dir), /labels\.jsonl:2:\d+$/, /invalid JSON/);
  });

  it("names file, line and field of each malformed label", async () => {
    await writeNative(dir);
    const file = path.join(dir, "labels.jsonl");
    const original = await readFile(file, "utf8");
    const cases: Array<[string, string, RegExp]> = [
      ['"label":"ball"', '"label":"robot"', /objects\.0\.label: 'robot' is not one of the classes/],
      ['"xMin":0.1', '"xMin":-0.1', /objects\.0\.box\.xMin: expected 0\.\.1/],
      ['"xMin":0.1', '"xMin":0.5', /objects\.0\.box\.xMin \(0\.5\) must be less than xMax/],
      ['"width":64', '"width":"64"', /width: /],
      ['"ground":{"x":2.5', '"ground":{"x":null', /objects\.0\.ground\.x: /],
    ];
    for (const [from, to, problem] of cases) {
      await writeFile(file, original.replace(from, to));
      await expectInputError(readDataset(dir), /labels\.jsonl:1$/, problem);
    }
    await writeFile(file, original + original.split("\n")[0] + "\n");
    await expectInputError(readDataset(dir), /labels\.jsonl:3$/, /already labelled on line 1/);
    await writeFile(file, original);
    await unlink(path.join(dir, "images/000001.png"));
    await expectInputError(readDataset(dir), /labels\.jsonl:2$/, /image: 'images\/000001\.png' does not exist/);
  });

  it("names the manifest field that is wrong", async () => {
    await writeNative(dir);
    await writeFile(path.join(dir, "fovea-dataset.json"), JSON.stringify({ format: "fovea-dataset", formatVersion: 2, classes: CLASSES }));
    await expectInputError(readDataset(dir), /fovea-dataset\.json$/, /formatVersion/);
  });
});
