/**
 * Walks a well-formed JSON text or msgpack payload token by token, with the place of each
 * container (./places.ts), telling `on` of each key and each float it spells. JSON.parse and
 * msgpackr lose both (a key given twice keeps its last value; `1.0` and msgpack's f64 1.0 are the
 * number 1), and serde refuses either where a struct or an integer is declared: ./duplicates.ts
 * and ./whole-floats.ts find them here, each only where a cheaper test says there may be one.
 */
import { u16, u32 } from "./msgpack-scan.js";
import { endOfString } from "./nesting.js";
import { type Place, ROOT, typeAt } from "./places.js";
import type { Schema } from "./schema.js";
import { strictUtf8 } from "./strict-utf8.js";

/** An object or array being read, and where in it the reader is. */
export interface Frame {
  /** An object's (a map's): false for an array. */
  map: boolean;
  /** An array's index; a msgpack map's count of keys and values read. */
  index: number;
  /** The object's key being read (undefined: a msgpack key that is neither str, UTF-8 bin nor integer). */
  key?: string;
  /** A msgpack container's keys and values, or elements, in all. */
  total?: number;
  place: Place;
  /** The keys seen so far: ./duplicates.ts's to keep. */
  keys?: Set<string>;
}

export interface Visit {
  /** A key of the object `top`, before it becomes top.key; undefined where it is not text (a msgpack integer key is its digits in top.key alone). */
  key?(top: Frame, key: string | undefined): void;
  /** A float (JSON: a number with a fraction or exponent; msgpack: f32, f64), `token` its text, at the place `at`, or as a key of `top` (`at` undefined); `start`: a msgpack float's marker's offset. */
  float?(token: string, value: number, at: Place | undefined, top: Frame | undefined, start?: number): void;
}

/** The type `schema` declares for what a Visit was told of: the value at `at`, or else a key of `top` (its map's key type). */
export function declaredAt(schema: Schema, at: Place | undefined, top: Frame | undefined): Schema | undefined {
  if (at) return typeAt(at, schema);
  const s = typeAt(top!.place, schema);
  return s !== undefined && typeof s === "object" && "map" in s ? s.map[0] : undefined;
}

/** The place of a value about to be read under `top` (a container's, or a scalar's). */
export function placeUnder(top: Frame | undefined): Place {
  return top ? { up: top.place, seg: top.map ? (top.key ?? "?") : top.index } : ROOT();
}

// ignoreBOM keeps a leading U+FEFF: a msgpack key is a value of its own, not a text whose BOM goes
// ("\ufeffa" is not "a"), as the payload's reader has it.
const text = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

const isNumberByte = (c: number) => (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x45 || c === 0x65;

export function walkJson(d: Uint8Array, on: Visit): void {
  const stack: Frame[] = [];
  let wantKey = false;
  for (let i = 0; i < d.length; ) {
    const c = d[i]!;
    if (c === 0x22) {
      const end = endOfString(d, i);
      if (wantKey) {
        const top = stack[stack.length - 1]!;
        const key = JSON.parse(text.decode(d.subarray(i, end))) as string;
        on.key?.(top, key);
        top.key = key;
      }
      wantKey = false;
      i = end;
      continue;
    }
    if ((c >= 0x30 && c <= 0x39) || c === 0x2d) {
      const from = i;
      let float = false;
      for (i++; i < d.length && isNumberByte(d[i]!); i++) if (d[i] === 0x2e || (d[i]! | 0x20) === 0x65) float = true;
      if (float && on.float) {
        const token = text.decode(d.subarray(from, i));
        on.float(token, Number(token), placeUnder(stack[stack.length - 1]), undefined);
      }
      continue;
    }
    if (c === 0x7b) {
      stack.push({ map: true, index: 0, place: placeUnder(stack[stack.length - 1]) });
      wantKey = true;
    } else if (c === 0x5b) {
      stack.push({ map: false, index: 0, place: placeUnder(stack[stack.length - 1]) });
      wantKey = false;
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
      wantKey = false;
    } else if (c === 0x2c) {
      const top = stack[stack.length - 1]!;
      if (top.map) wantKey = true;
      else top.index++;
    }
    i++;
  }
}

/** A msgpack bin key's text, where it is UTF-8 (rmp-serde reads a bin key as its bytes); undefined where not. */
export function binText(b: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(b);
  } catch {
    return undefined;
  }
}

