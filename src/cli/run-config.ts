/**
 * Configuration of `fovea run`: command-line flags, optionally on top of a JSON config file
 * (`--config FILE`, same field names in camelCase), validated with zod at start so that every
 * mistake is reported as the flag or file field at fault and what was expected — never as a
 * failure minutes into a match.
 */
import { DEVICE_NAMES, ENGINE_NAMES } from "../engine/registry.js";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import path from "node:path";
import { z } from "zod";
import { FoveaInputError } from "../core/errors.js";
import { MIN_STALL_MS } from "../capture/ffmpeg-stream-source.js";
import { parseSourceSpec } from "../capture/open-source.js";
import { isLoopback, parseViewAddress } from "../view/view-address.js";
import { PACKAGE_ROOT } from "../core/package-root.js";

/** The model `fovea run` uses without `--model`: the shipped one. */
export const DEFAULT_MODEL_DIR = path.join(PACKAGE_ROOT, "models", "default");
export const DEFAULT_ENDPOINT = "tcp://127.0.0.1:5555";

const ENDPOINT_PATTERN = /^(tcp:\/\/[^\s:]+:(\d+|\*)|ipc:\/\/.+|inproc:\/\/.+)$/;

/**
 * More inference threads than twice the cores only add contention; far more (100000) made
 * onnxruntime allocate gigabytes and never start.
 */
export const MAX_THREADS = availableParallelism() * 2;
/** Above this a frame interval is under a millisecond: no camera does it, and the pacing timer spins. */
export const MAX_FPS = 1000;

/** The port of a tcp:// endpoint, if it names one (`*` asks the system for a free port). */
function endpointPort(endpoint: string): string | undefined {
  return /^tcp:\/\/[^\s:]+:(\d+)$/.exec(endpoint)?.[1];
}

export const ENGINES = ["auto", ...ENGINE_NAMES] as const;
export const DEVICES = ["auto", ...DEVICE_NAMES] as const;

/** Strings from the command line become numbers here; non-integers are rejected, not truncated. */
const positiveInt = z.preprocess(
  (v) => (typeof v === "string" && /^\s*\d+\s*$/.test(v) ? Number(v) : v),
  z.number({ error: "expected a positive integer" }).int("expected a positive integer").positive("expected a positive integer"),
);

