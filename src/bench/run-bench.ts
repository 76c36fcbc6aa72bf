/**
 * `fovea bench`: the real runtime Pipeline (the class `fovea run` uses, observed — not a copy)
 * over a source, per engine/device, input size and pacing mode, publishing to a real ZeroMQ PUB
 * socket on a free loopback port; then inference alone per batch size; then the peer runtimes.
 */
import { engineMatrix } from "../engine/registry.js";
import os from "node:os";
import path from "node:path";
import v8 from "node:v8";
import vm from "node:vm";
import { constants as perfConstants, PerformanceObserver, type PerformanceEntry } from "node:perf_hooks";
import type { Logger } from "pino";
import { openSource } from "../capture/open-source.js";
import { FoveaInputError } from "../core/errors.js";
import { loadModelDir } from "../core/model-dir.js";
import type { PipelineCounters, PipelineObserver } from "../core/pipeline-types.js";
import { createEngine } from "../engine/create-engine.js";
import { frameLoopThreads, type DeviceName, type EngineName, type InferenceEngine } from "../engine/engine.js";
import { Pipeline } from "../pipeline/pipeline.js";
import { DetectionPublisher } from "../publish/publisher.js";
import {
  BenchReportSchema,
  type BenchMode,
  type BenchReport,
  type InferenceRun,
  type PipelineRun,
  type PreprocessPath,
  type Skipped,
} from "./bench-report.js";
import { IdleSubscribers } from "./idle-subscribers.js";
import { benchInference, benchInferenceSideBySide, benchInput } from "./inference-bench.js";
import { machineInfo } from "./machine-info.js";
import { ResourceMonitor } from "./resource-usage.js";
import { runPeers } from "./run-peers.js";
import { StageHistograms } from "./stage-histograms.js";
import type { LiveView } from "../view/live-view.js";
import type { ViewerThread } from "../view/viewer-thread.js";

export interface EngineChoice {
  engine: EngineName;
  device: DeviceName;
}

/** Every engine/device fovea knows; `--all` tries each and skips, with the reason, those that do not load. */
export const ALL_ENGINES: readonly EngineChoice[] = engineMatrix();

export const MODE_FPS: Record<BenchMode, number | null> = { paced30: 30, paced60: 60, unpaced: null };

export interface InputSize {
  width: number;
  height: number;
}

/** What one benchmark covers; the CLI fills it from its flags. */
export interface BenchOptions {
  /** Model directory (fovea.json, model.onnx, tfjs/). */
  modelDir: string;
  /**
   * A second model directory whose inference alone is measured beside the model's, call by call in
   * turn on every engine and batch (benchInferenceSideBySide): the cost of a new model against
   * the one it replaces, on one machine at one time. Its pipeline is not run.
   */
  baselineModelDir?: string;
  /** Measured frames per pipeline run (after the warm-up). */
  frames: number;
  /** Frames per pipeline run processed first and excluded from every figure. */
  warmup: number;
  /** Source spec as `fovea run --source` takes it (default synthetic). */
  source: string;
  engines: readonly EngineChoice[];
  sizes: readonly InputSize[];
  modes: readonly BenchMode[];
  /** Batch sizes for inference alone; empty = skip. */
  batches: readonly number[];
  /** Measured `engine.run` calls per batch size. */
  inferenceRuns: number;
  /** A pipeline run or an inference series ends after this long even if short of its count. */
  maxSecondsPerRun: number;
  /** Run scripts/peers.py (OpenCV DNN, PyTorch) and report ratios to onnxruntime/cpu. */
  peers: boolean;
  /**
   * onnxruntime intra-op threads of every run. Default: all cores for inference alone, all but
   * one for the pipeline runs (frameLoopThreads, as `fovea run`).
   */
  threads?: number;
  /**
   * Preprocessing paths every pipeline run is measured with, one after the other (default both:
   * the frame path and the JS path it replaced, side by side in one run).
   */
  preprocess?: readonly PreprocessPath[];
  /** Intra-op threads of the frame path's session. Default: the engine's (all cores). */
  framePathThreads?: number;
  /** Let the frame path's pool threads spin between runs. Default: the engine's (off). */
  framePathSpinning?: boolean;
  log: Logger;
  /** The command line, stored in the report. */
  command: readonly string[];
  /** Called as work advances (label of the current run, frames done of total); must be cheap. */
  onProgress?: (label: string, done: number, total: number) => void;
  /** Called when a run starts / is skipped, for a human watching. */
  onEvent?: (message: string) => void;
  /**
   * Repeat every pipeline run with a live view (`fovea run --view`, 10 viewer frames a second)
   * and a viewer subscribed to every channel, right after the run without: the cost of watching.
   */
  view?: boolean;
  /**
   * Repeat every pipeline run with this many ZeroMQ subscribers connected to the publisher that
   * never read, right after the run without: the cost of a crowd of idle clients. 0 or absent: none.
   */
  idleSubscribers?: number;
}

