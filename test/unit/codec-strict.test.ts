import { pack, unpack, Unpackr } from "msgpackr";
import { describe, expect, it } from "vitest";
import { Code, Format } from "../../src/abi.js";
import { decode, encode, stringifyJson, transcode } from "../../src/codec/index.js";
import { validate } from "../../src/codec/validate.js";
import { BusError } from "../../src/errors.js";
import { thrown } from "./thrown.js";

const utf8 = new TextEncoder();
const json = (text: string) => utf8.encode(text);
const bytes = (...b: number[]) => new Uint8Array(b);

describe("msgpack decoding is strict", () => {
  it("refuses 0xc1 as a whole payload with DeserializationFailed", () => {
    const err = thrown(BusError, () => decode(Format.Msgpack, bytes(0xc1)));
    expect(err.code).toBe(Code.DeserializationFailed);
    expect(err.message).toBe("malformed msgpack payload: byte 0xc1 is never used in msgpack");
  });

  it("refuses 0xc1 nested in arrays and maps", () => {
    // {"a": [0xc1]}
    expect(thrown(BusError, () => decode(Format.Msgpack, bytes(0x81, 0xa1, 0x61, 0x91, 0xc1))).message).toMatch(/0xc1/);
    // [1, {"b": 0xc1}]
    expect(thrown(BusError, () => decode(Format.Msgpack, bytes(0x92, 0x01, 0x81, 0xa1, 0x62, 0xc1))).code).toBe(Code.DeserializationFailed);
    // {0xc1: 1}: a key that is no value at all
    expect(thrown(BusError, () => decode(Format.Msgpack, bytes(0x81, 0xc1, 0x01))).code).toBe(Code.DeserializationFailed);
  });

  it("takes the byte 0xc1 inside bin data and as an integer's payload", () => {
    expect(decode(Format.Msgpack, bytes(0xc4, 0x01, 0xc1))).toEqual(new Uint8Array([0xc1]));
    expect(decode(Format.Msgpack, bytes(0xcc, 0xc1))).toBe(0xc1);
    expect(decode(Format.Msgpack, bytes(0x91, 0xcd, 0xc1, 0xc1))).toEqual([0xc1c1]);
  });

  it("refuses bytes after the value, saying how many", () => {
    const one = thrown(BusError, () => decode(Format.Msgpack, bytes(0x01, 0x02)));
    expect(one.code).toBe(Code.DeserializationFailed);
    expect(one.message).toBe("malformed msgpack payload: 1 bytes after the value");
    expect(thrown(BusError, () => decode(Format.Msgpack, bytes(0x01, 0x02, 0x03))).message).toMatch(/2 bytes after the value/);
    expect(thrown(BusError, () => decode(Format.Msgpack, new Uint8Array([...pack({ a: 1 }), 0xc0]))).code).toBe(Code.DeserializationFailed);
    // in the bus's words too where a map's key is a bin ({bin "a": 1}, read again with maps as Maps)
    expect(thrown(BusError, () => decode(Format.Msgpack, bytes(0x81, 0xc4, 0x01, 0x61, 0x01, 0xc0))).message).toBe("malformed msgpack payload: 1 bytes after the value");
  });

  it("refuses truncated values", () => {
    for (const bad of [bytes(0x92, 0x01), bytes(0xa3, 0x61), bytes(0xcd, 0x01), bytes(0xc4, 0x05, 1, 2), bytes(0x81, 0xa1, 0x61)]) {
      expect(thrown(BusError, () => decode(Format.Msgpack, bad)).code).toBe(Code.DeserializationFailed);
    }
  });

  it("refuses a str that is not UTF-8 with DeserializationFailed, as JSON refuses such text, wherever it is", () => {
    const str8 = (...b: number[]) => [0xd9, b.length, ...b];
    for (const bad of [
      bytes(0xa2, 0xff, 0x41), // a byte never in UTF-8
      bytes(0xa2, 0xc0, 0x80), // an overlong NUL
      bytes(0xa3, 0xed, 0xa0, 0x80), // a surrogate (CESU-8)
      bytes(0xa1, 0xe2), // a character cut at the end of its str
      bytes(...str8(...new Array(69).fill(0x41), 0x80)), // long enough for msgpackr's TextDecoder
      bytes(0x81, 0xa1, 0xff, 0x01), // a map key
      bytes(0x92, 0xc4, 0x01, 0xff, 0xa1, 0xfe), // after bin data, which may hold any bytes
    ]) {
      const err = thrown(BusError, () => decode(Format.Msgpack, bad));
      expect(err.code).toBe(Code.DeserializationFailed);
      expect(err.message).toMatch(/^malformed msgpack payload: the str at byte \d+ is not UTF-8$/);
    }
    expect(thrown(BusError, () => decode(Format.Msgpack, bytes(0x92, 0x01, 0xa1, 0xff))).message).toMatch(/str at byte 2 /);
    // and so nothing of it is transcoded into JSON with U+FFFD in its place
    expect(thrown(BusError, () => transcode({ format: Format.Msgpack, data: bytes(0x81, 0xa1, 0x6e, 0xa2, 0xff, 0x41) }, Format.Json)).code).toBe(Code.DeserializationFailed);
  });

  it("takes UTF-8 of every width, U+FFFD itself, and any bytes in bin", () => {
    const text = "a é € 😀 \uFFFD \uFEFF";
    expect(decode(Format.Msgpack, pack({ [text]: text, long: text.repeat(20) }))).toEqual({ [text]: text, long: text.repeat(20) });
    expect(decode(Format.Msgpack, bytes(0xc4, 0x03, 0xff, 0xed, 0xa0))).toEqual(bytes(0xff, 0xed, 0xa0));
  });

  it("refuses ext values (timestamps, msgpackr's Date and bigint) with DeserializationFailed, instead of objects that become {} in JSON", () => {
    const cases: [Uint8Array, RegExp][] = [
      [bytes(0xd6, 0xff, 0, 0, 0, 1), /^malformed msgpack payload: ext type -1 at byte 0: msgpack extensions/], // timestamp 32
      [encode(Format.Msgpack, { when: new Date(0) }), /ext type -1 at byte 6:/],
      [bytes(0x91, 0xd7, 0xff, 0, 0, 0, 4, 0, 0, 0, 1), /ext type -1 at byte 1:/], // timestamp 64
      [bytes(0xc7, 12, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1), /ext type -1 at byte 0:/], // timestamp 96
      [bytes(0xc7, 0x01, 0x42, 0x05), /ext type 66 at byte 0:/], // msgpackr's bigint
    ];
    for (const [bad, why] of cases) {
      const err = thrown(BusError, () => decode(Format.Msgpack, bad));
      expect(err.code).toBe(Code.DeserializationFailed);
      expect(err.message).toMatch(why);
    }
    expect(thrown(BusError, () => transcode({ format: Format.Msgpack, data: encode(Format.Msgpack, { name: "Ada", at: new Date(0) }) }, Format.Json)).code).toBe(Code.DeserializationFailed);
  });

  it('keeps a key "__proto__" (msgpackr alone renames it "__proto_"), as data: nothing inherits from its value', () => {
    const str = (s: string) => [0xa0 | s.length, ...utf8.encode(s)];
    // {"__proto__": {"x": 1}, "a": [{"__proto__": 2}], 1: "__proto__"}
    const data = bytes(0x83, ...str("__proto__"), 0x81, ...str("x"), 0x01, ...str("a"), 0x91, 0x81, ...str("__proto__"), 0x02, 0x01, ...str("__proto__"));
    const value = decode(Format.Msgpack, data) as Record<string, unknown>;
    expect(Object.keys(value)).toEqual(["1", "__proto__", "a"]);
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect((value as { x?: unknown }).x).toBeUndefined();
    expect(new TextDecoder().decode(transcode({ format: Format.Msgpack, data }, Format.Json).data)).toBe('{"1":"__proto__","__proto__":{"x":1},"a":[{"__proto__":2}]}');
    // and back: JSON's "__proto__" key is msgpack's
    expect(decode(Format.Msgpack, transcode({ format: Format.Json, data: json('{"__proto__":{"x":1}}') }, Format.Msgpack).data)).toEqual(JSON.parse('{"__proto__":{"x":1}}'));
  });

  it("reads an empty payload as no value", () => {
    expect(decode(Format.Msgpack, new Uint8Array())).toBeUndefined();
  });

  it("reads 64-bit integers as bigint, all of their bits", () => {
    expect(decode(Format.Msgpack, bytes(0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff))).toBe(2n ** 64n - 1n);
    expect(decode(Format.Msgpack, bytes(0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0))).toBe(-(2n ** 63n));
  });
});

