/**
 * A float-keyed map's keys in the JSON the host writes, as serde_json 1.0.154 writes them: the
 * expected texts are what serde_json::to_string gives for a map with that f64 (or f32) key, run on
 * the host against the registry's serde_json (whole numbers with ".0", -0.0 with its sign,
 * exponents as "e+20" / "e-6" past the plain range, f32s by their own shortest digits).
 */
import { describe, expect, it } from "vitest";
import { Format, type FormatValue } from "../../src/abi.js";
import { floatKeyText } from "../../src/codec/float-key-text.js";
import { transcode } from "../../src/codec/index.js";
import type { Schema } from "../../src/codec/schema.js";
import { pack } from "msgpackr";

const text = new TextDecoder();
const unhex = (s: string) => new Uint8Array(Buffer.from(s, "hex"));
const F64_KEYS: Schema = { map: ["f64", "u8"] };

/** A bincode map<K, u8>: its length, then each key's bytes and its value. */
function bincodeMap(keys: number[], width: 4 | 8): Uint8Array {
  const out = new DataView(new ArrayBuffer(8 + keys.length * (width + 1)));
  out.setBigUint64(0, BigInt(keys.length), true);
  keys.forEach((k, i) => {
    const at = 8 + i * (width + 1);
    if (width === 8) out.setFloat64(at, k, true);
    else out.setFloat32(at, k, true);
    out.setUint8(at + width, i + 1);
  });
  return new Uint8Array(out.buffer);
}

const toJson = (format: FormatValue, data: Uint8Array, schema: Schema | undefined) => text.decode(transcode({ format, data }, Format.Json, schema).data);

describe("float keys in JSON, as serde_json writes them", () => {
  it("a bincode module's map<f64, u8>: 1, 1.5, -0, 1e20, 0.1", () => {
    expect(toJson(Format.Bincode, bincodeMap([1, 1.5, -0, 1e20, 0.1], 8), F64_KEYS)).toBe('{"1.0":1,"1.5":2,"-0.0":3,"1e+20":4,"0.1":5}');
  });

  it("a bincode module's map<f32, u8>: an f32's own shortest digits", () => {
    expect(toJson(Format.Bincode, bincodeMap([0.1, 1, 1e13], 4), { map: ["f32", "u8"] })).toBe('{"0.1":1,"1.0":2,"1e+13":3}');
  });

  it("a msgpack module's map<f64, u8>, and an option's key", () => {
    const data = pack(new Map([[1.5, 1], [1e20, 2], [0.1, 3]]));
    // msgpackr reads the whole 1.0 as the integer key 1; the types say f64
    const whole = pack(new Map([[1, 4]]));
    expect(toJson(Format.Msgpack, data, F64_KEYS)).toBe('{"1.5":1,"1e+20":2,"0.1":3}');
    expect(toJson(Format.Msgpack, whole, { option: { map: [{ option: "f64" }, "u8"] } })).toBe('{"1.0":4}');
  });

  it("a msgpack module's -0.0 key, f64 and f32, with its sign: msgpackr made it the key \"0\"", () => {
    // {-0.0: 1, 0.0: 2} as rmp-serde writes an f64 key, then an f32's
    expect(JSON.parse(toJson(Format.Msgpack, unhex("82cb800000000000000001cb000000000000000002"), F64_KEYS))).toEqual({ "-0.0": 1, "0.0": 2 });
    expect(toJson(Format.Msgpack, unhex("81ca8000000001"), { map: ["f32", "u8"] })).toBe('{"-0.0":1}');
    // untyped, as serde_json spells it too; a -0.0 value stays the value
    expect(toJson(Format.Msgpack, unhex("81cb800000000000000001"), undefined)).toBe('{"-0.0":1}');
    expect(toJson(Format.Msgpack, unhex("81a161cb8000000000000000"), { map: ["string", "f64"] })).toBe('{"a":-0.0}');
    // and to bincode as the float -0.0, where it was +0.0
    expect(Buffer.from(transcode({ format: Format.Msgpack, data: unhex("81cb800000000000000001") }, Format.Bincode, F64_KEYS).data).toString("hex")).toBe("0100000000000000000000000000008001");
  });

  it("a key serde_json writes no text for (NaN, an infinity, past f32's range) as JavaScript spells it, not a fault blamed on the payload", () => {
    expect(toJson(Format.Bincode, bincodeMap([NaN, Infinity, -Infinity], 8), F64_KEYS)).toBe('{"NaN":1,"Infinity":2,"-Infinity":3}');
    expect(toJson(Format.Bincode, bincodeMap([NaN, Infinity], 4), { map: ["f32", "u8"] })).toBe('{"NaN":1,"Infinity":2}');
    // an f64 past f32's range, which serde_json reads into an f32 key as infinite
    expect(toJson(Format.Msgpack, pack(new Map([[1e39, 1]])), { map: ["f32", "u8"] })).toBe('{"1e+39":1}');
  });

  it("each of the formatter's forms, f64 and f32", () => {
    const f64: [number, string][] = [
      [1e15, "1000000000000000.0"], [1e16, "1e+16"], [9.1e15, "9100000000000000.0"], [1e-5, "0.00001"], [1e-6, "1e-6"],
      [1.5e-6, "1.5e-6"], [123456.789, "123456.789"], [-2.5, "-2.5"], [5e-324, "5e-324"], [1.7976931348623157e308, "1.7976931348623157e+308"],
    ];
    for (const [x, s] of f64) expect(floatKeyText(x, "f64")).toBe(s);
    const f32: [number, string][] = [
      [1e12, "1000000000000.0"], [1e-6, "0.000001"], [1e-7, "1e-7"], [3.4e38, "3.4e+38"], [1.401298464324817e-45, "1e-45"],
      // halfway between two of the shortest: the even one
      [43107.4375, "43107.438"], [2 ** -12, "0.00024414062"],
    ];
    for (const [x, s] of f32) expect(floatKeyText(x, "f32")).toBe(s);
  });
});
