import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { FoveaInputError } from "../core/errors.js";
import { initTfjs, wasmBinaryDir } from "./tfjs-backend.js";

const require = createRequire(import.meta.url);
const resolvable = (name: string) => {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
};
const tfjsNodeInstalled = resolvable("@tensorflow/tfjs-node") || resolvable("@tensorflow/tfjs-node-gpu");

describe("initTfjs", () => {
  it.skipIf(tfjsNodeInstalled)("explains a missing tfjs-node instead of crashing", async () => {
    const err = await initTfjs("tensorflow").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FoveaInputError);
    expect((err as Error).message).toMatch(/@tensorflow\/tfjs-node-gpu.*@tensorflow\/tfjs-node.*npm install @tensorflow\/tfjs-node/s);
  });

  it("auto falls through to wasm (SIMD binary from node_modules) and records what it skipped", async () => {
    expect(wasmBinaryDir()).toMatch(/tfjs-backend-wasm[/\\]dist[/\\]$/);
    const r = await initTfjs("auto");
    expect(r.backend).toBe(tfjsNodeInstalled ? "tensorflow" : "wasm");
    if (!tfjsNodeInstalled) expect(r.skipped.map((s) => s.split(":")[0])).toEqual(["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]);
    expect(r.tf.getBackend()).toBe(r.backend);
    expect(
      Array.from(
        r.tf.conv2d(r.tf.tensor4d(Array(9).fill(1), [1, 3, 3, 1]), r.tf.tensor4d(Array(9).fill(1), [3, 3, 1, 1]), 1, "valid").dataSync(),
      ),
    ).toEqual([9]);
  });

  it("switches to the cpu backend on request and rejects unknown names", async () => {
    const r = await initTfjs("cpu");
    expect([r.backend, r.tf.getBackend()]).toEqual(["cpu", "cpu"]);
    expect(() => initTfjs("gpu" as never)).toThrow(RangeError);
  });
});
