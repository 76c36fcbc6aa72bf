/**
 * A soak run of `fovea run`: a 60 fps camera-shaped source (ffmpeg's testsrc2 on a real rgb24
 * pipe) for N minutes, a subscriber on the detections, and per minute the frames received, the
 * frames dropped (sequence gaps), capture-to-publish p50/p99 and the process's RSS; at the end the
 * RSS slope (least squares over the minutes after the first). Not part of CI: it takes minutes.
 *
 *   node --import ./test/record-ts-loader.mjs scripts/soak.ts --minutes 10 [--source SPEC]
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { subscribeVision } from "../src/publish/subscriber.js";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    source: { type: "string", default: "lavfi:testsrc2" },
    port: { type: "string", default: "5599" },
  },
});
const minutes = Number(values.minutes);
if (!(minutes > 0)) throw new Error(`--minutes: expected a positive number, got '${values.minutes}'`);
const endpoint = `tcp://127.0.0.1:${values.port}`;
const root = path.resolve(import.meta.dirname, "..");
const child = spawn(
  process.execPath,
  [
    path.join(root, "dist/cli/main.js"),
    "run",
    "--source",
    values.source,
    "--width",
    "640",
    "--height",
    "480",
    "--fps",
    "60",
    "--publish",
    endpoint,
  ],
  {
    cwd: root,
    env: { ...process.env, FOVEA_LOG_LEVEL: "warn" },
    stdio: ["ignore", "ignore", "inherit"],
  },
);

child.on("exit", (code) => {
  if (minute < minutes) {
    console.error(`fovea run exited early (code ${code}) in minute ${minute + 1}`);
    process.exit(1);
  }
});

/** Resident set of the fovea process in MiB, from /proc (Linux). */
function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

const percentile = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : NaN;

const sub = subscribeVision(endpoint);
const rows: Array<{ minute: number; frames: number; dropped: number; p50: number; p99: number; rss: number }> = [];
let lastSeq: bigint | undefined;
let totals: number[] = [];
let frames = 0;
let dropped = 0;
const started = Date.now();
let minute = 0;
const timer = setInterval(() => {
  minute++;
  totals.sort((a, b) => a - b);
  rows.push({ minute, frames, dropped, p50: percentile(totals, 0.5), p99: percentile(totals, 0.99), rss: rssMiB(child.pid!) });
  const r = rows[rows.length - 1];
  console.log(
    `minute ${r.minute}: ${r.frames} frames, ${r.dropped} dropped, total p50 ${r.p50.toFixed(2)} / p99 ${r.p99.toFixed(2)} ms, RSS ${r.rss.toFixed(1)} MiB`,
  );
  totals = [];
  frames = 0;
  dropped = 0;
  if (minute >= minutes) {
    clearInterval(timer);
    sub.close();
    child.kill("SIGTERM");
  }
}, 60_000);

for await (const msg of sub) {
  if (msg.topic !== "detections") continue;
  const seq = msg.frame.seq;
  if (lastSeq !== undefined && seq > lastSeq + 1n) dropped += Number(seq - lastSeq - 1n);
  lastSeq = seq;
  frames++;
  totals.push(msg.frame.timings.totalUs / 1000);
}

// RSS slope over the minutes after the first (start-up allocations excluded).
const pts = rows.slice(1);
const n = pts.length;
if (n >= 2) {
  const mx = pts.reduce((s, r) => s + r.minute, 0) / n;
  const my = pts.reduce((s, r) => s + r.rss, 0) / n;
  const slope = pts.reduce((s, r) => s + (r.minute - mx) * (r.rss - my), 0) / pts.reduce((s, r) => s + (r.minute - mx) ** 2, 0);
  console.log(
    `RSS slope ${slope.toFixed(2)} MiB/min over minutes 2-${rows.length}; ${((Date.now() - started) / 60000).toFixed(1)} min in all`,
  );
}