export const RunConfigSchema = z
  .object({
    /** camera:/dev/videoN | file:PATH | dir:PATH | mcap:PATH | webcam[:DEVICE] | synthetic (see open-source.ts) */
    source: z.string().default("synthetic"),
    /** Model directory containing fovea.json. */
    model: z.string().min(1, "expected a model directory").default(DEFAULT_MODEL_DIR),
    engine: z.enum(ENGINES, { error: `expected one of ${ENGINES.join(", ")}` }).default("auto"),
    device: z.enum(DEVICES, { error: `expected one of ${DEVICES.join(", ")}` }).default("auto"),
    /** ZeroMQ endpoint the PUB socket binds. */
    publish: z
      .string()
      .regex(ENDPOINT_PATTERN, "expected a ZeroMQ endpoint like tcp://127.0.0.1:5555, tcp://0.0.0.0:5555 or ipc:///tmp/fovea.sock")
      .refine((e) => {
        const port = endpointPort(e);
        return port === undefined || (Number(port) >= 1 && Number(port) <= 65535);
      }, "expected a TCP port 1..65535 (or * for any free port)")
      .default(DEFAULT_ENDPOINT),
    /** Calibration JSON; default: calibration/default.json for the synthetic source, none otherwise. */
    calibration: z.string().min(1, "expected a calibration file").optional(),
    /** Published camera_id; default: from the calibration or the source. */
    cameraId: z.string().min(1, "expected a non-empty camera id").optional(),
    /** Replay recorded/synthetic footage as fast as possible instead of at its frame rate. */
    unpaced: z.boolean().default(false),
    /** Stop after this many processed frames. */
    maxFrames: positiveInt.optional(),
    /** Inference threads (onnxruntime intra-op). Default: all cores but one (frameLoopThreads). */
    threads: positiveInt.refine((n) => n <= MAX_THREADS, `expected 1..${MAX_THREADS} (twice the ${MAX_THREADS / 2} cores)`).optional(),
    /** Camera capture width / video scale width, pixels. */
    width: positiveInt.optional(),
    /** Camera capture height / video scale height, pixels. */
    height: positiveInt.optional(),
    /** Camera frame rate to request; image-folder playback rate. */
    fps: z
      .preprocess(
        (v) => (typeof v === "string" && v.trim() !== "" ? Number(v) : v),
        z
          .number({ error: "expected a positive number" })
          .positive("expected a positive number")
          .finite("expected a positive number")
          .max(MAX_FPS, `expected at most ${MAX_FPS} frames per second`),
      )
      .optional(),
    /** Camera pixel format. */
    pixelFormat: z.enum(["mjpeg", "yuyv422"], { error: "expected mjpeg or yuyv422" }).optional(),
    /**
     * Milliseconds a live ffmpeg source (camera, lavfi, paced file) may send no frame before the
     * run is DEGRADED and a camera restarted; other sources ignore it. Default max(3 frame
     * intervals, 250 ms). The floor is the default's: below it, scheduler and pipe jitter alone
     * would restart a healthy camera over and over.
     */
    stallTimeout: z
      .preprocess(
        (v) => (typeof v === "string" && v.trim() !== "" ? Number(v) : v),
        z
          .number({ error: "expected a positive number of milliseconds" })
          .positive("expected a positive number of milliseconds")
          .min(MIN_STALL_MS, `expected at least ${MIN_STALL_MS} milliseconds (shorter, scheduler and pipe jitter alone look like a stall)`),
      )
      .optional(),
    /** Replay sources: start over at the end, forever. */
    loop: z.boolean().default(false),
    /** Record to this MCAP file while running. */
    record: z
      .string()
      .regex(/\.mcap$/i, "expected a file name ending in .mcap")
      .optional(),
    /** Overwrite an existing recording. */
    force: z.boolean().default(false),
    /** Bind --publish beyond loopback without the warning. */
    allowRemote: z.boolean().default(false),
    /** CURVE: the server's secret certificate (`fovea keys`); needs curveClients. */
    curveSecret: z.string().min(1, "expected a NAME.secret certificate file made by `fovea keys`").optional(),
    /** CURVE: directory of the controllers' NAME.pub certificates allowed to subscribe. */
    curveClients: z.string().min(1, "expected a directory of NAME.pub client certificates").optional(),
    /** Live view (Foxglove WebSocket + page): `true` = 127.0.0.1:8765, or `[HOST:]PORT`. */
    view: z.union([z.literal(true), z.string()], { error: "expected [HOST:]PORT, or the flag alone for 127.0.0.1:8765" }).optional(),
    /** Viewer frames per second. */
    viewFps: z
      .preprocess(
        (v) => (typeof v === "string" && v.trim() !== "" ? Number(v) : v),
        z
          .number({ error: "expected frames per second, a number in 0.1..60" })
          .min(0.1, "expected frames per second, a number in 0.1..60")
          .max(60, "expected frames per second, a number in 0.1..60"),
      )
      .optional(),
    /** Token live viewers must present. */
    viewToken: z.string().min(1, "expected a non-empty token").optional(),
  })
  .strict();

export type RunConfig = z.infer<typeof RunConfigSchema>;

/** Config field -> the flag that sets it, for error messages. */
const FLAG: Record<string, string> = {
  source: "--source",
  model: "--model",
  engine: "--engine",
  device: "--device",
  publish: "--publish",
  calibration: "--calibration",
  cameraId: "--camera-id",
  unpaced: "--unpaced",
  maxFrames: "--max-frames",
  threads: "--threads",
  width: "--width",
  height: "--height",
  fps: "--fps",
  pixelFormat: "--pixel-format",
  stallTimeout: "--stall-timeout",
  loop: "--loop",
  record: "--record",
  force: "--force",
  allowRemote: "--allow-remote",
  curveSecret: "--curve-secret",
  curveClients: "--curve-clients",
  view: "--view",
  viewFps: "--view-fps",
  viewToken: "--view-token",
};

