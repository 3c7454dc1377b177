/**
 * The OpenAPI's description of a map's keys (propertyNames, src/http/json-schema.ts) says what
 * the request check takes: for each key type, a key the check takes fits the description, and
 * one it refuses by its spelling (not by its range) does not.
 */
import { describe, expect, it } from "vitest";
import { Format } from "../../src/abi.js";
import { checkRequest } from "../../src/codec/request-check.js";
import type { Schema } from "../../src/codec/schema.js";
import { jsonSchemaOf } from "../../src/http/json-schema.js";

const utf8 = new TextEncoder();
const takes = (key: Schema, k: string) => {
  try {
    checkRequest({ format: "json", request: { map: [key, "u8"] } }, Format.Json, utf8.encode(JSON.stringify({ [k]: 1 })), 1 << 20);
    return true;
  } catch {
    return false;
  }
};
const fits = (key: Schema, k: string) => {
  const map = jsonSchemaOf({ map: [key, "u8"] });
  if (map.maxProperties === 0) return false;
  const names = map.propertyNames as { pattern?: string; enum?: string[] } | undefined;
  return names?.enum ? names.enum.includes(k) : names?.pattern ? new RegExp(names.pattern, "u").test(k) : true;
};

const SPELLINGS = ["0", "7", "-2", "-0", "007", "+1", " 1", "1.5", "-0.25", "1e3", "2E-1", "1.", ".5", "1e", "NaN", "Infinity", "0x10", "true", "false", "True", "", "Red", "Green", "Rgb", "a"];
const KEY_TYPES: Schema[] = ["u8", "u64", "i32", "i128", "f32", "f64", "bool", "string", { option: "f64" }, { enum: { Red: null, Green: "unit", Rgb: { tuple: ["u8", "u8", "u8"] } } }, "unit", "bytes", { tuple: ["u8"] }];

describe("a map's propertyNames in the OpenAPI, against the request check", () => {
  for (const key of KEY_TYPES) {
    it(`${JSON.stringify(key)} keys`, () => {
      for (const k of SPELLINGS) expect([k, fits(key, k)]).toEqual([k, takes(key, k)]);
    });
  }
});
