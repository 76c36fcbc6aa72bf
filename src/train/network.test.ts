import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_CLASSES } from "../core/detection.js";
import { ModelMetadataSchema } from "../core/model-metadata.js";
import { initTfjs } from "../engine/tfjs-backend.js";
import { buildNetwork, defaultMetadata, featureShape } from "./network.js";

beforeAll(async () => {
  await initTfjs("wasm");
});

describe("buildNetwork", () => {
  it("builds the seed network: first conv 3x3x3x32 = 896 weights, flatten 2048, dense 512, 10x10 grid head", async () => {
    const { tf } = await initTfjs("wasm");
    const meta = defaultMetadata();
    expect(ModelMetadataSchema.parse(meta)).toEqual(meta);
    expect(meta.classes).toEqual([...DEFAULT_CLASSES]);
    const model = buildNetwork(meta, { seed: 1 });
    expect(model.getLayer("conv1").countParams()).toBe(896);
    expect(model.getLayer("flatten").outputShape).toEqual([null, 2048]);
    expect(model.getLayer("dense1").outputShape).toEqual([null, 512]);
    expect(featureShape(meta)).toEqual({ height: 4, width: 4, channels: 128, flatten: 2048 });
    expect(model.outputNames).toEqual(["classes", "boxes"]);
    expect(model.outputs.map((o) => o.shape)).toEqual([
      [null, 100, 9],
      [null, 100, 4],
    ]);
    const [cls, box] = model.predict(tf.randomUniform([2, 100, 100, 3], 0, 1, "float32", 3)) as import("@tensorflow/tfjs").Tensor[];
    const sums = cls.sum(-1).dataSync();
    expect(Math.max(...Array.from(sums, (s) => Math.abs(s - 1)))).toBeLessThan(1e-5);
    const b = box.dataSync();
    expect(Math.min(...b)).toBeGreaterThan(0);
    expect(Math.max(...b)).toBeLessThan(1);
    model.dispose();
  });

  it("is reproducible with a seed and differs across seeds", () => {
    const meta = defaultMetadata();
    const w = (seed: number) => {
      const m = buildNetwork(meta, { seed });
      const v = Array.from(m.getLayer("conv1").getWeights()[0].dataSync());
      m.dispose();
      return v;
    };
    expect(w(5)).toEqual(w(5));
    expect(w(5)).not.toEqual(w(6));
  });

  it("rejects an architecture that consumes the whole input", () => {
    const meta = defaultMetadata({
      architecture: { convFilters: [8, 8, 8, 8, 8, 8], kernelSize: 3, padding: "valid", dense: [16], dropout: 0 },
    });
    expect(() => buildNetwork(meta)).toThrow(/architecture.convFilters: block \d \(8 filters\) leaves no pixels of the 100x100 input/);
  });

  it("builds a convolutional head whose cells share one per-cell dense layer, and names the mismatch when the grid does not fit", () => {
    const head = {
      kind: "grid" as const,
      rows: 10,
      cols: 10,
      connection: "convolutional" as const,
      contextFilters: 128,
      classesOutput: "classes",
      boxesOutput: "boxes",
    };
    const meta = defaultMetadata({
      architecture: { convFilters: [32, 32, 64], kernelSize: 3, padding: "valid", dense: [512], dropout: 0 },
      head,
    });
    const model = buildNetwork(meta, { seed: 1 });
    expect(model.getLayer("conv1").countParams()).toBe(896);
    expect(model.getLayer("pool3").outputShape).toEqual([null, 10, 10, 64]);
    // 128 -> 512 shared by all 100 cells: 128*512 + 512 weights, not 100 times that.
    expect(model.getLayer("dense1").countParams()).toBe(128 * 512 + 512);
    expect(model.outputs.map((o) => o.shape)).toEqual([
      [null, 100, 9],
      [null, 100, 4],
    ]);
    model.dispose();
    const misfit = defaultMetadata({ head });
    expect(() => buildNetwork(misfit)).toThrow(
      /convolutional head needs the conv blocks to leave rows x cols = 10x10 positions.*leave 4x4/,
    );
  });
});
