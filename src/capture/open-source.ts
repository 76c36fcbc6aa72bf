import { FoveaInputError } from "../core/errors.js";
import type { FrameSource, OpenSourceOptions, SourceModule } from "../core/frame.js";

export type { OpenSourceOptions };

/**
 * A kind of `--source KIND[:TARGET]`. `open` imports the source's module only when that source is
 * opened: `fovea run` on a camera loads neither the synthetic renderer nor the MCAP reader.
 */
export interface SourceEntry {
  readonly kind: string;
  /** The form for help texts and error messages. */
  readonly form: string;
  /** Why `target` (the text after `kind:`) is not valid for this kind, or undefined if it is. */
  readonly parse: (target: string) => string | undefined;
  readonly open: () => Promise<SourceModule>;
}

const needs = (what: string) => (target: string) => (target ? undefined : `needs ${what}`);
const anything = () => undefined;

/** Every source `--source` can name. A new source is a module exporting `openFromSpec` and one line here. */
export const SOURCES: readonly SourceEntry[] = [
  { kind: "camera", form: "camera:/dev/videoN", parse: needs("a device"), open: () => import("./camera-source.js") },
  { kind: "file", form: "file:PATH", parse: needs("a path"), open: () => import("./video-file-source.js") },
  { kind: "dir", form: "dir:PATH", parse: needs("a path"), open: () => import("./image-folder-source.js") },
  { kind: "webcam", form: "webcam[:DEVICE]", parse: anything, open: () => import("./webcam-source.js") },
  {
    kind: "synthetic",
    form: "synthetic[:jpeg|:rgb24]",
    // jpeg: frames as an MJPEG camera sends them (decoded in the pipeline); rgb24: as a camera
    // behind ffmpeg delivers them (decoded elsewhere).
    parse: (t) => (t === "" || t === "jpeg" || t === "rgb24" ? undefined : "takes jpeg or rgb24"),
    open: () => import("../synth/synthetic-source.js"),
  },
  { kind: "mcap", form: "mcap:PATH", parse: needs("a path"), open: () => import("./mcap-source.js") },
  {
    kind: "lavfi",
    form: "lavfi:FILTER",
    parse: (t) => (/^[a-z0-9_]+$/.test(t) ? undefined : "needs an ffmpeg source filter name such as testsrc2"),
    open: () => import("./lavfi-source.js"),
  },
];

/** The `--source` forms, for help texts and error messages. */
export const SOURCE_FORMS: readonly string[] = SOURCES.map((s) => s.form);

/** A parsed `--source` value. */
export interface SourceSpec {
  /** One of the registry's kinds. */
  kind: string;
  /** Path or device after the `kind:` prefix (empty for plain `synthetic` and `webcam`; `jpeg` or `rgb24` for synthetic). */
  target: string;
}

function badSource(spec: string, why: string): FoveaInputError {
  return new FoveaInputError("--source", `${why} in ${JSON.stringify(spec)}; expected one of ${SOURCE_FORMS.join(", ")}`);
}

function entryFor(spec: string): { entry: SourceEntry; target: string } {
  if (typeof spec !== "string" || spec.trim() === "") throw badSource(String(spec), "no source given");
  const colon = spec.indexOf(":");
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const target = colon < 0 ? "" : spec.slice(colon + 1);
  const entry = SOURCES.find((s) => s.kind === kind);
  if (!entry) throw badSource(spec, `unknown source kind ${JSON.stringify(kind)}`);
  const wrong = entry.parse(target);
  if (wrong !== undefined) throw badSource(spec, `${kind}: ${wrong}`);
  return { entry, target };
}

/** Parse a `--source` value; anything else is a FoveaInputError naming `--source` and the forms. */
export function parseSourceSpec(spec: string): SourceSpec {
  const { entry, target } = entryFor(spec);
  return { kind: entry.kind, target };
}

function checkOptions(options: OpenSourceOptions): void {
  for (const [flag, value] of [
    ["--width", options.width],
    ["--height", options.height],
  ] as const) {
    if (value !== undefined && (!Number.isSafeInteger(value) || value <= 0)) {
      throw new FoveaInputError(flag, `expected a positive integer number of pixels, got ${value}`);
    }
  }
  if (options.fps !== undefined && (!Number.isFinite(options.fps) || options.fps <= 0)) {
    throw new FoveaInputError("--fps", `expected a positive number of frames per second, got ${options.fps}`);
  }
  if (options.pixelFormat !== undefined && options.pixelFormat !== "mjpeg" && options.pixelFormat !== "yuyv422") {
    throw new FoveaInputError("--pixel-format", `expected mjpeg or yuyv422, got ${String(options.pixelFormat)}`);
  }
  if (options.stallTimeoutMs !== undefined && (!Number.isFinite(options.stallTimeoutMs) || options.stallTimeoutMs <= 0)) {
    throw new FoveaInputError("--stall-timeout", `expected a positive number of milliseconds, got ${options.stallTimeoutMs}`);
  }
  if (options.cameraId !== undefined && (typeof options.cameraId !== "string" || options.cameraId === "")) {
    throw new FoveaInputError("--camera-id", "expected a non-empty identifier");
  }
}

/**
 * Open the frame source a `--source` value names. Each source validates its own input (a missing
 * device, file or folder is a FoveaInputError naming it).
 */
export async function openSource(spec: string, options: OpenSourceOptions = {}): Promise<FrameSource> {
  const { entry, target } = entryFor(spec);
  checkOptions(options);
  const source = await entry.open();
  return source.openFromSpec(target, options);
}
