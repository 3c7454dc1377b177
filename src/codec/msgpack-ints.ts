/**
 * A whole number past 32 bits in msgpack, as an integer. msgpackr writes a number that is not an
 * int32 or uint32 as an f64 (`cb`), 4294967296 as `cb 41 f0 00..`, and rmp-serde refuses a float
 * at every integer type ("invalid type: floating point": sdk/rust/wasm-bus/tests/serde_edges.rs),
 * so a u64 or i64 past 32 bits that reached the host as a JS number (from JSON, from bincode, a
 * built-in service's reply) reached a msgpack Rust module as a value it refused. rmp-serde writes
 * it as `cf` (u64) or `d3` (i64), nine bytes as the f64 is, so the packed bytes are rewritten in
 * place. Every safe integer is so written, as msgpackr writes the smaller ones (a float type reads
 * an integer in every SDK: rmp-serde's f64 and f32 take one), but where the topic's types declare
 * f32 or f64: there rmp-serde writes an f64, and a JavaScript reader (msgpackr with 64-bit
 * integers as bigint, the client SDK's) would read a bigint where its type says number.
 */

import { u16, u32 } from "./msgpack-scan.js";
import { FLOAT, holds, type Schema } from "./schema.js";
import { declaredAt, walkMsgpack } from "./token-walk.js";

/**
 * The packed bytes with each f64 that holds a safe integer (but -0) as the same integer, in place,
 * but at a place `schema` declares f32 or f64.
 */
export function wholeFloatsAsIntegers(out: Uint8Array, schema?: Schema): Uint8Array {
  // No 0xcb byte, no f64: most payloads are let go after one native search.
  if (out.indexOf(0xcb) < 0) return out;
  // Where the types hold a float, the walk with places (dearer) only once there is a whole f64.
  const typed = schema !== undefined && holds(schema, FLOAT);
  let view: DataView | undefined;
  const n = out.length;
  for (let p = 0; p < n; ) {
    const t = out[p++]!;
    if (t < 0xc0 || t >= 0xe0) {
      if (t >= 0xa0 && t < 0xc0) p += t & 0x1f; // fixstr; fixint, fixmap and fixarray hold nothing
      continue;
    }
    switch (t) {
      case 0xcb: {
        view ??= new DataView(out.buffer, out.byteOffset, out.byteLength);
        const v = view.getFloat64(p);
        if (typed && isWhole(v)) return typedWholeFloats(out, schema!);
        asInteger(out, view, p - 1, v);
        p += 8;
        break;
      }
      case 0xc4: p += 1 + out[p]!; break; // bin
      case 0xc5: p += 2 + u16(out, p); break;
      case 0xc6: p += 4 + u32(out, p); break;
      case 0xc7: p += 2 + out[p]!; break; // ext: length, type, data
      case 0xc8: p += 3 + u16(out, p); break;
      case 0xc9: p += 5 + u32(out, p); break;
      case 0xcc: case 0xd0: p += 1; break;
      case 0xcd: case 0xd1: p += 2; break;
      case 0xca: case 0xce: case 0xd2: p += 4; break;
      case 0xcf: case 0xd3: p += 8; break;
      case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: p += 1 + (1 << (t - 0xd4)); break; // fixext
      case 0xd9: p += 1 + out[p]!; break; // str
      case 0xda: p += 2 + u16(out, p); break;
      case 0xdb: p += 4 + u32(out, p); break;
      case 0xdc: case 0xde: p += 2; break; // array, map 16: their items follow
      case 0xdd: case 0xdf: p += 4; break;
      default: break; // nil, booleans
    }
  }
  return out;
}

const isWhole = (v: number) => Number.isSafeInteger(v) && !Object.is(v, -0);

function asInteger(out: Uint8Array, view: DataView, at: number, v: number): void {
  if (!isWhole(v)) return;
  out[at] = v < 0 ? 0xd3 : 0xcf;
  view.setBigUint64(at + 1, BigInt.asUintN(64, BigInt(v)));
}

const FLOATS = new Set<Schema | undefined>(["f32", "f64"]);

/** The same, walking the bytes with the place of each f64 (./token-walk.ts) to leave a declared float one. */
function typedWholeFloats(out: Uint8Array, schema: Schema): Uint8Array {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  walkMsgpack(out, {
    float(_token, v, at, top, start) {
      if (out[start!] !== 0xcb) return;
      if (!FLOATS.has(declaredAt(schema, at, top))) asInteger(out, view, start!, v);
    },
  });
  return out;
}
