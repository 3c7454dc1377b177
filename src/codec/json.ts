/**
 * JSON as serde_json writes it, with byte arrays done by hand.
 *
 * serde_json writes `Vec<u8>` as an array of numbers. Through `JSON.stringify` / `JSON.parse`
 * that is one JS number per byte both ways (and `Array.from` / `Uint8Array.from` around them):
 * an `http.fetch` response with a 64 KiB body cost ~600 times msgpack. Here long byte arrays are
 * written straight from the Uint8Array as ASCII digits, and read straight from the UTF-8 text
 * into a Uint8Array, while everything else still goes through the engine's JSON. The wire format
 * is unchanged: the same text, byte for byte.
 *
 * This file reads (decodeJson, conform); the writer is json-bytes-write.ts, the byte-array
 * reader json-bytes-read.ts, and what they share json-bytes.ts.
 */
import { asBytes } from "./bincode.js";
import { cutBytes, restore } from "./json-bytes-read.js";
import { jsonTooDeep, tooDeep } from "./nesting.js";
import { text } from "./json-bytes.js";
import { setOwn } from "./own.js";
import { FLOAT, holds, INTEGER, memberType, type Schema, type SchemaQuery, variantOf } from "./schema.js";

// The writer and the byte-array constant are re-exported: codec/index.ts and the tests import
// them from here, where JSON's encode and decode are found together.
export { BYTES_BY_HAND } from "./json-bytes.js";
export { encodeJson, stringifyJson } from "./json-bytes-write.js";

/** Texts shorter than this are left to JSON.parse whole: what byte arrays they hold are short. */
const CUT_FROM = 512;

/** Whether a schema names bytes anywhere (only then are byte arrays cut out of the text). */
const BYTES: SchemaQuery = { is: (s) => s === "bytes", keys: true };
const namesBytes = (schema: Schema) => holds(schema, BYTES);

/** Whether a schema names f32 or f64 anywhere. */
const namesFloats = (schema: Schema) => holds(schema, FLOAT);

/**
 * Where the schema names a float, a bigint the parse made of an integer's digits (`parse`) as the
 * number it is. JavaScript writes a float past 2^53 with no fraction as bare digits
 * (1e20 as "100000000000000000000"), which then read as a bigint: bincode refused it ("expected
 * f64") and msgpack wrote it as an integer, or refused it past 2^64. Walks only where the text held
 * a run of 16 digits and the schema names a float; containers are the parse's own, changed in place.
 */
function floatsAsNumbers(value: unknown, schema: Schema | null | undefined): unknown {
  if (schema === null || schema === undefined) return value;
  if (typeof schema === "string") return typeof value === "bigint" && (schema === "f32" || schema === "f64") ? Number(value) : value;
  if ("option" in schema) return floatsAsNumbers(value, schema.option);
  if (value === null || typeof value !== "object" || value instanceof Uint8Array || !namesFloats(schema)) return value;
  if (Array.isArray(value)) {
    if ("seq" in schema) for (let i = 0; i < value.length; i++) value[i] = floatsAsNumbers(value[i], schema.seq);
    if ("tuple" in schema) for (let i = 0; i < value.length; i++) value[i] = floatsAsNumbers(value[i], schema.tuple[i]);
    return value;
  }
  const o = value as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    const v = floatsAsNumbers(o[k], memberType(schema, k));
    if (v !== o[k]) setOwn(o, k, v);
  }
  return o;
}

declare global {
  interface String {
    isWellFormed(): boolean;
  }
}

/** Whether the text has a run of 16 digits: only then can the parse make a bigint (`parse`). */
const LONG_DIGITS = /\d{16}/;

/** Integers past 2^53 keep their digits as bigint (u64/u128 fields); `long`: LONG_DIGITS found in the source. */
function parse(source: string, long: boolean): unknown {
  // A reviver costs ten times the parse, so only text with a run of 16 digits pays for it. Longer
  // integers than a bus type holds stay the numbers JSON.parse made (a float, Infinity past 1e308).
  if (!long) return JSON.parse(source);
  return JSON.parse(source, (_key, value, context?: { source?: string }) =>
    typeof value === "number" && !Number.isSafeInteger(value) && context?.source && INTEGER.test(context.source) ? BigInt(context.source) : value,
  );
}

/**
 * Whether JSON text escapes a surrogate (`\uD800`-`\uDFFF`): UTF-8 text (checked as it is decoded)
 * holds one no other way, so only then may a string read from it hold a lone one.
 */
export function escapesSurrogate(d: Uint8Array): boolean {
  // Every backslash in valid JSON starts an escape of at least two characters.
  for (let i = d.indexOf(0x5c); i >= 0; i = d.indexOf(0x5c, i + 2)) {
    if (d[i + 1] !== 0x75 || (d[i + 2]! | 0x20) !== 0x64) continue;
    const c = d[i + 3]! | 0x20;
    if (c === 0x38 || c === 0x39 || (c >= 0x61 && c <= 0x66)) return true;
  }
  return false;
}

