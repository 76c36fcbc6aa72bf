/**
 * `fovea run`: frames in, detections out over ZeroMQ. Opens the model first (a bad model fails
 * in milliseconds, exit 2, naming the file), then the publisher, calibration and source, and runs
 * the frame loop until the source ends, `--max-frames`, or SIGINT/SIGTERM.
 */
import { type Command, Option } from "commander";
import { DEFAULT_CALIBRATION_FILE, loadCalibration, type Calibration } from "../calib/calibration.js";
import { openSource, SOURCE_FORMS } from "../capture/open-source.js";
import { FoveaInputError } from "../core/errors.js";
import { createLogger, type Logger } from "../core/log.js";
import type { PipelineObserver } from "../core/pipeline-types.js";
import type { LiveView } from "../view/live-view.js";
import { createEngine } from "../engine/create-engine.js";
import { frameLoopThreads, type InferenceEngine } from "../engine/engine.js";
import { Pipeline, type PipelineSummary } from "../pipeline/pipeline.js";
import { DetectionPublisher } from "../publish/publisher.js";
import type { SyntheticSource } from "../synth/synthetic-source.js";
import {
  calibrationFileFor,
  DEFAULT_ENDPOINT,
  DEVICES,
  ENGINES,
  parseRunConfig,
  publishesBeyondLoopback,
  type RunConfig,
} from "./run-config.js";

/** After SIGINT/SIGTERM the run must be down within a second; past this, exit regardless. */
const SHUTDOWN_DEADLINE_MS = 1000;

export function registerRun(program: Command): void {
  program
    .command("run")
    .description("Run the vision pipeline: source -> preprocess -> CNN -> detections published over ZeroMQ")
    .option("--source <spec>", `frame source: ${SOURCE_FORMS.join(" | ")} (default: synthetic)`)
    .option("--model <dir>", "model directory containing fovea.json (default: the shipped models/default)")
    .addOption(new Option("--engine <name>", "inference engine (default: auto)").choices([...ENGINES]))
    .addOption(new Option("--device <name>", "execution device (default: auto)").choices([...DEVICES]))
    .option("--publish <endpoint>", `ZeroMQ PUB endpoint to bind (default: ${DEFAULT_ENDPOINT})`)
    .option("--calibration <file>", "camera calibration JSON (default: calibration/default.json for the synthetic source)")
    .option("--camera-id <id>", "camera_id published with every frame (default: calibration's, else the source's)")
    .option("--unpaced", "replay footage as fast as possible instead of at its frame rate")
    .option("--loop", "replay footage forever")
    .option("--max-frames <n>", "stop after N processed frames")
    .option("--threads <n>", "inference threads (default: all cores but one, which preprocessing uses)")
    .option("--width <px>", "camera capture width / video scale width")
    .option("--height <px>", "camera capture height / video scale height")
    .option("--fps <n>", "camera frame rate to request / image-folder playback rate")
    .option("--pixel-format <fmt>", "camera pixel format: mjpeg | yuyv422")
    .option(
      "--stall-timeout <ms>",
      "ms without a frame before a camera, lavfi or paced file source is DEGRADED and a camera restarted (default: max(3 frame intervals, 250 ms); other sources ignore it)",
    )
    .option("--record <file.mcap>", "record frames, detections and status to an MCAP file (opens in Foxglove)")
    .option("--force", "overwrite an existing --record file")
    .option("--allow-remote", "bind --publish beyond loopback (e.g. tcp://0.0.0.0:5555) without the exposure warning")
    .option("--curve-secret <file>", "CURVE: encrypt and authenticate the stream with this secret certificate (fovea keys)")
    .option("--curve-clients <dir>", "CURVE: the controllers allowed to subscribe, as NAME.pub certificates in this directory")
    .option("--view [host:port]", "live view: Foxglove WebSocket server and a browser page on one port (default 127.0.0.1:8765)")
    .option("--view-fps <n>", "viewer frames per second (default 10)")
    .option("--view-token <token>", "token viewers must present (ws://HOST:PORT/?token=...); required beyond loopback")
    .option("--config <file>", "JSON file with any of these settings (flags override it)")
    .action(async (flags: Record<string, unknown>) => {
      const { config: configFile, ...rest } = flags;
      const config = parseRunConfig(rest, { configFile: configFile as string | undefined });
      const summary = await runFovea(config, createLogger({ name: "fovea-run" }));
      // Exit 0 only for a requested stop (signal, --max-frames, end of a finite source); a
      // supervisor restarts on 1.
      if (summary.reason === "source-failed") {
        process.stderr.write(`fovea: ${summary.lastError}\n`);
        process.exitCode = 1;
      }
      if (summary.recordingError) {
        process.stderr.write(`fovea: --record ${config.record}: recording failed: ${summary.recordingError}\n`);
        process.exitCode = 1;
      }
    });
}