describe("json decoding", () => {
  it("keeps integers past 2^53 (16+ digits) as bigint", () => {
    const value = decode(Format.Json, json("[9007199254740993, -9007199254740993, 18446744073709551615]"));
    expect(value).toEqual([9007199254740993n, -9007199254740993n, 18446744073709551615n]);
  });

  it("keeps as bigint only integers a bus type can hold (39 digits, u128/i128): longer ones are numbers, as JSON.parse makes them, and cost no BigInt (quadratic: 200 ms for a million digits)", () => {
    const u128max = (2n ** 128n - 1n).toString();
    const i128min = (-(2n ** 127n)).toString();
    expect(decode(Format.Json, json(`[${u128max}, ${i128min}]`))).toEqual([2n ** 128n - 1n, -(2n ** 127n)]);
    const forty = "1" + "0".repeat(39);
    expect(decode(Format.Json, json(`[${forty}, -${forty}]`))).toEqual([1e39, -1e39]);
    const million = "7".repeat(1_000_000);
    expect(decode(Format.Json, json(`{"n":${million}}`))).toEqual({ n: Number.POSITIVE_INFINITY });
    // so a u128 field refuses it as it refuses any number past its range
    expect(() => validate(decode(Format.Json, json(`{"n":${million}}`)), { struct: { n: "u128" } }, "request")).toThrow("request.n: expected an integer (u128), got a number (Infinity)");
    // digits as a map's key or a string bincode writes as an integer: the same bound
    expect(() => validate({ [million]: 1 }, { map: ["u64", "u8"] }, "request")).toThrow(/^request key: expected an integer \(u64\), got a string \(7{40}\)$/);
    expect(() => encode(Format.Bincode, { [million]: 1 }, { map: ["u64", "u8"] })).toThrow(/expected u64/);
    expect(encode(Format.Bincode, { [u128max]: 1 }, { map: ["u128", "u8"] }).length).toBe(8 + 16 + 1);
  });

  it("leaves safe integers, floats and digits in strings alone, even in text that holds 16 digits", () => {
    const value = decode(Format.Json, json('[1000000000000000, 1.2345678901234567, "12345678901234567", 1e20, 9007199254740991]'));
    expect(value).toEqual([1000000000000000, 1.2345678901234567, "12345678901234567", 1e20, 9007199254740991]);
    expect(typeof (value as unknown[])[0]).toBe("number");
  });

  it("refuses malformed text and invalid UTF-8 with DeserializationFailed", () => {
    for (const bad of [json("{"), json("[1,]"), json("{'a':1}"), json("01"), json("[1] x"), new Uint8Array(), bytes(0x22, 0xff, 0x22)]) {
      const err = thrown(BusError, () => decode(Format.Json, bad));
      expect(err.code).toBe(Code.DeserializationFailed);
      expect(err.message).toMatch(/^malformed json payload: /);
    }
  });
});

