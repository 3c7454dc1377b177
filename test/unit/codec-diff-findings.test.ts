import { describe, expect, it } from "vitest";
import { Format } from "../../src/abi.js";
import { decode, transcode } from "../../src/codec/index.js";
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
