import { describe, expect, it } from "vitest";
import { z } from "zod";
import { FoveaInputError, describeIssues } from "./errors.js";

describe("FoveaInputError", () => {
  it("names the place and the problem and carries exit code 2", () => {
    const err = new FoveaInputError("--source", "expected camera:DEV, file:PATH, dir:PATH, mcap:PATH, webcam or synthetic; got 'foo'");
    expect(err.message).toBe("--source: expected camera:DEV, file:PATH, dir:PATH, mcap:PATH, webcam or synthetic; got 'foo'");
    expect(err.exitCode).toBe(2);
  });
  it("formats zod issues as field paths", () => {
    const r = z.object({ a: z.object({ b: z.number() }) }).safeParse({ a: { b: "x" } });
    expect(r.success).toBe(false);
    if (!r.success) expect(describeIssues(r.error.issues)).toMatch(/^a\.b: /);
  });
});
