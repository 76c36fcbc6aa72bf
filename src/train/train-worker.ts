/**
 * One replica of the data-parallel trainer (src/train/parallel-trainer.ts), run in a Node
 * worker thread with its own tfjs (wasm + fovea's gradient kernels) and its own copy of the model.
 *
 * A step (message `step`: this worker's rows of the batch plus the whole batch's targets), with
 * the workers meeting at barriers in shared memory (the main thread is not on the critical path):
 *   1. forward of its rows; the outputs go to the shared output buffer; barrier;
 *   2. every worker computes the loss of the WHOLE batch from all outputs and its gradient with
 *      respect to the outputs (dL/dout, tiny), then back-propagates sum(out * dL/dout) over its
 *      own rows, whose gradient with respect to the weights is exactly its share of the
 *      full-batch gradient whatever the loss (gridLoss normalises by batch-wide counts, so
 *      per-shard losses would not add up); worker 0 reports the loss to the main thread;
 *   3. shard gradients go to shared memory; barrier; each worker sums the shards of the
 *      variables it owns, applies Adam to them and publishes their new values; barrier; it
 *      copies in the other owners' variables (see parallel-trainer.ts for why).
 */
import { parentPort, workerData } from "node:worker_threads";
import * as tf from "@tensorflow/tfjs";
import { initTfjs, type TfjsBackendPreference } from "../engine/tfjs-backend.js";
import type { ModelMetadata } from "../core/model-metadata.js";
import { targetTensors, trainHeadFor, type HeadLossOptions, type HeadTargets } from "../heads/train-head.js";
import { registerHeatmapTrainingLayers } from "../heads/heatmap/network.js";
import { registerWasmGradientKernels } from "./wasm-gradient-kernels.js";

export interface TrainWorkerInit {
  id: number;
  backend: TfjsBackendPreference;
  /** `model.toJSON(null, false)` of the model to replicate. */
  topology: unknown;
  initialWeights: Array<{ data: Float32Array; shape: number[] }>;
  learningRate: number;
  /** The model's metadata: its head gives the targets' loss. */
  meta: ModelMetadata;
  loss?: HeadLossOptions;
  /** Int32: [0..workers) the last barrier stage each worker reached; [workers] abort flag. */
  control: SharedArrayBuffer;
  /** Float32: the whole batch's outputs, output o at outOffsets[o], row-major by batch row. */
  outputs: SharedArrayBuffer;
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
  | {
      type: "step";
      step: number;
      /** This worker's rows (possibly none) starting at batch row `start`. */
      input: Float32Array;
      shape: number[];
      start: number;
      /** Rows of the whole batch. */
      rows: number;
      targets: HeadTargets;
      training: boolean;
      /** Adam learning rate of this step (the schedule is the main thread's). */
      learningRate?: number;
    }
  | { type: "weights" }
  | { type: "close" };

export type TrainWorkerReply =
  | { type: "ready" }
  | { type: "loss"; step: number; loss: number; classLoss: number; boxLoss: number }
  | { type: "weights"; weights: Float32Array[] }
  | { type: "error"; message: string; stack?: string };

const init = workerData as TrainWorkerInit;
const port = parentPort!;
const control = new Int32Array(init.control);
const outputs = new Float32Array(init.outputs);
const grads = new Float32Array(init.grads);
const shared = new Float32Array(init.weights);

const runtime = await initTfjs(init.backend);
if (runtime.backend === "wasm") registerWasmGradientKernels();
// A checkpoint loaded to resume trains with the heatmap network's own layers too (batch norm, dilated convs).
registerHeatmapTrainingLayers();
const model = await tf.models.modelFromJSON({ modelTopology: init.topology as tf.io.ModelJSON["modelTopology"] });
model.setWeights(init.initialWeights.map((w) => tf.tensor(w.data, w.shape)));
const variables = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
const sizes = variables.map((v) => v.size);
const offsets = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));
const owned = variables.map((_, i) => i).filter((i) => init.owner[i] === init.id);
if (sizes.reduce((a, b) => a + b, 0) !== init.params)
  throw new Error(`train worker ${init.id}: ${sizes.reduce((a, b) => a + b, 0)} trainable parameters, main thread has ${init.params}`);
const outShapes = model.outputs.map((o) => o.shape.slice(1) as number[]);
const outSizes = outShapes.map((s) => s.reduce((a, b) => a * b, 1));
const optimizer = tf.train.adam(init.learningRate);
const head = trainHeadFor(init.meta, init.loss);
/** Barrier stages passed so far (3 per step). */
let stage = 0;

const timing = process.env.FOVEA_TRAIN_WORKER_TIMING
  ? (label: string, t0: number) => console.error(`worker ${init.id} ${label} ${(performance.now() - t0).toFixed(0)} ms`)
  : undefined;

/** Marks this worker at the next stage and blocks until every worker has reached it (or the main thread aborts). */
function barrier(label: string): void {
  const t0 = performance.now();
  stage++;
  Atomics.store(control, init.id, stage);
  Atomics.notify(control, init.id);
  for (let w = 0; w < init.workers; w++) {
    for (;;) {
      if (Atomics.load(control, init.workers) !== 0) throw new Error("aborted by the main thread");
      const seen = Atomics.load(control, w);
      if (seen >= stage) break;
      Atomics.wait(control, w, seen, 1000);
    }
  }
  timing?.(`wait ${label}`, t0);
}

