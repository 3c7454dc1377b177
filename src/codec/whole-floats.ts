/**
 * A whole float where an integer is declared: JSON's `1.0` (or `1e0`, `10e-1`) and msgpack's f32
 * or f64 1.0 read as the number 1, which validate cannot tell from the integer 1, while serde
 * refuses a float at any integer type, whole or not ("invalid type: floating point `1.0`",
 * serde_json and rmp-serde alike: sdk/rust/wasm-bus/tests/serde_edges.rs). So such a request
 * passed the edge and failed in the guest; checkRequest refuses it here (BadRequest, naming the
 * field), from the payload's bytes, which still say float.
 *
 * The walk over the bytes (./token-walk.ts) runs only where validate took a value at an integer
 * type and a cheap test finds a float in the bytes: msgpack-scan.ts counts f32 and f64 tokens as it scans,
 * and JSON text spells a float only with a `.`, `e` or `E` right after a digit, which indexOf
 * finds natively (a string may spell one too: "v1.0" costs the walk, which then finds nothing).
 */
import { Format } from "../abi.js";
import { BusError } from "../errors.js";
import { floatCount } from "./msgpack-scan.js";
import { type Place, showPlace } from "./places.js";
import type { Schema } from "./schema.js";
import { declaredAt, type Frame, walkJson, walkMsgpack } from "./token-walk.js";
import { integersChecked } from "./validate.js";

const INTEGERS = new Set<Schema>(["u8", "u16", "u32", "u64", "u128", "i8", "i16", "i32", "i64", "i128"]);

/**
 * Whether JSON text has a `.`, `e` or `E` right after a digit: every float it spells has one. A
 * short text is looked at byte by byte (a byte costs about a nanosecond, a call to indexOf 13), a
 * long one by indexOf.
 */
function mayHoldFloat(d: Uint8Array): boolean {
  if (d.length < 48) {
    for (let i = 1; i < d.length; i++) {
      const c = d[i]!;
      if ((c === 0x2e || (c | 0x20) === 0x65) && isDigit(d[i - 1]!)) return true;
    }
    return false;
  }
  for (const c of [0x2e, 0x65, 0x45]) {
    for (let i = d.indexOf(c); i > 0; i = d.indexOf(c, i + 1)) {
      if (isDigit(d[i - 1]!)) return true;
    }
  }
  return false;
}

/**
 * Refuses a float where the schema declares an integer, in a request that validate took just
 * before (so one with a fraction, or -0, was refused there; its integersChecked): JSON text, or
 * the msgpack payload msgpackFault scanned last (its floatCount).
 */
export function refuseWholeFloats(format: number, d: Uint8Array, schema: Schema, root: string): void {
  if (integersChecked === 0) return;
  if (format === Format.Msgpack ? floatCount === 0 : format !== Format.Json || !mayHoldFloat(d)) return;
  const float = (token: string, _value: number, at: Place | undefined, top: Frame | undefined) => {
    // a value's type, or a map key's
    const type = declaredAt(schema, at, top);
    if (type === undefined || !INTEGERS.has(type)) return;
    const where = at ? showPlace(root, at) : `${showPlace(root, top!.place)} key`;
    throw BusError.of("BadRequest", `${where}: expected an integer (${type}), got the float ${token}`);
  };
  (format === Format.Json ? walkJson : walkMsgpack)(d, { float });
}

const isDigit = (b: number) => b >= 0x30 && b <= 0x39;