async function openPublisher(endpoint: string, config: RunConfig): Promise<DetectionPublisher> {
  let curve: { secretKey: string; allowedClientKeys: string[] } | undefined;
  if (config.curveSecret && config.curveClients) {
    const { readAllowedKeys, readCertificate } = await import("../publish/curve-auth.js");
    const server = await readCertificate(config.curveSecret, "--curve-secret", true);
    curve = { secretKey: server.secretKey!, allowedClientKeys: await readAllowedKeys(config.curveClients, "--curve-clients") };
  }
  try {
    return await DetectionPublisher.create({ endpoint, curve });
  } catch (err) {
    throw new FoveaInputError("--publish", `${(err as Error).message}; is another fovea running there?`, { cause: err });
  }
}

// Structural rather than instanceof: asking must not load the renderer into a run on a camera.
function isSyntheticSource(source: unknown): source is SyntheticSource {
  return typeof source === "object" && source !== null && "ready" in source && "clip" in source;
}

/**
 * Without a cached clip, the synthetic source renders it on the first start (300 frames, about
 * 16 s on a 2-core machine) and plays it meanwhile, so the first pass runs at rendering speed.
 * Say so on stderr: a slow first pass is the renderer, not the runtime. `running()` tells
 * whether the run still goes on: a source closed early also settles `ready`, with no clip cached.
 */
export async function announceClipRendering(
  source: unknown,
  running: () => boolean,
  log: Logger,
  stderr: (line: string) => void = (line) => process.stderr.write(line),
): Promise<void> {
  if (!isSyntheticSource(source)) return;
  const startedMs = performance.now();
  let outcome: "rendering" | "rendered" | "failed" = "rendering";
  const settled = source.ready.then(
    () => (outcome = "rendered"),
    () => (outcome = "failed"), // a render failure ends the run through frames(), with its own message
  );
  // A clip loaded from the cache has `ready` resolved already; one turn of the event loop shows it.
  await new Promise((resolve) => setImmediate(resolve));
  if (outcome !== "rendering") return;
  const msg = `rendering the synthetic clip once (${source.info.description}; about 16 s on 2 cores); it plays while rendering, at rendering speed, and is cached under data/cache/ for later starts`;
  log.info(msg);
  stderr(`fovea: ${msg}\n`);
  void settled.then(() => {
    if (outcome !== "rendered" || !running()) return;
    const seconds = ((performance.now() - startedMs) / 1000).toFixed(1);
    log.info({ seconds, frames: source.clip.length }, "synthetic clip rendered and cached");
    stderr(
      `fovea: synthetic clip rendered (${source.clip.length} frames, ${seconds} s after the first) and cached; later starts skip rendering\n`,
    );
  });
}

/** Start the live view a validated config asks for, and say where it is. */
async function startView(
  config: RunConfig,
  about: { calibration?: Calibration; cameraId?: string; modelId: string; classes: readonly string[] },
  log: Logger,
): Promise<LiveView> {
  // Loaded only with --view: the WebSocket server and Foxglove schemas cost startup time.
  const [{ LiveView }, { parseViewAddress, isLoopback, formatAuthority }] = await Promise.all([
    import("../view/live-view.js"),
    import("../view/view-address.js"),
  ]);
  const address = parseViewAddress(config.view!);
  const view = await LiveView.start({ address, token: config.viewToken, fps: config.viewFps, ...about, log, flag: "--view" });
  const ws = `ws://${formatAuthority(view.server.host, view.server.port)}${config.viewToken ? "/?token=..." : ""}`;
  log.info({ url: view.url, fps: view.fps, token: config.viewToken !== undefined }, "live view listening");
  process.stderr.write(`fovea: live view at ${view.url} (Foxglove: open connection ${ws})\n`);
  if (!isLoopback(address.host)) {
    const msg = `the live view on ${formatAuthority(address.host, view.server.port)} is reachable from the network: anyone with the token sees the camera`;
    log.warn(msg);
    process.stderr.write(`fovea: WARNING: ${msg}\n`);
  }
  return view;
}

/** A run's summary; `recordingError` is set when `--record` was given and the recording failed. */
export type RunSummary = PipelineSummary & { recordingError?: string };

/**
 * Run the pipeline a validated config describes and resolve with its summary when it stops.
 * Everything opened here is closed here, also on failure.
 */
