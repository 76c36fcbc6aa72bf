/**
 * The JSON report of `fovea bench --json`. The schema is the contract for tools that compare
 * runs (CI trend lines, the README's Performance section); it is checked when written.
 * All latencies are milliseconds.
 */
import { z } from "zod";

export const LatencySummarySchema = z.object({
  count: z.number().int().nonnegative(),
  mean: z.number().nonnegative(),
  p50: z.number().nonnegative(),
  p90: z.number().nonnegative(),
  p99: z.number().nonnegative(),
  p999: z.number().nonnegative(),
  max: z.number().nonnegative(),
});

export const StagesSchema = z.object({
  capture: LatencySummarySchema,
  preprocess: LatencySummarySchema,
  inference: LatencySummarySchema,
  detect: LatencySummarySchema,
  publish: LatencySummarySchema,
  total: LatencySummarySchema,
});

export const ResourceUsageSchema = z.object({
  wallSeconds: z.number().nonnegative(),
  cpuCores: z.number().nonnegative(),
  cpuPercentOfMachine: z.number().nonnegative(),
  peakRssMiB: z.number().nonnegative(),
  processPeakRssMiB: z.number().nonnegative(),
});

export const BenchModeSchema = z.enum(["paced30", "paced60", "unpaced"]);
export type BenchMode = z.infer<typeof BenchModeSchema>;

/**
 * Where a run preprocessed rgb24 frames: `graph` inside the engine's session (the frame path:
 * preprocessing graph merged in front of the model), `js` before it on the loop thread
 * (`preprocess` + `engine.run`, the path every frame took before the frame path existed).
 */
export const PreprocessPathSchema = z.enum(["graph", "js"]);
export type PreprocessPath = z.infer<typeof PreprocessPathSchema>;

/** Garbage-collection pauses of the fovea process over a run's measured frames (PerformanceObserver 'gc'). */
export const GcPausesSchema = z.object({
  count: z.number().int().nonnegative(),
  /** Of which major (mark-sweep-compact) collections. */
  major: z.number().int().nonnegative(),
  totalMs: z.number().nonnegative(),
  maxMs: z.number().nonnegative(),
  /** Pauses per 1000 measured frames. */
  per1000Frames: z.number().nonnegative(),
});

