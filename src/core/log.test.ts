import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

describe("createLogger", () => {
  // A process that logs rarely (a run's start-up lines, a training epoch) must not hold its lines
  // back until exit: a buffered destination showed a training run's epochs only when it ended.
  it("writes a line while the process keeps running", async () => {
    const script = `import { createLogger } from "./src/core/log.ts"; createLogger({ name: "probe" }).info("line-while-running"); setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ["--import", "./test/record-ts-loader.mjs", "--input-type=module", "-e", script], {
      cwd: ROOT,
      stdio: ["ignore", "ignore", "pipe"],
    });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let stderr = "";
        child.stderr.setEncoding("utf8");
        child.stderr.on("data", (chunk: string) => {
          stderr += chunk;
          const found = stderr.split("\n").find((l) => l.includes("line-while-running"));
          if (found) resolve(found);
        });
        child.once("exit", (code) => reject(new Error(`probe exited (${code}) before logging; stderr: ${stderr}`)));
      });
      expect(JSON.parse(line)).toMatchObject({ name: "probe", msg: "line-while-running", level: 30 });
    } finally {
      child.kill("SIGKILL");
    }
  });
});
