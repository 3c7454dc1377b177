import { describe, expect, it } from "vitest";
import { checkSchema, fit } from "../../src/codec/schema.js";

const SCALARS = ["unit", "bool", "u8", "u16", "u32", "u64", "u128", "i8", "i16", "i32", "i64", "i128", "f32", "f64", "string", "bytes"];

describe("checkSchema", () => {
  it.each(SCALARS)("takes the scalar %s", (name) => {
    expect(() => checkSchema(name)).not.toThrow();
  });

  it("takes every kind, nested", () => {
    const schema = {
      struct: {
        a: { option: "u8" },
        b: { seq: { tuple: ["string", { map: ["string", "i64"] }] } },
        c: { enum: { Unit: null, Unitish: "unit", Payload: { struct: { x: "f64" } } } },
        d: { struct: {} },
        e: { tuple: [] },
        f: { enum: {} },
      },
    };
    expect(() => checkSchema(schema)).not.toThrow();
  });

  const bad: [string, unknown, string][] = [
    ["an unknown type name", "u256", 'schema: unknown type "u256"'],
    ["a type name in the wrong case", "String", 'schema: unknown type "String"'],
    ["a number", 5, "schema: expected a type name or an object"],
    ["null", null, "schema: expected a type name or an object"],
    ["undefined", undefined, "schema: expected a type name or an object"],
    ["an array", ["u8"], "schema: expected a type name or an object"],
    ["an empty object", {}, "schema: expected exactly one of option, seq, tuple, map, struct, enum"],
    ["two kinds", { seq: "u8", option: "u8" }, "schema: expected exactly one of option, seq, tuple, map, struct, enum"],
    ["an unknown kind", { list: "u8" }, 'schema: unknown kind "list"'],
    ["a bad option", { option: "nope" }, 'schema.option: unknown type "nope"'],
    ["a bad seq", { seq: 1 }, "schema.seq: expected a type name or an object"],
    ["a tuple that is not an array", { tuple: "u8" }, "schema.tuple: expected an array of types"],
    ["a bad tuple element", { tuple: ["u8", "x"] }, 'schema.tuple[1]: unknown type "x"'],
    ["a map of one type", { map: ["string"] }, "schema.map: expected an array of types"],
    ["a map of three types", { map: ["string", "u8", "u8"] }, "schema.map: expected an array of types"],
    ["a bad map value", { map: ["string", { seq: "q" }] }, 'schema.map[1].seq: unknown type "q"'],
    ["a struct that is an array", { struct: ["u8"] }, "schema.struct: expected an object of fields"],
    ["a struct that is null", { struct: null }, "schema.struct: expected an object of fields"],
    ["a struct field of null", { struct: { a: null } }, "schema.struct.a: expected a type name or an object"],
    ["a bad struct field", { struct: { a: "u8", b: { option: "q" } } }, 'schema.struct.b.option: unknown type "q"'],
    ["an enum that is a string", { enum: "A" }, "schema.enum: expected an object of fields"],
    ["a bad enum variant", { enum: { A: null, B: "nope" } }, 'schema.enum.B: unknown type "nope"'],
  ];

  it.each(bad)("refuses %s, naming the path", (_what, schema, message) => {
    expect(() => checkSchema(schema)).toThrowError(new Error(message));
  });

  it("starts the path where the caller says", () => {
    expect(() => checkSchema({ struct: { name: "str" } }, "topics.greet.request")).toThrowError(
      new Error('topics.greet.request.struct.name: unknown type "str"'),
    );
  });

  it("reports the first fault in field order", () => {
    expect(() => checkSchema({ struct: { a: "x", b: "y" } })).toThrowError('schema.struct.a: unknown type "x"');
  });
});

describe("fit: how a payload's format reaches a topic (the edge and the runtime both decide by it)", () => {
  it("takes the topic's format and those it accepts as they are, transcodes typed ones, refuses raw either way", () => {
    const json = { format: "json" as const };
    const raw = { format: "raw" as const, accepts: ["raw" as const, "json" as const] };
    expect(fit(json, "json")).toBe("as-is");
    expect(fit(json, "msgpack")).toBe("transcode");
    expect(fit(json, "raw")).toBe("refused");
    expect(fit(raw, "json")).toBe("as-is");
    expect(fit(raw, "msgpack")).toBe("refused");
    expect(fit({ format: "json", accepts: ["msgpack"] }, "msgpack")).toBe("as-is");
    // Not one of the four: never as it is.
    expect(fit(json, undefined)).toBe("transcode");
    expect(fit(raw, undefined)).toBe("refused");
  });
});
