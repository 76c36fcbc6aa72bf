import { describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path, { join } from "node:path";
import sharp from "sharp";
import { runSynth, type SynthFlags } from "../src/cli/synth.js";
import { DEFAULT_CLASSES } from "../src/core/detection.js";
import { FoveaInputError } from "../src/core/errors.js";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "..");
const CLI = join(ROOT, "dist", "cli", "main.js");

const flags = (over: Partial<SynthFlags>): SynthFlags => ({
  frames: "24",
  size: "160x120",
  format: "yolo",
  seed: "7",
  fps: "30",
  imageFormat: "jpeg",
  threads: "0",
  ...over,
});

async function filesUnder(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) {
      const p = join(e.parentPath, e.name);
      out.set(p.slice(dir.length), await readFile(p));
    }
  }
  return out;
}

describe("fovea synth", () => {
  it("writes YOLO images, labels and classes; the same seed gives byte-identical labels", async () => {
    const root = await mkdtemp(join(tmpdir(), "fovea-synth-"));
    await runSynth(flags({ out: join(root, "a"), contactSheet: join(root, "sheet.png") }));
    await runSynth(flags({ out: join(root, "b") }));
    await runSynth(flags({ out: join(root, "c"), seed: "8" }));
    // the built CLI on two worker threads renders the very same bytes as one in-process renderer
    await run(process.execPath, [
      CLI,
      "synth",
      "--frames",
      "24",
      "--size",
      "160x120",
      "--format",
      "yolo",
      "--seed",
      "7",
      "--threads",
      "2",
      "--out",
      join(root, "d"),
    ]);
    const d = await filesUnder(join(root, "d"));
    const a = await filesUnder(join(root, "a")),
      b = await filesUnder(join(root, "b")),
      c = await filesUnder(join(root, "c"));
    const images = [...a.keys()].filter((k) => k.startsWith("/images/"));
    const labels = [...a.keys()].filter((k) => k.startsWith("/labels/"));
    expect(images).toHaveLength(24);
    expect(labels.length).toBeGreaterThan(12); // frames with nothing visible have no label file
    expect(a.get("/classes.txt")!.toString().trim().split("\n")).toEqual([...DEFAULT_CLASSES]);
    for (const k of labels) expect(a.get(k)!.equals(b.get(k)!)).toBe(true);
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    expect([...d.keys()].sort()).toEqual([...a.keys()].sort());
    for (const [k, v] of a) expect(d.get(k)!.equals(v)).toBe(true);
    expect(labels.some((k) => !c.has(k) || !c.get(k)!.equals(a.get(k)!))).toBe(true);
    // every line is `class cx cy w h` with a known class and a box inside the image
    let objects = 0;
    for (const k of labels) {
      for (const line of a.get(k)!.toString().trim().split("\n")) {
        const [cls, cx, cy, w, h] = line.split(" ").map(Number);
        expect(cls).toBeGreaterThanOrEqual(0);
        expect(cls).toBeLessThan(DEFAULT_CLASSES.length);
        expect(cx - w / 2).toBeGreaterThanOrEqual(-1e-6);
        expect(cy + h / 2).toBeLessThanOrEqual(1 + 1e-6);
        objects++;
      }
    }
    expect(objects).toBeGreaterThan(24);
    const meta = await sharp(a.get(images[0])!).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(["jpeg", 160, 120]);
    const sheet = await sharp(join(root, "sheet.png")).metadata();
    expect(sheet.format).toBe("png");
    expect(sheet.width).toBeGreaterThan(4 * 160);
  });

  it("writes a native dataset with ground positions", async () => {
    const root = await mkdtemp(join(tmpdir(), "fovea-synth-"));
    await runSynth(flags({ out: root, format: "native", frames: "6" }));
    const lines = (await readFile(join(root, "labels.jsonl"), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(6);
    const withGround = lines.flatMap((l) => l.objects).filter((o: { ground?: unknown }) => o.ground);
    expect(withGround.length).toBeGreaterThan(0);
  });

  it("renders a --sequence clip to a video with a labels sidecar", async () => {
    const root = await mkdtemp(join(tmpdir(), "fovea-synth-"));
    const video = join(root, "clip.mp4");
    await runSynth(flags({ out: video, sequence: true, frames: "20" }));
    const { stdout } = await run("ffprobe", [
      "-v",
      "error",
      "-count_frames",
      "-select_streams",
      "v:0",
      "-show_entries",
      "stream=nb_read_frames,width,height",
      "-of",
      "csv=p=0",
      video,
    ]);
    expect(stdout.trim()).toBe("160,120,20");
    const sidecar = (await readFile(`${video}.labels.jsonl`, "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(sidecar.map((l) => l.frame)).toEqual([...Array(20).keys()]);
    // the walking robot keeps the ball in view for most of the clip
    expect(sidecar.filter((l) => l.objects.some((o: { label: string }) => o.label === "ball")).length).toBeGreaterThan(10);
  });

  it("rejects bad flags naming the flag", async () => {
    for (const [over, flag] of [
      [{ size: "640by480" }, "--size"],
      [{ frames: "0" }, "--frames"],
      [{ seed: "x" }, "--seed"],
      [{ out: undefined, contactSheet: undefined }, "--out"],
      [{ contactSheet: "sheet.jpg" }, "--contact-sheet"],
    ] as const) {
      const err = await runSynth(flags({ out: "/nonexistent/never-written", ...over })).catch((e) => e);
      expect(err).toBeInstanceOf(FoveaInputError);
      expect(err.where).toBe(flag);
    }
  });

  it("exits 2 on bad input from the command line", async () => {
    const err = await run(process.execPath, [CLI, "synth", "--size", "big", "--out", "/tmp/never"]).catch((e) => e);
    expect(err.code).toBe(2);
    expect(err.stderr).toContain("--size");
  });
});