export const PipelineRunSchema = z.object({
  engine: z.string(),
  device: z.string(),
  /** Intra-op threads of the engine (onnxruntime); absent for engines without a fixed count. */
  threads: z.number().int().positive().optional(),
  /** What was asked for and what ran (a model or frame size without a frame path runs `js`). */
  preprocessAsked: PreprocessPathSchema.optional(),
  preprocess: PreprocessPathSchema.optional(),
  /** Intra-op threads of the frame path's session (the `graph` runs). */
  framePathThreads: z.number().int().positive().optional(),
  /** Whether the frame path's pool threads spin between runs. */
  framePathSpinning: z.boolean().optional(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  mode: BenchModeSchema,
  /** Source pace; null when unpaced. */
  targetFps: z.number().positive().nullable(),
  /** The pace the live source reports (a video file replays at its own rate); null for pull sources. */
  sourceFps: z.number().positive().nullable(),
  source: z.string(),
  warmupFrames: z.number().int().nonnegative(),
  measuredFrames: z.number().int().nonnegative(),
  /** True when the run ended before `measuredFrames` reached the requested count. */
  truncated: z.boolean(),
  /** Why the pipeline stopped: frame count reached, source ended, or stopped at the time limit. */
  endReason: z.enum(["max-frames", "source-ended", "time-limit"]),
  /** The pipeline's last error message, if any (a source that died, a failed frame). */
  lastError: z.string(),
  /** Processed frames per second over the measured window. */
  sustainedFps: z.number().nonnegative(),
  /** Frames per second the source delivered over the measured window (processed + dropped). */
  sourceDeliveredFps: z.number().nonnegative(),
  /** Source frames overwritten by a newer one in the latest-frame slot within the measured window (seq gaps). */
  droppedFrames: z.number().int().nonnegative(),
  droppedPercent: z.number().nonnegative(),
  /** The pipeline's own counters at the end of the run (warm-up included). */
  counters: z
    .object({
      framesIn: z.number().int().nonnegative(),
      framesProcessed: z.number().int().nonnegative(),
      framesDropped: z.number().int().nonnegative(),
      framesFailed: z.number().int().nonnegative(),
    })
    .nullable(),
  stages: StagesSchema,
  resources: ResourceUsageSchema,
  /** GC pauses over the measured frames. */
  gc: GcPausesSchema.optional(),
  /** End-to-end latency per measured frame, in order (for latency-over-time plots). */
  totalSeriesMs: z.array(z.number()),
  /** `--view`: a live view served and a viewer subscribed to every channel during the run. */
  viewer: z
    .object({
      /** Viewer frames per second asked for. */
      fps: z.number().positive(),
      /** Viewer frames sent over the whole run (warm-up included). */
      framesSent: z.number().int().nonnegative(),
      /** Images the viewer received. */
      imagesReceived: z.number().int().nonnegative(),
      bytesReceived: z.number().int().nonnegative(),
    })
    .nullable()
    .optional(),
  /** `--idle-subscribers N`: N ZeroMQ subscribers connected to the publisher during the run, never reading. */
  idleSubscribers: z
    .object({
      count: z.number().int().positive(),
      /** Of them, connected (ZeroMQ handshake done) before the source opened. */
      connected: z.number().int().nonnegative(),
    })
    .nullable()
    .optional(),
});
export type PipelineRun = z.infer<typeof PipelineRunSchema>;

export const InferenceRunSchema = z.object({
  engine: z.string(),
  device: z.string(),
  /** Intra-op threads of the engine (onnxruntime); absent for engines without a fixed count. */
  threads: z.number().int().positive().optional(),
  batch: z.number().int().positive(),
  warmupRuns: z.number().int().nonnegative(),
  measuredRuns: z.number().int().positive(),
  /** Latency of one `engine.run` call over the whole batch. */
  perCall: LatencySummarySchema,
  /** perCall p50 divided by the batch size. */
  perFrameP50: z.number().nonnegative(),
  /** Frames per second at the p50 call latency. */
  framesPerSecond: z.number().nonnegative(),
  /** Id of the model of this series when it is the baseline (`--baseline`), not the report's model. */
  model: z.string().optional(),
  /** With `--baseline`: this series' p50 over the baseline's, the two measured call by call in turn. */
  p50VsBaseline: z.number().positive().optional(),
});
export type InferenceRun = z.infer<typeof InferenceRunSchema>;

export const SkippedSchema = z.object({ engine: z.string(), device: z.string(), reason: z.string() });
export type Skipped = z.infer<typeof SkippedSchema>;

export const PeerSchema = z.object({
  name: z.string(),
  available: z.boolean(),
  version: z.string().optional(),
  reason: z.string().optional(),
  threads: z.number().optional(),
  mode: z.string().optional(),
  warmupRuns: z.number().int().nonnegative().optional(),
  /** Timed calls (fewer than asked when the time budget ran out). */
  measuredRuns: z.number().int().nonnegative().optional(),
  /** How the model was adapted for this runtime (same network), if it was. */
  note: z.string().optional(),
  p50Ms: z.number().optional(),
  p90Ms: z.number().optional(),
  p99Ms: z.number().optional(),
  meanMs: z.number().optional(),
  maxMs: z.number().optional(),
  /** Peer p50 / fovea onnxruntime-cpu batch-1 inference p50 on the same input (> 1: fovea is faster). */
  ratioToFovea: z.number().optional(),
});
export type Peer = z.infer<typeof PeerSchema>;

export const PeersSchema = z.object({
  /** What the peers were compared with. */
  reference: z.object({ engine: z.string(), device: z.string(), p50Ms: z.number(), p99Ms: z.number() }).nullable(),
  runs: z.number().int().nonnegative(),
  warmup: z.number().int().nonnegative(),
  peers: z.array(PeerSchema),
  /** Largest absolute output difference between the peers (they must compute the same network). */
  agreement: z.unknown().optional(),
  /** Why the peers did not run at all. */
  skipped: z.string().optional(),
});
export type PeersReport = z.infer<typeof PeersSchema>;

export const BenchReportSchema = z.object({
  format: z.literal("fovea-bench"),
  formatVersion: z.literal(1),
  createdAt: z.string(),
  command: z.array(z.string()),
  machine: z.object({
    cpuModel: z.string(),
    cores: z.number().int().positive(),
    availableParallelism: z.number().int().positive(),
    totalMemoryMiB: z.number().positive(),
    platform: z.string(),
    arch: z.string(),
    kernel: z.string(),
    hostname: z.string(),
    node: z.string(),
    libraries: z.record(z.string(), z.string().nullable()),
    /** 1/5/15-minute load averages before and after: other work on the machine makes figures noisy. */
    loadAverageStart: z.array(z.number()),
    loadAverageEnd: z.array(z.number()),
  }),
  model: z.object({ dir: z.string(), id: z.string(), trained: z.boolean(), inputWidth: z.number(), inputHeight: z.number() }),
  settings: z.object({
    frames: z.number().int().positive(),
    warmup: z.number().int().nonnegative(),
    source: z.string(),
    sizes: z.array(z.string()),
    modes: z.array(BenchModeSchema),
    batches: z.array(z.number().int().positive()),
    maxSecondsPerRun: z.number().positive(),
    inferenceRuns: z.number().int().positive(),
    /** Preprocessing paths each pipeline run was measured with (`--preprocess`). */
    preprocess: z.array(PreprocessPathSchema).optional(),
    /** `--view`: every pipeline run was repeated with a live viewer connected. */
    view: z.boolean().optional(),
    /** `--idle-subscribers N`: every pipeline run was repeated with N idle subscribers connected (0: not). */
    idleSubscribers: z.number().int().nonnegative().optional(),
  }),
  pipelineRuns: z.array(PipelineRunSchema),
  inference: z.array(InferenceRunSchema),
  skipped: z.array(SkippedSchema),
  peers: PeersSchema.nullable(),
});
export type BenchReport = z.infer<typeof BenchReportSchema>;
