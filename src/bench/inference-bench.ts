/**
 * Inference alone: `engine.run` on a fixed input at a given batch size, without capture,
 * preprocessing or publishing — the engine's own cost, and what batching buys for several
 * cameras or tiles.
 */
import type { InferenceEngine } from "../engine/engine.js";
import type { InferenceRun } from "./bench-report.js";
import { LatencyHistogram } from "./stage-histograms.js";

/**
 * A deterministic input tensor in the 0..1 range the preprocessing produces (seeded xorshift, so
 * fovea and the peer runtimes can be fed exactly the same bytes).
 */
export function benchInput(elements: number, seed = 7): Float32Array {
  if (!Number.isInteger(elements) || elements <= 0) throw new RangeError(`elements: expected a positive integer, got ${elements}`);
  const out = new Float32Array(elements);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < elements; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = s / 4294967296;
  }
  return out;
}

export interface InferenceBenchOptions {
  batch: number;
  /** Calls before measuring (excluded); fewer when they take longer than `maxSeconds / 10`. */
  warmup: number;
  /** Measured calls. */
  runs: number;
  /** Batch-1 input (NHWC float32); repeated to fill the batch. Default: {@link benchInput}. */
  input?: Float32Array;
  /** Stop measuring after this many seconds even if `runs` were not reached (slow engines). */
  maxSeconds?: number;
}

export async function benchInference(engine: InferenceEngine, options: InferenceBenchOptions): Promise<InferenceRun> {
  const { batch, warmup, runs } = options;
  if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`options.batch: expected an integer >= 1, got ${batch}`);
  if (!Number.isInteger(warmup) || warmup < 0) throw new RangeError(`options.warmup: expected an integer >= 0, got ${warmup}`);
  if (!Number.isInteger(runs) || runs < 1) throw new RangeError(`options.runs: expected an integer >= 1, got ${runs}`);
  const { width, height } = engine.metadata.input;
  const one = width * height * 3;
  const single = options.input ?? benchInput(one);
  if (single.length !== one) throw new RangeError(`options.input: expected ${one} floats (${width}x${height}x3), got ${single.length}`);
  const input = new Float32Array(one * batch);
  for (let b = 0; b < batch; b++) input.set(single, b * one);

  const maxSeconds = options.maxSeconds ?? 1e6;
  if (!(maxSeconds > 0)) throw new RangeError(`options.maxSeconds: expected > 0, got ${maxSeconds}`);
  // A slow engine (tfjs cpu: hundreds of ms per call) must not spend the whole budget warming up.
  const warmupDeadline = process.hrtime.bigint() + BigInt(Math.round(maxSeconds * 1e8));
  let warmed = 0;
  while (warmed < warmup) {
    await engine.run(input, batch);
    warmed++;
    if (process.hrtime.bigint() > warmupDeadline) break;
  }
  const histogram = new LatencyHistogram();
  const deadline = process.hrtime.bigint() + BigInt(Math.round(maxSeconds * 1e9));
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    await engine.run(input, batch);
    const t1 = process.hrtime.bigint();
    histogram.recordNs(Number(t1 - t0));
    if (t1 > deadline) break;
  }
  const perCall = histogram.summary();
  return {
    engine: engine.engine,
    device: engine.device,
    threads: engine.threads,
    batch,
    warmupRuns: warmed,
    measuredRuns: perCall.count,
    perCall,
    perFrameP50: perCall.p50 / batch,
    framesPerSecond: perCall.p50 > 0 ? (1000 * batch) / perCall.p50 : 0,
  };
}