export const DEFAULT_PREPROCESS: readonly PreprocessPath[] = ["graph", "js"];

function engineOptions(options: BenchOptions) {
  return { modelDir: options.modelDir, framePathThreads: options.framePathThreads, framePathSpinning: options.framePathSpinning };
}

/** Run the whole benchmark and return the (schema-checked) report. */
export async function runBench(options: BenchOptions): Promise<BenchReport> {
  const modelDir = await loadModelDir(options.modelDir);
  const metadata = modelDir.metadata;
  const loadAverageStart = os.loadavg();
  const machine = machineInfo();
  const pipelineRuns: PipelineRun[] = [];
  const inference: InferenceRun[] = [];
  const skipped: Skipped[] = [];
  const input = benchInput(metadata.input.width * metadata.input.height * 3);

  for (const choice of options.engines) {
    let engine: InferenceEngine;
    try {
      engine = await createEngine({ ...engineOptions(options), engine: choice.engine, device: choice.device, threads: options.threads });
    } catch (err) {
      const reason = (err as Error).message.split("\n")[0];
      skipped.push({ ...choice, reason });
      options.onEvent?.(`skipping ${choice.engine}/${choice.device}: ${reason}`);
      continue;
    }
    try {
      if (engine.engine !== choice.engine || engine.device !== choice.device) {
        const reason = `asked for ${choice.engine}/${choice.device}, the engine loaded as ${engine.engine}/${engine.device}`;
        skipped.push({ ...choice, reason });
        options.onEvent?.(`skipping ${choice.engine}/${choice.device}: ${reason}`);
        continue;
      }
      const baseline =
        options.baselineModelDir && options.batches.length > 0
          ? await createEngine({
              modelDir: options.baselineModelDir,
              engine: choice.engine,
              device: choice.device,
              threads: options.threads,
            })
          : undefined;
      try {
        for (const batch of options.batches) {
          options.onEvent?.(
            `inference alone ${choice.engine}/${choice.device} batch ${batch}${baseline ? `, beside ${baseline.metadata.id}` : ""}`,
          );
          const series = { batch, warmup: Math.min(options.warmup, 50), runs: options.inferenceRuns, maxSeconds: options.maxSecondsPerRun };
          if (!baseline) {
            inference.push(await benchInference(engine, { ...series, input }));
            continue;
          }
          const [mine, theirs] = await benchInferenceSideBySide([{ engine, input }, { engine: baseline }], series);
          inference.push({ ...mine, p50VsBaseline: mine.perCall.p50 / theirs.perCall.p50 }, { ...theirs, model: baseline.metadata.id });
        }
      } finally {
        await baseline?.dispose();
      }
      // Inference alone ran on all cores (as the brief's bar table measures it); the pipeline
      // runs as `fovea run` does, leaving a core to preprocessing.
      if (options.threads === undefined && engine.engine === "onnxruntime" && frameLoopThreads() !== os.availableParallelism()) {
        const loopEngine = await createEngine({
          ...engineOptions(options),
          engine: choice.engine,
          device: choice.device,
          threads: frameLoopThreads(),
        });
        await engine.dispose();
        engine = loopEngine;
      }
      for (const size of options.sizes) {
        for (const mode of options.modes) {
          for (const pre of options.preprocess ?? DEFAULT_PREPROCESS) {
            const what = `pipeline ${size.width}x${size.height} ${mode} preprocess ${pre}`;
            options.onEvent?.(`${what} ${choice.engine}/${choice.device}`);
            try {
              pipelineRuns.push(await benchPipeline(engine, size, mode, options, false, pre));
              if (options.view) {
                options.onEvent?.(`${what} ${choice.engine}/${choice.device} with a viewer connected`);
                pipelineRuns.push(await benchPipeline(engine, size, mode, options, true, pre));
              }
              const idle = options.idleSubscribers ?? 0;
              if (idle > 0) {
                options.onEvent?.(`${what} ${choice.engine}/${choice.device} with ${idle} idle subscribers connected`);
                pipelineRuns.push(await benchPipeline(engine, size, mode, options, false, pre, idle));
              }
            } catch (err) {
              // Bad input (source, flags) ends the benchmark; an engine failing mid-run costs only its run.
              if (err instanceof FoveaInputError) throw err;
              const reason = `${what} failed: ${(err as Error).message.split("\n")[0]}`;
              skipped.push({ ...choice, reason });
              options.onEvent?.(`${choice.engine}/${choice.device}: ${reason}`);
            }
          }
        }
      }
    } finally {
      await engine.dispose();
    }
  }

  let peers: BenchReport["peers"] = null;
  if (options.peers) {
    options.onEvent?.("peers: OpenCV DNN and PyTorch via scripts/peers.py");
    let reference =
      inference.find((i) => i.engine === "onnxruntime" && i.device === "cpu" && i.batch === 1 && i.model === undefined) ?? null;
    if (!reference) reference = await referenceInference(options, input, inference, skipped);
    peers = await runPeers({
      onnxPath: modelDir.onnxPath ?? path.join(modelDir.dir, metadata.files.onnx),
      input,
      runs: options.inferenceRuns,
      warmup: Math.min(options.warmup, 50),
      threads: options.threads ?? os.availableParallelism(),
      maxSeconds: options.maxSecondsPerRun,
      reference,
    });
  }

  const report: BenchReport = {
    format: "fovea-bench",
    formatVersion: 1,
    createdAt: new Date().toISOString(),
    command: [...options.command],
    machine: { ...machine, loadAverageStart, loadAverageEnd: os.loadavg() },
    model: {
      dir: modelDir.dir,
      id: metadata.id,
      trained: metadata.trained,
      inputWidth: metadata.input.width,
      inputHeight: metadata.input.height,
    },
    settings: {
      frames: options.frames,
      warmup: options.warmup,
      source: options.source,
      sizes: options.sizes.map((s) => `${s.width}x${s.height}`),
      modes: [...options.modes],
      batches: [...options.batches],
      maxSecondsPerRun: options.maxSecondsPerRun,
      inferenceRuns: options.inferenceRuns,
      preprocess: [...(options.preprocess ?? DEFAULT_PREPROCESS)],
      view: options.view ?? false,
      idleSubscribers: options.idleSubscribers ?? 0,
    },
    pipelineRuns,
    inference,
    skipped,
    peers,
  };
  // A report that does not match its own schema is a bug here, not bad input.
  return BenchReportSchema.parse(report);
}

