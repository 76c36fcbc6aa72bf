import { describe, expect, it } from "vitest";
import { FoveaInputError } from "../core/errors.js";
import { lineColumnAt, parseJsonText, topLevelArrayElementOffsets } from "./json-text.js";

describe("json-text", () => {
  it("turns offsets into 1-based line and column", () => {
    expect(lineColumnAt("ab\ncd\nef", 0)).toEqual({ line: 1, column: 1 });
    expect(lineColumnAt("ab\ncd\nef", 4)).toEqual({ line: 2, column: 2 });
    expect(lineColumnAt("ab\ncd\nef", 6)).toEqual({ line: 3, column: 1 });
  });

  it("reports a syntax error with file, line and column", () => {
    // The stray `x` is at line 3, column 8.
    const text = '{\n  "a": 1,\n  "b": x\n}';
    let err: unknown;
    try {
      parseJsonText(text, "f.json");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FoveaInputError);
    expect((err as FoveaInputError).where).toBe("f.json:3:8");
    expect(() => parseJsonText('{"a": ', "g.json", 9)).toThrow(/^g\.json:10:\d+: invalid JSON/);
  });

  it("finds where each element of the top-level arrays starts, skipping strings", () => {
    const text = '{"info": {"x": [1, 2]}, "images": [ {"n": "a,]{"}, 5 , "s"], "empty": [], "annotations": [\n [1], {"k": "\\"]"}\n]}';
    const offsets = topLevelArrayElementOffsets(text);
    const starts = (k: string) => (offsets.get(k) ?? []).map((o) => text.slice(o, o + 3));
    expect(starts("images")).toEqual(['{"n', "5 ,", '"s"']);
    expect(starts("annotations")).toEqual(["[1]", '{"k']);
    expect(offsets.has("empty")).toBe(false);
    expect(offsets.has("x")).toBe(false);
  });
});
