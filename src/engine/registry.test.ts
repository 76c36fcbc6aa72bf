import { describe, expect, it } from "vitest";
import { DEVICES, ENGINES } from "../cli/run-config.js";
import { ALL_ENGINES } from "../bench/run-bench.js";
import { DEVICE_NAMES, ENGINE_DEVICES, ENGINE_NAMES, ENGINE_REGISTRY } from "./registry.js";

describe("engine registry", () => {
  it("is the one list the config, the CLI and the bench matrix derive from", () => {
    expect(ENGINE_REGISTRY.map((e) => e.name)).toEqual(ENGINE_NAMES);
    for (const e of ENGINE_REGISTRY) expect(e.devices).toEqual(ENGINE_DEVICES[e.name]);
    expect(ENGINES).toEqual(["auto", ...ENGINE_NAMES]);
    expect(DEVICES).toEqual(["auto", ...DEVICE_NAMES]);
    expect(ALL_ENGINES).toEqual(ENGINE_REGISTRY.flatMap((e) => e.devices.map((device) => ({ engine: e.name, device }))));
  });

  it("loads each engine's factory on demand", async () => {
    for (const e of ENGINE_REGISTRY) expect(typeof (await e.load()).create).toBe("function");
  });
});
