import { BusError } from "../errors.js";
import { keyRefusal, keysAreValues, keyValue, textlessVariant, variantKeyRefusal } from "./map-keys.js";
import type { Schema } from "./schema.js";

/**
 * Checks a decoded json or msgpack value against a topic's declared type, so a request that
 * does not fit is refused at the edge (400, naming the field) before any guest runs.
 * Unknown struct fields pass, as serde ignores them by default.
 */
export function validate(value: unknown, schema: Schema, path: string): void {
  integersChecked = 0;
  const found = check(value, schema);
  if (found) throw BusError.of("BadRequest", `${path}${found.at}: ${found.what}`);
}

/**
 * Where a value does not fit: `at` is the path below the checked value (".name", "[1]"),
 * prefixed on the way out. Paths are only made for a fault: every request of a call route is
 * checked, and building each field's path up front was most of the cost of a check that passes.
 */
interface Fault {
  at: string;
  what: string;
}

/**
 * How many values the last validate took at an integer type (a map's keys too): where none,
 * ./whole-floats.ts need not look for a float read as one.
 */
export let integersChecked = 0;

const fault = (what: string): Fault => ({ at: "", what });
const expected = (what: string, value: unknown): Fault => fault(`expected ${what}, got ${describe(value)}`);
function under(at: string, inner: Fault | undefined): Fault | undefined {
  if (inner) inner.at = at + inner.at;
  return inner;
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

/**
 * A map's key. Text (an object's key, or a Map's string key where the key type takes text) is
 * read as its type as serde_json reads one, which refuses a key type with no text and a variant
 * that carries a value (./map-keys.ts). A Map's key where the key type's keys are values (a
 * msgpack payload's: rmp-serde writes a tuple key as an array) is checked as the value it is; a
 * variant's name alone there is a unit variant's, as rmp-serde reads it.
 */
function checkKey(key: unknown, type: Schema, inMap: boolean): Fault | undefined {
  if (typeof key !== "string" || (inMap && keysAreValues(type))) {
    return typeof key === "string" && textlessVariant(type, key) ? fault(`variant ${key} carries a value`) : check(key, type);
  }
  const refused = keyRefusal(type) ?? (textlessVariant(type, key) ? variantKeyRefusal(key) : undefined);
  return refused ? fault(refused) : check(keyValue(key, type), type);
}

/** A Map's key in a path: a value's as JSON ([[1,2]], [{"a":1}]), any other's as a JSON string (["1"]). */
const keyPath = (k: unknown) =>
  JSON.stringify(k !== null && typeof k === "object" ? k : String(k), (_, v: unknown) => (typeof v === "bigint" ? String(v) : v instanceof Uint8Array ? [...v] : v));

/** The first fault, or undefined where the value fits. */
function check(value: unknown, schema: Schema): Fault | undefined {
  if (typeof schema === "string") {
    switch (schema) {
      case "unit":
        return value === null || value === undefined ? undefined : expected("null", value);
      case "bool":
        return typeof value === "boolean" ? undefined : expected("a boolean", value);
      case "string":
        return typeof value === "string" ? undefined : expected("a string", value);
      case "f32":
      case "f64":
        return typeof value === "number" || typeof value === "bigint" ? undefined : expected("a number", value);
      case "bytes":
        // given as an array (JSON's is made a Uint8Array before this), serde reads each element
        // as a u8, which refuses a whole float (./whole-floats.ts)
        integersChecked++;
        if (value instanceof Uint8Array) return undefined;
        if (Array.isArray(value) && value.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) return undefined;
        return expected("bytes (an array of 0-255)", value);
      default: {
        integersChecked++;
        const [min, max] = INT_RANGE[schema]!;
        if (typeof value !== "bigint" && !(typeof value === "number" && Number.isInteger(value))) return expected(`an integer (${schema})`, value);
        // serde reads -0 (JSON's "-0", msgpack's float) as the float -0.0, which an integer refuses.
        if (value === 0 && 1 / value < 0) return fault(`expected an integer (${schema}), got the float -0`);
        const n = BigInt(value);
        return n < min || n > max ? fault(`${n} is out of range for ${schema}`) : undefined;
      }
    }
  }
  if ("option" in schema) return value === null || value === undefined ? undefined : check(value, schema.option);
  if ("seq" in schema) {
    if (!Array.isArray(value)) return expected("an array", value);
    for (let i = 0; i < value.length; i++) {
      const inner = check(value[i], schema.seq);
      if (inner) return under(`[${i}]`, inner);
    }
    return undefined;
  }
  if ("tuple" in schema) {
    if (!Array.isArray(value) || value.length !== schema.tuple.length) return expected(`an array of ${schema.tuple.length}`, value);
    for (let i = 0; i < value.length; i++) {
      const inner = check(value[i], schema.tuple[i]!);
      if (inner) return under(`[${i}]`, inner);
    }
    return undefined;
  }
  if ("map" in schema) {
    const [keyType, valueType] = schema.map;
    // a Map's keys may be of any type, named in a path as JSON strings (["1"]); an object's as fields (.k)
    const isMap = value instanceof Map;
    const entries = isMap ? [...value] : isObject(value) ? Object.entries(value) : undefined;
    if (!entries) return expected("an object", value);
    // a key type serde_json cannot read is refused where a key is given: {} is any map's
    for (const [k, v] of entries) {
      const inner = under(" key", checkKey(k, keyType, isMap)) ?? under(isMap ? `[${keyPath(k)}]` : `.${k}`, check(v, valueType));
      if (inner) return inner;
    }
    return undefined;
  }
  if ("struct" in schema) {
    if (!isObject(value)) return expected("an object", value);
    const fields = schema.struct;
    for (const name in fields) {
      const field = fields[name]!;
      if (!Object.hasOwn(value, name)) {
        if (typeof field === "object" && "option" in field) continue;
        return fault(`missing field ${name}`);
      }
      const inner = check(value[name], field);
      if (inner) return under(`.${name}`, inner);
    }
    return undefined;
  }
  // enum, externally tagged: "Unit" or { Variant: value }. serde_json and rmp-serde read a unit
  // variant as its name or { Unit: null }, and a variant that carries a value, () too (Foo(())),
  // only as { Foo: value }: its name alone is "invalid type: unit variant, expected newtype variant".
  const variants = schema.enum;
  if (typeof value === "string") {
    if (!Object.hasOwn(variants, value)) return fault(`unknown variant ${JSON.stringify(value)}`);
    const inner = variants[value];
    if (inner === null) return undefined;
    return inner === "unit" ? expected(`{${JSON.stringify(value)}: null} (the variant ${value} carries ())`, value) : fault(`variant ${value} carries a value`);
  }
  if (!isObject(value)) return expected("a variant name or {variant: value}", value);
  const keys = Object.keys(value);
  if (keys.length !== 1) return expected("one variant", value);
  const name = keys[0]!;
  if (!Object.hasOwn(variants, name)) return fault(`unknown variant ${JSON.stringify(name)}`);
  return under(`.${name}`, check(value[name], variants[name] ?? "unit"));
}
