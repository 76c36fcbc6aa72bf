/**
 * Run `fovea` from its TypeScript sources as a real child process (the test loader transpiles on
 * import), so fault tests need no build and see exit codes, stderr and signals as a supervisor does.
 */
import { execFile, spawn, type ChildProcessByStdio } from "node:child_process";
import path from "node:path";
import type { Readable } from "node:stream";
import { promisify } from "node:util";
import { PACKAGE_ROOT } from "../../../src/core/package-root.js";

const LOADER = path.join(PACKAGE_ROOT, "test", "record-ts-loader.mjs");
const MAIN = path.join(PACKAGE_ROOT, "src", "cli", "main.ts");

export interface CliRun {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Exit code (null if killed by a signal) once the process is gone. */
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startCli(args: readonly string[], options: { command?: readonly string[] } = {}): CliRun {
  const [cmd, ...pre] = options.command ?? [process.execPath];
  const child = spawn(cmd, [...pre, ...(options.command ? [process.execPath] : []), "--import", LOADER, MAIN, ...args], {
    cwd: PACKAGE_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, FOVEA_LOG_LEVEL: process.env.FOVEA_LOG_LEVEL ?? "info" },
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr.on("data", (b: Buffer) => (err += b.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("close", (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout: () => out, stderr: () => err, exit };
}

export async function runCli(
  args: readonly string[],
  options: { command?: readonly string[] } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = startCli(args, options);
  const { code } = await run.exit;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

/** Resolve once `check()` holds, polling; rejects with `what` after `timeoutMs` (a bound on the wait, not a claim). */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Process ids of `pid`'s children running `command`. */
export async function childPids(pid: number, command: string): Promise<number[]> {
  const { stdout } = await promisify(execFile)("ps", ["-o", "pid=,comm=", "--ppid", String(pid)]).catch(() => ({ stdout: "" }));
  return stdout
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter(([p, c]) => p && c === command)
    .map(([p]) => Number(p));
}

/** Make a test clip with ffmpeg's lavfi generator. */
export async function makeClip(file: string, seconds: number, size = "320x240", rate = 30): Promise<void> {
  await promisify(execFile)("ffmpeg", [
    "-hide_banner",
    "-loglevel",
    "error",
    "-y",
    "-f",
    "lavfi",
    "-i",
    `testsrc2=size=${size}:rate=${rate}`,
    "-t",
    String(seconds),
    "-pix_fmt",
    "yuv420p",
    file,
  ]);
}
