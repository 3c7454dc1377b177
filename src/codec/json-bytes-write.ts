/**
 * The JSON writer: serde_json's text, with long byte arrays written by hand straight from the
 * Uint8Array as ASCII digits (see json.ts for why) and everything else through JSON.stringify.
 * encodeJson and stringifyJson live here rather than in json.ts because they share the state
 * `prepare` leaves behind (`found`, `holders`), which only this module can reset.
 */
import { BYTES_BY_HAND, piece, SCRATCH_KEPT, utf8 } from "./json-bytes.js";

declare global {
  interface JSON {
    rawJSON(text: string): unknown;
  }
}

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
