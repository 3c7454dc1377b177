import { describe, expect, it } from "vitest";
import { Format } from "../../src/abi.js";
import { decode, encode, transcode } from "../../src/codec/index.js";
import type { Schema } from "../../src/codec/schema.js";

/**
 * What the differential codec fuzzer (test/fuzz/codec-diff.ts) found, fixed since, each as a plain
 * case so a regression fails here with a name rather than as a seed.
 */
const enc = new TextEncoder();
const json = (text: string) => ({ format: Format.Json, data: enc.encode(text) });

describe("JSON floats written as bare digits", () => {
  // JSON.stringify(1e20) is "100000000000000000000", JSON.stringify(2 ** 53) "9007199254740992".
  const schema: Schema = { struct: { x: "f64", y: { seq: { option: "f32" } }, m: { map: ["string", "f64"] } } };
  const text = '{"x":100000000000000000000,"y":[9007199254740992,null],"m":{"__proto__":18446744073709551616}}';

  it("read as numbers, not bigints, where the schema names a float", () => {
    const v = decode(Format.Json, enc.encode(text), schema) as { x: unknown; y: unknown[]; m: Record<string, unknown> };
    expect(v.x).toBe(1e20);
    expect(v.y).toEqual([2 ** 53, null]);
    expect(Object.getOwnPropertyDescriptor(v.m, "__proto__")?.value).toBe(2 ** 64);
  });

  it("transcode to bincode and msgpack, as the numbers they are", () => {
    const bin = transcode(json(text), Format.Bincode, schema);
    expect(decode(Format.Bincode, bin.data, schema)).toMatchObject({ x: 1e20, y: [2 ** 53, null] });
    const mp = transcode(json(text), Format.Msgpack, schema);
    expect(decode(Format.Msgpack, mp.data, schema)).toMatchObject({ x: 1e20, y: [2 ** 53, null] });
  });

  it("stay integers where the schema names one", () => {
    expect(decode(Format.Json, enc.encode('{"x":100000000000000000000}'), { struct: { x: "u128" } })).toEqual({ x: 100000000000000000000n });
  });
});

describe('a struct field named "__proto__"', () => {
  const schema: Schema = { struct: JSON.parse('{"__proto__":"u8","body":"bytes"}') };
  const value = Object.defineProperty({ body: new Uint8Array([1, 2]) }, "__proto__", { value: 7, enumerable: true, writable: true, configurable: true });

  it("is read back from bincode as an own field, not as the object's prototype", () => {
    const bin = encode(Format.Bincode, value, schema);
    const back = decode(Format.Bincode, bin, schema) as object;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(back, "__proto__")?.value).toBe(7);
  });

  it("holding bytes, is read from JSON and msgpack as an own field with its bytes (as it was)", () => {
    const withBytes: Schema = { struct: JSON.parse('{"__proto__":"bytes"}') };
    for (const format of [Format.Json, Format.Msgpack]) {
      const data = format === Format.Json ? enc.encode('{"__proto__":[1,2]}') : encode(Format.Msgpack, JSON.parse('{"__proto__":[1,2]}'));
      const back = decode(format, data, withBytes) as object;
      expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
      expect(Object.getOwnPropertyDescriptor(back, "__proto__")?.value).toEqual(new Uint8Array([1, 2]));
    }
  });
});
