/**
 * A map's key as a JSON object's key: a string, which serde_json (1.0.154, the modules' version)
 * reads into a key type by its MapKey deserializer and writes from one by its MapKeySerializer,
 * and which the two agree on: a string as it is; an integer or a float from a JSON number spelt
 * inside the quotes ("7", "-2", "1.5", "1e3"; no "+", no space, no leading zero); a bool from
 * "true" or "false"; a unit variant by its name; an option as its inner type (a key is never
 * None). A msgpack map's str and integer keys reach the checks as strings too, held to the same.
 * serde_json neither reads nor writes a key of any other type (unit, bytes, a seq, tuple, map or
 * struct), nor a variant that carries a value, `()` too ("invalid type: unit variant, expected
 * newtype variant" reading its name; "key must be a string" writing it). msgpack and bincode carry
 * those (rmp-serde writes a tuple or seq key as an array, a struct, map or such a variant as a
 * map), and an option's None (nil, where serde_json refuses a None key): where a map's key type is
 * one, or an option and a key is None, the host's value of the map is a Map of the keys as values
 * (./bincode.ts, index.ts's msgpack reader), and only JSON refuses them (./validate.ts,
 * ./written-keys.ts).
 */
import { INTEGER_KEY, type Schema, type SchemaQuery, unwrapOption } from "./schema.js";

/**
 * JSON's number grammar, which serde_json holds a float key's text to; ASCII digits spelt out, as
 * the OpenAPI's pattern is this one's source (src/http/json-schema.ts) and some readers' \d takes
 * any script's digits.
 */
export const NUMBER_KEY = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;

/** The key's value where its text spells one of its type, as serde_json reads it; else the text, for the type's check to refuse. */
export function keyValue(key: string, type: Schema): unknown {
  if (typeof type !== "string") return "option" in type ? keyValue(key, type.option) : key;
  switch (type) {
    case "string":
      return key;
    case "bool":
      return key === "true" ? true : key === "false" ? false : key;
    case "f32":
    case "f64": {
      // past f64's range serde_json refuses the number ("number out of range")
      const n = NUMBER_KEY.test(key) ? Number(key) : NaN;
      return Number.isFinite(n) ? n : key;
    }
    case "unit":
    case "bytes":
      return key;
    default: {
      // serde_json reads an i128 key by its own digits, to which "-0" is 0; the other integers by
      // its number parser, which makes "-0" the float -0.0 that they refuse
      if (type === "i128" && key === "-0") return 0;
      if (!INTEGER_KEY.test(key)) return key;
      const n = Number(key);
      return Number.isSafeInteger(n) ? n : BigInt(key);
    }
  }
}

/** Why a key type cannot be a JSON object's key, or undefined where serde_json takes it (an enum: see textlessVariant). */
export function keyRefusal(type: Schema): string | undefined {
  if (typeof type === "object" && "option" in type) return keyRefusal(type.option);
  const what =
    type === "unit" || type === "bytes" ? type
    : typeof type === "string" || "enum" in type ? undefined
    : "seq" in type ? "a seq" : "tuple" in type ? "a tuple" : "map" in type ? "a map" : "a struct";
  return what && `a map's key cannot be ${what} over JSON: its keys are strings, which serde_json reads as a string, an integer, a float, a bool or a unit variant's name`;
}

/** Whether `name` is a variant of the enum `type` that carries a value (`()` too): no JSON key, as serde_json has only a unit variant's name. */
export function textlessVariant(type: Schema, name: string): boolean {
  const e = unwrapOption(type);
  return typeof e === "object" && "enum" in e && Object.hasOwn(e.enum, name) && e.enum[name] !== null;
}

/** Why a key that is the variant `name`, which carries a value, cannot be a JSON object's key. */
export const variantKeyRefusal = (name: string) =>
  `a map's key cannot be the variant ${name}, which carries a value, over JSON: its keys are strings, and serde_json reads and writes only a unit variant's name`;

/**
 * Whether a map's keys of this type are values, not text: a type keyRefusal refuses, or an enum
 * with a variant that carries a value. msgpack and bincode carry them; the host's value of such a
 * map is a Map (a bincode or msgpack payload's) or an object of text keys (a JSON payload's).
 */
export function keysAreValues(type: Schema): boolean {
  if (keyRefusal(type) !== undefined) return true;
  const e = unwrapOption(type);
  return typeof e === "object" && "enum" in e && Object.values(e.enum).some((inner) => inner !== null);
}

/** An option: its None, a key in a value (null), has no text, as serde_json writes Some's inner value alone. */
export const isOption = (type: Schema) => typeof type === "object" && "option" in type;

/**
 * A map whose keys are values of their type, not text, or may be (an option's None: msgpack's nil,
 * as rmp-serde reads and writes it, and bincode's; the host's value of such a map holding one is a
 * Map, with null for the None).
 */
export const VALUE_KEYS: SchemaQuery = { is: (s) => typeof s === "object" && "map" in s && (keysAreValues(s.map[0]) || isOption(s.map[0])), keys: true };
