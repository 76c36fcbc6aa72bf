/**
 * Fault: exit codes a supervisor acts on (issue 12, defect 3). Promise: `fovea run` exits 0 only
 * for a requested stop (signal, --max-frames, end of a finite source), 1 for a failure during the
 * run (the source died, the recording failed), 2 for bad input or configuration.
 * Real `fovea` processes on real ffmpeg clips; the disk that fills up is a real tmpfs (or, where
 * mounting is not allowed, a real file-size limit that makes the kernel fail the writes).
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { childPids, makeClip, runCli, startCli, until } from "./support/cli.js";

const exec = promisify(execFile);
const PUBLISH = ["--publish", "tcp://127.0.0.1:*"];
let dir: string;
let longClip: string;
let shortClip: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "fovea-faults-exit-"));
  longClip = path.join(dir, "long.mp4");
  shortClip = path.join(dir, "short.mp4");
  await Promise.all([makeClip(longClip, 60), makeClip(shortClip, 1)]);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("fovea run exit codes", () => {
  it("exits 1, naming the input, when the video's ffmpeg is killed mid-run", async () => {
    const run = startCli(["run", "--source", `file:${longClip}`, ...PUBLISH]);
    let ffmpeg: number[] = [];
    await until(
      async () => (ffmpeg = await childPids(run.child.pid!, "ffmpeg")).length > 0 && run.stderr().includes("pipeline running"),
      "the replay to run",
    );
    process.kill(ffmpeg[0], "SIGKILL");
    const { code } = await run.exit;
    expect(run.stderr()).toContain(longClip);
    expect(run.stderr()).toMatch(/killed by SIGKILL/);
    expect(code).toBe(1);
  });

  it("exits 1, naming --record and the error, when the recording fails mid-run (disk full); the run itself goes on", async () => {
    const mnt = path.join(dir, "small-disk");
    await mkdir(mnt);
    // 200 KiB: room for the recording's start, full after a few frames.
    const mounted = await exec("mount", ["-t", "tmpfs", "-o", "size=200k", "tmpfs", mnt]).then(
      () => true,
      () => false,
    );
    try {
      const file = path.join(mnt, "match.mcap");
      const { code, stderr } = await runCli(
        ["run", "--source", `file:${longClip}`, "--unpaced", "--max-frames", "120", "--record", file, ...PUBLISH],
        mounted ? {} : { command: ["prlimit", `--fsize=${200 * 1024}`] },
      );
      expect(stderr).toMatch(new RegExp(`--record ${file}: recording failed: .*(ENOSPC|EFBIG)`));
      // Vision kept running after the recorder failed: all 120 frames were processed.
      expect(stderr).toMatch(/"framesProcessed":120/);
      expect(code).toBe(1);
    } finally {
      if (mounted) await exec("umount", [mnt]);
    }
  });

  it("exits 0 on SIGTERM, on --max-frames and at the end of a finite source", async () => {
    const run = startCli(["run", "--source", `file:${longClip}`, ...PUBLISH]);
    await until(() => run.stderr().includes("pipeline running"), "the replay to run");
    run.child.kill("SIGTERM");
    expect((await run.exit).code).toBe(0);

    const [maxFrames, ended] = await Promise.all([
      runCli(["run", "--source", `file:${longClip}`, "--unpaced", "--max-frames", "5", ...PUBLISH]),
      runCli(["run", "--source", `file:${shortClip}`, "--unpaced", ...PUBLISH]),
    ]);
    expect(maxFrames.stderr).toMatch(/"reason":"max-frames"/);
    expect(maxFrames.code).toBe(0);
    expect(ended.stderr).toMatch(/"reason":"source-ended"/);
    expect(ended.code).toBe(0);
  });

  it("exits 2 for bad input, naming it", async () => {
    const { code, stderr } = await runCli(["run", "--source", `file:${path.join(dir, "missing.mp4")}`, ...PUBLISH]);
    expect(stderr).toContain("missing.mp4");
    expect(code).toBe(2);
  });
});
