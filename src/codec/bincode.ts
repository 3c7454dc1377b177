import { Reader, Writer } from "./bincode-buffers.js";
import { setOwn } from "./own.js";
import { bytesOfLength, copyOf } from "./small-bytes.js";
import { floatKeyText, floatKeyType } from "./float-key-text.js";
import { keyValue } from "./map-keys.js";
import { INTEGER, type Schema } from "./schema.js";
import { strictUtf8 } from "./strict-utf8.js";

/**
 * bincode 1.x with its default options (what `bincode::serialize` writes):
 * little-endian, fixed-width integers, u64 lengths, u32 enum tags, u8 option
 * and bool tags. Not self-describing, so every call needs the schema.
 */
export function encodeBincode(value: unknown, schema: Schema): Uint8Array {
  const w = new Writer();
  try {
    write(w, value, schema);
  } catch (err) {
    throw placed(err);
  }
  return w.finish();
}

/** `limit`: the bytes the payload is held to where it comes from, for its container budget (./budget.ts). */
export function decodeBincode(bytes: Uint8Array, schema: Schema, limit: number): unknown {
  const r = new Reader(bytes, limit);
  let value: unknown;
  try {
    value = read(r, schema);
  } catch (err) {
    throw placed(err);
  }
  if (r.pos !== bytes.length) throw new Error(`bincode: ${bytes.length - r.pos} trailing bytes`);
  return value;
}

const INT_WIDTH = { u8: 1, u16: 2, u32: 4, u64: 8, u128: 16, i8: 1, i16: 2, i32: 4, i64: 8, i128: 16 } as const;
type IntName = keyof typeof INT_WIDTH;

function fail(expected: string, value: unknown): never {
  throw new Misplaced(`expected ${expected}, got ${describe(value)}`);
}

/**
 * The value a refusal names, in at most 80 characters: it may be the whole payload (a megabyte
 * of it was the message, and the error body), and may hold bigints, which JSON.stringify refuses.
 */
function describe(value: unknown): string {
  const s =
    typeof value === "object" && value !== null
      ? (JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? JSON.rawJSON(v.toString()) : v)) ?? String(value))
      : String(value);
  return s.length > 80 ? `${s.slice(0, 80)}...` : s;
}

function toBigInt(value: unknown, name: string): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number" && Number.isInteger(value)) return BigInt(value);
  // digits, as many as an integer type can hold (INTEGER)
  if (typeof value === "string" && INTEGER.test(value)) return BigInt(value);
  return fail(name, value);
}

/** The least and most of each integer type up to 32 bits, which a number holds exactly. */
const SMALL_RANGE: Partial<Record<IntName, [number, number]>> = {
  u8: [0, 0xff],
  i8: [-0x80, 0x7f],
  u16: [0, 0xffff],
  i16: [-0x8000, 0x7fff],
  u32: [0, 0xffff_ffff],
  i32: [-0x8000_0000, 0x7fff_ffff],
};

function writeInt(w: Writer, value: unknown, name: IntName) {
  const width = INT_WIDTH[name];
  const range = SMALL_RANGE[name];
  // Up to 32 bits, a number is written as it is: no BigInts made (a u8 per element was most of a
  // large payload's CPU). Anything else (bigints, digits, a number out of range) takes the BigInt
  // way, which refuses what does not fit with the same message.
  if (range && typeof value === "number" && Number.isInteger(value) && value >= range[0] && value <= range[1]) {
    const at = w.reserve(width);
    if (width === 1) w.buf[at] = value & 0xff;
    else if (width === 2) w.view.setUint16(at, value & 0xffff, true);
    else w.view.setUint32(at, value >>> 0, true);
    return;
  }
  const signed = name[0] === "i";
  const big = toBigInt(value, name);
  const bits = BigInt(width * 8);
  const min = signed ? -(1n << (bits - 1n)) : 0n;
  const max = signed ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n;
  if (big < min || big > max) fail(name, value);
  let v = BigInt.asUintN(width * 8, big);
  for (let i = 0; i < width; i++) {
    w.u8(Number(v & 0xffn));
    v >>= 8n;
  }
}

