/**
 * JSON as serde_json writes it, with byte arrays done by hand.
 *
 * serde_json writes `Vec<u8>` as an array of numbers. Through `JSON.stringify` / `JSON.parse`
 * that is one JS number per byte both ways (and `Array.from` / `Uint8Array.from` around them):
 * an `http.fetch` response with a 64 KiB body cost ~600 times msgpack. Here long byte arrays are
 * written straight from the Uint8Array as ASCII digits, and read straight from the UTF-8 text
 * into a Uint8Array, while everything else still goes through the engine's JSON. The wire format
 * is unchanged: the same text, byte for byte.
 */
import { asBytes } from "./bincode.js";
import type { Schema } from "./schema.js";

declare global {
  interface JSON {
    rawJSON(text: string): unknown;
  }
}

/** Byte arrays at least this long are written and read by hand; shorter ones are not worth it. */
export const BYTES_BY_HAND = 32;

const utf8 = new TextEncoder();
/** The first piece of a text: a leading BOM goes, as TextDecoder does for a whole text. */
const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
/** Later pieces: a U+FEFF there is a character (and JSON.parse refuses it, as it would have). */
const piece = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

// ---- writing -------------------------------------------------------------------------------

/** The digits of each byte then a comma, four slots each (unused slots are overwritten next). */
const DIGITS = new Uint8Array(256 * 4);
/** How many of those four are the byte's: its digits and the comma. */
const WIDTH = new Uint8Array(256);
for (let b = 0; b < 256; b++) {
  const s = `${b},`;
  WIDTH[b] = s.length;
  for (let i = 0; i < s.length; i++) DIGITS[b * 4 + i] = s.charCodeAt(i);
}

/** Long byte arrays found by the last `prepare`, and the containers that hold one somewhere below. */
let found = 0;
let holders: Set<object> | undefined;

/**
 * A copy ready for JSON.stringify: bigints as their digits (serde's u64/u128 keep them), keys as
 * own properties of null-prototype objects ("__proto__" is data), short byte arrays as arrays of
 * numbers; long ones stay Uint8Arrays, counted in `found`, their containers in `holders`.
 */
function prepare(v: unknown): unknown {
  if (typeof v === "bigint") return JSON.rawJSON(v.toString());
  if (v === null || typeof v !== "object") return v;
  if (v instanceof Uint8Array) {
    if (v.length < BYTES_BY_HAND) return Array.from(v);
    found++;
    return v;
  }
  const before = found;
  let out: unknown[] | Record<string, unknown>;
  if (Array.isArray(v)) {
    out = v.map(prepare);
  } else {
    out = Object.create(null) as Record<string, unknown>;
    for (const k of Object.keys(v)) out[k] = prepare((v as Record<string, unknown>)[k]);
  }
  if (found !== before) (holders ??= new Set()).add(out);
  return out;
}

/** A growing output buffer. */
class Out {
  buf: Uint8Array;
  len = 0;

  constructor(buf: Uint8Array) {
    this.buf = buf;
  }

