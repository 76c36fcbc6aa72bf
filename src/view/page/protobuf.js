// Protobuf decoding driven by the FileDescriptorSet each Foxglove channel advertises: the page
// reads messages by field name, as Foxglove does, and follows whatever schema the server sends
// instead of carrying a second copy of it. Decoding only; no build step, no dependencies.

const WIRE_VARINT = 0;
const WIRE_64BIT = 1;
const WIRE_LEN = 2;
const WIRE_32BIT = 5;

// FieldDescriptorProto.Type
const T = {
  DOUBLE: 1,
  FLOAT: 2,
  INT64: 3,
  UINT64: 4,
  INT32: 5,
  FIXED64: 6,
  FIXED32: 7,
  BOOL: 8,
  STRING: 9,
  GROUP: 10,
  MESSAGE: 11,
  BYTES: 12,
  UINT32: 13,
  ENUM: 14,
  SFIXED32: 15,
  SFIXED64: 16,
  SINT32: 17,
  SINT64: 18,
};
const LABEL_REPEATED = 3;
const utf8 = new TextDecoder();

class Reader {
  constructor(bytes) {
    this.buf = bytes;
    this.pos = 0;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get done() {
    return this.pos >= this.buf.length;
  }
  /** A varint as a Number (tags, lengths, small values). */
  uint() {
    let v = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.buf.length) throw new Error("truncated message (varint)");
      const b = this.buf[this.pos++];
      v += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return v;
      scale *= 128;
    }
    throw new Error("malformed varint");
  }
  /** A varint as a BigInt (64-bit fields). */
  big() {
    let v = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.buf.length) throw new Error("truncated message (varint)");
      const b = this.buf[this.pos++];
      v |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return v;
      shift += 7n;
    }
    throw new Error("malformed varint");
  }
  bytes() {
    const n = this.uint();
    if (this.pos + n > this.buf.length) throw new Error("truncated message (length-delimited field)");
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  fixed(n) {
    if (this.pos + n > this.buf.length) throw new Error("truncated message (fixed-width field)");
    const at = this.pos;
    this.pos += n;
    return at;
  }
  skip(wire) {
    if (wire === WIRE_VARINT) this.big();
    else if (wire === WIRE_64BIT) this.fixed(8);
    else if (wire === WIRE_LEN) this.bytes();
    else if (wire === WIRE_32BIT) this.fixed(4);
    else throw new Error(`unsupported wire type ${wire}`);
  }
}

/** Fields of a message as [number, wire type, value] without a schema (for descriptors). */
function* rawFields(bytes) {
  const r = new Reader(bytes);
  while (!r.done) {
    const tag = r.uint();
    const no = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === WIRE_VARINT) yield [no, wire, r.uint()];
    else if (wire === WIRE_LEN) yield [no, wire, r.bytes()];
    else r.skip(wire);
  }
}

function str(bytes) {
  return utf8.decode(bytes);
}

/** Every message and enum type a FileDescriptorSet defines, by fully qualified name. */
export class SchemaRegistry {
  constructor() {
    this.messages = new Map();
    this.enums = new Map();
  }

  /** Add the types of a base64 FileDescriptorSet (a Foxglove channel's `schema`). */
  addBase64(base64) {
    const bin = atob(base64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    this.addDescriptorSet(bytes);
  }

  addDescriptorSet(bytes) {
    for (const [no, , file] of rawFields(bytes)) {
      if (no !== 1) continue;
      let pkg = "";
      const messages = [];
      const enums = [];
      for (const [fno, , v] of rawFields(file)) {
        if (fno === 2) pkg = str(v);
        else if (fno === 4) messages.push(v);
        else if (fno === 5) enums.push(v);
      }
      const scope = pkg ? `.${pkg}` : "";
      for (const m of messages) this.#addMessage(scope, m);
      for (const e of enums) this.#addEnum(scope, e);
    }
  }

  #addMessage(scope, bytes) {
    let name = "";
    const fields = [];
    const nested = [];
    const enums = [];
    for (const [no, , v] of rawFields(bytes)) {
      if (no === 1) name = str(v);
      else if (no === 2) fields.push(v);
      else if (no === 3) nested.push(v);
      else if (no === 4) enums.push(v);
    }
    const full = `${scope}.${name}`;
    const byNumber = new Map();
    for (const f of fields) {
      const field = { name: "", number: 0, label: 1, type: 0, typeName: "" };
      for (const [no, , v] of rawFields(f)) {
        if (no === 1) field.name = str(v);
        else if (no === 3) field.number = v;
        else if (no === 4) field.label = v;
        else if (no === 5) field.type = v;
        else if (no === 6) field.typeName = str(v);
      }
      field.repeated = field.label === LABEL_REPEATED;
      byNumber.set(field.number, field);
    }
    this.messages.set(full, { name: full, scope: full, byNumber });
    for (const n of nested) this.#addMessage(full, n);
    for (const e of enums) this.#addEnum(full, e);
  }