describe("a lone surrogate is JSON's alone", () => {
  const lone = ['"\\ud800"', '"x\\udfff"', '["\\uD83D x"]', '{"a":[{"b":"\\ude00\\ud83d"}]}', '{"\\udc00":1}', '"\\ud83d\\u0041"'];

  it("stays as it is in JSON (an AssemblyScript module keeps it)", () => {
    expect(decode(Format.Json, json('["\\ud800", {"\\udc00": 1}]'))).toEqual(["\ud800", { "\udc00": 1 }]);
  });

  it("cannot be transcoded into msgpack or bincode, whose strings are UTF-8: SerializationFailed, in a value or a key, however nested", () => {
    for (const bad of lone) {
      for (const to of [Format.Msgpack, Format.Bincode] as const) {
        const err = thrown(BusError, () => transcode({ format: Format.Json, data: json(bad) }, to, to === Format.Bincode ? "unit" : undefined));
        expect(err.code, bad).toBe(Code.SerializationFailed);
        expect(err.message).toMatch(/^cannot encode as (msgpack|bincode): a string holds a lone surrogate \(an unpaired \\uD800-\\uDFFF escape\), which UTF-8 cannot carry$/);
      }
    }
    // and so in long text cut for its byte arrays
    const long = `{"body":[${Array.from({ length: 400 }, (_, i) => i % 256).join(",")}],"s":"\\udbff"}`;
    expect(thrown(BusError, () => transcode({ format: Format.Json, data: json(long) }, Format.Msgpack, { struct: { body: "bytes", s: "string" } })).code).toBe(Code.SerializationFailed);
  });

  it("pairs written as escapes, and a backslash that escapes itself before u, transcode as they are", () => {
    const text = '["\\ud83d\\ude00", "\\\\ud800", {"\\uD83D\\uDE00": "\\\\udfff"}]';
    const mp = transcode({ format: Format.Json, data: json(text) }, Format.Msgpack);
    expect(unpack(mp.data as Buffer)).toEqual(["😀", "\\ud800", { "😀": "\\udfff" }]);
  });
});

