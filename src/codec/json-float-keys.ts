/**
 * A float-keyed map's keys in JSON as serde_json writes them (./float-key-text.ts): "1.0", where
 * the host wrote JavaScript's "1". The host's value of a map is an object whose keys are text as
 * its reader made them (msgpackr: String of the number; bincode: ./float-key-text.ts already), so
 * where the topic's types say a map's key is an f32 or f64, each key that reads as one is spelt
 * again as serde_json spells it (a msgpack -0.0 key is "-0.0" already: ./msgpack-zero-keys.ts).
 */
import { mapsRebuilt } from "./copy-members.js";
import { floatKeyText, floatKeyType } from "./float-key-text.js";
import { keyValue } from "./map-keys.js";
import { setOwn } from "./own.js";
import type { Schema, SchemaQuery } from "./schema.js";

const FLOAT_KEYS: SchemaQuery = { is: (s) => typeof s === "object" && "map" in s && floatKeyType(s.map[0]) !== undefined, keys: true };

/** The value with each float-keyed map's keys as serde_json writes them; copied where it changes (it may be the caller's). */
export function floatKeysAsWritten(value: unknown, schema: Schema | undefined): unknown {
  return mapsRebuilt(value, schema, FLOAT_KEYS, (entries, key) => {
    const type = floatKeyType(key);
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries) setOwn(out, type ? keyText(k, type) : String(k), v);
    return out;
  });
}

/** A key as serde_json writes its float; one that reads as none stays as it is, for the reader to refuse. */
function keyText(k: unknown, type: "f32" | "f64"): string {
  const n = typeof k === "string" ? keyValue(k, type) : k;
  return typeof n === "number" ? floatKeyText(n, type) : String(k);
}
