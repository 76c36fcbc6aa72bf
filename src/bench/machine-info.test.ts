import { describe, expect, it } from "vitest";
import { machineInfo, packageVersion } from "./machine-info.js";
import { ResourceMonitor } from "./resource-usage.js";

describe("machineInfo", () => {
  it("describes the CPU, memory and the installed frame-path libraries", () => {
    const m = machineInfo();
    expect(m.cores).toBeGreaterThan(0);
    expect(m.cpuModel.length).toBeGreaterThan(0);
    expect(m.totalMemoryMiB).toBeGreaterThan(0);
    expect(m.node).toBe(process.versions.node);
    // Installed here (package.json dependencies), so a version must be found.
    for (const lib of ["onnxruntime-node", "sharp", "zeromq", "@tensorflow/tfjs"]) expect(m.libraries[lib]).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("returns null for a package that is not installed", () => {
    expect(packageVersion("fovea-no-such-package")).toBeNull();
  });
});

describe("ResourceMonitor", () => {
  it("sees CPU time spent and memory allocated during the run", () => {
    const mon = ResourceMonitor.start({ cores: 2, sampleIntervalMs: 5 });
    const before = process.memoryUsage.rss();
    // Busy work and a large live allocation, so both figures have something to measure.
    const big = Buffer.alloc(64 * 2 ** 20, 1);
    let x = 0;
    for (let i = 0; i < 2e7; i++) x += Math.sqrt(i);
    const u = mon.stop();
    expect(x).toBeGreaterThan(0);
    expect(big[big.length - 1]).toBe(1);
    expect(u.cpuCores).toBeGreaterThan(0);
    expect(u.cpuPercentOfMachine).toBeCloseTo((u.cpuCores / 2) * 100, 6);
    expect(u.peakRssMiB * 2 ** 20).toBeGreaterThanOrEqual(before);
    expect(u.processPeakRssMiB).toBeGreaterThan(0);
  });

  it("rejects bad options naming them", () => {
    expect(() => ResourceMonitor.start({ cores: 0 })).toThrow(/options\.cores/);
    expect(() => ResourceMonitor.start({ cores: 2, sampleIntervalMs: 0 })).toThrow(/sampleIntervalMs/);
  });
});
