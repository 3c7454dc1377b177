/**
 * The JSON writer: serde_json's text, with long byte arrays written by hand straight from the
 * Uint8Array as ASCII digits (see json.ts for why; by the Wasm kernel, json-kernel.ts, when the
 * Worker gave the codec one) and everything else through JSON.stringify.
 * encodeJson and stringifyJson live here rather than in json.ts because they share the state
 * `prepare` leaves behind (`found`, `holders`), which only this module can reset.
 */
import { BYTES_BY_HAND, SCRATCH_KEPT, utf8 } from "./json-bytes.js";
import { type JsonKernel, jsonKernel, KERNEL_BASE } from "./json-kernel.js";
import { setOwn } from "./own.js";
import { strictUtf8 } from "./strict-utf8.js";

declare global {
  interface JSON {
    rawJSON(text: string): unknown;
  }
}

/**
 * The digits of each byte then a comma, as the four bytes of a little-endian u32 (the slots past
 * the comma are overwritten by the next byte's digits), and how many of those four are the byte's.
 */
const DIGITS = new Uint32Array(256);
const WIDTH = new Uint8Array(256);
for (let b = 0; b < 256; b++) {
  const s = `${b},`;
  WIDTH[b] = s.length;
  let word = 0;
  for (let i = 0; i < s.length; i++) word |= s.charCodeAt(i) << (8 * i);
  DIGITS[b] = word;
}

/** Long byte arrays found by the last `prepare`, and the containers that hold one somewhere below. */
let found = 0;
let holders: Set<object> | undefined;

/**
 * A copy ready for JSON.stringify: bigints as their digits (serde's u64/u128 keep them), -0 as
 * "-0.0", keys as own properties ("__proto__" is data: defined, not assigned), short byte arrays
 * as arrays of numbers; long ones stay Uint8Arrays, counted in `found`, their containers in `holders`.
 * Plain objects, not null-prototype ones: V8 makes those dictionaries, which cost twice the memory
 * and three times the time (a 1 MiB msgpack request of empty maps took 1 s and 270 MB into JSON).
 */
function prepare(v: unknown): unknown {
  if (typeof v === "bigint") return JSON.rawJSON(v.toString());
  // -0 as serde_json writes an f32 or f64 -0.0: JSON.stringify writes "0", and the sign was lost.
  if (v === 0 && 1 / v < 0) return JSON.rawJSON("-0.0");
  // A float past 2^53 with no fraction, as a float: JSON.stringify writes 1e20 as 21 digits, which
  // read back as an integer (a bigint past u64 that msgpack refuses); serde_json writes "1e20".
  // An integer that large is a bigint here (every reader makes one), so a number is a float.
  if (typeof v === "number") return Number.isSafeInteger(v) || !Number.isInteger(v) ? v : JSON.rawJSON(v.toExponential());
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
    const obj: Record<string, unknown> = {};
    for (const k of Object.keys(v)) setOwn(obj, k, prepare((v as Record<string, unknown>)[k]));
    out = obj;
  }
  if (found !== before) (holders ??= new Set()).add(out);
  return out;
}

/**
 * A growing output buffer: the kernel's memory from KERNEL_BASE on when there is a kernel (the
 * digits are written where they stay, and the result is one copy out), else a buffer of its own.
 */
class Out {
  buf: Uint8Array;
  /** A view of `buf` for writeDigits; undefined while the output is in the kernel's memory. */
  view: DataView | undefined;
  /** Where the text starts in `buf`, and where it ends. */
  start: number;
  len: number;
  kernel: JsonKernel | undefined;

  constructor(kernel: JsonKernel | undefined) {
    this.kernel = kernel;
    if (kernel) {
      this.buf = kernel.bytes;
      this.start = this.len = KERNEL_BASE;
    } else {
      this.buf = written;
      this.view = writtenView;
      this.start = this.len = 0;
    }
  }

  reserve(n: number) {
    const end = this.len + n;
    if (end <= this.buf.length) return;
    if (this.kernel?.fit(end)) {
      this.buf = this.kernel.bytes;
      return;
    }
    // past the kernel's memory (or none): a buffer of its own from here on
    const grown = new Uint8Array(Math.max(this.kernel ? (this.len - this.start) * 2 : this.buf.length * 2, end - this.start));
    grown.set(this.buf.subarray(this.start, this.len));
    this.len -= this.start;
    this.start = 0;
    this.kernel = undefined;
    this.buf = grown;
    this.view = new DataView(grown.buffer);
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
    const n = data.length;
    let p: number;
    if (this.kernel) {
      // the bytes go after the most their digits can take (four each), the digits from `[` on
      this.reserve(n * 5 + 8);
    } else {
      // four bytes written for each (the last one's up to three past its comma)
      this.reserve(n * 4 + 4);
    }
    const buf = this.buf;
    buf[this.len] = 0x5b;
    if (this.kernel) {
      const src = this.len + n * 4 + 8;
      buf.set(data, src);
      p = this.kernel.encode(src, n, this.len + 1);
    } else {
      p = writeDigits(data, this.view!, this.len + 1, DIGITS, WIDTH);
    }
    // the last comma becomes the bracket
    if (n) buf[p - 1] = 0x5d;
    else buf[p] = 0x5d;
    this.len = n ? p : p + 1;
  }

  /**
   * The text written, in a buffer of its own: made from the view, which V8 copies into a buffer it
   * does not zero first (`slice` zeroes it, then copies): 234 KB in a loop 6.8-8.6 us against
   * 10.6-15.1 us.
   */
  result(): Uint8Array {
    return new Uint8Array(this.buf.subarray(this.start, this.len));
  }
}

/**
 * Each byte's digits and a comma: one unaligned little-endian u32 store of its four table bytes,
 * then the width of its digits kept. The tables come as arguments (locals, not module bindings
 * the optimised loop would reload on every byte); the loop alone in its function: code after a
 * loop that V8 optimised while inside it has no type feedback yet, and deoptimising on it each
 * call cost more than the loop.
 */
function writeDigits(data: Uint8Array, view: DataView, p: number, digits: Uint32Array, width: Uint8Array): number {
  const n = data.length;
  for (let i = 0; i < n; i++) {
    const b = data[i]!;
    view.setUint32(p, digits[b]!, true);
    p += width[b]!;
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
    const out = new Out(jsonKernel());
    write(prepared, out);
    // A buffer of its own is kept for the next call (writing into fresh memory costs more than the copy).
    if (!out.kernel && out.buf.length <= SCRATCH_KEPT) {
      written = out.buf;
      writtenView = out.view!;
    }
    return out.result();
  } finally {
    holders = undefined;
  }
}

/** The output buffer of the last encodeJson, kept. */
let written: Uint8Array = new Uint8Array(4096);
let writtenView = new DataView(written.buffer);

/** The same, as a string (a raw payload of a value that is not bytes or a string is its JSON text). */
export function stringifyJson(value: unknown): string {
  found = 0;
  holders = undefined;
  const prepared = prepare(value ?? null);
  if (!found) return JSON.stringify(prepared);
  return strictUtf8.decode(encodeJson(value));
}
