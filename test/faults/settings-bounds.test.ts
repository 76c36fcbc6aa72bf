/**
 * Fault: absurd settings (issue 12, defect 5). Promise: a setting outside what the machine or the
 * wire can do is refused at start with exit 2 and a message naming the flag and the bound, before
 * any model, socket or camera is opened (before: --threads 100000 grew past 1.6 GB and never
 * started, --fps 1e9 stalled the loop, --publish tcp://127.0.0.1:99999 bound some other port).
 * Real `fovea run` processes.
 */
import { availableParallelism } from "node:os";
import { describe, expect, it } from "vitest";
import { runCli } from "./support/cli.js";

const cases: Array<{ args: string[]; message: RegExp }> = [
  {
    args: ["--threads", "100000"],
    message: new RegExp(
      `^fovea: --threads: expected 1\\.\\.${availableParallelism() * 2} \\(twice the ${availableParallelism()} cores\\), got "100000"$`,
      "m",
    ),
  },
  { args: ["--threads", String(availableParallelism() * 2 + 1)], message: /^fovea: --threads: expected 1\.\./m },
  { args: ["--fps", "1e9"], message: /^fovea: --fps: expected at most 1000 frames per second, got "1e9"$/m },
  {
    args: ["--publish", "tcp://127.0.0.1:99999"],
    message: /^fovea: --publish: expected a TCP port 1\.\.65535 \(or \* for any free port\), got "tcp:\/\/127\.0\.0\.1:99999"$/m,
  },
  { args: ["--publish", "tcp://127.0.0.1:0"], message: /^fovea: --publish: expected a TCP port 1\.\.65535/m },
];

describe("fovea run refuses settings beyond their bounds", () => {
  it.each(cases)("$args: exit 2 naming the flag", async ({ args, message }) => {
    const { code, stderr } = await runCli(["run", "--source", "synthetic", ...args]);
    expect(stderr).toMatch(message);
    expect(code).toBe(2);
  });
});
