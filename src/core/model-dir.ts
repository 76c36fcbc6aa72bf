/**
 * Opening a model directory (`models/<name>/`, layout in model-metadata.ts): its fovea.json is
 * validated against ModelMetadataSchema, and its ONNX graph's input/output names and shapes are
 * checked against the metadata, so a mismatched model fails at start naming the file — not
 * mid-match with a shape error from the engine.
 */
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { readOnnxSignatureFile, type OnnxValueSignature } from "./onnx-proto.js";
import { FoveaInputError, describeIssues } from "./errors.js";
import { ModelMetadataSchema, type ModelMetadata } from "./model-metadata.js";
import { headOutputs } from "./head-outputs.js";

export const METADATA_FILE = "fovea.json";
/** ONNX TensorProto.DataType FLOAT: both engines feed and read float32 tensors. */
const ONNX_FLOAT = 1;

export interface ModelDir {
  /** Absolute path of the directory. */
  dir: string;
  metadataPath: string;
  metadata: ModelMetadata;
  /** Absolute path of the ONNX file, if present. */
  onnxPath?: string;
  /** Absolute path of the tfjs model.json, if present. */
  tfjsPath?: string;
}

async function exists(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined))?.isFile() ?? false;
}

function shapeText(shape: Array<number | string>): string {
  return `[${shape.join(", ")}]`;
}

/** Check an ONNX graph's signature against the metadata; returns problems (empty = matches). */
export function onnxSignatureProblems(meta: ModelMetadata, inputs: OnnxValueSignature[], outputs: OnnxValueSignature[]): string[] {
  const expected: Array<{ role: string; name: string; shape: number[]; list: OnnxValueSignature[] }> = [
    { role: "input", name: meta.input.name, shape: [meta.input.height, meta.input.width, 3], list: inputs },
    ...headOutputs(meta).map((o) => ({ role: "output", name: o.name, shape: o.shape, list: outputs })),
  ];
  const problems: string[] = [];
  for (const e of expected) {
    const v = e.list.find((x) => x.name === e.name);
    if (!v) {
      problems.push(
        `expected ${e.role} '${e.name}' (from fovea.json), found ${e.role}s ${e.list.map((x) => `'${x.name}'`).join(", ") || "none"}`,
      );
      continue;
    }
    if (v.elemType !== ONNX_FLOAT) problems.push(`${e.role} '${e.name}' has element type ${v.elemType}, expected 1 (float32)`);
    // The batch dimension may be symbolic or fixed; the rest must match exactly.
    const rest = v.shape.slice(1);
    if (v.shape.length !== e.shape.length + 1 || rest.some((d, i) => d !== e.shape[i])) {
      problems.push(`${e.role} '${e.name}' has shape ${shapeText(v.shape)}, fovea.json implies ${shapeText(["N", ...e.shape])}`);
    }
  }
  return problems;
}

/**
 * Read and validate a model directory. Throws FoveaInputError naming the directory or file and
 * the field at fault: missing directory or fovea.json, invalid metadata, no model file, or an
 * ONNX graph whose input/output names or shapes do not match the metadata.
 */
export async function loadModelDir(dir: string): Promise<ModelDir> {
  const abs = path.resolve(dir);
  const st = await stat(abs).catch(() => undefined);
  if (!st) throw new FoveaInputError(dir, "model directory not found (expected a directory containing fovea.json)");
  if (!st.isDirectory()) throw new FoveaInputError(dir, "expected a model directory containing fovea.json, got a file");
  const metadataPath = path.join(abs, METADATA_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(metadataPath, "utf8"));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new FoveaInputError(
      metadataPath,
      code === "ENOENT" ? "file not found; every model directory needs its metadata" : `expected JSON: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  const parsed = ModelMetadataSchema.safeParse(raw);
  if (!parsed.success) throw new FoveaInputError(metadataPath, describeIssues(parsed.error.issues));
  const metadata = parsed.data;

  const onnxPath = path.resolve(abs, metadata.files.onnx);
  const tfjsPath = path.resolve(abs, metadata.files.tfjs);
  const hasOnnx = await exists(onnxPath);
  const hasTfjs = await exists(tfjsPath);
  if (!hasOnnx && !hasTfjs) {
    throw new FoveaInputError(metadataPath, `files: neither files.onnx (${onnxPath}) nor files.tfjs (${tfjsPath}) exists`);
  }
  if (hasOnnx) {
    let sig;
    try {
      sig = await readOnnxSignatureFile(onnxPath);
    } catch (err) {
      throw new FoveaInputError(onnxPath, `expected an ONNX model: ${(err as Error).message}`, { cause: err });
    }
    const problems = onnxSignatureProblems(metadata, sig.inputs, sig.outputs);
    if (problems.length) throw new FoveaInputError(onnxPath, problems.join("; "));
  }
  return { dir: abs, metadataPath, metadata, ...(hasOnnx ? { onnxPath } : {}), ...(hasTfjs ? { tfjsPath } : {}) };
}
