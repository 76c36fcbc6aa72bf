/**
 * One replica of the data-parallel trainer (src/train/parallel-trainer.ts), run in a Node
 * worker thread with its own tfjs (wasm + fovea's gradient kernels) and its own copy of the model.
 *
 * Per step (message `step`): forward of this worker's rows of the batch; the outputs go to the
 * main thread, which computes the loss of the WHOLE batch and its gradient with respect to the
 * outputs (dL/dout); the worker blocks (Atomics.wait, inside the gradient tape) until that
 * gradient is in shared memory, then back-propagates sum(out * dL/dout), whose gradient with
 * respect to the weights is exactly this shard's share of the full-batch gradient, whatever the
 * loss (gridLoss normalises by batch-wide counts, so per-shard losses would not add up).
 * The shard gradients go to shared memory; on `apply` each worker sums the shards of the
 * variables it owns, applies Adam to them, publishes their new values in shared memory and copies
 * in the other workers' (see parallel-trainer.ts for why).
 */
import { parentPort, workerData } from "node:worker_threads";
import * as tf from "@tensorflow/tfjs";
import { initTfjs, type TfjsBackendPreference } from "../engine/tfjs-backend.js";
import { registerWasmGradientKernels } from "./wasm-gradient-kernels.js";

export interface TrainWorkerInit {
  id: number;
  backend: TfjsBackendPreference;
  /** `model.toJSON(null, false)` of the model to replicate. */
  topology: unknown;
  initialWeights: Array<{ data: Float32Array; shape: number[] }>;
  learningRate: number;
  /**
   * Int32: [0..workers) step generation whose dL/dout is ready per worker; [workers] abort flag;
   * [workers+1+w] the last update whose owned weights worker w has published.
   */
  control: SharedArrayBuffer;
  /** Float32: dL/dout of the whole batch, output o at outOffsets[o], row-major by batch row. */
  dOut: SharedArrayBuffer;
  outOffsets: number[];
  /** Float32: one slice of `params` floats per worker, the shard gradients in trainable order. */
  grads: SharedArrayBuffer;
  params: number;
  /** Float32 [params]: updated weights, each variable written by its owner. */
  weights: SharedArrayBuffer;
  /** Owning worker of each trainable variable (trainable order). */
  owner: number[];
  workers: number;
}

export type TrainWorkerRequest =
  | { type: "step"; step: number; input: Float32Array; shape: number[]; start: number; training: boolean }
  | { type: "apply"; parts: number; update: number }
  | { type: "weights" }
  | { type: "close" };

export type TrainWorkerReply =
  | { type: "ready" }
  | { type: "outputs"; step: number; outputs: Float32Array[] }
  | { type: "grads"; step: number }
  | { type: "weights"; weights: Float32Array[] }
  | { type: "error"; message: string; stack?: string };

const init = workerData as TrainWorkerInit;
const port = parentPort!;
const control = new Int32Array(init.control);
const dOut = new Float32Array(init.dOut);
const grads = new Float32Array(init.grads);
const shared = new Float32Array(init.weights);

const runtime = await initTfjs(init.backend);
if (runtime.backend === "wasm") registerWasmGradientKernels();
const model = await tf.models.modelFromJSON({ modelTopology: init.topology as tf.io.ModelJSON["modelTopology"] });
model.setWeights(init.initialWeights.map((w) => tf.tensor(w.data, w.shape)));
const variables = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
const sizes = variables.map((v) => v.size);
const offsets = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));
const owned = variables.map((_, i) => i).filter((i) => init.owner[i] === init.id);
if (sizes.reduce((a, b) => a + b, 0) !== init.params) throw new Error(`train worker ${init.id}: ${sizes.reduce((a, b) => a + b, 0)} trainable parameters, main thread has ${init.params}`);
const optimizer = tf.train.adam(init.learningRate);

/** Blocks until the main thread has published dL/dout of `step` (or aborted). */
function waitForOutputGradient(step: number): void {
  for (;;) {
    if (Atomics.load(control, init.workers) !== 0) throw new Error("aborted by the main thread");
    const seen = Atomics.load(control, init.id);
    if (seen === step) return;
    Atomics.wait(control, init.id, seen, 1000);
  }
}

const timing = process.env.FOVEA_TRAIN_WORKER_TIMING ? (label: string, t0: number) => console.error(`worker ${init.id} ${label} ${(performance.now() - t0).toFixed(0)} ms`) : undefined;

