import { DEVICE_NAMES, ENGINE_DEVICES, ENGINE_NAMES } from "../engine/registry.js";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import cliProgress from "cli-progress";
import { Option, type Command } from "commander";
import { BenchModeSchema, PreprocessPathSchema, type BenchMode, type BenchReport, type PreprocessPath } from "../bench/bench-report.js";
import { renderHtml } from "../bench/report-html.js";
import { formatReport } from "../bench/report-table.js";
import { ALL_ENGINES, runBench, type EngineChoice, type InputSize } from "../bench/run-bench.js";
import { FoveaInputError } from "../core/errors.js";
import { createLogger } from "../core/log.js";
import type { DeviceName, EngineName } from "../engine/engine.js";
import { PACKAGE_ROOT } from "../core/package-root.js";
import { loadModelDir } from "../core/model-dir.js";

/** Flags of `fovea bench` as commander hands them over. */
export interface BenchFlags {
  model: string;
  frames: string;
  warmup: string;
  source: string;
  engine: EngineName;
  device?: DeviceName;
  all?: boolean;
  sizes: string;
  modes: string;
  batches: string;
  inferenceRuns: string;
  maxSeconds: string;
  threads?: string;
  json?: string;
  html?: string;
  peers?: boolean;
  view?: boolean;
  preprocess: string;
  frameThreads?: string;
  spin?: boolean;
  idleSubscribers?: string;
  baseline?: string;
}

const DEFAULT_DEVICE: Record<EngineName, DeviceName> = { onnxruntime: "cpu", tfjs: "wasm" };
const DEVICES: Record<EngineName, readonly DeviceName[]> = ENGINE_DEVICES;

function intFlag(flag: string, value: string, min: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
    throw new FoveaInputError(flag, `expected an integer >= ${min}, got '${value}'`);
  }
  return n;
}

/** Most idle subscribers a run takes: each is a TCP connection and file descriptors on both ends. */
export const MAX_IDLE_SUBSCRIBERS = 2000;

function idleSubscribersFlag(value: string): number {
  const n = intFlag("--idle-subscribers", value, 1);
  if (n > MAX_IDLE_SUBSCRIBERS) throw new FoveaInputError("--idle-subscribers", `expected 1..${MAX_IDLE_SUBSCRIBERS}, got '${value}'`);
  return n;
}

function listFlag(value: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

export function parseSizes(value: string): InputSize[] {
  const sizes = listFlag(value).map((s) => {
    const m = /^(\d+)x(\d+)$/.exec(s);
    const width = m ? Number(m[1]) : 0;
    const height = m ? Number(m[2]) : 0;
    if (!m || width < 16 || height < 16 || width > 8192 || height > 8192) {
      throw new FoveaInputError("--sizes", `expected WIDTHxHEIGHT[,WIDTHxHEIGHT...] with sides 16..8192, like 640x480; got '${s}'`);
    }
    return { width, height };
  });
  if (sizes.length === 0) throw new FoveaInputError("--sizes", "expected at least one WIDTHxHEIGHT, like 640x480");
  return sizes;
}

export function parseModes(value: string): BenchMode[] {
  const modes = listFlag(value).map((m) => {
    const r = BenchModeSchema.safeParse(m);
    if (!r.success) throw new FoveaInputError("--modes", `expected a list of ${BenchModeSchema.options.join(", ")}; got '${m}'`);
    return r.data;
  });
  if (modes.length === 0) throw new FoveaInputError("--modes", `expected at least one of ${BenchModeSchema.options.join(", ")}`);
  return modes;
}

export function parseBatches(value: string): number[] {
  return listFlag(value).map((b) => {
    const n = Number(b);
    if (!/^\d+$/.test(b) || n < 1 || n > 256)
      throw new FoveaInputError("--batches", `expected a list of batch sizes 1..256 like 1,4,16; got '${b}'`);
    return n;
  });
}

export function parsePreprocess(value: string): PreprocessPath[] {
  const paths = listFlag(value).map((v) => {
    const r = PreprocessPathSchema.safeParse(v);
    if (!r.success) throw new FoveaInputError("--preprocess", `expected a list of ${PreprocessPathSchema.options.join(", ")}; got '${v}'`);
    return r.data;
  });
  if (paths.length === 0) throw new FoveaInputError("--preprocess", `expected at least one of ${PreprocessPathSchema.options.join(", ")}`);
  return paths;
}

export function engineChoices(flags: Pick<BenchFlags, "engine" | "device" | "all">): EngineChoice[] {
  if (flags.all) {
    if (flags.device) throw new FoveaInputError("--device", "cannot be combined with --all (which tries every engine and device)");
    return [...ALL_ENGINES];
  }
  const device = flags.device ?? DEFAULT_DEVICE[flags.engine];
  if (!DEVICES[flags.engine].includes(device)) {
    throw new FoveaInputError("--device", `engine ${flags.engine} supports ${DEVICES[flags.engine].join(", ")}; got '${device}'`);
  }
  return [{ engine: flags.engine, device }];
}

async function writeOutput(flag: string, file: string, text: string): Promise<void> {
  try {
    await mkdir(path.dirname(path.resolve(file)), { recursive: true });
    await writeFile(file, text);
  } catch (err) {
    throw new FoveaInputError(flag, `cannot write ${file}: ${(err as Error).message}`);
  }
}

/** `fovea bench` without commander: parse the flags, run, print the table, write the files. */
export interface BenchIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
}

