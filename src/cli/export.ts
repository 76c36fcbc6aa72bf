/**
 * `fovea export`: write a model directory (model.onnx + tfjs/ + fovea.json) from
 *   --from DIR     an existing model directory or tfjs checkpoint (re-export, e.g. after training)
 *   --untrained    a randomly initialised network (the honest stand-in shipped as models/default)
 */
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { InvalidArgumentError, Option, type Command } from "commander";
import { FoveaInputError, describeIssues } from "../core/errors.js";
import { createLogger } from "../core/log.js";
import { ModelMetadataSchema, type ModelMetadata } from "../core/model-metadata.js";

/**
 * The tfjs stack (network, exporter, backends) is imported when an export runs, not when the
 * command registers: @tensorflow/tfjs takes about a second to load, which `fovea --help` and
 * the other commands should not pay.
 */
const tfjsModules = async () => {
  const [backend, exporter, network] = await Promise.all([
    import("../engine/tfjs-backend.js"),
    import("../train/export-model.js"),
    import("../train/network.js"),
  ]);
  return { ...backend, ...exporter, ...network };
};

export interface ExportCommandOptions {
  from?: string;
  untrained?: boolean;
  out: string;
  metadata?: string;
  seed: number;
  weights: "float32" | "float16";
  id?: string;
}

/** Metadata of the untrained stand-in model: labelled as such in every field a user sees. */
export async function untrainedMetadata(seed: number, id?: string): Promise<ModelMetadata> {
  const { defaultMetadata } = await tfjsModules();
  return defaultMetadata({
    id: id ?? `fovea-untrained-seed${seed}`,
    trained: false,
    description:
      `UNTRAINED stand-in model: randomly initialised weights (seed ${seed}), exported by ` +
      "`fovea export --untrained`. Its detections are meaningless. It exists so that `npm start` runs " +
      "end to end before a trained model ships; replace it with a trained one (`fovea train`, exportModelDir).",
    training: { trained: false, seed, generatedBy: "fovea export --untrained" },
  });
}

async function readMetadataFor(from: string, explicit?: string): Promise<ModelMetadata> {
  const candidates = explicit
    ? [path.resolve(explicit)]
    : [path.join(from, "fovea.json"), path.join(path.dirname(path.resolve(from)), "fovea.json")];
  for (const file of candidates) {
    const raw = await readFile(file, "utf8").catch(() => undefined);
    if (raw === undefined) continue;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (err) {
      throw new FoveaInputError(file, `expected JSON: ${(err as Error).message}`);
    }
    const parsed = ModelMetadataSchema.safeParse(json);
    if (!parsed.success) throw new FoveaInputError(file, describeIssues(parsed.error.issues));
    return parsed.data;
  }
  if (explicit) throw new FoveaInputError("--metadata", `file not found: ${explicit}`);
  throw new FoveaInputError("--from", `no fovea.json in ${from} or its parent; pass --metadata FILE`);
}

/** The export command's work, callable from tests without a process. */
export async function runExport(
  opts: ExportCommandOptions,
): Promise<{ dir: string; sizes: Record<string, number>; metadata: ModelMetadata; parity?: Record<string, number> }> {
  if (!opts.from === !opts.untrained) throw new FoveaInputError("--from/--untrained", "expected exactly one of --from DIR or --untrained");
  const { initTfjs, buildNetwork, loadLayersModel, exportModelDir } = await tfjsModules();
  await initTfjs("auto");
  let model;
  let metadata: ModelMetadata;
  if (opts.untrained) {
    metadata = await untrainedMetadata(opts.seed, opts.id);
    model = buildNetwork(metadata, { seed: opts.seed });
  } else {
    const from = opts.from as string;
    if (!(await stat(from).catch(() => undefined))) throw new FoveaInputError("--from", `not found: ${from}`);
    metadata = await readMetadataFor(from, opts.metadata);
    if (opts.id) metadata = { ...metadata, id: opts.id };
    model = await loadLayersModel(from);
  }
  try {
    const out = await exportModelDir(model, metadata, opts.out, { weightsDtype: opts.weights });
    return { dir: out.dir, sizes: out.sizes, metadata: out.metadata, parity: out.parity };
  } finally {
    model.dispose();
  }
}

function parseSeed(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected a non-negative integer, got '${v}'`);
  return n;
}

/** Registers the `fovea export` command. */
export function registerExport(program: Command): void {
  program
    .command("export")
    .description("write a model directory (model.onnx, tfjs/, fovea.json) from a tfjs model or a fresh untrained network")
    .option("--from <dir>", "model directory or tfjs checkpoint (model.json or tfjs/model.json) to re-export")
    .option("--untrained", "export a randomly initialised network (stand-in model, labelled trained: false)")
    .requiredOption("--out <dir>", "model directory to write")
    .option("--metadata <file>", "fovea.json to use with --from (default: the one in --from or its parent)")
    .option("--id <id>", "model id to publish (default: from the metadata, or fovea-untrained-seedN)")
    .option("--seed <n>", "weight initialisation seed for --untrained", parseSeed, 1)
    .addOption(new Option("--weights <dtype>", "weight storage type in both files").choices(["float32", "float16"]).default("float32"))
    .action(async (opts: ExportCommandOptions) => {
      const log = createLogger({ name: "export" });
      const r = await runExport(opts);
      log.info(
        { dir: r.dir, id: r.metadata.id, trained: r.metadata.trained, bytes: r.sizes, engineParity: r.parity },
        "model exported (onnxruntime and tfjs outputs checked against each other)",
      );
      process.stdout.write(`${r.dir}\n`);
    });
}