function step(msg: Extract<TrainWorkerRequest, { type: "step" }>): void {
  const t0 = performance.now();
  const rows = msg.shape[0];
  const x = tf.tensor(msg.input, msg.shape);
  const { value, grads: g } = tf.variableGrads(() => {
    const outs = model.apply(x, { training: msg.training }) as tf.Tensor[];
    const outputs = outs.map((o) => (o.dataSync() as Float32Array).slice());
    port.postMessage({ type: "outputs", step: msg.step, outputs } satisfies TrainWorkerReply, outputs.map((o) => o.buffer));
    timing?.("forward", t0);
    const tw = performance.now();
    waitForOutputGradient(msg.step);
    timing?.("wait", tw);
    let surrogate = tf.scalar(0);
    outs.forEach((o, i) => {
      const per = o.size / rows;
      const start = init.outOffsets[i] + msg.start * per;
      const d = tf.tensor(dOut.slice(start, start + o.size), o.shape);
      surrogate = tf.add(surrogate, tf.sum(tf.mul(o, d)));
    });
    return surrogate as tf.Scalar;
  }, variables);
  timing?.("forward+backward", t0);
  let offset = init.id * init.params;
  for (const v of variables) {
    grads.set(g[v.name].dataSync() as Float32Array, offset);
    offset += v.size;
  }
  tf.dispose([x, value, ...Object.values(g)]);
  port.postMessage({ type: "grads", step: msg.step } satisfies TrainWorkerReply);
  gradsPosted = performance.now();
}
let gradsPosted = 0;

function waitForPublished(update: number): void {
  for (let w = 0; w < init.workers; w++) {
    for (;;) {
      if (Atomics.load(control, init.workers) !== 0) throw new Error("aborted by the main thread");
      const seen = Atomics.load(control, init.workers + 1 + w);
      if (seen >= update) break;
      Atomics.wait(control, init.workers + 1 + w, seen, 1000);
    }
  }
}

/**
 * Update `update`: sums the shard gradients of workers 0..parts-1 for the variables this worker
 * owns, applies Adam to them (the optimizer only ever sees those, so it holds their moments),
 * publishes their new values, then waits for the other owners and copies theirs in.
 */
function apply(parts: number, update: number): void {
  const t0 = performance.now();
  timing?.("grads->apply latency", gradsPosted);
  // Summed on the wasm heap: 5-10x faster than a JS loop over the shared buffer.
  const named = owned.map((i) => ({
    name: variables[i].name,
    tensor: tf.tidy(() => {
      const shard = (w: number) => tf.tensor(grads.subarray(w * init.params + offsets[i], w * init.params + offsets[i] + sizes[i]), variables[i].shape);
      let sum = shard(0);
      for (let w = 1; w < parts; w++) sum = tf.add(sum, shard(w));
      return sum;
    }),
  }));
  timing?.("sum", t0);
  optimizer.applyGradients(named);
  tf.dispose(named.map((n) => n.tensor));
  for (const i of owned) shared.set(variables[i].dataSync() as Float32Array, offsets[i]);
  Atomics.store(control, init.workers + 1 + init.id, update);
  Atomics.notify(control, init.workers + 1 + init.id);
  timing?.("sum+adam", t0);
  if (owned.length === variables.length) return;
  const tw = performance.now();
  waitForPublished(update);
  timing?.("publish wait", tw);
  variables.forEach((v, i) => {
    if (init.owner[i] === init.id) return;
    const t = tf.tensor(shared.subarray(offsets[i], offsets[i] + sizes[i]), v.shape);
    v.assign(t);
    t.dispose();
  });
  timing?.("sum+adam+exchange", t0);
}

port.on("message", (msg: TrainWorkerRequest) => {
  try {
    if (msg.type === "step") step(msg);
    else if (msg.type === "apply") apply(msg.parts, msg.update);
    else if (msg.type === "weights") {
      const weights = model.getWeights().map((w) => (w.dataSync() as Float32Array).slice());
      port.postMessage({ type: "weights", weights } satisfies TrainWorkerReply, weights.map((w) => w.buffer));
    } else if (msg.type === "close") {
      optimizer.dispose();
      model.dispose();
      port.close();
    }
  } catch (err) {
    port.postMessage({ type: "error", message: err instanceof Error ? err.message : String(err), stack: err instanceof Error ? err.stack : undefined } satisfies TrainWorkerReply);
  }
});
port.postMessage({ type: "ready" } satisfies TrainWorkerReply);
