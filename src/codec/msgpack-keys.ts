/**
 * A map with integer keys in msgpack, as rmp-serde writes one (`HashMap<u32, _>`, `BTreeMap<i64,
 * _>`): its keys are msgpack integers, and a str key is refused ("wrong msgpack marker FixStr";
 * sdk/rust/wasm-bus/tests/serde_edges.rs). JSON has only string keys (serde_json writes the
 * digits, "1"), and the host's value of any map is an object, so its keys are strings whatever the
 * payload spelt: msgpackr wrote them as strs, and a JSON caller's `{"1": 5}` reached a msgpack
 * Rust module as a map it refused. Where the topic's types say a map's key is an integer, each key
 * that is an integer's digits is written as that integer; a u128 or i128 key past 64 bits as
 * rmp-serde's 16-byte bin (./msgpack-wide.ts), which rmp-serde writes for every such key. A float
 * or bool key is its own msgpack type alike, as rmp-serde refuses a str for either; each key is
 * read as serde_json reads it (./map-keys.ts), so a key the request check took reaches a msgpack
 * module as one it reads.
 */
import { mapsRebuilt } from "./copy-members.js";
import { signedZero } from "./msgpack-sign.js";
import { asWide, isWide } from "./msgpack-wide.js";
import { keyValue } from "./map-keys.js";
import { type Schema, type SchemaQuery, unwrapOption } from "./schema.js";

const TYPED = new Set<Schema>(["u8", "u16", "u32", "u64", "u128", "i8", "i16", "i32", "i64", "i128", "f32", "f64", "bool"]);
/** A key's type where it is an integer, a float or a bool (an option of one too: rmp-serde reads Some's inner type from the key's marker). */
const typedKey = (key: Schema): Schema | undefined => {
  const type = unwrapOption(key);
  return type !== undefined && TYPED.has(type) ? type : undefined;
};
/** A map whose key type is an integer, a float or a bool. */
export const TYPED_KEYS: SchemaQuery = { is: (s) => typeof s === "object" && "map" in s && typedKey(s.map[0]) !== undefined, keys: true };

/** The value with each such map a Map of keys of its key type; copied where it changes (it may be the caller's). */
export function keysAsTyped(value: unknown, schema: Schema | undefined): unknown {
  return mapsRebuilt(value, schema, TYPED_KEYS, (entries, key) => {
    const type = typedKey(key);
    return new Map(type ? entries.map(([k, v]) => [typeof k === "string" ? asTyped(k, type) : k, v]) : entries);
  });
}

function asTyped(k: string, type: Schema): unknown {
  const v = keyValue(k, type);
  // "-0" at a float key is -0.0 to serde_json, which a Map's key would make 0
  return isWide(type) && typeof v !== "string" ? asWide(v as number | bigint, type) : signedZero(v);
}