/**
 * @param command the command line as typed, stored in the report
 */
export async function benchCommand(
  flags: BenchFlags,
  io: BenchIo = process,
  command: readonly string[] = ["fovea", "bench"],
): Promise<BenchReport> {
  const frames = intFlag("--frames", flags.frames, 1);
  const warmup = intFlag("--warmup", flags.warmup, 0);
  const inferenceRuns = intFlag("--inference-runs", flags.inferenceRuns, 1);
  const maxSecondsPerRun = intFlag("--max-seconds", flags.maxSeconds, 1);
  const threads = flags.threads === undefined ? undefined : intFlag("--threads", flags.threads, 1);
  const engines = engineChoices(flags);
  const sizes = parseSizes(flags.sizes);
  const modes = parseModes(flags.modes);
  const batches = parseBatches(flags.batches);
  if (flags.baseline !== undefined) {
    // Checked before anything runs: a wrong path must not cost the minutes of the pipeline runs first.
    await loadModelDir(flags.baseline).catch((err: unknown) => {
      throw err instanceof FoveaInputError ? new FoveaInputError("--baseline", err.message) : err;
    });
    if (batches.length === 0) throw new FoveaInputError("--baseline", "measures inference alone: give --batches at least one batch size");
  }

  // Pipeline logging would interleave with the table; warnings still show (FOVEA_LOG_LEVEL overrides).
  const log = createLogger({ level: process.env.FOVEA_LOG_LEVEL ?? "warn", name: "fovea-bench" });
  const tty = Boolean(io.stdout.isTTY);
  const bar = tty
    ? new cliProgress.SingleBar(
        {
          format: "{label} [{bar}] {value}/{total} frames",
          clearOnComplete: true,
          hideCursor: true,
          stream: io.stdout as NodeJS.WriteStream,
        },
        cliProgress.Presets.shades_classic,
      )
    : null;
  let barLabel = "";
  try {
    const report = await runBench({
      modelDir: flags.model,
      baselineModelDir: flags.baseline,
      frames,
      warmup,
      source: flags.source,
      engines,
      sizes,
      modes,
      batches,
      inferenceRuns,
      maxSecondsPerRun,
      peers: Boolean(flags.peers),
      view: Boolean(flags.view),
      idleSubscribers: flags.idleSubscribers === undefined ? undefined : idleSubscribersFlag(flags.idleSubscribers),
      preprocess: parsePreprocess(flags.preprocess),
      framePathThreads: flags.frameThreads === undefined ? undefined : intFlag("--frame-threads", flags.frameThreads, 1),
      framePathSpinning: flags.spin ? true : undefined,
      threads,
      log,
      command,
      onEvent: (message) => {
        if (!tty) io.stderr.write(`fovea bench: ${message}\n`);
      },
      onProgress: bar
        ? (label, done, total) => {
            if (label !== barLabel) {
              if (barLabel) bar.stop();
              barLabel = label;
              bar.start(total, 0, { label });
            }
            bar.update(done);
          }
        : undefined,
    });
    bar?.stop();
    io.stdout.write(`${formatReport(report)}\n`);
    if (flags.json) {
      await writeOutput("--json", flags.json, `${JSON.stringify(report, null, 2)}\n`);
      io.stdout.write(`report written to ${flags.json}\n`);
    }
    if (flags.html) {
      await writeOutput("--html", flags.html, renderHtml(report));
      io.stdout.write(`plots written to ${flags.html}\n`);
    }
    if (report.pipelineRuns.length === 0 && report.inference.length === 0 && engines.length > 0) {
      throw new Error(`no engine could be benchmarked: ${report.skipped.map((s) => `${s.engine}/${s.device}: ${s.reason}`).join("; ")}`);
    }
    return report;
  } finally {
    bar?.stop();
  }
}

