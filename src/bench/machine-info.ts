/**
 * The machine a benchmark ran on: figures without it cannot be compared or reproduced.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";

export interface MachineInfo {
  cpuModel: string;
  /** Logical cores the OS reports. */
  cores: number;
  /** Cores this process may use (cgroup/affinity aware). */
  availableParallelism: number;
  totalMemoryMiB: number;
  platform: string;
  arch: string;
  kernel: string;
  hostname: string;
  node: string;
  /** Versions of the libraries in the frame path, `null` when one is not installed. */
  libraries: Record<string, string | null>;
}

const LIBRARIES = [
  "onnxruntime-node",
  "@tensorflow/tfjs",
  "@tensorflow/tfjs-backend-wasm",
  "@tensorflow/tfjs-node",
  "sharp",
  "zeromq",
  "protobufjs",
] as const;

const require = createRequire(import.meta.url);

/**
 * Version of an installed package. Packages with an `exports` map refuse `pkg/package.json`, so
 * walk up from the resolved entry point to the package's own package.json.
 */
export function packageVersion(name: string): string | null {
  let entry: string;
  try {
    entry = require.resolve(name);
  } catch {
    return null;
  }
  for (let dir = path.dirname(entry); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as { name?: string; version?: string };
      if (pkg.name === name) return pkg.version ?? null;
    } catch {
      // no package.json at this level: keep walking up
    }
  }
  return null;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    cores: cpus.length,
    availableParallelism: os.availableParallelism(),
    totalMemoryMiB: Math.round(os.totalmem() / 2 ** 20),
    platform: os.platform(),
    arch: os.arch(),
    kernel: os.release(),
    hostname: os.hostname(),
    node: process.versions.node,
    libraries: Object.fromEntries(LIBRARIES.map((l) => [l, packageVersion(l)])),
  };
}
