/**
 * Fault: the recording fails mid-match (issue 12, defect 6: disk full). Promise: the Status turns
 * DEGRADED with the recording's file and error in `last_error` by the next heartbeat, vision keeps
 * publishing detections, and the run exits 1 when it stops (recording was asked for and failed).
 * A real `fovea run` process recording onto a real 200 KiB tmpfs (or, where mounting is not
 * allowed, under a real file-size limit), watched through the typed subscriber.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StatusMessage } from "../../src/publish/codec.js";
import { subscribeVision } from "../../src/publish/subscriber.js";
import { makeClip, startCli, until } from "./support/cli.js";
import { freePort } from "../support.js";

const exec = promisify(execFile);
let dir: string;
let clip: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "fovea-faults-rec-"));
  clip = path.join(dir, "match.mp4");
  await makeClip(clip, 60);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("recording that fails mid-run", () => {
  it("turns the Status DEGRADED naming the file and the error; detections keep flowing; exit 1", async () => {
    const mnt = path.join(dir, "small-disk");
    await mkdir(mnt);
    const mounted = await exec("mount", ["-t", "tmpfs", "-o", "size=200k", "tmpfs", mnt]).then(
      () => true,
      () => false,
    );
    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    const sub = subscribeVision(endpoint, { receiveHighWaterMark: 0 });
    const file = path.join(mnt, "match.mcap");
    // Paced at the clip's 30 fps: the disk fills within seconds, while the run goes on.
    const run = startCli(
      // Under heavy CPU load the paced file can pause longer than the default stall timeout; this test is about the recording degrading the run, not the camera.
      ["run", "--source", `file:${clip}`, "--record", file, "--publish", endpoint, "--stall-timeout", "5000"],
      mounted ? {} : { command: ["prlimit", `--fsize=${200 * 1024}`] },
    );
    try {
      const statuses: StatusMessage[] = [];
      let detectionsAfterDegraded = 0;
      const reading = (async () => {
        for await (const m of sub) {
          if (m.topic === "status") statuses.push(m.status);
          else if (statuses.some((s) => s.state === "DEGRADED")) detectionsAfterDegraded++;
        }
      })();
      await until(() => statuses.some((s) => s.state === "DEGRADED"), "a DEGRADED status", 60_000);
      await until(() => detectionsAfterDegraded >= 30, "detections after the failure");
      run.child.kill("SIGINT");
      const { code } = await run.exit;
      sub.close();
      await reading;

      const degraded = statuses.find((s) => s.state === "DEGRADED")!;
      expect(degraded.lastError).toMatch(new RegExp(`^recording ${file} failed: .*(ENOSPC|EFBIG)`));
      // The status before it was RUNNING: nothing else degraded the run.
      expect(statuses[statuses.indexOf(degraded) - 1].state).toBe("RUNNING");
      // It stays degraded until the stop: the recording does not come back.
      const later = statuses.slice(statuses.indexOf(degraded) + 1);
      expect(later.filter((s) => s.state !== "STOPPING" && s.state !== "STOPPED").every((s) => s.state === "DEGRADED")).toBe(true);
      expect(later.at(-1)!.state).toBe("STOPPED");
      expect(later.at(-1)!.lastError).toBe(degraded.lastError);
      expect(run.stderr()).toMatch(new RegExp(`fovea: --record ${file}: recording failed: `));
      expect(code).toBe(1);
    } finally {
      sub.close();
      if (run.child.exitCode === null) run.child.kill("SIGKILL");
      await run.exit;
      if (mounted) await exec("umount", [mnt]);
    }
  });
});
