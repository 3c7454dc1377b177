/**
 * Type descriptions for payloads, in the serde data model.
 *
 * Self-describing formats (json, msgpack) need no schema; bincode does, and
 * so does transcoding into it. A schema is plain JSON so a module's manifest
 * can carry one and `GET /modules` can show it.
 */
export type Scalar =
  | "unit" | "bool"
  | "u8" | "u16" | "u32" | "u64" | "u128"
  | "i8" | "i16" | "i32" | "i64" | "i128"
  | "f32" | "f64"
  | "string" | "bytes";

export type Schema =
  | Scalar
  | { option: Schema }
  | { seq: Schema }
  | { tuple: Schema[] }
  | { map: [Schema, Schema] }
  /** Fields in declaration order: bincode writes them in that order. */
  | { struct: Record<string, Schema> }
  /** Externally tagged, as serde does: a unit variant is a string, others `{ Name: value }`. */
  | { enum: Record<string, Schema | null> };

/** A topic's contract: its format and, where known, the types it carries. */
export interface TopicSpec {
  /** The format the topic's owner reads and writes. */
  format: import("../abi.js").FormatName;
  /** Formats taken without transcoding; just `format` where absent. */
  accepts?: import("../abi.js").FormatName[];
  request?: Schema;
  response?: Schema;
  /** Callbacks the topic invokes on its caller, by name. */
  callbacks?: Record<string, Schema>;
  description?: string;
}

/**
 * How a payload in `format` reaches a topic: as it is (the topic's format, or one it accepts),
 * transcoded by the topic's types, or refused: raw bytes have no types to be transcoded by, either
 * way. A format that is none of the four is never taken as it is.
 */
/** The type inside the options around `schema`, if any (undefined for none, or for null: a unit's). */
export function unwrapOption(schema: Schema | null | undefined): Schema | undefined {
  while (schema && typeof schema === "object" && "option" in schema) schema = schema.option;
  return schema ?? undefined;
}

/**
 * The type of a container's member `key` (an index of a seq or tuple, a struct's field, a map's
 * key, an enum's variant), or undefined where the schema says none: a field the struct does not
 * declare (serde ignores what it holds), an index past the tuple. null: a unit variant. An option
 * is its caller's to unwrap first.
 */
export function memberType(schema: Exclude<Schema, string>, key: string | number): Schema | null | undefined {
  if ("seq" in schema) return schema.seq;
  if ("tuple" in schema) return typeof key === "number" ? schema.tuple[key] : undefined;
  if ("map" in schema) return schema.map[1];
  if ("struct" in schema) return typeof key === "string" && Object.hasOwn(schema.struct, key) ? schema.struct[key] : undefined;
  if ("enum" in schema) return typeof key === "string" && Object.hasOwn(schema.enum, key) ? schema.enum[key] : undefined;
  return undefined;
}

/** What `holds` asks of each type inside a schema; `keys`: a map's key counts too. */
export interface SchemaQuery {
  is(schema: Schema): boolean;
  keys: boolean;
}

const answers = new WeakMap<SchemaQuery, WeakMap<object, boolean>>();

/**
 * Whether a type `query.is` accepts is anywhere in `schema`. Asked by the codecs on every payload
 * (is there a u128, a float, a struct?), so the answer is kept per schema and query: a schema is
 * its manifest's, made once.
 */
export function holds(schema: Schema | null | undefined, query: SchemaQuery): boolean {
  if (schema === null || schema === undefined) return false;
  if (query.is(schema)) return true;
  if (typeof schema === "string") return false;
  let known = answers.get(query);
  if (!known) answers.set(query, (known = new WeakMap()));
  let answer = known.get(schema);
  if (answer === undefined) {
    const inner =
      "option" in schema ? [schema.option]
      : "seq" in schema ? [schema.seq]
      : "tuple" in schema ? schema.tuple
      : "map" in schema ? (query.keys ? schema.map : [schema.map[1]])
      : "struct" in schema ? Object.values(schema.struct)
      : Object.values(schema.enum);
    known.set(schema, (answer = inner.some((s) => holds(s, query))));
  }
  return answer;
}

/** An f32 or f64 (a map's key too): asked by JSON's reader (bigints back to floats) and the msgpack writer (-0). */
export const FLOAT: SchemaQuery = { is: (s) => s === "f32" || s === "f64", keys: true };

export type Fit = "as-is" | "transcode" | "refused";
export function fit(spec: TopicSpec, format: import("../abi.js").FormatName | undefined): Fit {
  if (format !== undefined && (spec.format === format || spec.accepts?.includes(format))) return "as-is";
  return format === "raw" || spec.format === "raw" ? "refused" : "transcode";
}

/**
 * The variant an externally tagged enum value names, `{ Variant: value }`, where it is one the
 * enum has and it carries a value: what JSON's readers bring to the variant's type (json.ts
 * conform, json-bytes-read.ts restore). Undefined for anything else, left as it came.
 */
export function variantOf(value: object, variants: Record<string, Schema | null>): string | undefined {
  const keys = Object.keys(value);
  if (keys.length !== 1) return undefined;
  const name = keys[0]!;
  return Object.hasOwn(variants, name) && variants[name] ? name : undefined;
}

/**
 * Digits of an integer a bus type can hold (u128 and i128 take up to 39), which the codecs read as
 * bigint; longer ones are not read so: BigInt of a string is quadratic (a million digits, one
 * 1 MiB request, cost 200 ms of CPU).
 */
export const INTEGER = /^-?\d{1,39}$/;

/**
 * A JSON map key that is an integer's digits as serde_json reads one into an integer key type: by
 * JSON's number grammar, so no leading zero, no "+", no space and no "-0" ("01" and "-0" are
 * refused, sdk/rust/wasm-bus/tests/serde_edges.rs), where INTEGER took them.
 */
export const INTEGER_KEY = /^(?:0|-?[1-9]\d{0,38})$/;

const SCALARS = new Set<string>([
  "unit", "bool", "u8", "u16", "u32", "u64", "u128", "i8", "i16", "i32", "i64", "i128",
  "f32", "f64", "string", "bytes",
]);

/** Checks a schema that came from a manifest; throws with the path of the first fault. */
export function checkSchema(schema: unknown, path = "schema"): asserts schema is Schema {
  if (typeof schema === "string") {
    if (!SCALARS.has(schema)) throw new Error(`${path}: unknown type "${schema}"`);
    return;
  }
  if (!schema || typeof schema !== "object" || Array.isArray(schema)) {
    throw new Error(`${path}: expected a type name or an object`);
  }
  const [kind, ...rest] = Object.keys(schema);
  if (!kind || rest.length) throw new Error(`${path}: expected exactly one of option, seq, tuple, map, struct, enum`);
  const inner = (schema as Record<string, unknown>)[kind];
  switch (kind) {
    case "option":
    case "seq":
      return checkSchema(inner, `${path}.${kind}`);
    case "tuple":
    case "map":
      if (!Array.isArray(inner) || (kind === "map" && inner.length !== 2)) {
        throw new Error(`${path}.${kind}: expected an array of types`);
      }
      inner.forEach((s, i) => checkSchema(s, `${path}.${kind}[${i}]`));
      return;
    case "struct":
    case "enum":
      if (!inner || typeof inner !== "object" || Array.isArray(inner)) {
        throw new Error(`${path}.${kind}: expected an object of fields`);
      }
      for (const [name, s] of Object.entries(inner)) {
        if (kind === "enum" && s === null) continue;
        checkSchema(s, `${path}.${kind}.${name}`);
      }
      return;
    default:
      throw new Error(`${path}: unknown kind "${kind}"`);
  }
}
