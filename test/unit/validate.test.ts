import { describe, expect, it } from "vitest";
import { Code } from "../../src/abi.js";
import type { Schema } from "../../src/codec/schema.js";
import { validate } from "../../src/codec/validate.js";
import { BusError } from "../../src/errors.js";

/** The fault validate throws, checked to be a BadRequest BusError; undefined where the value fits. */
function fault(value: unknown, schema: Schema, path = "request"): string | undefined {
  try {
    validate(value, schema, path);
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(BusError);
    expect((err as BusError).code).toBe(Code.BadRequest);
    expect((err as BusError).codeName).toBe("BadRequest");
    return (err as Error).message;
  }
}

describe("validate: scalars", () => {
  it("names the path, the expected type and what came", () => {
    expect(fault({ name: 5 }, { struct: { name: "string" } })).toBe("request.name: expected a string, got a number (5)");
    expect(fault("x", "bool", "body")).toBe("body: expected a boolean, got a string (x)");
    expect(fault(null, "string")).toBe("request: expected a string, got null");
    expect(fault(undefined, "string")).toBe("request: expected a string, got nothing");
    expect(fault([], "string")).toBe("request: expected a string, got an array");
    expect(fault({}, "string")).toBe("request: expected a string, got an object");
    expect(fault(new Uint8Array(1), "string")).toBe("request: expected a string, got bytes");
    expect(fault(true, "string")).toBe("request: expected a string, got a boolean (true)");
  });

  it("shortens a long value in the message to 40 characters", () => {
    const long = "y".repeat(100);
    expect(fault(long, "u8")).toBe(`request: expected an integer (u8), got a string (${"y".repeat(40)})`);
  });

  it("takes the right kind of each scalar", () => {
    expect(fault(true, "bool")).toBeUndefined();
    expect(fault(false, "bool")).toBeUndefined();
    expect(fault(0, "bool")).toMatch(/expected a boolean/);
    expect(fault("", "string")).toBeUndefined();
    expect(fault(1.5, "f64")).toBeUndefined();
    expect(fault(-3, "f32")).toBeUndefined();
    expect(fault(2n ** 70n, "f64")).toBeUndefined();
    expect(fault("1.5", "f64")).toBe("request: expected a number, got a string (1.5)");
    expect(fault(null, "unit")).toBeUndefined();
    expect(fault(undefined, "unit")).toBeUndefined();
    expect(fault(0, "unit")).toBe("request: expected null, got a number (0)");
  });
});

describe("validate: integers", () => {
  const bounds: [Schema, bigint, bigint][] = [
    ["u8", 0n, 255n],
    ["u16", 0n, 65535n],
    ["u32", 0n, 2n ** 32n - 1n],
    ["u64", 0n, 2n ** 64n - 1n],
    ["u128", 0n, 2n ** 128n - 1n],
    ["i8", -128n, 127n],
    ["i16", -32768n, 32767n],
    ["i32", -(2n ** 31n), 2n ** 31n - 1n],
    ["i64", -(2n ** 63n), 2n ** 63n - 1n],
    ["i128", -(2n ** 127n), 2n ** 127n - 1n],
  ];

  it.each(bounds)("%s takes its bounds and refuses one past them", (type, min, max) => {
    expect(fault(min, type)).toBeUndefined();
    expect(fault(max, type)).toBeUndefined();
    expect(fault(min - 1n, type)).toBe(`request: ${min - 1n} is out of range for ${type}`);
    expect(fault(max + 1n, type)).toBe(`request: ${max + 1n} is out of range for ${type}`);
    // As plain numbers too, where they are exact.
    if (max <= BigInt(Number.MAX_SAFE_INTEGER)) {
      expect(fault(Number(max), type)).toBeUndefined();
      expect(fault(Number(max) + 1, type)).toMatch(/out of range/);
    }
    if (-min <= BigInt(Number.MAX_SAFE_INTEGER)) {
      expect(fault(Number(min), type)).toBeUndefined();
      expect(fault(Number(min) - 1, type)).toMatch(/out of range/);
    }
  });

  it("refuses fractions, strings of digits and non-finite numbers", () => {
    expect(fault(1.5, "u8")).toBe("request: expected an integer (u8), got a number (1.5)");
    expect(fault("5", "u32")).toBe("request: expected an integer (u32), got a string (5)");
    expect(fault(Number.NaN, "i64")).toBe("request: expected an integer (i64), got a number (NaN)");
    expect(fault(Number.POSITIVE_INFINITY, "u128")).toMatch(/expected an integer \(u128\)/);
    expect(fault(true, "u8")).toMatch(/expected an integer \(u8\), got a boolean/);
  });

  it("takes whole floats (2.0 is 2) and big integers as bigint", () => {
    expect(fault(2.0, "u8")).toBeUndefined();
    expect(fault(12345678901234567890n, "u64")).toBeUndefined();
    expect(fault(-1n, "u64")).toBe("request: -1 is out of range for u64");
  });
});

