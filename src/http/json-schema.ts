import { keyRefusal, NUMBER_KEY } from "../codec/map-keys.js";
import type { Schema } from "../codec/schema.js";

/** A JSON Schema (2020-12, as OpenAPI 3.1 uses it), loosely typed: it is only ever serialized. */
export type JsonSchema = { [key: string]: unknown };

const SMALL_INTS: Record<string, [number, number]> = {
  u8: [0, 0xff], u16: [0, 0xffff], u32: [0, 0xffff_ffff],
  i8: [-0x80, 0x7f], i16: [-0x8000, 0x7fff], i32: [-(2 ** 31), 2 ** 31 - 1],
};

/**
 * Bounds of the integers past 2^53, as text: a JSON number of that size would be rounded by
 * every JavaScript reader (u64's maximum becomes 18446744073709552000, over the range), so the
 * schema states only the bound it can state exactly (0 for unsigned) and names the rest.
 */
const WIDE_INTS: Record<string, { unsigned: boolean; bits: number }> = {
  u64: { unsigned: true, bits: 64 }, u128: { unsigned: true, bits: 128 },
  i64: { unsigned: false, bits: 64 }, i128: { unsigned: false, bits: 128 },
};

/**
 * The JSON Schema of a value of `schema` as it travels in JSON (serde_json's model, which the
 * runtime's validator (src/codec/validate.ts) holds requests to): structs are objects whose
 * unknown fields pass, options are nullable and may be left out of a struct, bytes are arrays
 * of 0-255, enums are externally tagged.
 */
export function jsonSchemaOf(schema: Schema): JsonSchema {
  if (typeof schema === "string") {
    switch (schema) {
      case "unit":
        return { type: "null" };
      case "bool":
        return { type: "boolean" };
      case "string":
        return { type: "string" };
      case "f32":
      case "f64":
        return { type: "number", format: schema === "f32" ? "float" : "double" };
      case "bytes":
        return { type: "array", items: { type: "integer", minimum: 0, maximum: 255 }, description: "bytes" };
      default: {
        const small = SMALL_INTS[schema];
        if (small) return { type: "integer", ...(schema === "i32" ? { format: "int32" } : {}), minimum: small[0], maximum: small[1] };
        const wide = WIDE_INTS[schema]!;
        const range = wide.unsigned ? `0 to 2^${wide.bits} - 1` : `-2^${wide.bits - 1} to 2^${wide.bits - 1} - 1`;
        return {
          type: "integer",
          ...(schema === "i64" ? { format: "int64" } : {}),
          ...(wide.unsigned ? { minimum: 0 } : {}),
          description: `${schema}: ${range}; JSON keeps every digit`,
        };
      }
    }
  }
  if ("option" in schema) return nullable(jsonSchemaOf(schema.option));
  if ("seq" in schema) return { type: "array", items: jsonSchemaOf(schema.seq) };
  if ("tuple" in schema) {
    const n = schema.tuple.length;
    return { type: "array", prefixItems: schema.tuple.map(jsonSchemaOf), items: false, minItems: n, maxItems: n };
  }
  if ("map" in schema) {
    const [key, value] = schema.map;
    const out: JsonSchema = { type: "object", additionalProperties: jsonSchemaOf(value) };
    const names = keyNames(key);
    if (names === undefined) return out;
    // a key type no key text reads as: only the empty map passes (src/codec/validate.ts)
    if ("description" in names) return { ...out, maxProperties: 0, description: names.description };
    return { ...out, propertyNames: names };
  }
  if ("struct" in schema) {
    const properties: Record<string, JsonSchema> = {};
    const required: string[] = [];
    for (const [name, field] of Object.entries(schema.struct)) {
      properties[name] = jsonSchemaOf(field);
      if (!(typeof field === "object" && "option" in field)) required.push(name);
    }
    return { type: "object", properties, ...(required.length ? { required } : {}) };
  }
  const variants = Object.entries(schema.enum).map(([name, inner]): JsonSchema => {
    const tagged = (value: JsonSchema): JsonSchema => ({ type: "object", properties: { [name]: value }, required: [name], additionalProperties: false });
    // serde reads a unit variant as its name or `{"Name": null}`, and a variant holding () only as
    // `{"Name": null}`: its name alone is "expected newtype variant" (src/codec/validate.ts).
    if (inner === null) return { anyOf: [{ const: name }, tagged({ type: "null" })] };
    return tagged(jsonSchemaOf(inner));
  });
  return variants.length ? { oneOf: variants } : { not: {} };
}

/**
 * The texts a map key of `type` may be in JSON, as serde_json reads them (src/codec/map-keys.ts):
 * undefined for any string; a description where none reads as the type.
 */
function keyNames(type: Schema): JsonSchema | { description: string } | undefined {
  if (typeof type === "object" && "option" in type) return keyNames(type.option);
  const refused = keyRefusal(type);
  if (refused) return { description: refused };
  if (typeof type === "object") {
    // an enum (keyRefusal took the others): a unit variant's name, as validate takes one; not a
    // variant holding (), whose name serde_json reads as no key ("expected newtype variant")
    const variants = "enum" in type ? Object.entries(type.enum) : [];
    const names = variants.filter(([, inner]) => inner === null).map(([name]) => name);
    return names.length ? { enum: names } : { description: "a map's key cannot be this enum over JSON: a key is a unit variant's name, and the enum has no unit variant" };
  }
  if (type === "string") return undefined;
  if (type === "bool") return { enum: ["true", "false"] };
  if (type === "f32" || type === "f64") return { pattern: NUMBER_KEY.source };
  // an integer's digits, no leading zero, no "-0" but an i128's (src/codec/map-keys.ts)
  return { pattern: type.startsWith("u") ? "^(?:0|[1-9][0-9]*)$" : type === "i128" ? "^-?(?:0|[1-9][0-9]*)$" : "^(?:0|-?[1-9][0-9]*)$" };
}

function nullable(inner: JsonSchema): JsonSchema {
  if (typeof inner.type === "string" && Object.keys(inner).every((k) => k !== "oneOf" && k !== "anyOf")) {
    return { ...inner, type: [inner.type, "null"] };
  }
  return { anyOf: [inner, { type: "null" }] };
}
