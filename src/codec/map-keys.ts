/**
 * A map's key as a JSON object's key: a string, which serde_json (1.0.154, the modules' version)
 * reads into a key type by its MapKey deserializer and writes from one by its MapKeySerializer,
 * and which the two agree on: a string as it is; an integer or a float from a JSON number spelt
 * inside the quotes ("7", "-2", "1.5", "1e3"; no "+", no space, no leading zero); a bool from
 * "true" or "false"; a unit variant by its name; an option as its inner type (a key is never
 * None). A msgpack request's keys reach the checks as strings too (the host's value of any map is
 * an object), so both are held to the same keys. serde_json neither reads nor writes a key of any
 * other type (unit, bytes, a seq, tuple, map or struct), which ./validate.ts refuses by its type.
 */
import { INTEGER_KEY, type Schema } from "./schema.js";

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

/** Why a key type cannot be a JSON object's key, or undefined where serde_json takes it. */
export function keyRefusal(type: Schema): string | undefined {
  if (typeof type === "object" && "option" in type) return keyRefusal(type.option);
  const what =
    type === "unit" || type === "bytes" ? type
    : typeof type === "string" || "enum" in type ? undefined
    : "seq" in type ? "a seq" : "tuple" in type ? "a tuple" : "map" in type ? "a map" : "a struct";
  return what && `a map's key cannot be ${what} over JSON or msgpack: their keys are strings, which serde_json reads as a string, an integer, a float, a bool or a unit variant's name`;
}
