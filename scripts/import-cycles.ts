/**
 * Folder-level import cycles in src/: folder A imports folder B and B, directly or through other
 * folders, imports A back. The layers (core at the bottom, the pipeline stages over it, replay,
 * bench and cli at the top) hold only while there are none; test/import-cycles.test.ts keeps it so.
 *
 *   npx tsx scripts/import-cycles.ts   # prints the cycles with the imports that make them; exit 1 if any
 *
 * Imports are read with TypeScript's own scanner (`ts.preProcessFile`), which sees every form:
 * `import ... from`, `export ... from`, side-effect imports, `import type` and `import()`. All of
 * them count. A dynamic import still makes the importer depend on the module's shape, and a
 * type-only import means a contract lives in the wrong folder even though it is erased at run
 * time; counting them keeps the contracts (FrameSource in core, the registries) where both sides
 * can reach them. Test files are not counted: nothing imports them, they sit above everything
 * they exercise, and a test may reach across layers (a view test building a run config).
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

/** One import from a file in one folder to a file in another. */
export interface FolderImport {
  from: string;
  to: string;
}

/** The folder graph: folder -> folder it imports -> the file-level imports behind that edge. */
export type FolderGraph = Map<string, Map<string, FolderImport[]>>;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(full));
    else if (/\.[cm]?ts$/.test(entry.name) && !/\.test\.[cm]?ts$/.test(entry.name) && !entry.name.endsWith(".d.ts")) out.push(full);
  }
  return out;
}

/** The folder of a file relative to `srcDir` (its first path segment; `.` for files at the top). */
function folderOf(srcDir: string, file: string): string {
  const parts = path.relative(srcDir, file).split(path.sep);
  return parts.length > 1 ? parts[0] : ".";
}

/** Build the folder graph of the TypeScript sources under `srcDir` from their relative imports. */
export function folderImportGraph(srcDir: string): FolderGraph {
  const graph: FolderGraph = new Map();
  for (const file of sourceFiles(srcDir)) {
    const from = folderOf(srcDir, file);
    const { importedFiles } = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
    for (const { fileName } of importedFiles) {
      if (!fileName.startsWith(".")) continue; // packages and node: builtins are outside the layers
      const target = path.resolve(path.dirname(file), fileName);
      if (!target.startsWith(srcDir + path.sep)) continue;
      const to = folderOf(srcDir, target);
      if (to === from) continue;
      const edges = graph.get(from) ?? new Map<string, FolderImport[]>();
      graph.set(from, edges);
      const list = edges.get(to) ?? [];
      edges.set(to, list);
      // NodeNext specifiers name the emitted .js; the source is the .ts beside it.
      list.push({ from: path.relative(srcDir, file), to: path.relative(srcDir, target).replace(/\.([cm]?)js$/, ".$1ts") });
    }
  }
  return graph;
}

/**
 * The folder cycles: strongly connected groups of two or more folders (Tarjan), each with the
 * imports between its members, so a failure names the lines to change.
 */
export function folderCycles(graph: FolderGraph): Array<{ folders: string[]; imports: FolderImport[] }> {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1) groups.push(group.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return groups.map((folders) => ({
    folders,
    imports: folders.flatMap((a) => folders.flatMap((b) => graph.get(a)?.get(b) ?? [])),
  }));
}

/** Human-readable report of `folderCycles`, one block per cycle. */
export function formatCycles(cycles: ReturnType<typeof folderCycles>): string {
  return cycles
    .map(({ folders, imports }) =>
      [`cycle between ${folders.join(", ")}:`, ...imports.map((i) => `  src/${i.from} -> src/${i.to}`)].join("\n"),
    )
    .join("\n");
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "src");
  const cycles = folderCycles(folderImportGraph(src));
  if (cycles.length > 0) {
    process.stderr.write(`${formatCycles(cycles)}\n`);
    process.exit(1);
  }
  process.stdout.write("src/: no import cycles between folders\n");
}
