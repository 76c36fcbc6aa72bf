/**
 * Synchronous data-parallel training over Node worker threads: tfjs-wasm runs single-threaded in
 * Node (its threaded build spawns emscripten pthreads from blob: URLs, which worker_threads
 * refuses; tfjs issue 3830), so the second core is used by a second replica of the model.
 *
 * A step of batch B on N workers (worker w takes rows [start_w, start_w + B_w)), the workers
 * meeting at barriers in shared memory, without the main thread on the critical path:
 *   1. each worker runs the forward pass of its rows into a shared output buffer;
 *   2. each computes the loss of the whole batch (gridLoss, exactly as trainStep computes it) and
 *      its gradient with respect to the outputs (tiny: [B, cells, k] tensors) and back-propagates
 *      its rows' share, so the shard gradients add up to the full-batch gradient for any loss,
 *      also one normalised by batch-wide counts;
 *   3. the shard gradients are written to a SharedArrayBuffer; the update is sharded like the
 *      variables: each variable has one owning worker (balanced by size), which sums its shard
 *      gradients, applies Adam to it and publishes the new values in shared memory; the other
 *      workers copy them in.
 * Step 2 runs in the workers rather than the main thread: there it would add two thread hand-offs
 * per step, each a scheduler wake-up. The update runs in the workers too: in the main thread it
 * would serialise Adam with every worker idle, then copy all weights to every worker; the whole
 * update in every worker avoids the copy but spends the Adam time N times. Sharded, each worker
 * sums and updates 1/N of the weights and copies in the rest.
 * The replicas stay bit-identical (each variable's values come from one computation); the main
 * thread's model gets the weights of worker 0 on `syncTo()` (before validation and checkpoints).
 *
 * The result equals single-thread training on the same batch up to float rounding (tested in
 * parallel-trainer.test.ts); dropout masks are drawn per worker, so with dropout the random
 * stream differs, as it does between any two runs.
 *
 * Speed-up needs free cores: with Linux autogroup scheduling (on here) CPU is shared fairly
 * between sessions, so while other sessions keep the cores busy a process gets its share
 * whatever its thread count, and 2 workers are no faster than 1 (measured, README).
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import * as tf from "@tensorflow/tfjs";
import type { ModelMetadata } from "../core/model-metadata.js";
import type { HeadLossOptions } from "../heads/train-head.js";
import type { Batch, StepResult } from "./train-step.js";
import type { TfjsBackendPreference } from "../engine/tfjs-backend.js";
import type { TrainWorkerInit, TrainWorkerReply, TrainWorkerRequest } from "./train-worker.js";

export interface ParallelTrainerOptions {
  /** The model to replicate (its current weights are the starting point). All its trainable weights are trained. */
  model: tf.LayersModel;
  workers: number;
  backend: TfjsBackendPreference;
  learningRate: number;
  /** Largest batch a step will get (sizes the shared buffers). */
  maxBatch: number;
  /** The model's metadata (its head defines the loss). */
  meta: ModelMetadata;
  loss?: HeadLossOptions;
}

/** The worker entry: compiled `train-worker.js` beside this module (dist/), else the TS source run through the repo's loader. */
function workerEntry(): { url: URL; execArgv?: string[] } {
  const js = new URL("./train-worker.js", import.meta.url);
  if (existsSync(fileURLToPath(js))) return { url: js };
  const ts = new URL("./train-worker.ts", import.meta.url);
  const loader = new URL("../../test/record-ts-loader.mjs", import.meta.url);
  return { url: ts, execArgv: ["--import", loader.href] };
}

interface Pending {
  resolve: (reply: TrainWorkerReply) => void;
  reject: (err: Error) => void;
}

class Replica {
  private waiting = new Map<string, Pending[]>();
  failure: Error | undefined;
  constructor(
    readonly worker: Worker,
    readonly id: number,
    onFailure: (err: Error) => void,
  ) {
    worker.on("message", (reply: TrainWorkerReply) => {
      if (reply.type === "error") {
        const err = new Error(`train worker ${id}: ${reply.message}`);
        err.stack = reply.stack ?? err.stack;
        return onFailure(err);
      }
      const queue = this.waiting.get(reply.type);
      queue?.shift()?.resolve(reply);
    });
    worker.on("error", (err) => onFailure(new Error(`train worker ${id} failed: ${err.message}`)));
    worker.on("exit", (code) => onFailure(new Error(`train worker ${id} exited (code ${code})`)));
  }
  /** The next reply of `type`. */
  next<T extends TrainWorkerReply["type"]>(type: T): Promise<Extract<TrainWorkerReply, { type: T }>> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const queue = this.waiting.get(type) ?? [];
      queue.push({ resolve: resolve as Pending["resolve"], reject });
      this.waiting.set(type, queue);
    });
  }
  fail(err: Error): void {
    this.failure ??= err;
    for (const queue of this.waiting.values()) for (const p of queue.splice(0)) p.reject(err);
  }
  send(msg: TrainWorkerRequest, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(msg, transfer);
  }
}

/** N model replicas in worker threads trained as one; see the file comment. */
export class ParallelTrainer {
  private stepNo = 0;
  private closed = false;
  /** Floats per row of the model's first output. */
  private readonly firstOutputSize: number;

  private constructor(
    private readonly replicas: Replica[],
    private readonly control: Int32Array,
    private readonly outputs: Float32Array,
    private readonly options: ParallelTrainerOptions,
  ) {
    this.firstOutputSize = options.model.outputs[0].shape.slice(1).reduce((a: number, b) => a * (b as number), 1);
  }

