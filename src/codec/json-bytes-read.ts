/**
 * The JSON reader's byte arrays: long arrays of 0-255 cut out of the UTF-8 text and read straight
 * into Uint8Arrays (`cutBytes`; by the Wasm kernel, json-kernel.ts, when the Worker gave the codec
 * one, else here), and the parsed value's marks put back as those bytes (`restore`). json.ts
 * decides when to cut and parses the rest.
 */
import { asBytes } from "./bincode.js";
import { BYTES_BY_HAND, SCRATCH_KEPT, text } from "./json-bytes.js";
import { type JsonKernel, jsonKernel, KERNEL_BASE } from "./json-kernel.js";
import { setOwn } from "./own.js";
import { type Schema, unwrapOption, variantOf } from "./schema.js";
import { copyOf } from "./small-bytes.js";
import { strictUtf8 } from "./strict-utf8.js";

/** Where a long byte array was cut out of the text: a string of U+0000 (written as its escape) and the array's index. */
const MARK = "\\u0000";

/** Scratch for the bytes of one array while it is read (its length is known only at the end). */
let scratch = new Uint8Array(1024);

/**
 * The text with each long byte array (outside strings) replaced by `"\u0000<i>"`, and the arrays;
 * undefined when there are none, or when the text holds an escaped U+0000 of its own (then a
 * mark could not be told from data).
 */
export function cutBytes(d: Uint8Array): { source: string; arrays: Uint8Array[] } | undefined {
  let arrays: Uint8Array[] | undefined;
  let parts: string[] | undefined;
  let from = 0;
  const n = d.length;
  // The kernel reads the text from its memory: copied there at the first array (undefined: not yet).
  let kernel: JsonKernel | null | undefined;
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
        if (kernel === undefined) kernel = copyIn(d);
        let end = -1;
        let bytes: Uint8Array | undefined;
        if (kernel) {
          // the bytes after the text, 16 bytes on
          const out = KERNEL_BASE + n + 16;
          end = kernel.decode(KERNEL_BASE + i + 1, KERNEL_BASE + n, out);
          if (end >= 0) {
            bytes = copyOf(kernel.bytes, out, out + kernel.count);
            end -= KERNEL_BASE;
          }
        }
        // what the kernel leaves (whitespace, not bytes), or all without one
        if (end < 0) {
          if (scratch.length < n >> 1) scratch = new Uint8Array(n >> 1);
          end = byteArray(d, i);
          if (end > 0) bytes = copyOf(scratch, 0, count);
        }
        if (end > 0) {
          // Past the first piece a U+FEFF is a character (and JSON.parse refuses it, as it would have).
          (parts ??= []).push((from === 0 ? text : strictUtf8).decode(d.subarray(from, i)), `"${MARK}${(arrays ??= []).length}"`);
          arrays.push(bytes!);
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
  parts!.push((from === 0 ? text : strictUtf8).decode(d.subarray(from)));
  return { source: parts!.join(""), arrays };
}

/** The text in the kernel's memory at KERNEL_BASE, room for its bytes after it; null without a kernel or room. */
function copyIn(d: Uint8Array): JsonKernel | null {
  const kernel = jsonKernel();
  // the text, 16 bytes, at most one byte per two of text, and the 16 bytes decode may write past them
  if (!kernel?.fit(KERNEL_BASE + d.length + 16 + (d.length >> 1) + 16)) return null;
  kernel.bytes.set(d, KERNEL_BASE);
  return kernel;
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
 * its function, as `writeDigits` (json-bytes-write.ts).
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
export function restore(value: unknown, schema: Schema | undefined, arrays: Uint8Array[]): unknown {
  schema = unwrapOption(schema);
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
  // A map's values and an enum variant's value, as conform brings them (./json.ts).
  if ("map" in schema && !Array.isArray(value)) {
    const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    for (const k of Object.keys(out)) setOwn(out, k, restore(out[k], schema.map[1], arrays));
    return out;
  }
  if ("enum" in schema && !Array.isArray(value)) {
    const name = variantOf(value, schema.enum);
    if (name !== undefined) return { [name]: restore((value as Record<string, unknown>)[name], schema.enum[name]!, arrays) };
  }
  return unmark(value, arrays);
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
