/**
 * The OpenAPI's description of an enum's values (src/http/json-schema.ts) says what the request
 * check takes, and both what serde_json reads: a unit variant as its name or {"Name": null}, a
 * variant holding (), an option, an empty tuple or struct only tagged ({"Name": value}), never
 * its name alone (sdk/rust/wasm-bus/tests/serde_edges.rs holds serde_json to the same verdicts).
 */
import { describe, expect, it } from "vitest";
import { Format } from "../../src/abi.js";
import { checkRequest } from "../../src/codec/request-check.js";
import type { Schema } from "../../src/codec/schema.js";
import { jsonSchemaOf, type JsonSchema } from "../../src/http/json-schema.js";

const utf8 = new TextEncoder();
const Holds: Schema = { enum: { Foo: "unit", Bar: null, Opt: { option: "unit" }, Tup: { tuple: [] }, Emp: { struct: {} } } };

const takes = (text: string) => {
  try {
    checkRequest({ format: "json", request: Holds }, Format.Json, utf8.encode(text), 1 << 20);
    return true;
  } catch {
    return false;
  }
};

/** Whether `value` fits `s`, for the keywords jsonSchemaOf writes; any other is an error, not a pass. */
function fits(value: unknown, s: JsonSchema): boolean {
  const isObject = value !== null && typeof value === "object" && !Array.isArray(value);
  const types = (t: string) => (t === "null" ? value === null : t === "object" ? isObject : t === "array" ? Array.isArray(value) : t === "integer" ? Number.isInteger(value) : typeof value === t);
  return Object.entries(s).every(([keyword, want]: [string, any]) => {
    switch (keyword) {
      case "const":
        return JSON.stringify(value) === JSON.stringify(want);
      case "type":
        return (Array.isArray(want) ? want : [want]).some(types);
      case "anyOf":
        return want.some((inner: JsonSchema) => fits(value, inner));
      case "oneOf":
        return want.filter((inner: JsonSchema) => fits(value, inner)).length === 1;
      case "not":
        return !fits(value, want);
      case "required":
        return !isObject || want.every((name: string) => Object.hasOwn(value, name));
      case "properties":
        return !isObject || Object.entries(want).every(([name, inner]) => !Object.hasOwn(value, name) || fits((value as any)[name], inner as JsonSchema));
      case "additionalProperties":
        return !isObject || Object.keys(value).every((name) => Object.hasOwn(s.properties ?? {}, name) || (want === false ? false : fits((value as any)[name], want)));
      case "prefixItems":
        return !Array.isArray(value) || want.every((inner: JsonSchema, i: number) => i >= value.length || fits(value[i], inner));
      case "items":
        return !Array.isArray(value) || value.slice((s.prefixItems as unknown[] | undefined)?.length ?? 0).every((v) => (want === false ? false : fits(v, want)));
      case "minItems":
        return !Array.isArray(value) || value.length >= want;
      case "maxItems":
        return !Array.isArray(value) || value.length <= want;
      default:
        throw new Error(`the test reads no ${keyword}`);
    }
  });
}

// each text, with whether serde_json 1.0.154 reads it as enum Holds { Foo(()), Bar, Opt(Option<()>), Tup(), Emp {} }
const SERDE_JSON: [string, boolean][] = [
  ['"Foo"', false], ['{"Foo":null}', true], ['{"Foo":[]}', false], ['{"Foo":5}', false],
  ['"Bar"', true], ['{"Bar":null}', true], ['{"Bar":5}', false], ['{"Bar":[]}', false], ['{"Bar":{}}', false],
  ['"Opt"', false], ['{"Opt":null}', true],
  ['"Tup"', false], ['{"Tup":[]}', true], ['{"Tup":null}', false],
  ['"Emp"', false], ['{"Emp":{}}', true], ['{"Emp":null}', false],
];

describe("an enum's values in the OpenAPI, against the request check and serde_json", () => {
  it("takes at the check what serde_json reads, and describes exactly that", () => {
    const described = jsonSchemaOf(Holds);
    for (const [text, serde] of SERDE_JSON) {
      expect([text, takes(text)]).toEqual([text, serde]);
      expect([text, fits(JSON.parse(text), described)]).toEqual([text, serde]);
    }
  });
});