/** The whole batch's loss and its gradient with respect to each output, from the shared outputs. */
function outputGradients(rows: number, t: HeadTargets): { terms: number[]; dOut: tf.Tensor[] } {
  return tf.tidy(() => {
    const full = outShapes.map((s, o) =>
      tf.tensor(outputs.subarray(init.outOffsets[o], init.outOffsets[o] + rows * outSizes[o]), [rows, ...s]),
    );
    const targets = targetTensors(t);
    let parts: tf.Scalar[] = [];
    const { value, grads: dOut } = tf.valueAndGrads((...outs: tf.Tensor[]) => {
      const l = head.loss(outs, targets);
      parts = [tf.keep(l.classes), tf.keep(l.boxes)];
      return l.total;
    })(full);
    const terms = [value, ...parts].map((s) => (s.dataSync() as Float32Array)[0]);
    tf.dispose(parts);
    return { terms, dOut } as unknown as { terms: number[]; dOut: tf.Tensor[] };
  }) as unknown as { terms: number[]; dOut: tf.Tensor[] };
}

function step(msg: Extract<TrainWorkerRequest, { type: "step" }>): void {
  const t0 = performance.now();
  if (msg.learningRate !== undefined) (optimizer as unknown as { learningRate: number }).learningRate = msg.learningRate;
  const mine = msg.shape[0];
  const parts = Math.min(init.workers, msg.rows);
  if (mine > 0) {
    const x = tf.tensor(msg.input, msg.shape);
    const { value, grads: g } = tf.variableGrads(() => {
      const outs = model.apply(x, { training: msg.training }) as tf.Tensor[];
      outs.forEach((o, i) => outputs.set(o.dataSync() as Float32Array, init.outOffsets[i] + msg.start * outSizes[i]));
      timing?.("forward", t0);
      barrier("for outputs");
      const { terms, dOut } = outputGradients(msg.rows, msg.targets);
      if (init.id === 0)
        port.postMessage({
          type: "loss",
          step: msg.step,
          loss: terms[0],
          classLoss: terms[1],
          boxLoss: terms[2],
        } satisfies TrainWorkerReply);
      let surrogate = tf.scalar(0);
      outs.forEach((o, i) => {
        surrogate = tf.add(surrogate, tf.sum(tf.mul(o, tf.slice(dOut[i], msg.start, mine))));
      });
      tf.dispose(dOut);
      return surrogate as tf.Scalar;
    }, variables);
    timing?.("forward+backward", t0);
    let offset = init.id * init.params;
    for (const v of variables) {
      grads.set(g[v.name].dataSync() as Float32Array, offset);
      offset += v.size;
    }
    tf.dispose([x, value, ...Object.values(g)]);
  } else {
    barrier("for outputs"); // no rows this step (a batch smaller than the worker count)
  }
  barrier("for gradients");
  apply(parts);
  timing?.("step", t0);
}

/**
 * Sums the shard gradients of workers 0..parts-1 for the variables this worker owns, applies Adam
 * to them (this optimizer only ever sees those, so it holds their moments), publishes their new
 * values, waits for the other owners and copies theirs in.
 */
function apply(parts: number): void {
  const t0 = performance.now();
  // Summed on the wasm heap: 5-10x faster than a JS loop over the shared buffer.
  const named = owned.map((i) => ({
    name: variables[i].name,
    tensor: tf.tidy(() => {
      const shard = (w: number) =>
        tf.tensor(grads.subarray(w * init.params + offsets[i], w * init.params + offsets[i] + sizes[i]), variables[i].shape);
      let sum = shard(0);
      for (let w = 1; w < parts; w++) sum = tf.add(sum, shard(w));
      return sum;
    }),
  }));
  if (named.length) optimizer.applyGradients(named);
  tf.dispose(named.map((n) => n.tensor));
  for (const i of owned) shared.set(variables[i].dataSync() as Float32Array, offsets[i]);
  timing?.("sum+adam", t0);
  barrier("for weights");
  variables.forEach((v, i) => {
    if (init.owner[i] === init.id) return;
    const t = tf.tensor(shared.subarray(offsets[i], offsets[i] + sizes[i]), v.shape);
    v.assign(t);
    t.dispose();
  });
}

port.on("message", (msg: TrainWorkerRequest) => {
  try {
    if (msg.type === "step") step(msg);
    else if (msg.type === "weights") {
      const weights = model.getWeights().map((w) => (w.dataSync() as Float32Array).slice());
      port.postMessage(
        { type: "weights", weights } satisfies TrainWorkerReply,
        weights.map((w) => w.buffer),
      );
    } else if (msg.type === "close") {
      optimizer.dispose();
      model.dispose();
      port.close();
    }
  } catch (err) {
    port.postMessage({
      type: "error",
      message: err instanceof Error ? err.message : String(err),
      stack: err instanceof Error ? err.stack : undefined,
    } satisfies TrainWorkerReply);
  }
});
port.postMessage({ type: "ready" } satisfies TrainWorkerReply);
