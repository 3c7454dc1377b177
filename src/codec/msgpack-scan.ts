import { COST, containerBudget, overBudget } from "./budget.js";
import { bomDropped } from "./msgpack-bom.js";
import { MAX_NESTING, tooDeep } from "./nesting.js";
import { strictUtf8 } from "./strict-utf8.js";

/**
 * What msgpackr lets through and the bus refuses, found in one pass over a payload's tokens, with
 * no recursion (nesting as deep as the payload is long costs nothing) and no allocation but a stack
 * of at most MAX_NESTING numbers:
 * - the byte 0xc1, which msgpack never uses: msgpackr reads it as a placeholder object;
 * - a str that is not UTF-8: msgpackr puts U+FFFD in place of the bad bytes, where the JSON
 *   decoder refuses the whole payload, and the module would get bytes no serde `String` reads;
 * - an ext value (a timestamp, msgpackr's own Date, Set, RegExp, Error, typed arrays, bigint):
 *   outside serde's data model, which the bus's formats share. msgpackr makes objects of them
 *   that validate as what they are not and become `{}` in JSON; the SDKs' decoders refuse them;
 * - more maps, arrays and bins than its container budget (./budget.ts): each is a JS object once
 *   read, and msgpack spends one byte on an empty one where JSON spends two or three (`[]`, `,{}`);
 * - maps and arrays nested deeper than MAX_NESTING (./nesting.ts): msgpackr reads them recursively.
 *
 * It runs before msgpackr reads the payload, so that a payload over its budget costs no object at
 * all; lengths in it may run past the bytes (msgpackr refuses such a payload after), and the scan
 * stops at the end of the bytes. On the way it notes a str "__proto__" (`sawProto`): msgpackr
 * renames that key `__proto_`; and where each -0.0 float key is (`zeroKeys`).
 */

/** Big-endian u16 and u32 at `p` (./duplicates.ts reads msgpack with them too). */
export const u16 = (d: Uint8Array, p: number) => (d[p]! << 8) | d[p + 1]!;
export const u32 = (d: Uint8Array, p: number) => d[p]! * 0x1000000 + ((d[p + 1]! << 16) | (d[p + 2]! << 8) | d[p + 3]!);

/** Whether the last payload msgpackFault scanned holds the str "__proto__" (as a key or not). */
export let sawProto = false;
/**
 * The strs whose leading U+FEFF msgpackr would drop in the last payload msgpackFault scanned
 * (./msgpack-bom.ts), three numbers each: where its token starts, where its bytes start, how many.
 */
export let bomStrs: number[] | undefined;
/** What the last payload msgpackFault scanned left of its container budget. */
export let budgetLeft = 0;
/** The keys (entries) of every map in the last payload msgpackFault scanned (./duplicates.ts). */
export let mapPairs = 0;
/** The floats (f32, f64) in the last payload msgpackFault scanned (./whole-floats.ts). */
export let floatCount = 0;
/**
 * Where each -0.0 float key starts in the last payload msgpackFault scanned (undefined: none), which
 * msgpackr makes the key "0" (./msgpack-zero-keys.ts). A -0.0 that is a value is not one: noted
 * here, each would cost a walk of the whole payload (13 times the read of 1,000 f64s).
 */
export let zeroKeys: number[] | undefined;
/** For each container `closes` holds, at its index: 1 for a map (isKey asks), 0 for an array. */
const isMap = new Uint8Array(MAX_NESTING);
const PROTO = [0x5f, 0x5f, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x5f, 0x5f];

/**
 * Why the payload is refused, or undefined. Past its container budget (at `limit` bytes) it
 * throws DeserializationFailed naming the budget, as the scan reaches the first one too many.
 * `budgetOnly` (a WebSocket frame: durable-objects/frames.ts) steps over what it would refuse
 * otherwise and holds the budget alone: a scan that stopped at the first ext value or bad str
 * let the containers after it through uncounted, two million of them behind one `undefined`.
 */
