/**
 * Child process of export-crash.test.ts: exports two different networks in turn into one model
 * directory forever, reporting each finished export on stdout, until the test ends it with SIGTERM.
 */
import { initTfjs } from "../src/engine/tfjs-backend.js";
import { exportModelDir } from "../src/train/export-model.js";
import { buildNetwork, defaultMetadata } from "../src/train/network.js";

const [dir] = process.argv.slice(2);
await initTfjs("cpu");
const meta = defaultMetadata({
  id: "export-crash",
  input: { width: 32, height: 32, channels: 3, name: "input" },
  architecture: { convFilters: [8, 16], kernelSize: 3, padding: "valid", dense: [32], dropout: 0 },
  head: { kind: "grid", rows: 3, cols: 3, classesOutput: "classes", boxesOutput: "boxes" },
});
const models = [buildNetwork(meta, { seed: 1 }), buildNetwork(meta, { seed: 2 })];
for (let n = 0; ; n++) {
  await exportModelDir(models[n % 2], meta, dir);
  process.stdout.write(`${n + 1}\n`);
}