function readInt(r: Reader, name: IntName): number | bigint {
  const width = INT_WIDTH[name];
  const at = r.take(width);
  // Up to 32 bits fit a number: no BigInts made (a u8 per element was most of a large payload's CPU).
  switch (name) {
    case "u8":
      return r.buf[at]!;
    case "i8":
      return r.view.getInt8(at);
    case "u16":
      return r.view.getUint16(at, true);
    case "i16":
      return r.view.getInt16(at, true);
    case "u32":
      return r.view.getUint32(at, true);
    case "i32":
      return r.view.getInt32(at, true);
  }
  let v = 0n;
  for (let i = width - 1; i >= 0; i--) v = (v << 8n) | BigInt(r.buf[at + i]!);
  if (name[0] === "i") v = BigInt.asIntN(width * 8, v);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

const encoder = new TextEncoder();

function write(w: Writer, value: unknown, s: Schema): void {
  if (typeof s === "string") {
    switch (s) {
      case "unit":
        return;
      case "bool":
        if (typeof value !== "boolean") fail("bool", value);
        w.u8(value ? 1 : 0);
        return;
      case "f32":
      case "f64":
        if (typeof value !== "number") fail(s, value);
        if (s === "f32") w.f32(value);
        else w.f64(value);
        return;
      case "string":
        if (typeof value !== "string") fail("string", value);
        return w.bytes(encoder.encode(value));
      case "bytes":
        return w.bytes(bytesOf(value));
      default:
        return writeInt(w, value, s);
    }
  }
  if ("option" in s) {
    if (value === null || value === undefined) return w.u8(0);
    w.u8(1);
    return write(w, value, s.option);
  }
  if ("seq" in s) {
    if (!Array.isArray(value)) fail("array", value);
    w.u64(value.length);
    let i = 0;
    try {
      for (; i < value.length; i++) write(w, value[i], s.seq);
    } catch (err) {
      throw within(err, `[${i}]`);
    }
    return;
  }
  if ("tuple" in s) {
    if (!Array.isArray(value) || value.length !== s.tuple.length) fail(`tuple of ${s.tuple.length}`, value);
    let i = 0;
    try {
      for (; i < s.tuple.length; i++) write(w, value[i], s.tuple[i]!);
    } catch (err) {
      throw within(err, `[${i}]`);
    }
    return;
  }
  if ("map" in s) {
    const entries = value instanceof Map ? [...value.entries()] : isObject(value) ? Object.entries(value) : fail("map", value);
    w.u64(entries.length);
    // undefined while a key is written
    let key: string | undefined;
    try {
      for (const [k, v] of entries) {
        key = undefined;
        // an object's key is a string: read as its type as serde_json reads one (./map-keys.ts)
        write(w, typeof k === "string" ? keyValue(k, s.map[0]) : k, s.map[0]);
        key = String(k);
        write(w, v, s.map[1]);
      }
    } catch (err) {
      throw within(err, key === undefined ? ".<key>" : `.${key}`);
    }
    return;
  }
  if ("struct" in s) {
    if (!isObject(value)) fail("object", value);
    let field = "";
    try {
      for (const [name, t, inherited] of fieldsOf(s.struct)) {
        field = name;
        write(w, inherited && !Object.hasOwn(value, name) ? undefined : value[name], t);
      }
    } catch (err) {
      throw within(err, `.${field}`);
    }
    return;
  }
  const variants = Object.keys(s.enum);
  let name: string;
  let inner: unknown;
  if (typeof value === "string") name = value;
  else if (isObject(value) && Object.keys(value).length === 1) [name, inner] = Object.entries(value)[0]!;
  else return fail(`one of ${variants.join(", ")}`, value);
  const tag = variants.indexOf(name);
  if (tag < 0) fail(`one of ${variants.join(", ")}`, value);
  const t = s.enum[name];
  // as serde_json and rmp-serde read them: a variant that carries a value, () or an option too,
  // is never its name alone (this wrote `Foo(())` for "Foo", None for an option's), and a unit
  // variant's value, where given, is null ({"Bar": 5} is "expected unit"). A unit's own value is
  // not held to null: rmp-serde writes a unit struct, which the schema calls unit too, as [].
  if (t ? typeof value === "string" : inner !== null && inner !== undefined) {
    fail(t ? `{${JSON.stringify(name)}: ...} (the variant ${name} carries a value)` : `${JSON.stringify(name)} or {${JSON.stringify(name)}: null}`, value);
  }
  w.u32(tag);
  if (!t) return;
  try {
    write(w, inner, t);
  } catch (err) {
    throw within(err, `.${name}`);
  }
}

/**
 * A fault at a place in the payload. Its path is made only once it is thrown: each container it
 * unwinds through adds its own segment (innermost first). A path string made for every element
 * read or written cost a 1 MiB payload of one-byte structs more CPU than the bytes did.
 */
class Misplaced extends Error {
  readonly segments: string[] = [];
  constructor(readonly detail: string) {
    super(detail);
  }
}

/** `err` as thrown to the caller: a Misplaced one as an Error naming its place (`$.items[2].v`). */
function placed(err: unknown, root = "$"): unknown {
  return err instanceof Misplaced ? new Error(`bincode: ${root}${err.segments.reverse().join("")}: ${err.detail}`) : err;
}

/** `err`, with `segment` added to its place when it has one. */
function within(err: unknown, segment: string): unknown {
  if (err instanceof Misplaced) err.segments.push(segment);
  return err;
}

/**
 * A struct's fields, listed once per schema (a topic's, never changed once loaded) rather than once
 * per struct read; each with whether every object inherits a property of its name ("constructor",
 * "toString"), which a value that leaves the field out must not be taken to give.
 */
const fields = new WeakMap<Record<string, Schema>, [string, Schema, boolean][]>();
function fieldsOf(struct: Record<string, Schema>): [string, Schema, boolean][] {
  let list = fields.get(struct);
  if (!list) fields.set(struct, (list = Object.entries(struct).map(([name, t]) => [name, t, name in Object.prototype])));
  return list;
}

function read(r: Reader, s: Schema): unknown {
  if (typeof s === "string") {
    switch (s) {
      case "unit":
        return null;
      case "bool": {
        const b = r.buf[r.take(1)];
        if (b !== 0 && b !== 1) throw new Misplaced(`invalid bool ${b}`);
        return b === 1;
      }
      case "f32":
        return r.view.getFloat32(r.take(4), true);
      case "f64":
        return r.view.getFloat64(r.take(8), true);
      case "string": {
        const n = r.length();
        const at = r.take(n);
        return strictUtf8.decode(r.buf.subarray(at, at + n));
      }
      case "bytes": {
        const n = r.length();
        const at = r.take(n);
        r.container("bin");
        return r.buf.slice(at, at + n);
      }
      default:
        return readInt(r, s);
    }
  }
  if ("option" in s) {
    const tag = r.buf[r.take(1)];
    if (tag === 0) return null;
    if (tag !== 1) throw new Misplaced(`invalid option tag ${tag}`);
    return read(r, s.option);
  }
  if ("seq" in s) {
    const n = r.length();
    r.container("array");
    // Of its length from the start: grown by push, a one-element array holds room for 17 (192
    // bytes of heap where JSON's `[1]` takes 56), and 1 MiB of `Vec<(u8,)>` was 101 MB.
    const out: unknown[] = new Array(n);
    let i = 0;
    try {
      for (; i < n; i++) out[i] = read(r, s.seq);
    } catch (err) {
      throw within(err, `[${i}]`);
    }
    return out;
  }
  if ("tuple" in s) {
    r.container("array");
    const out: unknown[] = new Array(s.tuple.length);
    let i = 0;
    try {
      for (; i < s.tuple.length; i++) out[i] = read(r, s.tuple[i]!);
    } catch (err) {
      throw within(err, `[${i}]`);
    }
    return out;
  }
  if ("map" in s) {
    const n = r.length();
    r.container("map");
    const out: Record<string, unknown> = {};
    // Where a key has no text (unit, a tuple, a struct, bytes, a variant carrying a value), the
    // map's keys as read: String made them "1,2" or "[object Object]", which the JSON writer
    // could not tell from a key (./written-keys.ts refuses them), and msgpack's and bincode's
    // write them as they are.
    let asRead: Map<unknown, unknown> | undefined;
    const floatType = floatKeyType(s.map[0]);
    // undefined while a key is read
    let k: string | undefined;
    try {
      for (let i = 0; i < n; i++) {
        k = undefined;
        const key = read(r, s.map[0]);
        // a float key as serde_json writes it: String makes 1.0 "1" and -0.0 "0"
        k = typeof key === "number" && floatType ? floatKeyText(key, floatType) : String(key);
        if (asRead || typeof key === "object") (asRead ??= new Map(Object.entries(out))).set(key, read(r, s.map[1]));
        else setOwn(out, k, read(r, s.map[1]));
      }
    } catch (err) {
      throw within(err, k === undefined ? ".<key>" : `.${k}`);
    }
    return asRead ?? out;
  }
  if ("struct" in s) {
    r.container("map");
    const out: Record<string, unknown> = {};
    let field = "";
    try {
      for (const [name, t] of fieldsOf(s.struct)) {
        field = name;
        // setOwn: a field named "__proto__" (serde's rename allows it) is data, as a map's key is.
        setOwn(out, name, read(r, t));
      }
    } catch (err) {
      throw within(err, `.${field}`);
    }
    return out;
  }
  const variants = Object.entries(s.enum);
  const tag = r.view.getUint32(r.take(4), true);
  const variant = variants[tag];
  if (!variant) throw new Misplaced(`invalid enum tag ${tag}`);
  const [name, t] = variant;
  if (!t) return name;
  r.container("map");
  try {
    return { [name]: read(r, t) };
  } catch (err) {
    throw within(err, `.${name}`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/**
 * serde writes `Vec<u8>` as a JSON array of numbers; a string is taken as UTF-8 text. For a
 * decoded value, kept: small ones are views of a shared buffer (./small-bytes.ts).
 */
export function asBytes(value: unknown, path: string): Uint8Array {
  try {
    return bytesOf(value, bytesOfLength);
  } catch (err) {
    throw placed(err, path);
  }
}

/** The bytes of a value to be written, which live only until they are. */
const fresh = (n: number): Uint8Array => new Uint8Array(n);

function bytesOf(value: unknown, make = fresh): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === "string") {
    const text = encoder.encode(value);
    return make === fresh ? text : copyOf(text);
  }
  if (Array.isArray(value) && value.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) {
    const out = make(value.length);
    out.set(value as number[]);
    return out;
  }
  return fail("bytes", value);
}
