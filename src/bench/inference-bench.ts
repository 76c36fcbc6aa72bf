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
  return (await benchInferenceSideBySide([{ engine, input: options.input }], options))[0];
}

/** One engine of a side-by-side inference series, with its batch-1 input (default {@link benchInput}). */
export interface SideBySideEntry {
  engine: InferenceEngine;
  input?: Float32Array;
}

/**
 * Inference alone for several engines (e.g. two models) call by call in turn: engine 1, engine
 * 2, ..., engine 1, ... Measured one after the other, a model's figure also measures what else
 * the machine did meanwhile; interleaved, every engine sees the same machine, so their ratio holds
 * even where the absolute figures do not. `options.input` is ignored; each entry brings its own.
 */
export async function benchInferenceSideBySide(
  entries: readonly SideBySideEntry[],
  options: Omit<InferenceBenchOptions, "input">,
): Promise<InferenceRun[]> {
  const { batch, warmup, runs } = options;
  if (entries.length === 0) throw new RangeError("entries: expected at least one engine");
  if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`options.batch: expected an integer >= 1, got ${batch}`);
  if (!Number.isInteger(warmup) || warmup < 0) throw new RangeError(`options.warmup: expected an integer >= 0, got ${warmup}`);
  if (!Number.isInteger(runs) || runs < 1) throw new RangeError(`options.runs: expected an integer >= 1, got ${runs}`);
  const inputs = entries.map(({ engine, input }, e) => {
    const { width, height } = engine.metadata.input;
    const one = width * height * 3;
    const single = input ?? benchInput(one);
    if (single.length !== one) {
      throw new RangeError(
        `${entries.length > 1 ? `entries[${e}].input` : "options.input"}: expected ${one} floats (${width}x${height}x3), got ${single.length}`,
      );
    }
    const full = new Float32Array(one * batch);
    for (let b = 0; b < batch; b++) full.set(single, b * one);
    return full;
  });

  const maxSeconds = options.maxSeconds ?? 1e6;
  if (!(maxSeconds > 0)) throw new RangeError(`options.maxSeconds: expected > 0, got ${maxSeconds}`);
  // A slow engine (tfjs cpu: hundreds of ms per call) must not spend the whole budget warming up.
  const warmupDeadline = process.hrtime.bigint() + BigInt(Math.round(maxSeconds * 1e8));
  let warmed = 0;
  while (warmed < warmup) {
    for (let e = 0; e < entries.length; e++) await entries[e].engine.run(inputs[e], batch);
    warmed++;
    if (process.hrtime.bigint() > warmupDeadline) break;
  }
  const histograms = entries.map(() => new LatencyHistogram());
  const deadline = process.hrtime.bigint() + BigInt(Math.round(maxSeconds * 1e9));
  for (let i = 0, late = false; i < runs && !late; i++) {
    for (let e = 0; e < entries.length; e++) {
      const t0 = process.hrtime.bigint();
      await entries[e].engine.run(inputs[e], batch);
      const t1 = process.hrtime.bigint();
      histograms[e].recordNs(Number(t1 - t0));
      if (t1 > deadline) late = true;
    }
  }
  return entries.map(({ engine }, e) => {
    const perCall = histograms[e].summary();
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
  });
}
