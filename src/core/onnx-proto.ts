/**
 * ONNX protobuf messages (proto/onnx/onnx.proto, a subset of the ONNX project's schema) loaded
 * with protobufjs, plus a reader for a model's input/output signature. No Python, no onnx
 * package: the .proto file is the schema, protobufjs does the wire format.
 *
 * In src/core because the runtime reads it (model-dir.ts checks a model's graph signature at
 * start); the exporter in src/train/onnx builds on it, not the other way round.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import protobuf from "protobufjs";
import { PACKAGE_ROOT } from "./package-root.js";
export const ONNX_PROTO_PATH = path.join(PACKAGE_ROOT, "proto", "onnx", "onnx.proto");

const root = protobuf.loadSync(ONNX_PROTO_PATH);
export const ModelProto = root.lookupType("onnx.ModelProto");

/** TensorProto.DataType values fovea uses. */
export const OnnxDataType = { FLOAT: 1, INT64: 7, FLOAT16: 10 } as const;
/** AttributeProto.AttributeType values fovea uses. */
export const OnnxAttributeType = { FLOAT: 1, INT: 2, STRING: 3, INTS: 7 } as const;

/** A graph input or output: its name, element type and shape (symbolic dims as strings). */
export interface OnnxValueSignature {
  name: string;
  elemType: number;
  shape: Array<number | string>;
}

export interface OnnxSignature {
  inputs: OnnxValueSignature[];
  outputs: OnnxValueSignature[];
  opsetVersion: number;
}

interface DecodedValueInfo {
  name?: string;
  type?: { tensorType?: { elemType?: number; shape?: { dim?: Array<{ dimValue?: number; dimParam?: string }> } } };
}

function valueSignature(v: DecodedValueInfo): OnnxValueSignature {
  const t = v.type?.tensorType;
  return {
    name: v.name ?? "",
    elemType: t?.elemType ?? 0,
    shape: (t?.shape?.dim ?? []).map((d) => (d.dimParam !== undefined && d.dimParam !== "" ? d.dimParam : Number(d.dimValue ?? 0))),
  };
}

/** Decode an ONNX model's graph inputs (excluding initializers) and outputs. */
export function readOnnxSignature(bytes: Uint8Array): OnnxSignature {
  const m = ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, defaults: false, oneofs: false }) as {
    opsetImport?: Array<{ domain?: string; version?: number }>;
    graph?: { input?: DecodedValueInfo[]; output?: DecodedValueInfo[]; initializer?: Array<{ name?: string }> };
  };
  const initializers = new Set((m.graph?.initializer ?? []).map((i) => i.name));
  return {
    inputs: (m.graph?.input ?? []).filter((i) => !initializers.has(i.name)).map(valueSignature),
    outputs: (m.graph?.output ?? []).map(valueSignature),
    opsetVersion: (m.opsetImport ?? []).find((o) => !o.domain)?.version ?? 0,
  };
}

export async function readOnnxSignatureFile(file: string): Promise<OnnxSignature> {
  return readOnnxSignature(await readFile(file));
}
