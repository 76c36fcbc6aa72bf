// Module hooks for record-ts-loader.mjs: `.js` specifiers that name a `.ts` source resolve to it
// (NodeNext style imports), and `.ts` files are transpiled to ES modules on load. Transpiled
// output is cached in the OS temp dir by content hash: a fovea child process imports ~100 files
// and transpiling them all costs seconds per spawn.
import { createHash, randomUUID } from "node:crypto";
import { appendFileSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const CACHE_DIR = path.join(tmpdir(), "fovea-ts-loader-cache");
// Start-up tests set it to a file: every module URL the process loads is appended there, so a test
// can tell which parts of fovea a command pulled in.
const MODULE_LOG = process.env.FOVEA_TEST_MODULE_LOG;
let ts;

export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (err) {
    const relative = specifier.startsWith(".") || specifier.startsWith("/") || specifier.startsWith("file:");
    if (relative && specifier.endsWith(".js")) return nextResolve(`${specifier.slice(0, -3)}.ts`, context);
    throw err;
  }
}

export async function load(url, context, nextLoad) {
  if (MODULE_LOG) appendFileSync(MODULE_LOG, `${url}\n`);
  if (!url.startsWith("file:") || !url.endsWith(".ts")) return nextLoad(url, context);
  const file = fileURLToPath(url);
  const source = await readFile(file, "utf8");
  const key = createHash("sha256").update(file).update("\0").update(source).digest("hex");
  const cached = path.join(CACHE_DIR, `${key}.mjs`);
  try {
    return { format: "module", source: await readFile(cached, "utf8"), shortCircuit: true };
  } catch {
    // not cached yet
  }
  ts ??= (await import("typescript")).default;
  const { outputText } = ts.transpileModule(source, {
    fileName: file,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, inlineSourceMap: true },
  });
  // Write-then-rename: parallel children never read a half-written cache entry. The temp name is
  // unique per call, not per process: worker threads of one process (the parallel trainer) share
  // a pid and compile the same files at once. The cache is only a speed-up, so a failed write is
  // ignored rather than failing the import.
  const tmp = `${cached}.${randomUUID()}.tmp`;
  try {
    await mkdir(CACHE_DIR, { recursive: true });
    await writeFile(tmp, outputText);
    await rename(tmp, cached);
  } catch {
    await rm(tmp, { force: true }).catch(() => {});
  }
  return { format: "module", source: outputText, shortCircuit: true };
}
