/**
 * Inference cost of heatmap network widths before training one: each width is built untrained
 * (the preset with other filters), exported to ONNX and timed in onnxruntime beside a reference
 * model, the sessions called in turn so all see the same machine (the ratio holds on a busy one).
 *
 *   node --import ./test/record-ts-loader.mjs scripts/heatmap-widths.ts \
 *     --reference models/default/model.onnx --width 16-24-48-64/64-64/32 --width 16-32-64-128/128-128/64
 *
 * A width is conv/neck/head filters; a neck conv written `64d2` is dilated by 2. Prints a markdown
 * table: weights, multiply-adds of the convs, p50 and the ratio to the reference.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import * as ort from "onnxruntime-node";
import { initTfjs } from "../src/engine/tfjs-backend.js";
import { buildModel, presetMetadata } from "../src/train/network.js";
import { exportOnnx } from "../src/train/onnx/export-onnx.js";
import { parseHeatmapWidths, withHeatmapWidths } from "../src/train/heatmap-widths.js";

const { values } = parseArgs({
  options: {
    reference: { type: "string" },
    width: { type: "string", multiple: true, default: [] },
    runs: { type: "string", default: "1500" },
    threads: { type: "string", default: "2" },
  },
});
if (!values.reference) throw new Error("--reference: expected an ONNX file to compare with");
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 300) throw new Error(`--runs: expected an integer >= 300, got '${values.runs}'`);

const options: ort.InferenceSession.SessionOptions = {
  intraOpNumThreads: Number(values.threads),
  interOpNumThreads: 1,
  executionMode: "sequential",
  graphOptimizationLevel: "all",
  extra: { session: { intra_op: { allow_spinning: "0" } } },
};
interface Entry {
  name: string;
  weights?: number;
  macs?: number;
  session: ort.InferenceSession;
  feed: Record<string, ort.Tensor>;
  times: number[];
}
const entries: Entry[] = [];
async function add(name: string, bytes: Uint8Array, weights?: number, macs?: number): Promise<void> {
  const session = await ort.InferenceSession.create(bytes, options);
  const meta = session.inputMetadata[0] as { shape?: Array<number | string> };
  const shape = (meta.shape ?? []).map((d) => (typeof d === "number" ? d : 1));
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.5);
  entries.push({ name, weights, macs, session, feed: { [session.inputNames[0]]: new ort.Tensor("float32", data, shape) }, times: [] });
}

await initTfjs("wasm");
await add(`reference ${values.reference}`, readFileSync(values.reference));
for (const spec of values.width) {
  const meta = withHeatmapWidths(presetMetadata("heatmap"), parseHeatmapWidths("--width", spec));
  const model = buildModel(meta, { seed: 1 });
  let macs = 0;
  for (const layer of model.layers) {
    if (layer.getClassName() !== "Conv2D") continue;
    const [kh, kw, ci, co] = layer.getWeights()[0].shape;
    const out = layer.outputShape as number[];
    macs += out[1] * out[2] * kh * kw * ci * co;
  }
  await add(spec, exportOnnx(model, meta), model.countParams(), macs);
  model.dispose();
}
// Warm-up, then every session once per round.
for (let r = 0; r < runs; r++) {
  for (const e of entries) {
    const t0 = performance.now();
    await e.session.run(e.feed);
    if (r >= 200) e.times.push(performance.now() - t0);
  }
}
const p50 = (t: number[]) => [...t].sort((a, b) => a - b)[t.length >> 1];
const ref = p50(entries[0].times);
console.log("| network (conv / neck / head) | weights | multiply-adds | p50 | vs reference |\n|---|---|---|---|---|");
for (const e of entries) {
  const k = (n?: number, unit = 1e3, suffix = "k") => (n === undefined ? "" : `${(n / unit).toFixed(0)}${suffix}`);
  console.log(
    `| ${e.name} | ${k(e.weights)} | ${k(e.macs, 1e6, "M")} | ${p50(e.times).toFixed(3)} ms | ${(p50(e.times) / ref).toFixed(2)}x |`,
  );
}
