/**
 * u128 and i128 in msgpack, as rmp-serde (the Rust SDK's msgpack) has them. msgpack's integers
 * stop at 64 bits; rmp-serde 1.3 writes every u128 and i128 as a 16-byte `bin`, big-endian (two's
 * complement for i128), 5 as `c4 10 00..05`, and reads that or any msgpack integer
 * (sdk/rust/wasm-bus/tests/serde_edges.rs holds it to this). Where a topic's types say u128 or
 * i128, the host reads such a `bin` as the integer, and writes an integer past 64 bits as one. An
 * integer that fits 64 bits stays the msgpack integer the host always wrote: rmp-serde reads it,
 * and so do the other bus SDKs, which know no 16-byte form. A map's u128 or i128 key is the same
 * bin to rmp-serde (every key, 5 too), and the same integers read as one: fromBin and asWide
 * serve index.ts and ./msgpack-keys.ts there.
 */
import { mapMembers } from "./copy-members.js";
import { setOwn } from "./own.js";
import { holds, memberType, type Schema, type SchemaQuery } from "./schema.js";

const WIDE = { u128: [0n, 2n ** 128n - 1n], i128: [-(2n ** 127n), 2n ** 127n - 1n] } as const;
const U64_MAX = 2n ** 64n - 1n;
const I64_MIN = -(2n ** 63n);

export type Wide = keyof typeof WIDE;
export const isWide = (schema: Schema): schema is Wide => schema === "u128" || schema === "i128";

/** A u128 or i128 anywhere but a map's key (./msgpack-keys.ts writes those, index.ts reads them). */
export const WIDE_INT: SchemaQuery = { is: isWide, keys: false };
const namesWide = (schema: Schema | null | undefined) => holds(schema, WIDE_INT);

/**
 * A msgpack value read without types, with each 16-byte `bin` where the schema says u128 or i128
 * made the integer it holds (a number where it is safe, as every codec hands integers out). The
 * containers are msgpackr's own, fresh: changed in place. A `bin` of any other length is left as
 * it is, for validate to refuse (rmp-serde: "LengthMismatch(16)").
 */
export function widesFromBins(value: unknown, schema: Schema | undefined): unknown {
  if (!namesWide(schema)) return value;
  return fromBins(value, schema!);
}

function fromBins(value: unknown, schema: Schema): unknown {
  if (typeof schema === "string") {
    return value instanceof Uint8Array && value.length === 16 && isWide(schema) ? fromBin(value, schema) : value;
  }
  if ("option" in schema) return value === null || value === undefined ? value : fromBins(value, schema.option);
  if (value === null || typeof value !== "object" || value instanceof Uint8Array || !namesWide(schema)) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const t = memberType(schema, i);
      if (t) value[i] = fromBins(value[i], t);
    }
    return value;
  }
  // a map whose keys are values (a tuple's: ./map-keys.ts) is a Map; its values are the map's type
  if (value instanceof Map) {
    const t = memberType(schema, "");
    if (t) for (const [k, v] of value) value.set(k, fromBins(v, t));
    return value;
  }
  const o = value as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    const t = memberType(schema, k);
    if (!t) continue;
    const v = fromBins(o[k], t);
    if (v !== o[k]) setOwn(o, k, v);
  }
  return o;
}

/**
 * A value to be written as msgpack, with each integer past 64 bits where the schema says u128 or
 * i128 as rmp-serde's 16-byte `bin`. The value may be the caller's: copied where it changes, never
 * changed. One out of the type's range is refused, as bincode refuses it.
 */
export function widesAsBins(value: unknown, schema: Schema | undefined): unknown {
  if (!namesWide(schema)) return value;
  return asBins(value, schema!);
}

function asBins(value: unknown, schema: Schema): unknown {
  if (typeof schema === "string") {
    if (!isWide(schema) || !(typeof value === "bigint" || (typeof value === "number" && Number.isInteger(value)))) return value;
    return asWide(value, schema);
  }
  if ("option" in schema) return value === null || value === undefined ? value : asBins(value, schema.option);
  if (value === null || typeof value !== "object" || value instanceof Uint8Array || !namesWide(schema)) return value;
  if (value instanceof Map) {
    const t = memberType(schema, "");
    return t ? new Map([...value].map(([k, v]) => [k, asBins(v, t)])) : value;
  }
  return mapMembers(value, schema, asBins);
}

/** The integer rmp-serde's 16-byte bin holds (a value, or a map's key), as a number where it is safe. */
export function fromBin(bin: Uint8Array, type: Wide): number | bigint {
  let n = 0n;
  for (const b of bin) n = (n << 8n) | BigInt(b);
  if (type === "i128") n = BigInt.asIntN(128, n);
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

/**
 * An integer where the types say u128 or i128 (a value, or a map's key), as it is written in
 * msgpack: itself where it fits 64 bits, else rmp-serde's 16-byte bin. Out of the type's range it
 * is refused, as bincode refuses it.
 */
export function asWide(value: number | bigint, type: Wide): number | bigint | Uint8Array {
  // rmp-serde takes a negative integer as a u128 by casting it (-1 as u340282...455): refused instead.
  if (typeof value === "number") {
    if (type === "u128" && value < 0) throw new Error(`${value} is out of range for u128`);
    return value;
  }
  const [min, max] = WIDE[type];
  if (value < min || value > max) throw new Error(`${value} is out of range for ${type}`);
  if (value >= I64_MIN && value <= U64_MAX) return value;
  const out = new Uint8Array(16);
  let v = BigInt.asUintN(128, value);
  for (let i = 15; i >= 0; i--, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}
