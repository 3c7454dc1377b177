/**
 * A map with integer keys in msgpack, as rmp-serde writes one (`HashMap<u32, _>`, `BTreeMap<i64,
 * _>`): its keys are msgpack integers, and a str key is refused ("wrong msgpack marker FixStr";
 * sdk/rust/wasm-bus/tests/serde_edges.rs). JSON has only string keys (serde_json writes the
 * digits, "1"), and the host's value of any map is an object, so its keys are strings whatever the
 * payload spelt: msgpackr wrote them as strs, and a JSON caller's `{"1": 5}` reached a msgpack
 * Rust module as a map it refused. Where the topic's types say a map's key is an integer, each key
 * that is an integer's digits is written as that integer; a u128 or i128 key past 64 bits as
 * rmp-serde's 16-byte bin (./msgpack-wide.ts), which rmp-serde writes for every such key.
 */
import { mapMembers } from "./copy-members.js";
import { asWide, isWide } from "./msgpack-wide.js";
import { holds, INTEGER_KEY, type Schema, type SchemaQuery } from "./schema.js";

const INTEGERS = new Set<Schema>(["u8", "u16", "u32", "u64", "u128", "i8", "i16", "i32", "i64", "i128"]);
/** A map whose key type is an integer. */
export const INT_KEYED: SchemaQuery = { is: (s) => typeof s === "object" && "map" in s && INTEGERS.has(s.map[0]), keys: true };

/** The value with each integer-keyed map a Map of integer keys; copied where it changes (it may be the caller's). */
export function intKeysAsIntegers(value: unknown, schema: Schema | undefined): unknown {
  return schema === undefined || !holds(schema, INT_KEYED) ? value : walk(value, schema);
}

function asInteger(k: string, type: Schema): unknown {
  if (!INTEGER_KEY.test(k)) return k;
  const n = Number(k);
  const int = Number.isSafeInteger(n) ? n : BigInt(k);
  return isWide(type) ? asWide(int, type) : int;
}

function walk(value: unknown, schema: Schema): unknown {
  if (typeof schema === "string" || value === null || typeof value !== "object" || value instanceof Uint8Array) return value;
  if ("option" in schema) return walk(value, schema.option);
  if (!holds(schema, INT_KEYED)) return value;
  if ("map" in schema) {
    const [key, of] = schema.map;
    const entries = value instanceof Map ? [...value] : Object.entries(value);
    const ints = INTEGERS.has(key);
    return new Map(entries.map(([k, v]) => [ints && typeof k === "string" ? asInteger(k, key) : k, walk(v, of)]));
  }
  if (value instanceof Map) return value;
  return mapMembers(value, schema, walk);
}