/** A msgpack payload one msgpack-scan.ts and msgpackr took, or msgpackr wrote. */
export function walkMsgpack(d: Uint8Array, on: Visit): void {
  const stack: Frame[] = [];
  const view = new DataView(d.buffer, d.byteOffset, d.byteLength);
  let p = 0;
  while (p < d.length) {
    const top = stack[stack.length - 1];
    const isKey = top?.map === true && top.index % 2 === 0;
    const start = p;
    const t = d[p++]!;
    let str = -1;
    let bin = -1;
    let float: number | undefined;
    // an integer key's digits, as msgpackr makes the key: for its place, not counted as a key
    let int: number | bigint | undefined;
    let container: Omit<Frame, "place"> | undefined;
    if (t < 0x80 || t >= 0xe0) {
      if (isKey) int = (t << 24) >> 24;
    } else if (t < 0x90) container = { map: true, index: 0, total: (t & 0x0f) * 2 };
    else if (t < 0xa0) container = { map: false, index: 0, total: t & 0x0f };
    else if (t < 0xc0) str = t & 0x1f;
    else {
      switch (t) {
        case 0xc4: bin = d[p]!; p += 1; break;
        case 0xc5: bin = u16(d, p); p += 2; break;
        case 0xc6: bin = u32(d, p); p += 4; break;
        case 0xca: float = view.getFloat32(p); p += 4; break;
        case 0xcb: float = view.getFloat64(p); p += 8; break;
        case 0xcc: if (isKey) int = view.getUint8(p); p += 1; break;
        case 0xd0: if (isKey) int = view.getInt8(p); p += 1; break;
        case 0xcd: if (isKey) int = view.getUint16(p); p += 2; break;
        case 0xd1: if (isKey) int = view.getInt16(p); p += 2; break;
        case 0xce: if (isKey) int = view.getUint32(p); p += 4; break;
        case 0xd2: if (isKey) int = view.getInt32(p); p += 4; break;
        case 0xcf: if (isKey) int = view.getBigUint64(p); p += 8; break;
        case 0xd3: if (isKey) int = view.getBigInt64(p); p += 8; break;
        case 0xd9: str = d[p]!; p += 1; break;
        case 0xda: str = u16(d, p); p += 2; break;
        case 0xdb: str = u32(d, p); p += 4; break;
        case 0xdc: container = { map: false, index: 0, total: u16(d, p) }; p += 2; break;
        case 0xdd: container = { map: false, index: 0, total: u32(d, p) }; p += 4; break;
        case 0xde: container = { map: true, index: 0, total: u16(d, p) * 2 }; p += 2; break;
        case 0xdf: container = { map: true, index: 0, total: u32(d, p) * 2 }; p += 4; break;
        // ext (length, type, data): msgpack-scan refuses one in a payload read, msgpackr may write one
        case 0xc7: p += 2 + d[p]!; break;
        case 0xc8: p += 3 + u16(d, p); break;
        case 0xc9: p += 5 + u32(d, p); break;
        case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: p += 1 + (1 << (t - 0xd4)); break;
        default: break; // nil, booleans
      }
    }
    if (float !== undefined && on.float) on.float(floatText(float), float, isKey ? undefined : placeUnder(top), isKey ? top : undefined, start);
    if (isKey) {
      const key = str >= 0 ? text.decode(d.subarray(p, p + str)) : bin >= 0 ? binText(d.subarray(p, p + bin)) : undefined;
      on.key?.(top, key);
      top.key = key ?? (int === undefined ? undefined : String(int));
    }
    if (str >= 0) p += str;
    if (bin >= 0) p += bin;
    if (container?.total) {
      stack.push({ ...container, place: placeUnder(top) });
      continue;
    }
    // an item read whole: its container moves on, and ends with its last
    for (;;) {
      const f = stack[stack.length - 1];
      if (!f) return;
      if (++f.index < f.total!) break;
      stack.pop();
    }
  }
}

/** A float's text as serde says it: 1.0, not 1. */
function floatText(n: number): string {
  const s = String(n);
  return Number.isInteger(n) && !/e/.test(s) ? `${s}.0` : s;
}