/**
 * The peers are compared with onnxruntime/cpu at batch 1; when the engines or batches benchmarked
 * did not include it, measure it here (and list it with the other inference results).
 */
async function referenceInference(
  options: BenchOptions,
  input: Float32Array,
  inference: InferenceRun[],
  skipped: Skipped[],
): Promise<InferenceRun | null> {
  let engine: InferenceEngine;
  try {
    engine = await createEngine({ modelDir: options.modelDir, engine: "onnxruntime", device: "cpu", threads: options.threads });
  } catch (err) {
    skipped.push({ engine: "onnxruntime", device: "cpu", reason: `peer reference: ${(err as Error).message.split("\n")[0]}` });
    return null;
  }
  try {
    const run = await benchInference(engine, {
      batch: 1,
      warmup: Math.min(options.warmup, 50),
      runs: options.inferenceRuns,
      input,
      maxSeconds: options.maxSecondsPerRun,
    });
    inference.push(run);
    return run;
  } finally {
    await engine.dispose();
  }
}

/** One pipeline run: warm-up, then `frames` measured frames (or the time limit). */
export async function benchPipeline(
  engine: InferenceEngine,
  size: InputSize,
  mode: BenchMode,
  options: BenchOptions,
  withViewer = false,
  preprocess: PreprocessPath = "graph",
  idleSubscribers = 0,
): Promise<PipelineRun> {
  const targetFps = MODE_FPS[mode];
  const wanted = options.warmup + options.frames;
  const label = `${engine.engine}/${engine.device} ${size.width}x${size.height} ${mode} ${preprocess}${withViewer ? "+viewer" : ""}${idleSubscribers ? `+${idleSubscribers} idle` : ""}`;
  const gc = new GcPauses();
  const histograms = new StageHistograms({ warmup: options.warmup });
  let monitor: ResourceMonitor | null = null;
  let firstSeq = -1;
  let lastSeq = -1;
  let firstPublishNs = 0n;
  let lastPublishNs = 0n;
  let counters: PipelineCounters | null = null;

  const observer: PipelineObserver = {
    // Reads timings and seq only, so a camera ring's frames reach it without a copy.
    keepsFramePixels: false,
    onProcessed(p) {
      // End to end = capture until the message was handed to ZeroMQ; the wire's total_us stops
      // at publish_time_ns, which is stamped just before encoding and sending.
      const t = p.timings;
      histograms.record({ ...t, totalUs: t.totalUs + t.publishUs });
      if (histograms.framesSeen === options.warmup) {
        monitor = ResourceMonitor.start({ cores: os.cpus().length });
        gc.start();
      } else if (histograms.framesSeen > options.warmup) {
        if (firstSeq < 0) {
          firstSeq = p.frame.seq;
          firstPublishNs = p.publishTimeNs;
        }
        lastSeq = p.frame.seq;
        lastPublishNs = p.publishTimeNs;
      }
      options.onProgress?.(label, histograms.framesSeen, wanted);
    },
    onStatus(s) {
      counters = { ...s.counters };
    },
  };

  const publisher = await DetectionPublisher.create({ endpoint: "tcp://127.0.0.1:*" });
  let idle: IdleSubscribers | null = null;
  let watching: Awaited<ReturnType<typeof startWatching>> | null = null;
  let viewer: PipelineRun["viewer"] = null;
  let truncated = false;
  let sourceFps: number | null = null;
  let lastError = "";
  let endReason: PipelineRun["endReason"] = "source-ended";
  let pipeline: Pipeline | undefined;
  try {
    // All connected before the source opens: the run measures them idle, not connecting.
    if (idleSubscribers > 0) idle = await IdleSubscribers.connect(publisher.endpoint, idleSubscribers);
    if (withViewer) watching = await startWatching(engine);
    const source = await openSource(options.source, {
      unpaced: targetFps === null,
      fps: targetFps ?? undefined,
      // Replay sources start over so a short clip still yields warm-up + frames.
      loop: true,
      width: size.width,
      height: size.height,
    });
    // The synthetic source renders its clip on worker threads the first time; measuring while
    // it renders would time the renderer's CPU load, not the pipeline. Sources that prepare in
    // the background say so with a `ready` promise.
    const ready = (source as { ready?: unknown }).ready;
    if (ready instanceof Promise) await ready;
    sourceFps = source.info.mode === "live" ? (source.info.fps ?? null) : null;
    const observers: PipelineObserver[] = watching ? [observer, watching.view] : [observer];
    pipeline = await Pipeline.create({
      source,
      engine,
      publisher,
      observers,
      maxFrames: wanted,
      cameraId: "bench",
      log: options.log,
      framePath: preprocess === "graph",
    });
    collectGarbage();
    if (options.warmup === 0) {
      monitor = ResourceMonitor.start({ cores: os.cpus().length });
      gc.start();
    }
    const running = pipeline;
    const limit = setTimeout(() => {
      truncated = true;
      void running.stop();
    }, options.maxSecondsPerRun * 1000);
    try {
      const summary = await pipeline.run();
      gc.stop();
      counters = summary.counters;
      lastError = summary.lastError;
      endReason = truncated ? "time-limit" : summary.reason === "max-frames" ? "max-frames" : "source-ended";
    } finally {
      clearTimeout(limit);
    }
  } finally {
    await idle?.close();
    await publisher.close();
    if (watching) {
      const received = await watching.viewer.stop();
      await watching.view.close();
      viewer = {
        fps: watching.view.fps,
        framesSent: watching.view.framesSent,
        imagesReceived: received.messages["/camera/image"] ?? 0,
        bytesReceived: received.bytes,
      };
    }
  }

  const resources = (monitor as ResourceMonitor | null)?.stop() ?? ResourceMonitor.start({ cores: os.cpus().length }).stop();
  const framePath = pipeline?.framePathUsed ?? null;
  const gcPauses = await gc.summary(histograms.framesMeasured);
  const measured = histograms.framesMeasured;
  if (measured < options.frames) truncated = true;
  const spanS = Number(lastPublishNs - firstPublishNs) / 1e9;
  const seqSpan = firstSeq >= 0 ? lastSeq - firstSeq + 1 : 0;
  const dropped = Math.max(0, seqSpan - measured);
  const c = counters as PipelineCounters | null;
  return {
    engine: engine.engine,
    device: engine.device,
    threads: engine.threads,
    preprocessAsked: preprocess,
    preprocess: framePath ? "graph" : "js",
    ...(framePath ? { framePathThreads: framePath.threads, framePathSpinning: options.framePathSpinning ?? false } : {}),
    width: size.width,
    height: size.height,
    mode,
    targetFps,
    sourceFps,
    source: options.source,
    warmupFrames: Math.min(options.warmup, histograms.framesSeen),
    measuredFrames: measured,
    truncated,
    endReason,
    lastError,
    sustainedFps: measured > 1 && spanS > 0 ? (measured - 1) / spanS : 0,
    sourceDeliveredFps: seqSpan > 1 && spanS > 0 ? (seqSpan - 1) / spanS : 0,
    droppedFrames: dropped,
    droppedPercent: seqSpan > 0 ? (100 * dropped) / seqSpan : 0,
    counters: c
      ? { framesIn: c.framesIn, framesProcessed: c.framesProcessed, framesDropped: c.framesDropped, framesFailed: c.framesFailed }
      : null,
    stages: histograms.summary(),
    resources,
    gc: gcPauses,
    totalSeriesMs: histograms.totalSeriesMs.map((v) => Math.round(v * 1000) / 1000),
    viewer,
    idleSubscribers: idle ? { count: idleSubscribers, connected: (idle as IdleSubscribers).connected } : null,
  };
}