/** Whether every string in a parsed value, keys too, is well formed; a loop, not recursion: JSON.parse takes any depth. */
export function wellFormed(root: unknown): boolean {
  const stack = [root];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === "string") {
      if (!v.isWellFormed()) return false;
    } else if (Array.isArray(v)) {
      for (const x of v) stack.push(x);
    } else if (v !== null && typeof v === "object") {
      for (const k of Object.keys(v)) {
        if (!k.isWellFormed()) return false;
        stack.push((v as Record<string, unknown>)[k]);
      }
    }
  }
  return true;
}

/**
 * Reads JSON. Where the schema names bytes, long arrays of 0-255 are cut out of the UTF-8 text
 * and read into Uint8Arrays directly; the rest goes through JSON.parse. The value is brought to
 * the schema's shape (byte arrays become Uint8Array); throws what JSON.parse throws, and
 * DeserializationFailed for text nested deeper than MAX_NESTING (./nesting.ts).
 */
export function decodeJson(data: Uint8Array, schema?: Schema): unknown {
  if (schema !== undefined && data.length >= CUT_FROM && namesBytes(schema)) {
    const cut = cutBytes(data);
    if (cut) {
      if (jsonTooDeep(cut.source)) throw tooDeep("json");
      const long = LONG_DIGITS.test(cut.source);
      return floats(restore(parse(cut.source, long), schema, cut.arrays), schema, long);
    }
  }
  const source = text.decode(data);
  if (jsonTooDeep(source)) throw tooDeep("json");
  const long = LONG_DIGITS.test(source);
  return floats(conform(parse(source, long), schema), schema, long);
}

/** floatsAsNumbers where the parse can have made a bigint (`long`) and the schema names a float. */
const floats = (value: unknown, schema: Schema | undefined, long: boolean) =>
  long && schema !== undefined && namesFloats(schema) ? floatsAsNumbers(value, schema) : value;

/**
 * Brings a self-describing value to the shape the schema names: byte arrays become Uint8Array.
 * `making` hears of each byte array made of something else (an array, a string) before it is made.
 */
export function conform(value: unknown, schema?: Schema, making?: (from: unknown) => void): unknown {
  if (!schema || typeof schema === "string") {
    if (schema !== "bytes" || value == null) return value;
    if (making && !(value instanceof Uint8Array)) making(value);
    return asBytes(value, "$");
  }
  // An option is what it holds, before anything else: a string where it holds bytes was left a
  // string here but read as its bytes from a long text (restore), so the same value changed with
  // the text's length.
  if ("option" in schema) return conform(value, schema.option, making);
  // Nothing to bring where the schema names no bytes: the value is the parse's own, as it is.
  // A bin (msgpack) where a container is named is left as it came, for validate to refuse.
  if (value === null || value === undefined || typeof value !== "object" || value instanceof Uint8Array || !namesBytes(schema)) return value;
  if ("seq" in schema && Array.isArray(value)) return value.map((v) => conform(v, schema.seq, making));
  if ("tuple" in schema && Array.isArray(value)) return value.map((v, i) => conform(v, schema.tuple[i], making));
  // An array where a struct or map is named is left an array, as restore leaves it, for validate
  // to refuse: spread into an object it was one with keys "0", "1"..., which passed a struct of
  // options, and hid as many repeated keys from the count in ./duplicates.ts.
  if (Array.isArray(value)) return value;
  if ("struct" in schema) {
    const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    // Own keys only: `in` found "constructor" or "toString" on every object's prototype, and a
    // field of that name absent from the request was made the prototype's function, then refused.
    for (const [k, s] of Object.entries(schema.struct)) if (Object.hasOwn(out, k)) setOwn(out, k, conform(out[k], s, making));
    return out;
  }
  // A map's values and an enum variant's value are brought as a struct's fields are: left as they
  // came, bytes there reached a module as arrays of numbers where a struct's were bytes.
  if ("map" in schema) {
    const of = schema.map[1];
    if (value instanceof Map) return new Map([...value].map(([k, v]) => [k, conform(v, of, making)]));
    const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    // setOwn: a key is the caller's, "__proto__" too, which assigned would set the prototype.
    for (const k of Object.keys(out)) setOwn(out, k, conform(out[k], of, making));
    return out;
  }
  if ("enum" in schema && !Array.isArray(value)) {
    const name = variantOf(value, schema.enum);
    return name === undefined ? value : { [name]: conform((value as Record<string, unknown>)[name], schema.enum[name]!, making) };
  }
  return value;
}