describe("stringifyJson", () => {
  it("writes bytes as arrays of numbers, nested too", () => {
    expect(stringifyJson(new Uint8Array([1, 2, 255]))).toBe("[1,2,255]");
    expect(stringifyJson({ a: [new Uint8Array([0])], b: new Uint8Array() })).toBe('{"a":[[0]],"b":[]}');
  });

  it("writes bigint with all of its digits", () => {
    expect(stringifyJson(2n ** 128n - 1n)).toBe("340282366920938463463374607431768211455");
    expect(stringifyJson({ n: -(2n ** 63n), m: [1n] })).toBe('{"n":-9223372036854775808,"m":[1]}');
  });

  it("writes nothing as null and drops undefined fields, as JSON.stringify does", () => {
    expect(stringifyJson(undefined)).toBe("null");
    expect(stringifyJson({ a: undefined, b: 1 })).toBe('{"b":1}');
  });

  it("is what encode(Json) writes", () => {
    const value = { s: "é\n\"", n: 12345678901234567890n, b: new Uint8Array([7]) };
    expect(new TextDecoder().decode(encode(Format.Json, value))).toBe(stringifyJson(value));
  });
});

describe("transcoding json <-> msgpack keeps values", () => {
  const values: [string, unknown][] = [
    ["nested objects and arrays", { a: { b: [1, [2, [3]], { c: null }] }, d: [] , e: {} }],
    ["strings with unicode and escapes", { s: "é 😀 \n \" \\ \u0000 \u2028" }],
    ["numbers", [0, -1, 127, 128, -32, -33, 255, 65536, -2147483649, 1.5, -0.25, 1e300, 4294967296]],
    ["booleans and null", [true, false, null]],
  ];

  it.each(values)("%s", (_what, value) => {
    const text = JSON.stringify(value);
    const mp = transcode({ format: Format.Json, data: json(text) }, Format.Msgpack);
    expect(mp.format).toBe(Format.Msgpack);
    // a whole number past 32 bits is a msgpack 64-bit integer (cf, d3), as rmp-serde writes it,
    // which msgpackr reads as a bigint unless told
    expect(new Unpackr({ int64AsType: "number", mapsAsObjects: true, useRecords: false }).unpack(mp.data)).toEqual(value);
    const back = transcode(mp, Format.Json);
    expect(back.format).toBe(Format.Json);
    expect(JSON.parse(new TextDecoder().decode(back.data))).toEqual(value);
  });

  it("keeps 64-bit integers' digits both ways", () => {
    const text = '{"n":12345678901234567890,"m":-12345678901234567}';
    const mp = transcode({ format: Format.Json, data: json(text) }, Format.Msgpack);
    expect(unpack(mp.data as Buffer, { int64AsType: "bigint" } as never)).toEqual({ n: 12345678901234567890n, m: -12345678901234567n });
    expect(new TextDecoder().decode(transcode(mp, Format.Json).data)).toBe(text);
  });

  it("fails integers past 64 bits into msgpack with SerializationFailed, not a float", () => {
    const err = thrown(BusError, () => transcode({ format: Format.Json, data: json('{"n":123456789012345678901234567890}') }, Format.Msgpack));
    expect(err.code).toBe(Code.SerializationFailed);
  });

  it("keeps msgpack bin as a JSON array of numbers", () => {
    const back = transcode({ format: Format.Msgpack, data: pack({ b: new Uint8Array([0, 128, 255]) }) }, Format.Json);
    expect(new TextDecoder().decode(back.data)).toBe('{"b":[0,128,255]}');
  });

  it("passes the strictness on: malformed msgpack does not transcode", () => {
    expect(thrown(BusError, () => transcode({ format: Format.Msgpack, data: bytes(0x91, 0xc1) }, Format.Json)).code).toBe(Code.DeserializationFailed);
    expect(thrown(BusError, () => transcode({ format: Format.Msgpack, data: bytes(0xc0, 0xc0) }, Format.Json)).code).toBe(Code.DeserializationFailed);
  });

  it("is the identity where the formats agree", () => {
    const payload = { format: Format.Msgpack, data: bytes(0xc1) } as const;
    expect(transcode(payload, Format.Msgpack)).toBe(payload);
  });
});
