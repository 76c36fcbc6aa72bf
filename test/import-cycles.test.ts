/**
 * No folder in src/ imports a folder that imports it back (see scripts/import-cycles.ts for what
 * counts as an import). The checker is also run over a small tree with known cycles, one per
 * import form, so a pass here means "no cycles" and not "nothing was read".
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { folderCycles, folderImportGraph, formatCycles } from "../scripts/import-cycles.js";

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "src");
const tmp = mkdtempSync(path.join(tmpdir(), "fovea-import-cycles-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmp, "src-"));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    writeFileSync(path.join(root, name), text);
  }
  return root;
}

describe("folder import cycles", () => {
  test("src/ has none", () => {
    const cycles = folderCycles(folderImportGraph(SRC));
    expect(formatCycles(cycles)).toBe("");
  });

  test.each([
    ["a value import", 'import { b } from "../b/b.js";'],
    ["a type-only import", 'import type { B } from "../b/b.js";'],
    ["a dynamic import", 'export const load = () => import("../b/b.js");'],
    ["an export-from", 'export { b } from "../b/b.js";'],
  ])("the checker sees a cycle made by %s, and names the files", (_form, line) => {
    const root = tree({
      "a/a.ts": `${line}\nexport const a = 1;\n`,
      "b/b.ts": 'import { a } from "../a/a.js";\nexport const b = a;\nexport type B = number;\n',
    });
    const cycles = folderCycles(folderImportGraph(root));
    expect(cycles.map((c) => c.folders)).toEqual([["a", "b"]]);
    expect(formatCycles(cycles)).toContain("src/b/b.ts -> src/a/a.ts");
  });

  test("a cycle through a third folder counts; a test file's imports and packages do not", () => {
    const root = tree({
      "a/a.ts": 'import "../b/b.js";\nimport "zod";\n',
      "b/b.ts": 'import "../c/c.js";\n',
      "c/c.ts": 'import "../a/a.js";\n',
      "d/d.ts": 'import "../a/a.js";\n',
      "a/a.test.ts": 'import "../d/d.js";\n',
    });
    expect(folderCycles(folderImportGraph(root)).map((c) => c.folders)).toEqual([["a", "b", "c"]]);
  });
});