  reserve(n: number) {
    if (this.len + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    grown.set(this.buf.subarray(0, this.len));
    this.buf = grown;
  }

  byte(c: number) {
    this.reserve(1);
    this.buf[this.len++] = c;
  }

  text(s: string) {
    this.reserve(s.length * 3);
    this.len += utf8.encodeInto(s, this.buf.subarray(this.len)).written;
  }

  /** `[b0,b1,...]` */
  bytes(data: Uint8Array) {
    this.reserve(data.length * 4 + 2);
    const buf = this.buf;
    buf[this.len] = 0x5b;
    const p = writeDigits(data, buf, this.len + 1);
    // the last comma becomes the bracket
    if (data.length) buf[p - 1] = 0x5d;
    else buf[p] = 0x5d;
    this.len = data.length ? p : p + 1;
  }
}

/**
 * Each byte's digits and a comma: four table bytes written, the width of its digits kept. The
 * loop alone in its function: code after a loop that V8 optimised while inside it has no type
 * feedback yet, and deoptimising on it each call cost more than the loop.
 */
function writeDigits(data: Uint8Array, buf: Uint8Array, p: number): number {
  for (let i = 0; i < data.length; i++) {
    const b = data[i]!;
    const at = b << 2;
    buf[p] = DIGITS[at]!;
    buf[p + 1] = DIGITS[at + 1]!;
    buf[p + 2] = DIGITS[at + 2]!;
    buf[p + 3] = DIGITS[at + 3]!;
    p += WIDTH[b]!;
  }
  return p;
}

/** Writes a prepared value: by hand along the paths to long byte arrays, through JSON.stringify elsewhere. */
function write(v: unknown, out: Out) {
  if (v instanceof Uint8Array) return out.bytes(v);
  if (v === null || typeof v !== "object" || !holders!.has(v)) return out.text(JSON.stringify(v) ?? "null");
  if (Array.isArray(v)) {
    out.byte(0x5b);
    for (let i = 0; i < v.length; i++) {
      if (i) out.byte(0x2c);
      const x = v[i];
      // as JSON.stringify: what it cannot write is null in an array
      if (x === undefined || typeof x === "function" || typeof x === "symbol") out.text("null");
      else write(x, out);
    }
    return out.byte(0x5d);
  }
  out.byte(0x7b);
  let first = true;
  for (const k of Object.keys(v)) {
    const x = (v as Record<string, unknown>)[k];
    // ... and leaves the key out in an object
    if (x === undefined || typeof x === "function" || typeof x === "symbol") continue;
    if (!first) out.byte(0x2c);
    first = false;
    out.text(JSON.stringify(k));
    out.byte(0x3a);
    write(x, out);
  }
  out.byte(0x7d);
}

/** JSON as serde_json writes it, as UTF-8: bytes as arrays of numbers, big integers with all their digits. */
export function encodeJson(value: unknown): Uint8Array {
  found = 0;
  holders = undefined;
  const prepared = prepare(value ?? null);
  if (!found) return utf8.encode(JSON.stringify(prepared));
  try {
    const out = new Out(written);
    write(prepared, out);
    // The buffer is kept for the next call (writing into fresh memory costs more than this copy).
    if (out.buf.length <= SCRATCH_KEPT) written = out.buf;
    return out.buf.slice(0, out.len);
  } finally {
    holders = undefined;
  }
}

/** Scratch kept between calls up to this size; a bigger one goes with its call. */
const SCRATCH_KEPT = 1 << 20;
/** The output buffer of the last encodeJson, kept. */
let written: Uint8Array = new Uint8Array(4096);

/** The same, as a string (a raw payload of a value that is not bytes or a string is its JSON text). */
export function stringifyJson(value: unknown): string {
  found = 0;
  holders = undefined;
  const prepared = prepare(value ?? null);
  if (!found) return JSON.stringify(prepared);
  return piece.decode(encodeJson(value));
}

// ---- reading -------------------------------------------------------------------------------

/** Texts shorter than this are left to JSON.parse whole: what byte arrays they hold are short. */
const CUT_FROM = 512;

/** Where a long byte array was cut out of the text: a string of U+0000 (written as its escape) and the array's index. */
const MARK = "\\u0000";

/** Whether a schema names bytes anywhere (only then are byte arrays cut out of the text). */
const withBytes = new WeakMap<object, boolean>();
function namesBytes(schema: Schema): boolean {
  if (typeof schema === "string") return schema === "bytes";
  let known = withBytes.get(schema);
  if (known === undefined) {
    const inner: (Schema | null)[] =
      "option" in schema ? [schema.option]
      : "seq" in schema ? [schema.seq]
      : "tuple" in schema ? schema.tuple
      : "map" in schema ? schema.map
      : "struct" in schema ? Object.values(schema.struct)
      : Object.values(schema.enum);
    known = inner.some((s) => s !== null && namesBytes(s));
    withBytes.set(schema, known);
  }
  return known;
}

/** Integers past 2^53 keep their digits as bigint (u64/u128 fields). */
function parse(source: string): unknown {
  // A reviver costs ten times the parse, so only text with a run of 16 digits pays for it.
  if (!/\d{16}/.test(source)) return JSON.parse(source);
  return JSON.parse(source, (_key, value, context?: { source?: string }) =>
    typeof value === "number" && !Number.isSafeInteger(value) && context?.source && /^-?\d+$/.test(context.source)
      ? BigInt(context.source)
      : value,
  );
}

/**
 * Reads JSON. Where the schema names bytes, long arrays of 0-255 are cut out of the UTF-8 text
 * and read into Uint8Arrays directly; the rest goes through JSON.parse. The value is brought to
 * the schema's shape (byte arrays become Uint8Array); throws what JSON.parse throws.
 */
export function decodeJson(data: Uint8Array, schema?: Schema): unknown {
  if (schema !== undefined && data.length >= CUT_FROM && namesBytes(schema)) {
    const cut = cutBytes(data);
    if (cut) return restore(parse(cut.source), schema, cut.arrays);
  }
  return conform(parse(text.decode(data)), schema);
}

/** Scratch for the bytes of one array while it is read (its length is known only at the end). */
let scratch = new Uint8Array(1024);

/**
 * The text with each long byte array (outside strings) replaced by `"\u0000<i>"`, and the arrays;
 * undefined when there are none, or when the text holds an escaped U+0000 of its own (then a
 * mark could not be told from data).
 */
function cutBytes(d: Uint8Array): { source: string; arrays: Uint8Array[] } | undefined {
  let arrays: Uint8Array[] | undefined;
  let parts: string[] | undefined;
  let from = 0;
  const n = d.length;
  if (scratch.length < n >> 1) scratch = new Uint8Array(n >> 1);
  try {
    let i = 0;
    while (i < n) {
      const c = d[i]!;
      if (c === 0x22) {
        const end = endOfString(d, i + 1);
        // malformed (JSON.parse says how), or a U+0000 of its own that a mark could not be told from
        if (end < 0 || (escapes && escapesNul(d, i + 1, end))) return undefined;
        i = end;
        continue;
      }
      if (c === 0x5b) {
        const end = byteArray(d, i);
        if (end > 0) {
          (parts ??= []).push((from === 0 ? text : piece).decode(d.subarray(from, i)), `"${MARK}${(arrays ??= []).length}"`);
          arrays.push(scratch.slice(0, count));
          from = i = end;
          continue;
        }
      }
      i++;
    }
  } finally {
    if (scratch.length > SCRATCH_KEPT) scratch = new Uint8Array(1024);
  }
  if (!arrays) return undefined;
  parts!.push((from === 0 ? text : piece).decode(d.subarray(from)));
  return { source: parts!.join(""), arrays };
}

/** Whether the string at [from, end) has a `\u0000` escape (conservatively: after an escaped backslash too). */
function escapesNul(d: Uint8Array, from: number, end: number): boolean {
  for (let j = from; j < end; j++) {
    if (d[j] === 0x5c && d[j + 1] === 0x75 && d[j + 2] === 0x30 && d[j + 3] === 0x30 && d[j + 4] === 0x30 && d[j + 5] === 0x30) return true;
  }
  return false;
}

/** Whether the last string endOfString found had a backslash in it. */
let escapes = false;

/** The index after the closing quote of a string whose content starts at `j`; -1 when it never closes. */
function endOfString(d: Uint8Array, j: number): number {
  escapes = false;
  for (;;) {
    const q = d.indexOf(0x22, j);
    if (q < 0) return -1;
    let k = q - 1;
    while (d[k] === 0x5c) k--;
    if (k < q - 1 || (!escapes && d.subarray(j, q).includes(0x5c))) escapes = true;
    if ((q - 1 - k) % 2 === 0) return q + 1; // an even run of backslashes escapes nothing
    j = q + 1;
  }
}

const isSpace = (c: number | undefined) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** Bytes read by the last `byteArray`, in `scratch`. */
let count = 0;

/**
 * Reads `[n, n, ...]` at `i` (every n an integer 0-255 as JSON writes it, JSON whitespace
 * allowed) into `scratch`, at least BYTES_BY_HAND of them; the index after `]`, or -1 when the
 * array is anything else (it is then left to JSON.parse).
 */
function byteArray(d: Uint8Array, i: number): number {
  const buf = scratch;
  let j = i + 1;
  let k = 0;
  if (isSpace(d[j])) j = skipSpace(d, j);
  for (;;) {
    j = compact(d, j, buf, k);
    k = taken;
    // Here: the last number, one with whitespace around its comma, or no byte at all.
    let v = (d[j] ?? 0) - 48;
    if (v >>> 0 > 9) return -1;
    j++;
    for (let n = 1; ((d[j] ?? 0) - 48) >>> 0 <= 9; n++, j++) {
      if (v === 0 || n === 3) return -1; // a leading zero, or a fourth digit
      v = v * 10 + (d[j]! - 48);
    }
    if (v > 255) return -1;
    buf[k++] = v;
    if (isSpace(d[j])) j = skipSpace(d, j);
    if (d[j] === 0x2c) {
      j++;
      if (isSpace(d[j])) j = skipSpace(d, j);
      continue;
    }
    if (d[j] !== 0x5d || k < BYTES_BY_HAND) return -1;
    count = k;
    return j + 1;
  }
}

/** Bytes in `buf` after the last `compact`. */
let taken = 0;

/**
 * serde_json's compact form, "d," "dd," "ddd," (0-255 without a leading zero), read into `buf`
 * from `k` on (`taken` says how far) until anything else; the index of that. The loop alone in
 * its function, as `writeDigits`.
 */
function compact(d: Uint8Array, j: number, buf: Uint8Array, k: number): number {
  const end = d.length - 4;
  while (j <= end) {
    const v = d[j]! - 48;
    if (v >>> 0 > 9) break;
    const c1 = d[j + 1]!;
    if (c1 === 0x2c) {
      buf[k++] = v;
      j += 2;
      continue;
    }
    const w1 = c1 - 48;
    if (w1 >>> 0 > 9 || v === 0) break;
    const c2 = d[j + 2]!;
    if (c2 === 0x2c) {
      buf[k++] = v * 10 + w1;
      j += 3;
      continue;
    }
    const w2 = c2 - 48;
    const x = v * 100 + w1 * 10 + w2;
    if (w2 >>> 0 > 9 || x > 255 || d[j + 3] !== 0x2c) break;
    buf[k++] = x;
    j += 4;
  }
  taken = k;
  return j;
}

function skipSpace(d: Uint8Array, j: number): number {
  while (isSpace(d[j])) j++;
  return j;
}

/** The bytes a mark stands for, or undefined for any other string. */
function marked(s: string, arrays: Uint8Array[]): Uint8Array | undefined {
  if (s.length < 2 || s.charCodeAt(0) !== 0) return undefined;
  return arrays[Number(s.slice(1))];
}

/**
 * `conform` for a value parsed from cut text: marks become their bytes where the schema names
 * bytes and arrays of numbers anywhere else, as JSON.parse would have made them.
 */
function restore(value: unknown, schema: Schema | undefined, arrays: Uint8Array[]): unknown {
  while (schema !== undefined && typeof schema !== "string" && "option" in schema) schema = schema.option;
  if (typeof value === "string") {
    const bytes = marked(value, arrays);
    if (bytes) return schema === "bytes" ? bytes : Array.from(bytes);
  }
  if (schema === undefined || typeof schema === "string") {
    if (schema === "bytes" && value != null) return asBytes(unmark(value, arrays), "$");
    return unmark(value, arrays);
  }
  if (value === null || value === undefined || typeof value !== "object") return value;
  if ("seq" in schema && Array.isArray(value)) return value.map((v) => restore(v, schema.seq, arrays));
  if ("tuple" in schema && Array.isArray(value)) return value.map((v, i) => restore(v, schema.tuple[i], arrays));
  if ("struct" in schema && !Array.isArray(value)) {
    const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    for (const k of Object.keys(out)) setOwn(out, k, restore(out[k], Object.hasOwn(schema.struct, k) ? schema.struct[k] : undefined, arrays));
    return out;
  }
  return unmark(value, arrays);
}

/** `out[k] = v`, where k may be "__proto__" (a key like any other in JSON data). */
function setOwn(out: Record<string, unknown>, k: string, v: unknown) {
  if (k === "__proto__") Object.defineProperty(out, k, { value: v, writable: true, enumerable: true, configurable: true });
  else out[k] = v;
}

/** Marks anywhere in a value back to arrays of numbers. */
function unmark(value: unknown, arrays: Uint8Array[]): unknown {
  if (typeof value === "string") {
    const bytes = marked(value, arrays);
    return bytes ? Array.from(bytes) : value;
  }
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => unmark(v, arrays));
  const out = value as Record<string, unknown>;
  for (const k of Object.keys(out)) {
    const v = unmark(out[k], arrays);
    if (v !== out[k]) setOwn(out, k, v);
  }
  return out;
}

/** Brings a self-describing value to the shape the schema names: byte arrays become Uint8Array. */
export function conform(value: unknown, schema?: Schema): unknown {
  if (!schema || typeof schema === "string") return schema === "bytes" && value != null ? asBytes(value, "$") : value;
  if (value === null || value === undefined || typeof value !== "object") return value;
  if ("option" in schema) return conform(value, schema.option);
  if ("seq" in schema && Array.isArray(value)) return value.map((v) => conform(v, schema.seq));
  if ("tuple" in schema && Array.isArray(value)) return value.map((v, i) => conform(v, schema.tuple[i]));
  if ("struct" in schema) {
    const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    for (const [k, s] of Object.entries(schema.struct)) if (k in out) out[k] = conform(out[k], s);
    return out;
  }
  return value;
}
