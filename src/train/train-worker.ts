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
 * The shard gradients go to shared memory; on `apply` every worker sums all shards in the same
 * order and applies the same Adam update (see parallel-trainer.ts for why).
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
  weights: Array<{ data: Float32Array; shape: number[] }>;
  learningRate: number;
  /** Int32: [0..workers) step generation whose dL/dout is ready per worker; [workers] abort flag. */
  control: SharedArrayBuffer;
  /** Float32: dL/dout of the whole batch, output o at outOffsets[o], row-major by batch row. */
  dOut: SharedArrayBuffer;
  outOffsets: number[];
  /** Float32: one slice of `params` floats per worker, the shard gradients in trainable order. */
  grads: SharedArrayBuffer;
  params: number;
  workers: number;
}

export type TrainWorkerRequest =
  | { type: "step"; step: number; input: Float32Array; shape: number[]; start: number; training: boolean }
  | { type: "apply"; parts: number }
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

const runtime = await initTfjs(init.backend);
if (runtime.backend === "wasm") registerWasmGradientKernels();
const model = await tf.models.modelFromJSON({ modelTopology: init.topology as tf.io.ModelJSON["modelTopology"] });
model.setWeights(init.weights.map((w) => tf.tensor(w.data, w.shape)));
const variables = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
const sizes = variables.map((v) => v.size);
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
}

/** Sums the shard gradients of workers 0..parts-1 (in that order, identically in every worker) and applies Adam. */
function apply(parts: number): void {
  const t0 = performance.now();
  let offset = 0;
  const named = variables.map((v, i) => {
    const sum = grads.slice(offset, offset + sizes[i]);
    for (let w = 1; w < parts; w++) {
      const base = w * init.params + offset;
      for (let j = 0; j < sum.length; j++) sum[j] += grads[base + j];
    }
    offset += sizes[i];
    return { name: v.name, tensor: tf.tensor(sum, v.shape) };
  });
  timing?.("sum", t0);
  optimizer.applyGradients(named);
  tf.dispose(named.map((n) => n.tensor));
  timing?.("sum+adam", t0);
}

port.on("message", (msg: TrainWorkerRequest) => {
  try {
    if (msg.type === "step") step(msg);
    else if (msg.type === "apply") apply(msg.parts);
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
