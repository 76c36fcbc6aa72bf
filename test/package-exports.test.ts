/**
 * A controller team imports fovea's client by the package name, as a dependency of their own
 * project: `fovea/subscriber` and `fovea/codec` resolve (with types), the internals do not.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "..");
let consumer: string;

beforeAll(async () => {
  consumer = await mkdtemp(path.join(tmpdir(), "fovea-consumer-"));
  await mkdir(path.join(consumer, "node_modules"), { recursive: true });
  await symlink(ROOT, path.join(consumer, "node_modules", "fovea"), "dir");
  await writeFile(path.join(consumer, "package.json"), JSON.stringify({ name: "controller", type: "module", private: true }));
});
afterAll(async () => {
  await rm(consumer, { recursive: true, force: true });
});

describe("package exports", () => {
  it("resolve fovea/subscriber and fovea/codec by the package name", async () => {
    await writeFile(
      path.join(consumer, "main.js"),
      `import { subscribeVision } from "fovea/subscriber";\nimport * as codec from "fovea/codec";\nconsole.log(typeof subscribeVision, typeof codec.decodeDetectionFrame);\n`,
    );
    const { stdout } = await run(process.execPath, ["main.js"], { cwd: consumer });
    expect(stdout.trim()).toBe("function function");
  });

  it("keep the internals private", async () => {
    await writeFile(path.join(consumer, "deep.js"), `import "fovea/dist/pipeline/pipeline.js";\n`);
    await expect(run(process.execPath, ["deep.js"], { cwd: consumer })).rejects.toThrow(/ERR_PACKAGE_PATH_NOT_EXPORTED/);
  });

  it("carry TypeScript types a NodeNext project checks against", async () => {
    await writeFile(
      path.join(consumer, "main.ts"),
      `import { subscribeVision } from "fovea/subscriber";\nconst sub = subscribeVision("tcp://127.0.0.1:5555");\nfor await (const msg of sub) if (msg.topic === "detections") console.log(msg.frame.seq);\n`,
    );
    await writeFile(
      path.join(consumer, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: [],
        },
        files: ["main.ts"],
      }),
    );
    await run(process.execPath, [path.join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], { cwd: consumer });
  });
});