export async function runFovea(config: RunConfig, log: Logger): Promise<RunSummary> {
  const closers: Array<() => Promise<unknown>> = [];
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) {
      await close().catch((err: unknown) => log.warn({ err }, "cleanup failed"));
    }
  };
  let detach = () => {};
  try {
    const engine: InferenceEngine = await createEngine(
      {
        modelDir: config.model,
        engine: config.engine,
        device: config.device,
        threads: config.threads ?? frameLoopThreads(),
      },
      log,
    );
    closers.push(() => engine.dispose());
    const md = engine.metadata;
    log.info({ model: md.id, engine: engine.engine, device: engine.device, dir: config.model }, "model loaded");
    if (!md.trained) {
      const msg = `model ${md.id} (${config.model}) is UNTRAINED (fovea.json trained: false): its detections are meaningless`;
      log.warn(msg);
      process.stderr.write(`fovea: WARNING: ${msg}\n`);
    }

    const calibrationFile = calibrationFileFor(config, DEFAULT_CALIBRATION_FILE);
    const calibration: Calibration | undefined = calibrationFile ? await loadCalibration(calibrationFile) : undefined;
    if (calibration) log.info({ file: calibrationFile, cameraId: calibration.cameraId }, "calibration loaded");
    const cameraId = config.cameraId ?? calibration?.cameraId;

    const publisher = await openPublisher(config.publish, config);
    closers.push(() => publisher.close());
    if (publisher.auth) {
      log.info({ clients: config.curveClients }, "CURVE: only the controllers in --curve-clients can subscribe");
    } else if (publishesBeyondLoopback(config.publish) && !config.allowRemote) {
      const msg =
        `--publish ${config.publish} is reachable from the network: anyone who can connect receives the detections and ` +
        "status (the stream is not authenticated); bind tcp://127.0.0.1:PORT on the controller's machine, authenticate controllers " +
        "with --curve-secret and --curve-clients, or pass --allow-remote";
      log.warn(msg);
      process.stderr.write(`fovea: WARNING: ${msg}\n`);
    }
    log.info({ endpoint: publisher.endpoint }, "publishing detections and status");

    // The recorder joins this array once the source is open (it records the source's camera id);
    // the pipeline reads it from run() on.
    const observers: PipelineObserver[] = [];
    // The view listens before the source opens: a port in use fails at once, not after a camera
    // or the synthetic clip took their time.
    const view =
      config.view === undefined ? undefined : await startView(config, { calibration, cameraId, modelId: md.id, classes: md.classes }, log);
    if (view) {
      closers.push(() => view.close());
      observers.push(view);
    }
    let pipeline: Pipeline | undefined;
    let stopRequested = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopRequested) return;
      stopRequested = true;
      if (!pipeline) {
        // Still opening the source (a camera, the synthetic clip rendering): nothing runs yet. A
        // requested stop, so exit 0 like one during the run.
        process.stderr.write(`fovea: ${signal} while starting; exiting\n`);
        process.exit(0);
      }
      log.info({ signal }, "stopping");
      // The deadline timer is unref'd: a clean stop exits long before it fires.
      setTimeout(() => {
        process.stderr.write(`fovea: did not stop within ${SHUTDOWN_DEADLINE_MS} ms of ${signal}; exiting\n`);
        process.exit(1);
      }, SHUTDOWN_DEADLINE_MS).unref();
      void pipeline?.stop();
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    detach = () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    };

    pipeline = await Pipeline.create({
      source: (events) =>
        openSource(config.source, {
          unpaced: config.unpaced,
          loop: config.loop,
          width: config.width,
          height: config.height,
          fps: config.fps,
          pixelFormat: config.pixelFormat,
          stallTimeoutMs: config.stallTimeout,
          cameraId,
          events,
        }),
      engine,
      publisher,
      calibration,
      observers,
      maxFrames: config.maxFrames,
      cameraId,
      log,
    });
    const source = pipeline.source;
    closers.push(() => source.close());
    view?.setCameraId(cameraId ?? source.info.cameraId);
    log.info({ source: source.info.description, mode: source.info.mode, fps: source.info.fps }, "source open");
    let running = true;
    await announceClipRendering(source, () => running, log);

    let recorder: { readonly error?: Error } | undefined;
    if (config.record) {
      // Loaded only when recording: the MCAP and Foxglove schema modules cost startup time.
      const { McapRecorder } = await import("../record/mcap-recorder.js");
      const mcap = await McapRecorder.create(config.record, {
        force: config.force,
        forceFlag: "--force",
        calibration,
        modelId: md.id,
        // `fovea retag` labels the dataset with these; without them it falls back to the
        // default classes and rejects a venue model's labels.
        classes: md.classes,
        cameraId: cameraId ?? source.info.cameraId,
        imageEncoding: "jpeg",
        source: source.info.description,
        logger: log,
      });
      observers.push(mcap);
      recorder = mcap;
      log.info({ file: config.record }, "recording");
    }

    const summary = await pipeline.run().finally(() => (running = false));
    const l = summary.latency;
    log.info(
      {
        fps: Math.round(summary.fps * 10) / 10,
        counters: summary.counters,
        reason: summary.reason,
        latencyMs: Object.fromEntries(Object.entries(l).map(([k, v]) => [k, { p50: v.p50, p99: v.p99, max: v.max }])),
      },
      `done: ${summary.counters.framesProcessed} frames, ${summary.fps.toFixed(1)} fps, inference p50 ${l.inference.p50.toFixed(2)} ms, total p50 ${l.total.p50.toFixed(2)} ms`,
    );
    return recorder?.error ? { ...summary, recordingError: recorder.error.message } : summary;
  } finally {
    detach();
    await closeAll();
  }
}
