/**
 * A map written to JSON or msgpack (a bincode module's reply for a JSON caller, a value a built-in
 * service answers with) whose keys have no text: a key type ./map-keys.ts refuses (a tuple, a
 * struct, a seq, bytes, unit), an enum's variant that carries a value, or an option's None.
 * serde_json refuses to write any of them ("key must be a string"), and the request check refuses
 * them from a caller; the host wrote JavaScript's String of the key ("1,2", "[object Object]",
 * "null"), which reads back as no key of the type, or as another (Some("null")). An empty map has
 * no key to write, and is written, as serde_json writes `{}`.
 */
import { mapsRebuilt } from "./copy-members.js";
import { keyRefusal } from "./map-keys.js";
import { setOwn } from "./own.js";
import { type Schema, type SchemaQuery, unwrapOption } from "./schema.js";

/** An enum with a variant that carries a value: its key in a value is that variant, not a name. */
const carriesValues = (type: Schema | undefined) =>
  typeof type === "object" && "enum" in type && Object.values(type.enum).some((inner) => inner !== null);

/** An option: its None, a key in a value (null), has no text, as serde_json writes Some's alone. */
const isOption = (type: Schema) => typeof type === "object" && "option" in type;

/** A map whose key may be one with no text. */
export const TEXTLESS_KEYS: SchemaQuery = {
  is: (s) => typeof s === "object" && "map" in s && (keyRefusal(s.map[0]) !== undefined || isOption(s.map[0]) || carriesValues(unwrapOption(s.map[0]))),
  keys: true,
};

/**
 * The value with each such map an object of its text keys; throws (for the encoder to refuse as
 * SerializationFailed) at the first key that has none, in the request check's words. A key the
 * bincode reader could not make text of is the value it read, in a Map (./bincode.ts).
 */
export function textKeysOnly(value: unknown, schema: Schema | undefined): unknown {
  return mapsRebuilt(value, schema, TEXTLESS_KEYS, (entries, key) => {
    const refused = keyRefusal(key);
    if (refused && entries.length) throw new Error(refused);
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries) {
      if (typeof k !== "string") throw new Error(variantRefusal(k));
      setOwn(out, k, v);
    }
    return out;
  });
}

function variantRefusal(k: unknown): string {
  if (k === null) return "a map's key cannot be None over JSON or msgpack: their keys are strings, and serde_json writes an option's key only where it is Some";
  const name = typeof k === "object" ? Object.keys(k as object)[0] : undefined;
  return `a map's key cannot be ${name === undefined ? "this value" : `the variant ${name}, which carries a value,`} over JSON or msgpack: their keys are strings, and serde_json writes only a unit variant's name`;
}