describe("validate: bytes", () => {
  it("takes a Uint8Array or an array of 0-255", () => {
    expect(fault(new Uint8Array([0, 255]), "bytes")).toBeUndefined();
    expect(fault([], "bytes")).toBeUndefined();
    expect(fault([0, 1, 255], "bytes")).toBeUndefined();
  });

  it("refuses numbers outside 0-255, fractions, strings and objects", () => {
    for (const bad of [[256], [-1], [1.5], ["1"], [null], "abc", 5, { 0: 1 }]) {
      expect(fault(bad, "bytes")).toMatch(/^request: expected bytes \(an array of 0-255\), got /);
    }
  });
});

describe("validate: structs and options", () => {
  const person: Schema = { struct: { name: "string", age: "u8", nick: { option: "string" } } };

  it("names a missing field, but an option field may be absent or null", () => {
    expect(fault({ age: 3 }, person)).toBe("request: missing field name");
    expect(fault({ name: "Ada", age: 3 }, person)).toBeUndefined();
    expect(fault({ name: "Ada", age: 3, nick: null }, person)).toBeUndefined();
    expect(fault({ name: "Ada", age: 3, nick: "A" }, person)).toBeUndefined();
  });

  it("checks a present option field's inner type, naming its path", () => {
    expect(fault({ name: "Ada", age: 3, nick: 7 }, person)).toBe("request.nick: expected a string, got a number (7)");
  });

  it("lets unknown fields through, as serde does", () => {
    expect(fault({ name: "Ada", age: 3, extra: { anything: [1, 2] } }, person)).toBeUndefined();
  });

  it("reports the first fault in declaration order", () => {
    expect(fault({ name: 1, age: 1000 }, person)).toBe("request.name: expected a string, got a number (1)");
    expect(fault({ name: "x", age: 1000 }, person)).toBe("request.age: 1000 is out of range for u8");
  });

  it("wants an object: not an array, null or bytes", () => {
    expect(fault([], person)).toBe("request: expected an object, got an array");
    expect(fault(null, person)).toBe("request: expected an object, got null");
    expect(fault(new Uint8Array(), person)).toBe("request: expected an object, got bytes");
  });

  it("does not take a field from the prototype as present", () => {
    const value = Object.create({ name: "inherited" }) as Record<string, unknown>;
    value.age = 1;
    expect(fault(value, person)).toBe("request: missing field name");
  });

  it("builds nested paths", () => {
    const schema: Schema = { struct: { a: { struct: { b: { seq: { struct: { c: "i8" } } } } } } };
    expect(fault({ a: { b: [{ c: 1 }, { c: 200 }] } }, schema)).toBe("request.a.b[1].c: 200 is out of range for i8");
  });
});

