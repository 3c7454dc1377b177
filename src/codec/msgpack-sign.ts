/**
 * -0 in msgpack, as rmp-serde writes an f32 or f64 -0.0: a float with its sign (`cb 80 00..`).
 * msgpackr writes -0 as the integer 0 (it tests `value >>> 0 === value`, which -0 passes), and
 * the sign was lost between JSON or bincode and a Rust guest's f64. rmp-serde reads a float or an
 * integer into an f64, so the integer 0 read as +0.0.
 */
import { addExtension } from "msgpackr";
import { setOwn } from "./own.js";
import { FLOAT, holds, type Schema } from "./schema.js";

/** Stands for -0 in a value about to be packed; its extension writes the float's nine bytes. */
class NegativeZero {}
const NEGATIVE_ZERO = new NegativeZero();

// msgpackr hands `pack` an allocator into its output (its typings do not say so): writing there
// and returning nothing writes no extension header. An ext type is required; it is never written,
// and reading it stays refused with msgpackr's own words.
const EXT_TYPE = 0x2d;
addExtension({
  Class: NegativeZero,
  type: EXT_TYPE,
  pack: ((_value: unknown, allocate: (size: number) => { target: Uint8Array; targetView: DataView; position: number }) => {
    const { target, targetView, position } = allocate(9);
    target[position] = 0xcb;
    targetView.setFloat64(position + 1, -0);
  }) as unknown as (value: unknown) => Uint8Array,
  unpack() {
    throw new Error(`Unknown extension type ${EXT_TYPE}`);
  },
});

const isNegativeZero = (v: unknown) => v === 0 && 1 / (v as number) < 0;

/** A -0 as msgpackr should pack it; for a Map's key, which a Map makes 0 (./msgpack-keys.ts). */
export const signedZero = (v: unknown): unknown => (isNegativeZero(v) ? NEGATIVE_ZERO : v);

/**
 * The value as msgpackr should pack it: every -0 in it as NEGATIVE_ZERO, copied where it changes
 * (it may be the caller's), itself where none. Where the types are known and hold no float there
 * is no walk: an integer type refuses -0 (validate), so only a float keeps one.
 */
export function withSignedZeros(v: unknown, schema: Schema | undefined): unknown {
  return schema !== undefined && !holds(schema, FLOAT) ? v : signedZeros(v);
}

function signedZeros(v: unknown): unknown {
  if (isNegativeZero(v)) return NEGATIVE_ZERO;
  if (v === null || typeof v !== "object" || v instanceof Uint8Array) return v;
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      const y = typeof x === "number" ? (isNegativeZero(x) ? NEGATIVE_ZERO : x) : typeof x === "object" ? signedZeros(x) : x;
      if (y !== x) (out ??= v.slice())[i] = y;
    }
    return out ?? v;
  }
  if (v instanceof Map) {
    let changed = false;
    // a key too: a Map's may be a value holding a float (a tuple's: ./map-keys.ts)
    const entries = [...v].map(([k, x]) => {
      const j = signedZeros(k);
      const y = signedZeros(x);
      if (j !== k || y !== x) changed = true;
      return [j, y] as const;
    });
    return changed ? new Map(entries) : v;
  }
  const o = v as Record<string, unknown>;
  let out: Record<string, unknown> | undefined;
  for (const k of Object.keys(o)) {
    const x = o[k];
    const y = typeof x === "number" ? (isNegativeZero(x) ? NEGATIVE_ZERO : x) : typeof x === "object" ? signedZeros(x) : x;
    if (y === x) continue;
    if (!out) {
      out = {};
      for (const j of Object.keys(o)) setOwn(out, j, o[j]);
    }
    setOwn(out, k, y);
  }
  return out ?? o;
}
