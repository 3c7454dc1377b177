import { BusError } from "../errors.js";
import type { Schema } from "./schema.js";

/**
 * Checks a decoded json or msgpack value against a topic's declared type, so a request that
 * does not fit is refused at the edge (400, naming the field) before any guest runs.
 * Unknown struct fields pass, as serde ignores them by default.
 */
export function validate(value: unknown, schema: Schema, path: string): void {
  const fault = check(value, schema, path);
  if (fault) throw BusError.of("BadRequest", fault);
}

const INT_RANGE: Record<string, [bigint, bigint]> = {
  u8: [0n, 0xffn], u16: [0n, 0xffffn], u32: [0n, 0xffff_ffffn], u64: [0n, 2n ** 64n - 1n], u128: [0n, 2n ** 128n - 1n],
  i8: [-0x80n, 0x7fn], i16: [-0x8000n, 0x7fffn], i32: [-(2n ** 31n), 2n ** 31n - 1n], i64: [-(2n ** 63n), 2n ** 63n - 1n], i128: [-(2n ** 127n), 2n ** 127n - 1n],
};

function describe(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return "an array";
  if (value instanceof Uint8Array) return "bytes";
  if (typeof value === "object") return "an object";
  return `${typeof value === "string" ? "a string" : typeof value === "boolean" ? "a boolean" : "a number"} (${String(value).slice(0, 40)})`;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Uint8Array);

/** The first fault, as "path: expected X, got Y", or undefined where the value fits. */
function check(value: unknown, schema: Schema, path: string): string | undefined {
  const expected = (what: string) => `${path}: expected ${what}, got ${describe(value)}`;
  if (typeof schema === "string") {
    switch (schema) {
      case "unit":
        return value === null || value === undefined ? undefined : expected("null");
      case "bool":
        return typeof value === "boolean" ? undefined : expected("a boolean");
      case "string":
        return typeof value === "string" ? undefined : expected("a string");
      case "f32":
      case "f64":
        return typeof value === "number" || typeof value === "bigint" ? undefined : expected("a number");
      case "bytes":
        if (value instanceof Uint8Array) return undefined;
        if (Array.isArray(value) && value.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) return undefined;
        return expected("bytes (an array of 0-255)");
      default: {
        const [min, max] = INT_RANGE[schema]!;
        if (typeof value !== "bigint" && !(typeof value === "number" && Number.isInteger(value))) return expected(`an integer (${schema})`);
        const n = BigInt(value);
        return n < min || n > max ? `${path}: ${n} is out of range for ${schema}` : undefined;
      }
    }
  }
  if ("option" in schema) return value === null || value === undefined ? undefined : check(value, schema.option, path);
  if ("seq" in schema) {
    if (!Array.isArray(value)) return expected("an array");
    for (let i = 0; i < value.length; i++) {
      const fault = check(value[i], schema.seq, `${path}[${i}]`);
      if (fault) return fault;
    }
    return undefined;
  }
  if ("tuple" in schema) {
    if (!Array.isArray(value) || value.length !== schema.tuple.length) return expected(`an array of ${schema.tuple.length}`);
    for (let i = 0; i < value.length; i++) {
      const fault = check(value[i], schema.tuple[i]!, `${path}[${i}]`);
      if (fault) return fault;
    }
    return undefined;
  }
  if ("map" in schema) {
    if (value instanceof Map) {
      for (const [k, v] of value) {
        const fault = check(k, schema.map[0], `${path} key`) ?? check(v, schema.map[1], `${path}[${JSON.stringify(String(k))}]`);
        if (fault) return fault;
      }
      return undefined;
    }
    if (!isObject(value)) return expected("an object");
    for (const k of Object.keys(value)) {
      // JSON object keys are strings; a numeric key type takes their digits.
      const key = typeof schema.map[0] === "string" && schema.map[0] !== "string" && /^-?\d+$/.test(k) ? BigInt(k) : k;
      const fault = check(key, schema.map[0], `${path} key`) ?? check(value[k], schema.map[1], `${path}.${k}`);
      if (fault) return fault;
    }
    return undefined;
  }
  if ("struct" in schema) {
    if (!isObject(value)) return expected("an object");
    for (const [name, field] of Object.entries(schema.struct)) {
      const present = Object.hasOwn(value, name);
      if (!present) {
        if (typeof field === "object" && "option" in field) continue;
        return `${path}: missing field ${name}`;
      }
      const fault = check(value[name], field, `${path}.${name}`);
      if (fault) return fault;
    }
    return undefined;
  }
  // enum, externally tagged: "Unit" or { Variant: value }
  const variants = schema.enum;
  if (typeof value === "string") {
    if (!Object.hasOwn(variants, value)) return `${path}: unknown variant ${JSON.stringify(value)}`;
    const inner = variants[value];
    return inner === null || inner === "unit" ? undefined : `${path}: variant ${value} carries a value`;
  }
  if (!isObject(value)) return expected("a variant name or {variant: value}");
  const keys = Object.keys(value);
  if (keys.length !== 1) return expected("one variant");
  const name = keys[0]!;
  if (!Object.hasOwn(variants, name)) return `${path}: unknown variant ${JSON.stringify(name)}`;
  const inner = variants[name];
  return inner === null || inner === undefined ? undefined : check(value[name], inner, `${path}.${name}`);
}
