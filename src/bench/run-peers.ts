/**
 * Runs scripts/peers.py (OpenCV DNN and PyTorch on the same ONNX model and the same input bytes)
 * and puts each peer beside fovea's own batch-1 inference as a ratio.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { PACKAGE_ROOT } from "../core/package-root.js";
import { PeerSchema, type InferenceRun, type PeersReport } from "./bench-report.js";
import { z } from "zod";

const execFileAsync = promisify(execFile);

export const PEERS_SCRIPT = path.join(PACKAGE_ROOT, "scripts", "peers.py");

/**
 * The interpreter with Debian's python3-opencv/-torch/-onnx: `FOVEA_PYTHON`, else /usr/bin/python3
 * (a pyenv `python3` first on PATH usually lacks them), else whatever `python3` is.
 */
export function peersPython(): string {
  return process.env.FOVEA_PYTHON ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
}

const PeersOutputSchema = z.object({
  runs: z.number(),
  warmup: z.number(),
  peers: z.array(PeerSchema),
  agreement: z.unknown().optional(),
});

export interface RunPeersOptions {
  onnxPath: string;
  /** Batch-1 input tensor, NHWC float32: written to a temp file so the peers see the same bytes. */
  input: Float32Array;
  runs: number;
  warmup: number;
  threads: number;
  /** Time budget per peer, seconds. */
  maxSeconds?: number;
  /** fovea's onnxruntime batch-1 inference on the same input, for the ratios (null: no ratios). */
  reference: InferenceRun | null;
}

export async function runPeers(options: RunPeersOptions): Promise<PeersReport> {
  const reference = options.reference
    ? {
        engine: options.reference.engine,
        device: options.reference.device,
        p50Ms: options.reference.perCall.p50,
        p99Ms: options.reference.perCall.p99,
      }
    : null;
  const skipped = (why: string): PeersReport => ({ reference, runs: options.runs, warmup: options.warmup, peers: [], skipped: why });
  if (!existsSync(PEERS_SCRIPT)) return skipped(`${PEERS_SCRIPT} not found`);
  const dir = await mkdtemp(path.join(os.tmpdir(), "fovea-peers-"));
  try {
    const inputFile = path.join(dir, "input.f32");
    // Float32Array bytes are little-endian on every platform Node supports here (x64, arm64).
    await writeFile(inputFile, Buffer.from(options.input.buffer, options.input.byteOffset, options.input.byteLength));
    const python = peersPython();
    let stdout: string;
    try {
      ({ stdout } = await execFileAsync(
        python,
        [
          PEERS_SCRIPT,
          "--model",
          options.onnxPath,
          "--input",
          inputFile,
          "--runs",
          String(options.runs),
          "--warmup",
          String(options.warmup),
          "--threads",
          String(options.threads),
          "--max-seconds",
          String(options.maxSeconds ?? 120),
        ],
        { maxBuffer: 16 * 2 ** 20, timeout: 30 * 60_000 },
      ));
    } catch (err) {
      const e = err as { code?: unknown; stderr?: string; message: string };
      const detail = (e.stderr ?? "").trim().split("\n").slice(-3).join(" | ") || e.message;
      return skipped(
        e.code === "ENOENT" ? `no Python interpreter ${python} (set FOVEA_PYTHON)` : `${python} ${PEERS_SCRIPT} failed: ${detail}`,
      );
    }
    let parsed: z.infer<typeof PeersOutputSchema>;
    try {
      parsed = PeersOutputSchema.parse(JSON.parse(stdout));
    } catch (err) {
      return skipped(`peers.py printed no valid report: ${(err as Error).message.slice(0, 300)}`);
    }
    const peers = parsed.peers.map((p) =>
      p.available && p.p50Ms !== undefined && reference && reference.p50Ms > 0 ? { ...p, ratioToFovea: p.p50Ms / reference.p50Ms } : p,
    );
    return { reference, runs: parsed.runs, warmup: parsed.warmup, peers, agreement: parsed.agreement };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
