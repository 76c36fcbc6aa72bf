import { describe, expect, it } from "vitest";
import { FoveaInputError } from "../core/errors.js";
import { PreprocessSpecSchema } from "../core/model-metadata.js";
import { dataFingerprint, labelsAtInput, resumedLossOptions, train } from "./trainer.js";

describe("trainer input checks", () => {
  it("names the flag at fault", async () => {
    await expect(train({ data: [], out: "x", epochs: 1 })).rejects.toThrow(/--data/);
    await expect(train({ data: ["d"], out: "x", epochs: 0 })).rejects.toThrow(/--epochs/);
    await expect(train({ data: ["d"], out: "x", epochs: 1, fineTune: true })).rejects.toThrow(/--fine-tune.*--from/);
    await expect(train({ data: ["d"], out: "x", epochs: 1, from: "m", fit: "crop" })).rejects.toThrow(/--fit.*--from/);
    await expect(train({ data: ["/nonexistent/fovea-data"], out: "x", epochs: 1, backend: "cpu", progress: false })).rejects.toBeInstanceOf(
      FoveaInputError,
    );
  });
});

describe("dataFingerprint", () => {
  const frame = (image: string, x: number) => ({
    image,
    objects: [{ label: "ball", box: { xMin: x, yMin: 0.1, xMax: x + 0.1, yMax: 0.2 } }],
  });
  it("depends on labels, not on frame order", () => {
    const a = dataFingerprint([frame("a.png", 0.1), frame("b.png", 0.2)]);
    expect(dataFingerprint([frame("b.png", 0.2), frame("a.png", 0.1)])).toBe(a);
    expect(dataFingerprint([frame("a.png", 0.1), frame("b.png", 0.3)])).not.toBe(a);
    expect(a).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});

describe("labelsAtInput", () => {
  const params = (fit: "fill" | "letterbox" | "crop") => ({ width: 160, height: 120, spec: PreprocessSpecSchema.parse({ fit }) });
  const frame = {
    width: 1280,
    height: 720,
    objects: [
      { label: "ball", box: { xMin: 0.45, yMin: 0.6, xMax: 0.55, yMax: 0.8 } },
      // Centre at x 0.06: left of the 27/213 of the frame a crop cuts off.
      { label: "goal_post", box: { xMin: 0.04, yMin: 0.1, xMax: 0.08, yMax: 0.7 } },
    ],
  };

  it("moves labels into a letterboxed input: x as it was, y into the 90 rows below a 15-row band", () => {
    const [ball, post] = labelsAtInput(frame, params("letterbox"));
    expect(ball.box.xMin).toBeCloseTo(0.45, 12);
    expect(ball.box.xMax).toBeCloseTo(0.55, 12);
    expect(ball.box.yMin * 120).toBeCloseTo(15 + 0.6 * 90, 9);
    expect(ball.box.yMax * 120).toBeCloseTo(15 + 0.8 * 90, 9);
    expect(post.box.yMin * 120).toBeCloseTo(15 + 0.1 * 90, 9);
  });

  it("moves labels into a cropped input and drops what the crop cuts off", () => {
    const moved = labelsAtInput(frame, params("crop"));
    expect(moved.map((o) => o.label)).toEqual(["ball"]);
    // 213 input pixels across the frame, 27 cut on the left.
    expect(moved[0].box.xMin * 160).toBeCloseTo(0.45 * 213 - 27, 9);
    expect(moved[0].box.xMax * 160).toBeCloseTo(0.55 * 213 - 27, 9);
    expect([moved[0].box.yMin, moved[0].box.yMax]).toEqual([0.6, 0.8]);
  });

  it("leaves labels as they are with fill", () => {
    expect(labelsAtInput(frame, params("fill"))).toEqual(frame.objects);
  });
});

describe("resumedLossOptions", () => {
  const ran = { classWeights: { ball: 7, robot: 3 }, confuserWeights: { ball: { robot: 3, obstacle: 2 } } };

  it("keeps the run's weights when the command repeats none", () => {
    expect(resumedLossOptions({ classWeights: undefined }, ran, "out/checkpoint")).toEqual(ran);
  });

  it("accepts the same weights written in another order", () => {
    const asked = { classWeights: { robot: 3, ball: 7 }, confuserWeights: { ball: { obstacle: 2, robot: 3 } } };
    expect(resumedLossOptions(asked, ran, "out/checkpoint")).toEqual(asked);
  });

  it("refuses other class weights, naming the flag and both values", () => {
    const call = () => resumedLossOptions({ classWeights: { ball: 8, robot: 3 } }, ran, "out/checkpoint");
    expect(call).toThrow(FoveaInputError);
    expect(call).toThrow("--class-weights: the run in out/checkpoint trains with ball=7,robot=3, got ball=8,robot=3");
  });

  it("refuses confuser weights the run did not train with", () => {
    const call = () => resumedLossOptions({ confuserWeights: { ball: { robot: 3 } } }, { classWeights: { ball: 7 } }, "c");
    expect(call).toThrow("--confuser-weights: the run in c trains with no --confuser-weights, got ball:robot=3");
  });

  it("leaves a run without recorded weights as it was", () => {
    expect(resumedLossOptions(undefined, { batch: 16 }, "c")).toEqual({});
  });
});