  get workers(): number {
    return this.replicas.length;
  }

  static async create(options: ParallelTrainerOptions): Promise<ParallelTrainer> {
    const { model, workers, maxBatch } = options;
    if (!Number.isInteger(workers) || workers < 1) throw new RangeError(`workers: expected a positive integer, got ${workers}`);
    const outShapes = model.outputs.map((o) => o.shape.slice(1) as number[]);
    const outOffsets: number[] = [];
    let total = 0;
    for (const s of outShapes) {
      outOffsets.push(total);
      total += maxBatch * s.reduce((a, b) => a * b, 1);
    }
    const params = model.trainableWeights.reduce((a, w) => a + w.shape.reduce((p, q) => p! * q!, 1)!, 0);
    const control = new SharedArrayBuffer(4 * (workers + 1));
    const sharedWeights = new SharedArrayBuffer(4 * params);
    // Owners: largest variables first, each to the worker with the fewest parameters so far.
    const sizes = model.trainableWeights.map((w) => w.shape.reduce((p, q) => p! * q!, 1)!);
    const owner = new Array<number>(sizes.length).fill(0);
    const load = new Array<number>(workers).fill(0);
    for (const i of sizes.map((_, i) => i).sort((a, b) => sizes[b] - sizes[a] || a - b)) {
      const w = load.indexOf(Math.min(...load));
      owner[i] = w;
      load[w] += sizes[i];
    }
    const outputs = new SharedArrayBuffer(4 * total);
    const grads = new SharedArrayBuffer(4 * params * workers);
    const topology = model.toJSON(null, false);
    const initialWeights = model.getWeights().map((w) => ({ data: w.dataSync() as Float32Array, shape: w.shape }));
    const entry = workerEntry();
    const replicas: Replica[] = [];
    let trainer: ParallelTrainer | undefined;
    const onFailure = (err: Error) => {
      for (const r of replicas) r.fail(err);
      if (trainer) void trainer.close();
    };
    for (let id = 0; id < workers; id++) {
      const init: TrainWorkerInit = {
        id,
        backend: options.backend,
        topology,
        initialWeights,
        learningRate: options.learningRate,
        meta: options.meta,
        loss: options.loss,
        control,
        outputs,
        outOffsets,
        grads,
        params,
        weights: sharedWeights,
        owner,
        workers,
      };
      const worker = new Worker(entry.url, { workerData: init, execArgv: entry.execArgv });
      replicas.push(new Replica(worker, id, onFailure));
    }
    trainer = new ParallelTrainer(replicas, new Int32Array(control), new Float32Array(outputs), options);
    try {
      await Promise.all(replicas.map((r) => r.next("ready")));
    } catch (err) {
      await trainer.close();
      throw err;
    }
    return trainer;
  }

  /**
   * One synchronous data-parallel step (forward, backward, Adam) on `batch`, like trainStep.
   * Resolves with the loss as soon as the workers have it; their backward and update go on while
   * the caller prepares the next batch (whose step message waits in their queues).
   */
  async step(batch: Batch, options: { wantPredictions?: boolean; training?: boolean; learningRate?: number } = {}): Promise<StepResult> {
    if (this.closed) throw new Error("ParallelTrainer: closed");
    const rows = batch.shape[0];
    if (rows > this.options.maxBatch) throw new RangeError(`batch of ${rows} exceeds maxBatch ${this.options.maxBatch}`);
    const parts = Math.min(this.replicas.length, rows);
    const perRow = batch.input.length / rows;
    const step = ++this.stepNo;
    const reported = this.replicas[0].next("loss");
    this.replicas.forEach((r, w) => {
      // Workers past `parts` get no rows (a batch smaller than the worker count) but still meet the barriers.
      const start = w < parts ? Math.floor((w * rows) / parts) : rows;
      const end = w < parts ? Math.floor(((w + 1) * rows) / parts) : rows;
      const input = batch.input.slice(start * perRow, end * perRow);
      r.send(
        {
          type: "step",
          step,
          input,
          shape: [end - start, ...batch.shape.slice(1)],
          start,
          rows,
          targets: batch.targets,
          training: options.training ?? true,
          learningRate: options.learningRate,
        },
        [input.buffer],
      );
    });
    const { loss, classLoss, boxLoss } = await reported;
    const result: StepResult = { loss, classLoss, boxLoss };
    // All workers have written their outputs (worker 0 reports after the outputs barrier) and
    // none writes again before the next step is sent.
    if (options.wantPredictions) result.predClasses = this.outputs.slice(0, rows * this.firstOutputSize);
    return result;
  }

  /** Copies the (identical) replicas' weights into `model` (the model this trainer was created from). */
  async syncTo(model: tf.LayersModel): Promise<void> {
    const got = this.replicas[0].next("weights");
    this.replicas[0].send({ type: "weights" });
    const { weights } = await got;
    const current = model.getWeights();
    const tensors = weights.map((w, i) => tf.tensor(w, current[i].shape));
    model.setWeights(tensors);
    tf.dispose(tensors);
  }

  /** Weights of every replica (for tests: they must be identical). */
  async replicaWeights(): Promise<Float32Array[][]> {
    return Promise.all(
      this.replicas.map((r) => {
        const got = r.next("weights");
        r.send({ type: "weights" });
        return got.then((m) => m.weights);
      }),
    );
  }

  /** Stops the workers (idempotent). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.control, this.replicas.length, 1);
    for (let w = 0; w < this.replicas.length; w++) Atomics.notify(this.control, w);
    await Promise.all(this.replicas.map((r) => r.worker.terminate()));
  }
}