/** Registers `fovea bench`. */
export function registerBench(program: Command): void {
  program
    .command("bench")
    .description(
      "Benchmark the real pipeline (source -> preprocess -> engine -> detect -> ZeroMQ publish) per engine, input size and pacing; " +
        "inference alone per batch size; optionally OpenCV DNN and PyTorch on the same model (--peers)",
    )
    .option("--model <dir>", "model directory with fovea.json", path.join(PACKAGE_ROOT, "models", "default"))
    .option("--frames <n>", "measured frames per pipeline run (after the warm-up)", "1000")
    .option("--warmup <n>", "frames per run processed first and excluded from every figure", "100")
    // rgb24 by default: what the robot's camera: source hands the pipeline (ffmpeg decodes the
    // camera's MJPEG in its own process); synthetic:jpeg times an in-process JPEG decode too.
    .option(
      "--source <spec>",
      "frame source as for `fovea run --source` (synthetic:rgb24 = decoded frames as from a camera behind ffmpeg, synthetic:jpeg = MJPEG decoded in the pipeline, file:PATH, dir:PATH, camera:DEV, ...)",
      "synthetic:rgb24",
    )
    .addOption(new Option("--engine <engine>", "inference engine").choices([...ENGINE_NAMES]).default("onnxruntime"))
    .addOption(
      new Option("--device <device>", "device of the engine (default: cpu for onnxruntime, wasm for tfjs)").choices([...DEVICE_NAMES]),
    )
    .option(
      "--baseline <dir>",
      "also measure this model's inference alone, call by call in turn with --model's on each engine and batch: the ratio of the two holds on a busy machine",
    )
    .option("--all", "try every engine/device; those that do not load are listed with the reason")
    .option("--sizes <list>", "source resolutions, WIDTHxHEIGHT comma-separated", "640x480")
    .option(
      "--modes <list>",
      "paced30 and paced60 (camera pace: the latency that matters), unpaced (throughput)",
      "paced30,paced60,unpaced",
    )
    .option("--batches <list>", "batch sizes for inference alone (empty to skip)", "1,4,16")
    .option("--inference-runs <n>", "measured calls per batch size for inference alone", "1000")
    .option("--max-seconds <n>", "time limit of each run; a slow engine stops early and the report says so", "120")
    .option("--threads <n>", "onnxruntime intra-op threads (default: all cores)")
    .option("--json <file>", "write the full report as JSON")
    .option("--html <file>", "write a self-contained HTML page with latency histograms and latency over time")
    .option("--peers", "also run scripts/peers.py: the same ONNX model in OpenCV DNN and PyTorch (Debian python3-opencv, python3-torch)")
    .option(
      "--preprocess <list>",
      "where rgb24 frames are preprocessed, each measured in turn: graph (inside the model's onnxruntime session, the runtime's path) and js (on the loop thread before it, the previous path)",
      "graph,js",
    )
    .option("--frame-threads <n>", "intra-op threads of the graph path's session (default: all cores)")
    .option("--spin", "let the graph path's onnxruntime threads spin between runs")
    .option("--view", "repeat each pipeline run with a live view (fovea run --view, 10 fps) and a viewer subscribed to every channel")
    .option(
      "--idle-subscribers <n>",
      `repeat each pipeline run with N ZeroMQ subscribers connected to the publisher that never read (1..${MAX_IDLE_SUBSCRIBERS}): the latency a crowd of idle clients costs`,
    )
    .action(async (flags: BenchFlags) => {
      const raw = process.argv;
      const at = raw.indexOf("bench");
      await benchCommand(flags, process, ["fovea", ...(at >= 0 ? raw.slice(at) : ["bench"])]);
    });
}