function describeValue(v: unknown): string {
  return v === undefined ? "nothing" : JSON.stringify(v);
}

/**
 * Validate flags (as commander parsed them) merged over an optional config file. Throws
 * FoveaInputError naming `--flag` or `FILE: field`.
 */
export function parseRunConfig(flags: Record<string, unknown>, options: { configFile?: string } = {}): RunConfig {
  let fileValues: Record<string, unknown> = {};
  const file = options.configFile;
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      throw new FoveaInputError(file, `cannot read config file (${(err as Error).message})`, { cause: err });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new FoveaInputError(file, `expected JSON: ${(err as Error).message}`, { cause: err });
    }
    if (!json || typeof json !== "object" || Array.isArray(json)) throw new FoveaInputError(file, "expected a JSON object of run settings");
    fileValues = json as Record<string, unknown>;
    // Validate the file alone first so its errors name the file, not a flag.
    const r = RunConfigSchema.partial().safeParse(fileValues);
    if (!r.success) {
      const i = r.error.issues[0];
      const field = i.path.map(String).join(".") || "(root)";
      const got = i.path.length ? describeValue(fileValues[String(i.path[0])]) : "";
      throw new FoveaInputError(`${file}: ${field}`, `${i.message}${got ? `, got ${got}` : ""}`);
    }
  }
  const defined = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
  const merged = { ...fileValues, ...defined };
  const r = RunConfigSchema.safeParse(merged);
  if (!r.success) {
    const i = r.error.issues[0];
    const key = String(i.path[0] ?? "");
    if (i.code === "unrecognized_keys") {
      throw new FoveaInputError(
        file ?? "options",
        `unknown setting(s) ${(i as { keys: string[] }).keys.join(", ")}; expected ${Object.keys(FLAG).join(", ")}`,
      );
    }
    throw new FoveaInputError(FLAG[key] ?? key, `${i.message}, got ${describeValue(merged[key])}`);
  }
  // The source grammar belongs to the capture code; it names --source and the accepted forms.
  parseSourceSpec(r.data.source);
  checkView(r.data);
  if ((r.data.curveSecret === undefined) !== (r.data.curveClients === undefined)) {
    throw new FoveaInputError(
      r.data.curveSecret === undefined ? "--curve-secret" : "--curve-clients",
      "--curve-secret and --curve-clients go together: the server's secret certificate and the directory of allowed controllers' certificates",
    );
  }
  return r.data;
}

/** The live view's flags belong together; a view beyond loopback shows the camera to the network only with a token. */
function checkView(config: RunConfig): void {
  if (config.view === undefined) {
    if (config.viewFps !== undefined) throw new FoveaInputError("--view-fps", "only applies with --view [HOST:]PORT");
    if (config.viewToken !== undefined) throw new FoveaInputError("--view-token", "only applies with --view [HOST:]PORT");
    return;
  }
  const { host, port } = parseViewAddress(config.view);
  if (!isLoopback(host) && config.viewToken === undefined) {
    throw new FoveaInputError(
      "--view-token",
      `required when --view binds beyond loopback (${host}:${port} is reachable from the network); give a token viewers must present, or bind 127.0.0.1`,
    );
  }
}

/**
 * Whether a --publish endpoint can be reached from other machines: a tcp:// endpoint on any
 * address but loopback (`*`, 0.0.0.0, an interface, a LAN address). ipc:// and inproc:// stay local.
 */
export function publishesBeyondLoopback(endpoint: string): boolean {
  const m = /^tcp:\/\/(.+):(\d+|\*)$/.exec(endpoint);
  if (!m) return false;
  const host = m[1].replace(/^\[(.*)\]$/, "$1");
  return host !== "lo" && !isLoopback(host);
}

/** The calibration file to use: given, or the shipped default for the synthetic source. */
export function calibrationFileFor(config: RunConfig, defaultFile: string): string | undefined {
  if (config.calibration) return config.calibration;
  return config.source.startsWith("synthetic") ? defaultFile : undefined;
}