/** A live view on a free loopback port with a viewer (on its own thread) subscribed to everything. */
async function startWatching(engine: InferenceEngine): Promise<{ view: LiveView; viewer: ViewerThread }> {
  const [{ LiveView }, { ViewerThread }] = await Promise.all([import("../view/live-view.js"), import("../view/viewer-thread.js")]);
  const md = engine.metadata;
  const view = await LiveView.start({ address: { host: "127.0.0.1", port: 0 }, modelId: md.id, classes: md.classes, cameraId: "bench" });
  try {
    const viewer = await ViewerThread.connect(`ws://127.0.0.1:${view.server.port}/`);
    // Subscriptions are handled on this thread: wait until the view knows it is watched.
    const t0 = performance.now();
    while (!view.server.subscribed("image") && performance.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 5));
    return { view, viewer };
  } catch (err) {
    await view.close();
    throw err;
  }
}

/**
 * A full collection before a run, so the run does not collect garbage the bench made before it
 * (an earlier run's decoded clip and outputs, the inference-alone calls, start-up): a `fovea run`
 * process has none of it. V8 exposes `gc` only behind a flag; setting the flag at run time and
 * taking the function from a fresh context spares every caller starting node with --expose-gc.
 */
function collectGarbage(): void {
  v8.setFlagsFromString("--expose-gc");
  (vm.runInNewContext("gc") as () => void)();
}

/**
 * GC pauses of this process between start() and stop(), from PerformanceObserver 'gc' entries
 * (delivered asynchronously after each collection; summary() waits for the last ones).
 */
class GcPauses {
  private readonly entries: PerformanceEntry[] = [];
  private readonly observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) this.entries.push(e);
  });
  private fromMs = Infinity;
  private toMs = Infinity;

  constructor() {
    this.observer.observe({ entryTypes: ["gc"] });
  }

  start(): void {
    this.fromMs = performance.now();
  }

  stop(): void {
    this.toMs = performance.now();
  }

  async summary(frames: number): Promise<PipelineRun["gc"]> {
    await new Promise((r) => setTimeout(r, 20));
    this.observer.disconnect();
    const inWindow = this.entries.filter((e) => e.startTime >= this.fromMs && e.startTime <= this.toMs);
    const major = inWindow.filter(
      (e) => (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR,
    ).length;
    const totalMs = inWindow.reduce((sum, e) => sum + e.duration, 0);
    const maxMs = inWindow.reduce((m, e) => Math.max(m, e.duration), 0);
    return { count: inWindow.length, major, totalMs, maxMs, per1000Frames: frames > 0 ? (1000 * inWindow.length) / frames : 0 };
  }
}
