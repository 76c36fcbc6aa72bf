/**
 * Cross-check of the hand-built ONNX against the ONNX project's own checker and strict shape
 * inference (python3-onnx from Debian), where it is installed.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initTfjs } from "../../engine/tfjs-backend.js";
import { buildModel, defaultMetadata } from "../network.js";
import { headOutputs } from "../../core/head-outputs.js";
import { exportOnnx } from "./export-onnx.js";

const PYTHON = "/usr/bin/python3";
const hasOnnx = spawnSync(PYTHON, ["-c", "import onnx"], { stdio: "ignore" }).status === 0;

const CHECK = `
import json, sys, onnx
m = onnx.load(sys.argv[1])
onnx.checker.check_model(m, full_check=True)
m = onnx.shape_inference.infer_shapes(m, strict_mode=True)
print(json.dumps({v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim] for v in m.graph.output}))
`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "fovea-onnx-check-"));
  await initTfjs("wasm");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!hasOnnx)("ONNX reference checker", () => {
  it("accepts the exported graphs (grid float32 valid padding, grid float16 same padding, heatmap) with the declared output shapes", async () => {
    const variants = [
      { meta: defaultMetadata(), dtype: "float32" as const },
      {
        meta: defaultMetadata({
          classes: ["ball"],
          architecture: { convFilters: [8, 8], kernelSize: 3, padding: "same", dense: [16], dropout: 0 },
          head: { kind: "grid", rows: 5, cols: 4, classesOutput: "classes", boxesOutput: "boxes" },
        }),
        dtype: "float16" as const,
      },
      {
        meta: defaultMetadata({
          classes: ["ball", "robot"],
          input: { width: 64, height: 48, channels: 3, name: "input" },
          architecture: { convFilters: [4, 8, 8, 8], kernelSize: 3, padding: "same", dense: [], dropout: 0 },
          head: { kind: "heatmap", stride: 4, neckFilters: [8], headFilters: 6 },
        }),
        dtype: "float32" as const,
      },
    ];
    for (const [i, { meta, dtype }] of variants.entries()) {
      const model = buildModel(meta, { seed: i });
      const file = path.join(dir, `m${i}.onnx`);
      await writeFile(file, exportOnnx(model, meta, { weightsDtype: dtype }));
      model.dispose();
      const out = JSON.parse(execFileSync(PYTHON, ["-c", CHECK, file], { encoding: "utf8" }));
      expect(out).toEqual(Object.fromEntries(headOutputs(meta).map((o) => [o.name, ["N", ...o.shape]])));
    }
  });
});