export function msgpackFault(d: Uint8Array, limit: number, budgetOnly = false): string | undefined {
  sawProto = false;
  bomStrs = undefined;
  zeroKeys = undefined;
  let pairs = 0;
  let floats = 0;
  const n = d.length;
  // Counted down by every map, array and bin (a Uint8Array once read), each at its COST.
  let left = containerBudget(limit);
  let p = 0;
  // values still to read: one, and those each map and array adds
  let pending = 1;
  // For each map and array open around the value read next: `pending` once its values are read.
  const closes: number[] = [];
  while (pending > 0 && p < n) {
    while (closes.length && pending <= closes[closes.length - 1]!) closes.pop();
    pending--;
    const at = p;
    const t = d[p++]!;
    if (t < 0x80 || t >= 0xe0) continue; // fixint
    if (t < 0xa0) {
      if ((left -= t < 0x90 ? COST.map : COST.array) < 0) throw overBudget("msgpack", limit);
      if (t < 0x90) pairs += t & 0x0f;
      if (closes.length >= MAX_NESTING) throw tooDeep("msgpack");
      if (t & 0x0f) {
        isMap[closes.length] = t < 0x90 ? 1 : 0;
        closes.push(pending);
      }
      pending += t < 0x90 ? (t & 0x0f) * 2 : t & 0x0f; // fixmap, fixarray
      continue;
    }
    let len: number;
    switch (t) {
      case 0xc0: case 0xc2: case 0xc3: continue;
      case 0xc1:
        if (!budgetOnly) return "byte 0xc1 is never used in msgpack";
        continue;
      case 0xc4: case 0xc5: case 0xc6: // bin
        if ((left -= COST.bin) < 0) throw overBudget("msgpack", limit);
        p += t === 0xc4 ? 1 + d[p]! : t === 0xc5 ? 2 + u16(d, p) : 4 + u32(d, p);
        continue;
      case 0xc7: case 0xc8: case 0xc9: // ext: length, type, data
      case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: // fixext: type, data
        if (!budgetOnly) return extension(d, at);
        p += extSize(d, t, p);
        continue;
      case 0xcc: case 0xd0: p += 1; continue;
      case 0xcd: case 0xd1: p += 2; continue;
      case 0xce: case 0xd2: p += 4; continue;
      case 0xcf: case 0xd3: p += 8; continue;
      case 0xca: floats++; if (d[p] === 0x80 && zerosFrom(d, p + 1, 3) && isKey(closes, pending)) (zeroKeys ??= []).push(at); p += 4; continue;
      case 0xcb: floats++; if (d[p] === 0x80 && zerosFrom(d, p + 1, 7) && isKey(closes, pending)) (zeroKeys ??= []).push(at); p += 8; continue;
      case 0xd9: len = d[p]!; p += 1; break; // str
      case 0xda: len = u16(d, p); p += 2; break;
      case 0xdb: len = u32(d, p); p += 4; break;
      case 0xdc: case 0xdd: case 0xde: case 0xdf: { // array 16/32, map 16/32
        if ((left -= t < 0xde ? COST.array : COST.map) < 0) throw overBudget("msgpack", limit);
        if (closes.length >= MAX_NESTING) throw tooDeep("msgpack");
        const count = t & 1 ? u32(d, p) : u16(d, p);
        p += t & 1 ? 4 : 2;
        if (t >= 0xde) pairs += count;
        if (count) {
          isMap[closes.length] = t >= 0xde ? 1 : 0;
          closes.push(pending);
        }
        pending += t < 0xde ? count : 2 * count;
        continue;
      }
      default: len = t & 0x1f; // fixstr
    }
    // A length past the bytes is msgpackr's to refuse: only the bytes there are are looked at.
    if (!budgetOnly && !isUtf8(d, p, Math.min(p + len, n))) return `the str at byte ${at} is not UTF-8`;
    if (len === 9 && d[p] === 0x5f && PROTO.every((b, i) => d[p + i] === b)) sawProto = true;
    else if (d[p] === 0xef && bomDropped(d, p, len)) (bomStrs ??= []).push(at, p, len);
    p += len;
  }
  budgetLeft = left;
  mapPairs = pairs;
  floatCount = floats;
  return undefined;
}

/**
 * Whether the item just taken (`pending` items after it) is a key: its container is a map, and of
 * what that map has left, this one and those after it, an even count.
 */
function isKey(closes: readonly number[], pending: number): boolean {
  const depth = closes.length - 1;
  return depth >= 0 && isMap[depth] === 1 && (pending - closes[depth]!) % 2 === 1;
}

/** Whether the `n` bytes from `p` are all there and all 0. */
function zerosFrom(d: Uint8Array, p: number, n: number): boolean {
  for (let i = p; i < p + n; i++) if (d[i] !== 0) return false;
  return true;
}

/** The bytes after an ext token `t` (at p - 1) to the end of its value: length, type and data. */
function extSize(d: Uint8Array, t: number, p: number): number {
  switch (t) {
    case 0xc7: return 2 + d[p]!;
    case 0xc8: return 3 + u16(d, p);
    case 0xc9: return 5 + u32(d, p);
    default: return 1 + (1 << (t - 0xd4)); // fixext 1, 2, 4, 8, 16
  }
}

/** The refusal of the ext value whose token is at `at`, naming its type (an i8). */
function extension(d: Uint8Array, at: number): string {
  const t = d[at]!;
  const type = (d[at + (t === 0xc7 ? 2 : t === 0xc8 ? 3 : t === 0xc9 ? 5 : 1)]! << 24) >> 24;
  return `ext type ${type} at byte ${at}: msgpack extensions (timestamps among them) are not in the bus's data model`;
}

/** Whether d[from, to) is UTF-8: ASCII by a loop, the rest (rarer) by the native decoder. */
function isUtf8(d: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    if (d[i]! >= 0x80) return decodes(d.subarray(i, to));
  }
  return true;
}

/** Out of the loop's function: a try block there slows the loop. */
function decodes(bytes: Uint8Array): boolean {
  try {
    strictUtf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}
