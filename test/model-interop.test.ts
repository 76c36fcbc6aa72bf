/**
 * The shipped model is an interoperable artefact: models/default/model.onnx passes the ONNX
 * project's checker and gives onnxruntime-node's outputs in OpenCV DNN (python3-opencv), the two
 * runtimes a team is most likely to load it in outside fovea.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { headOutputs } from "../src/core/head-outputs.js";
import { loadModelDir, type ModelDir } from "../src/core/model-dir.js";
import { Rng } from "../src/core/prng.js";

const PYTHON = "/usr/bin/python3";
const has = (module: string) => spawnSync(PYTHON, ["-c", `import ${module}`], { stdio: "ignore" }).status === 0;
const MODEL = path.resolve(process.env.FOVEA_INTEROP_MODEL ?? "models/default");

const OPENCV = `
import json, sys, numpy as np, cv2
model, inp, shape, names = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
net = cv2.dnn.readNetFromONNX(model)
net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
net.setInput(np.fromfile(inp, dtype=np.float32).reshape(shape))
outs = net.forward(names)
for name, out in zip(names, outs):
    out.astype(np.float32).tofile(inp + "." + name)
print(json.dumps({n: list(o.shape) for n, o in zip(names, outs)}))
`;

let dir: string;
let model: ModelDir;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "fovea-interop-"));
  model = await loadModelDir(MODEL);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("models/default/model.onnx", () => {
  it.skipIf(!has("onnx"))("passes the ONNX checker (full check, strict shape inference)", () => {
    const out = execFileSync(
      PYTHON,
      [
        "-c",
        "import sys, onnx\nm = onnx.load(sys.argv[1])\nonnx.checker.check_model(m, full_check=True)\nonnx.shape_inference.infer_shapes(m, strict_mode=True)\nprint('ok')",
        model.onnxPath!,
      ],
      { encoding: "utf8" },
    );
    expect(out.trim()).toBe("ok");
  });

  it.skipIf(!has("cv2"))("runs in OpenCV DNN with onnxruntime-node's outputs", async () => {
    const meta = model.metadata;
    const shape = [1, meta.input.height, meta.input.width, 3];
    const input = new Rng(5).fill(new Float32Array(shape.reduce((a, b) => a * b)), 0, 1);
    const file = path.join(dir, "input.f32");
    await writeFile(file, input);
    const session = await ort.InferenceSession.create(model.onnxPath!, { executionProviders: ["cpu"] });
    const expected = await session.run({ [meta.input.name]: new ort.Tensor("float32", input, shape) });
    await session.release();
    const names = headOutputs(meta).map((o) => o.name);
    const shapes = JSON.parse(
      execFileSync(PYTHON, ["-c", OPENCV, model.onnxPath!, file, JSON.stringify(shape), JSON.stringify(names)], { encoding: "utf8" }),
    );
    for (const { name, shape: per } of headOutputs(meta)) {
      expect(shapes[name]).toEqual([1, ...per]);
      const got = new Float32Array((await import("node:fs")).readFileSync(`${file}.${name}`).buffer.slice(0));
      const want = expected[name].data as Float32Array;
      expect(got.length).toBe(want.length);
      let diff = 0;
      for (let i = 0; i < got.length; i++) diff = Math.max(diff, Math.abs(got[i] - want[i]));
      expect(diff, name).toBeLessThanOrEqual(1e-4);
    }
  });
});