  #addEnum(scope, bytes) {
    let name = "";
    const values = new Map();
    for (const [no, , v] of rawFields(bytes)) {
      if (no === 1) name = str(v);
      else if (no === 2) {
        let vname = "";
        let vnum = 0;
        for (const [vno, , x] of rawFields(v)) {
          if (vno === 1) vname = str(x);
          else if (vno === 2) vnum = Number(BigInt.asIntN(32, BigInt(x)));
        }
        values.set(vnum, vname);
      }
    }
    this.enums.set(`${scope}.${name}`, values);
  }

  /** A type name as a field refers to it, resolved like protoc does (innermost scope first). */
  #resolve(typeName, scope, table) {
    if (typeName.startsWith(".")) return table.get(typeName);
    for (let s = scope; ; s = s.slice(0, s.lastIndexOf("."))) {
      const hit = table.get(`${s}.${typeName}`);
      if (hit || s === "") return hit;
    }
  }

  /** Decode `bytes` as the message type `name` (with or without the leading dot). */
  decode(name, bytes) {
    const type = this.messages.get(name.startsWith(".") ? name : `.${name}`);
    if (!type) throw new Error(`unknown message type ${name}`);
    return this.#decode(type, bytes);
  }

  #decode(type, bytes) {
    const out = {};
    for (const f of type.byNumber.values()) out[f.name] = f.repeated ? [] : this.#default(f, type);
    const r = new Reader(bytes);
    while (!r.done) {
      const tag = r.uint();
      const field = type.byNumber.get(Math.floor(tag / 8));
      const wire = tag & 7;
      if (!field) {
        r.skip(wire);
        continue;
      }
      if (field.type === T.MESSAGE) {
        const sub = this.#resolve(field.typeName, type.scope, this.messages);
        if (!sub) throw new Error(`unknown message type ${field.typeName}`);
        const value = this.#decode(sub, r.bytes());
        if (field.repeated) out[field.name].push(value);
        else out[field.name] = value;
      } else if (field.type === T.STRING || field.type === T.BYTES) {
        const b = r.bytes();
        const value = field.type === T.STRING ? str(b) : b;
        if (field.repeated) out[field.name].push(value);
        else out[field.name] = value;
      } else if (wire === WIRE_LEN) {
        // Packed repeated scalars.
        const inner = new Reader(r.bytes());
        while (!inner.done) out[field.name].push(this.#scalar(inner, field, type));
      } else {
        const value = this.#scalar(r, field, type);
        if (field.repeated) out[field.name].push(value);
        else out[field.name] = value;
      }
    }
    return out;
  }

  #scalar(r, field, type) {
    switch (field.type) {
      case T.DOUBLE:
        return r.view.getFloat64(r.fixed(8), true);
      case T.FLOAT:
        return r.view.getFloat32(r.fixed(4), true);
      case T.FIXED32:
        return r.view.getUint32(r.fixed(4), true);
      case T.SFIXED32:
        return r.view.getInt32(r.fixed(4), true);
      case T.FIXED64:
        return r.view.getBigUint64(r.fixed(8), true);
      case T.SFIXED64:
        return r.view.getBigInt64(r.fixed(8), true);
      case T.BOOL:
        return r.big() !== 0n;
      case T.INT32:
        return Number(BigInt.asIntN(32, r.big()));
      case T.UINT32:
        return Number(BigInt.asUintN(32, r.big()));
      case T.SINT32: {
        const v = Number(BigInt.asUintN(32, r.big()));
        return (v >>> 1) ^ -(v & 1);
      }
      case T.INT64:
        return BigInt.asIntN(64, r.big());
      case T.UINT64:
        return BigInt.asUintN(64, r.big());
      case T.SINT64: {
        const v = BigInt.asUintN(64, r.big());
        return (v >> 1n) ^ -(v & 1n);
      }
      case T.ENUM: {
        const n = Number(BigInt.asIntN(32, r.big()));
        const values = this.#resolve(field.typeName, type.scope, this.enums);
        return values?.get(n) ?? n;
      }
      default:
        throw new Error(`unsupported field type ${field.type} (${field.name})`);
    }
  }

  #default(field, type) {
    switch (field.type) {
      case T.MESSAGE:
        return null;
      case T.STRING:
        return "";
      case T.BYTES:
        return new Uint8Array(0);
      case T.BOOL:
        return false;
      case T.INT64:
      case T.UINT64:
      case T.SINT64:
      case T.FIXED64:
      case T.SFIXED64:
        return 0n;
      case T.ENUM:
        return this.#resolve(field.typeName, type.scope, this.enums)?.get(0) ?? 0;
      default:
        return 0;
    }
  }
}