describe("validate: seq, tuple, map", () => {
  it("checks each element of a seq with its index", () => {
    expect(fault([1, 2, 3], { seq: "u8" })).toBeUndefined();
    expect(fault([1, "x"], { seq: "u8" })).toBe("request[1]: expected an integer (u8), got a string (x)");
    expect(fault({ 0: 1 }, { seq: "u8" })).toBe("request: expected an array, got an object");
  });

  it("wants a tuple's exact length and each position's type", () => {
    const pair: Schema = { tuple: ["string", "u16"] };
    expect(fault(["a", 1], pair)).toBeUndefined();
    expect(fault(["a"], pair)).toBe("request: expected an array of 2, got an array");
    expect(fault(["a", 1, 2], pair)).toBe("request: expected an array of 2, got an array");
    expect(fault([1, 1], pair)).toBe("request[0]: expected a string, got a number (1)");
    expect(fault(["a", -1], pair)).toBe("request[1]: -1 is out of range for u16");
  });

  it("checks a map's values by key and numeric keys by their digits", () => {
    expect(fault({ a: 1, b: 2 }, { map: ["string", "u8"] })).toBeUndefined();
    expect(fault({ a: 1, b: 300 }, { map: ["string", "u8"] })).toBe("request.b: 300 is out of range for u8");
    expect(fault({ 1: "x", 255: "y" }, { map: ["u8", "string"] })).toBeUndefined();
    expect(fault({ 256: "x" }, { map: ["u8", "string"] })).toBe("request key: 256 is out of range for u8");
    expect(fault({ abc: "x" }, { map: ["u8", "string"] })).toBe("request key: expected an integer (u8), got a string (abc)");
    expect(fault({ "-1": "x" }, { map: ["i8", "string"] })).toBeUndefined();
    expect(fault([], { map: ["string", "u8"] })).toBe("request: expected an object, got an array");
  });

  it("checks a Map's keys and values", () => {
    expect(fault(new Map([[1, "a"]]), { map: ["u8", "string"] })).toBeUndefined();
    expect(fault(new Map([[1000, "a"]]), { map: ["u8", "string"] })).toBe("request key: 1000 is out of range for u8");
    expect(fault(new Map([[1, 2]]), { map: ["u8", "string"] })).toBe('request["1"]: expected a string, got a number (2)');
  });
});

describe("validate: enums (externally tagged)", () => {
  const state: Schema = { enum: { Opening: null, Opened: "unit", Closed: { struct: { code: "u16" } }, Moved: "string" } };

  it("takes a unit variant by name or as {Variant: null}, and others as {Variant: value}, () too", () => {
    expect(fault("Opening", state)).toBeUndefined();
    expect(fault({ Opening: null }, state)).toBeUndefined();
    expect(fault({ Opened: null }, state)).toBeUndefined();
    expect(fault({ Closed: { code: 1000 } }, state)).toBeUndefined();
    expect(fault({ Moved: "there" }, state)).toBeUndefined();
  });

  it("refuses the name alone of a variant holding (), and a unit variant's value other than null, as serde does", () => {
    // serde_json and rmp-serde: "invalid type: unit variant, expected newtype variant"
    expect(fault("Opened", state)).toBe('request: expected {"Opened": null} (the variant Opened carries ()), got a string (Opened)');
    expect(fault({ s: "Opened" }, { struct: { s: state } })).toBe('request.s: expected {"Opened": null} (the variant Opened carries ()), got a string (Opened)');
    expect(fault({ Opened: [] }, state)).toBe("request.Opened: expected null, got an array");
    // serde_json: "invalid type: integer `5`, expected unit"; rmp-serde: "wrong msgpack marker"
    expect(fault({ Opening: 5 }, state)).toBe("request.Opening: expected null, got a number (5)");
    expect(fault({ Opening: {} }, state)).toBe("request.Opening: expected null, got an object");
    // an option of () is a value too: "Maybe" alone is refused, {"Maybe": null} is None
    const maybe: Schema = { enum: { Maybe: { option: "unit" } } };
    expect(fault("Maybe", maybe)).toBe("request: variant Maybe carries a value");
    expect(fault({ Maybe: null }, maybe)).toBeUndefined();
  });

  it("refuses unknown variants, a bare name for a variant that carries a value, and bad inner values", () => {
    expect(fault("Nope", state)).toBe('request: unknown variant "Nope"');
    expect(fault({ Nope: 1 }, state)).toBe('request: unknown variant "Nope"');
    expect(fault("Closed", state)).toBe("request: variant Closed carries a value");
    expect(fault({ Closed: { code: 70000 } }, state)).toBe("request.Closed.code: 70000 is out of range for u16");
    expect(fault({ Moved: 1 }, state)).toBe("request.Moved: expected a string, got a number (1)");
  });

  it("wants exactly one variant in an object, and a name or an object at all", () => {
    expect(fault({ Opening: null, Opened: null }, state)).toBe("request: expected one variant, got an object");
    expect(fault({}, state)).toBe("request: expected one variant, got an object");
    expect(fault(5, state)).toBe("request: expected a variant name or {variant: value}, got a number (5)");
    expect(fault(["Opening"], state)).toBe("request: expected a variant name or {variant: value}, got an array");
  });

  it("does not take Object.prototype names as variants", () => {
    expect(fault("toString", state)).toBe('request: unknown variant "toString"');
    expect(fault({ constructor: 1 }, state)).toBe('request: unknown variant "constructor"');
  });
});
