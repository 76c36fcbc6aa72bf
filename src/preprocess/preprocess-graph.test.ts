/**
 * The preprocessing graph against the trainer's pixels: the same image as a PNG file through
 * `resizeToInput` + `normalise` (what training and the JS runtime path do) and as an rgb24 frame
 * through the graph on real onnxruntime.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import * as ort from "onnxruntime-node";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PreprocessSpecSchema } from "../core/model-metadata.js";
import { Rng } from "../core/prng.js";
import { normalise, resizeToInput, type PreprocessParams, type WhiteBalanceGains } from "./preprocess.js";
import { CHANNEL_MEAN_OUTPUT, FRAME_INPUT, frameGraphModel, frameGraphPlan, type FrameGraphLayout } from "./preprocess-graph.js";
import { maxAbsDiff } from "../core/max-abs-diff.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "fovea-preprocess-graph-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Smooth gradients, hard edges, saturated patches and noise: every byte value occurs. */
function testImage(width: number, height: number, seed: number): Buffer {
  const rng = new Rng(seed);
  const buf = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const patch = ((x >> 4) + (y >> 4)) % 5;
      buf[i] = patch === 0 ? 255 : Math.floor((x * 255) / width);
      buf[i + 1] = patch === 1 ? 250 : Math.floor((y * 255) / height);
      buf[i + 2] = Math.floor(rng.next() * 256);
    }
  }
  return buf;
}

const area = (over: Record<string, unknown> = {}): PreprocessParams => ({
  width: 160,
  height: 120,
  spec: PreprocessSpecSchema.parse({ kernel: "area", ...over }),
});

async function graphInput(
  frame: Buffer,
  width: number,
  height: number,
  params: PreprocessParams,
  whiteBalance: WhiteBalanceGains | undefined,
  layout: FrameGraphLayout,
) {
  const session = await ort.InferenceSession.create(frameGraphModel({ width, height, params, whiteBalance, layout }), {
    intraOpNumThreads: 1,
  });
  try {
    const out = await session.run({ [FRAME_INPUT]: new ort.Tensor("uint8", frame, [1, height, width, 3]) });
    return { tensor: out.input.data as Float32Array, channelMean: out[CHANNEL_MEAN_OUTPUT].data as Float32Array, dims: out.input.dims };
  } finally {
    await session.release();
  }
}

/** The trainer's input: the image read from a PNG file, resized and normalised by the shared functions. */
async function trainerInput(frame: Buffer, width: number, height: number, params: PreprocessParams, whiteBalance?: WhiteBalanceGains) {
  const file = path.join(dir, `${width}x${height}-${Math.random().toString(36).slice(2)}.png`);
  await sharp(frame, { raw: { width, height, channels: 3 } })
    .png()
    .toFile(file);
  const rgb = await resizeToInput({ file }, params);
  const tensor = new Float32Array(params.width * params.height * 3);
  const channelMean = normalise(rgb, tensor, params.spec, whiteBalance);
  return { tensor, channelMean };
}

describe("preprocessing graph", () => {
  const cases: Array<{ name: string; width: number; height: number; params: PreprocessParams; whiteBalance?: WhiteBalanceGains }> = [
    {
      name: "640x480 -> 160x120 (factor 4), calibration gains that saturate",
      width: 640,
      height: 480,
      params: area(),
      whiteBalance: { r: 1.6, g: 1, b: 0.85 },
    },
    { name: "640x480 -> 160x120, no gains", width: 640, height: 480, params: area() },
    {
      name: "480x360 -> 160x120 (factor 3: an odd block count), mean/std",
      width: 480,
      height: 360,
      params: area({ mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] }),
      whiteBalance: { r: 1.2, g: 0.9, b: 1.4 },
    },
    {
      name: "320x360 -> 160x120 (2 x 3: an even block count that is no power of two)",
      width: 320,
      height: 360,
      params: area({ mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] }),
      whiteBalance: { r: 1.3, g: 1.1, b: 1 },
    },
    { name: "160x120 -> 160x120 (no resize)", width: 160, height: 120, params: area(), whiteBalance: { r: 2, g: 1, b: 1 } },
    {
      name: "640x480 -> 160x120 letterbox (the input's aspect ratio: no bands)",
      width: 640,
      height: 480,
      params: area({ fit: "letterbox" }),
    },
  ];
  for (const c of cases) {
    it.each(["pool", "reduce"] as const)(`gives the trainer's pixels (layout %s): ${c.name}`, async (layout) => {
      const frame = testImage(c.width, c.height, c.width + c.height);
      const graph = await graphInput(frame, c.width, c.height, c.params, c.whiteBalance, layout);
      const trainer = await trainerInput(frame, c.width, c.height, c.params, c.whiteBalance);
      expect(graph.dims).toEqual([1, 120, 160, 3]);
      expect(maxAbsDiff(graph.tensor, trainer.tensor)).toBeLessThanOrEqual(1e-6);
      // float32 sums over 19,200 values of 0..255 against the JS double sums (the envelope check
      // compares them with training's range; only the tensor must be exact).
      expect(maxAbsDiff(graph.channelMean, trainer.channelMean)).toBeLessThanOrEqual(1e-2);
    });
  }

  it("is built only where it gives exactly the trainer's pixels", () => {
    expect(frameGraphPlan(640, 480, area())).toEqual({ fx: 4, fy: 4 });
    expect(frameGraphPlan(640, 480, { ...area(), spec: PreprocessSpecSchema.parse({ kernel: "linear" }) })).toBeNull();
    expect(frameGraphPlan(1280, 720, area())).toEqual({ fx: 8, fy: 6 });
    expect(frameGraphPlan(1280, 960, area())).toEqual({ fx: 8, fy: 8 });
    expect(frameGraphPlan(640, 400, area())).toBeNull();
    expect(frameGraphPlan(100, 100, area())).toBeNull();
    // Letterbox and crop place the frame as fill does only at the input's aspect ratio.
    expect(frameGraphPlan(640, 480, area({ fit: "letterbox" }))).toEqual({ fx: 4, fy: 4 });
    expect(frameGraphPlan(1280, 960, area({ fit: "crop" }))).toEqual({ fx: 8, fy: 8 });
    expect(frameGraphPlan(1280, 720, area({ fit: "letterbox" }))).toBeNull();
    expect(frameGraphPlan(1280, 720, area({ fit: "crop" }))).toBeNull();
    expect(() => frameGraphModel({ width: 650, height: 480, params: area() })).toThrow(/650x480 -> model input 160x120 \(kernel area\)/);
  });
});
