import { describe, expect, test } from "vitest";
import { parseRunConfig } from "../cli/run-config.js";
import { FoveaInputError } from "../core/errors.js";
import { isLoopback, parseViewAddress } from "./view-address.js";

describe("--view [HOST:]PORT", () => {
  test("the flag alone is loopback on Foxglove's port; a port alone stays on loopback", () => {
    expect(parseViewAddress(true)).toEqual({ host: "127.0.0.1", port: 8765 });
    expect(parseViewAddress("9000")).toEqual({ host: "127.0.0.1", port: 9000 });
    expect(parseViewAddress("0.0.0.0:8765")).toEqual({ host: "0.0.0.0", port: 8765 });
    expect(parseViewAddress("robot.local:8765")).toEqual({ host: "robot.local", port: 8765 });
    expect(parseViewAddress("[::1]:8765")).toEqual({ host: "::1", port: 8765 });
  });

  test.each([
    ["", /expected \[HOST:\]PORT/],
    ["http://x:1", /without a scheme/],
    ["ro bot:1", /"ro bot" is not an IP address or host name/],
    ["host:", /port must be 0\.\.65535, got ""/],
    ["host:99999", /port must be 0\.\.65535, got "99999"/],
    [":8765", /the host before ':' is empty/],
    ["::1:8765", /IPv6 host in brackets/],
    ["[nothost]:1", /not an IPv6 address/],
  ])("%j is an input error naming --view", (value, why) => {
    expect(() => parseViewAddress(value)).toThrow(FoveaInputError);
    expect(() => parseViewAddress(value)).toThrow(why);
    expect(() => parseViewAddress(value)).toThrow(/^--view: /);
  });

  test("loopback addresses", () => {
    for (const h of ["127.0.0.1", "127.1.2.3", "localhost", "::1", "::ffff:127.0.0.1"]) expect(isLoopback(h), h).toBe(true);
    for (const h of ["0.0.0.0", "::", "192.168.1.5", "robot.local", "::ffff:10.0.0.1"]) expect(isLoopback(h), h).toBe(false);
  });

  test("run config: beyond loopback needs --view-token; --view-fps and --view-token need --view", () => {
    expect(parseRunConfig({ view: true })).toMatchObject({ view: true });
    expect(parseRunConfig({ view: "0.0.0.0:8765", viewToken: "t0ken", viewFps: "5" })).toMatchObject({
      view: "0.0.0.0:8765",
      viewToken: "t0ken",
      viewFps: 5,
    });
    expect(() => parseRunConfig({ view: "0.0.0.0:8765" })).toThrow(
      /^--view-token: required when --view binds beyond loopback \(0\.0\.0\.0:8765/,
    );
    expect(() => parseRunConfig({ viewFps: "5" })).toThrow(/^--view-fps: only applies with --view/);
    expect(() => parseRunConfig({ viewToken: "x" })).toThrow(/^--view-token: only applies with --view/);
    expect(() => parseRunConfig({ view: true, viewFps: "0" })).toThrow(
      /^--view-fps: expected frames per second, a number in 0\.1\.\.60, got "0"/,
    );
    expect(() => parseRunConfig({ view: true, viewFps: "fast" })).toThrow(/^--view-fps: expected frames per second/);
    expect(() => parseRunConfig({ view: "nope:port" })).toThrow(/^--view: /);
  });
});
