/**
 * Fault: a stream open to the network without anyone noticing (issue 12, defect 4, first part).
 * Promise: `fovea run` binding --publish beyond loopback says so on stderr, naming the endpoint,
 * unless --allow-remote acknowledges it; loopback and ipc:// endpoints stay quiet.
 * Real `fovea run` processes on a one-second ffmpeg clip, one frame each.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publishesBeyondLoopback } from "../../src/cli/run-config.js";
import { makeClip, runCli } from "./support/cli.js";

let dir: string;
let source: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "fovea-faults-remote-"));
  await makeClip(path.join(dir, "clip.mp4"), 1);
  source = `file:${path.join(dir, "clip.mp4")}`;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const WARNING =
  /^fovea: WARNING: --publish tcp:\/\/0\.0\.0\.0:\* is reachable from the network: anyone who can connect receives the detections and status \(the stream is not authenticated\)/m;

describe("--publish beyond loopback", () => {
  it("warns on stderr, naming the endpoint, unless --allow-remote", async () => {
    const run = (extra: string[]) => runCli(["run", "--source", source, "--max-frames", "1", "--publish", "tcp://0.0.0.0:*", ...extra]);
    const [warned, allowed, local] = await Promise.all([
      run([]),
      run(["--allow-remote"]),
      runCli(["run", "--source", source, "--max-frames", "1", "--publish", "tcp://127.0.0.1:*"]),
    ]);
    expect(warned.stderr).toMatch(WARNING);
    expect(warned.code).toBe(0);
    expect(allowed.stderr).not.toMatch(/WARNING: --publish/);
    expect(allowed.code).toBe(0);
    expect(local.stderr).not.toMatch(/WARNING: --publish/);
    expect(local.code).toBe(0);
  });

  it("knows which endpoints other machines can reach", () => {
    for (const e of ["tcp://0.0.0.0:5555", "tcp://*:5555", "tcp://192.168.1.20:5555", "tcp://eth0:5555", "tcp://[::]:5555"])
      expect(publishesBeyondLoopback(e)).toBe(true);
    for (const e of [
      "tcp://127.0.0.1:5555",
      "tcp://localhost:*",
      "tcp://[::1]:5555",
      "tcp://lo:5555",
      "ipc:///tmp/fovea.sock",
      "inproc://x",
    ])
      expect(publishesBeyondLoopback(e)).toBe(false);
  });
});
