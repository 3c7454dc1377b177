/**
 * A map written to JSON or msgpack whose key type's keys are values (./map-keys.ts keysAreValues:
 * a tuple, struct, seq, map, bytes or unit key, an enum with a variant that carries a value), or
 * an option, whose None is one. JSON: serde_json refuses to write such a key ("key must be a
 * string"), and the request check refuses one from a caller; the host wrote JavaScript's String
 * of it ("1,2", "[object Object]", "null"), which reads back as no key of the type, or as another
 * (Some("null")). An empty map has no key to write, and is written `{}`, as serde_json writes it.
 * msgpack: rmp-serde writes such a key as the value it is (a tuple's array, a struct's map,
 * `{"Level": 5}`, None's nil), and so does the host, from the Map a bincode or msgpack payload's
 * map is read as. Into either, a key that is JSON text (a JSON module's reply) is refused where it
 * names no key of the type, in the request check's words.
 */
import { Format } from "../abi.js";
import { mapsRebuilt } from "./copy-members.js";
import { keyRefusal, textlessVariant, VALUE_KEYS, variantKeyRefusal } from "./map-keys.js";
import { setOwn } from "./own.js";
import type { Schema } from "./schema.js";

/**
 * The value with each such map as `to` writes it: for JSON an object of its text keys, for msgpack
 * a Map of its keys as values. Throws (for the encoder to refuse as SerializationFailed) at the
 * first key that cannot be written, in the request check's words.
 */
export function keysAsWritten(value: unknown, schema: Schema | undefined, to: typeof Format.Json | typeof Format.Msgpack): unknown {
  return mapsRebuilt(value, schema, VALUE_KEYS, (entries, key) => {
    const refused = keyRefusal(key);
    for (const [k] of entries) {
      if (typeof k === "string") {
        if (refused) throw new Error(refused);
        if (textlessVariant(key, k)) throw new Error(variantKeyRefusal(k));
      } else if (to === Format.Json) {
        throw new Error(refused ?? textlessRefusal(k));
      }
    }
    if (to === Format.Msgpack) return new Map(entries);
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries) setOwn(out, k as string, v);
    return out;
  });
}

/** A key with no text: an option's None (null), or a variant that carries a value, `{ Level: 5 }`. */
function textlessRefusal(k: unknown): string {
  if (k === null) return "a map's key cannot be None over JSON: its keys are strings, and serde_json writes an option's key only where it is Some";
  const name = k !== null && typeof k === "object" ? Object.keys(k)[0] : undefined;
  return name === undefined ? "a map's key cannot be this value over JSON: its keys are strings" : variantKeyRefusal(name);
}
