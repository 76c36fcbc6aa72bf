/**
 * Builds dist/ once before any test file runs, when a source file is newer than it: many tests
 * run the CLI as users do (`node dist/cli/main.js`, worker threads included), and one build up
 * front keeps parallel test files from racing tsc into the same folder. A build that fails stops
 * the run with tsc's output, rather than letting tests run an old dist/.
 */
import { execFile } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";

const ROOT = path.resolve(import.meta.dirname, "..");
const CLI = path.join(ROOT, "dist", "cli", "main.js");

function newestSource(folder: string): number {
  let newest = 0;
  for (const e of readdirSync(folder, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && !e.name.endsWith(".test.ts")) newest = Math.max(newest, statSync(path.join(e.parentPath, e.name)).mtimeMs);
  }
  return newest;
}

export default async function setup(): Promise<void> {
  let built = 0;
  try {
    built = statSync(CLI).mtimeMs;
  } catch {
    // not built yet
  }
  if (built >= newestSource(path.join(ROOT, "src"))) return;
  try {
    await promisify(execFile)(
      process.execPath,
      [path.join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.build.json"],
      { cwd: ROOT, maxBuffer: 16 << 20 },
    );
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `test setup: building dist/ with tsc -p tsconfig.build.json failed:\n${e.stdout ?? ""}${e.stderr ?? ""}${e.stdout || e.stderr ? "" : e.message}`,
    );
  }
}
