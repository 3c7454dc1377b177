/**
 * A map's keys over JSON and msgpack, whose keys are strings: taken as serde_json 1.0.154 reads
 * them (its MapKey deserializer: a string, an integer or a float from a JSON number in the quotes,
 * a bool from "true" or "false", a unit variant's name, an option as its inner type) and written
 * on as the key's type to a bincode or msgpack module; any other key type refused at the request
 * check, in the same words from JSON and from msgpack.
 */
import { describe, expect, it } from "vitest";
import { Format, type FormatValue } from "../../src/abi.js";
import { decode, encode, transcode } from "../../src/codec/index.js";
import { checkRequest } from "../../src/codec/request-check.js";
import type { Schema } from "../../src/codec/schema.js";
import { BusError } from "../../src/errors.js";
import { thrown } from "./thrown.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const unhex = (s: string) => new Uint8Array(Buffer.from(s, "hex"));
const utf8 = new TextEncoder();
const text = new TextDecoder();
const json = (s: string) => ({ format: Format.Json, data: utf8.encode(s) });
const check = (request: Schema, format: number, data: Uint8Array) => () => checkRequest({ format: "bincode", request }, format, data, 1 << 20);
const refusal = (request: Schema, format: number, data: Uint8Array) => {
  const err = thrown(BusError, check(request, format, data));
  expect(err.codeName).toBe("BadRequest");
  return err.message;
};
/** A struct {m: map<K, u8>}, as the requests below carry one. */
const keyed = (key: Schema): Schema => ({ struct: { m: { map: [key, "u8"] } } });
const TWO = "0200000000000000";

describe("float and bool keys, which serde_json reads and writes", () => {
  it("takes a float key spelt as a JSON number, whole or not, and writes it to bincode as the float", () => {
    for (const t of ['{"m":{"1":3,"1.5":2}}', '{"m":{"-0.25":1,"1e3":2,"2E-1":3}}']) expect(check(keyed("f64"), Format.Json, utf8.encode(t))).not.toThrow();
    expect(hex(transcode(json('{"m":{"1":3,"1.5":2}}'), Format.Bincode, keyed("f64")).data)).toBe(`${TWO}000000000000f03f03000000000000f83f02`);
    expect(hex(transcode(json('{"m":{"-2.5e0":1}}'), Format.Bincode, keyed("f32")).data)).toBe("0100000000000000000020c001");
    // and back, as serde_json writes the float (./float-keys.test.ts)
    expect(text.decode(transcode({ format: Format.Bincode, data: unhex(`${TWO}000000000000f03f03000000000000f83f02`) }, Format.Json, keyed("f64")).data)).toBe('{"m":{"1.0":3,"1.5":2}}');
  });

  it("takes a bool key as true or false, to bincode as the bool", () => {
    expect(check(keyed("bool"), Format.Json, utf8.encode('{"m":{"true":1,"false":0}}'))).not.toThrow();
    expect(hex(transcode(json('{"m":{"true":1,"false":0}}'), Format.Bincode, keyed("bool")).data)).toBe(`${TWO}01010000`);
    expect(text.decode(transcode({ format: Format.Bincode, data: unhex(`${TWO}01010000`) }, Format.Json, keyed("bool")).data)).toBe('{"m":{"true":1,"false":0}}');
  });

  it("writes float and bool keys to msgpack as their own types, which rmp-serde reads (it refuses a str for either)", () => {
    expect(hex(transcode(json('{"m":{"1.5":2}}'), Format.Msgpack, keyed("f64")).data)).toBe("81a16d81cb3ff800000000000002");
    expect(hex(transcode(json('{"m":{"true":1}}'), Format.Msgpack, keyed("bool")).data)).toBe("81a16d81c301");
    // "-0" is the float -0.0 to serde_json: msgpack's f64 -0, not the integer 0; bincode's -0 alike
    expect(hex(transcode(json('{"m":{"-0":1}}'), Format.Msgpack, keyed("f64")).data)).toBe("81a16d81cb800000000000000001");
    expect(hex(transcode(json('{"m":{"-0":1}}'), Format.Bincode, keyed("f64")).data)).toBe("0100000000000000000000000000008001");
  });

  it("takes \"-0\" at an i128 key as 0, which serde_json reads by its own digits, and refuses it at i64, which serde_json reads as the float -0.0", () => {
    expect(check(keyed("i128"), Format.Json, utf8.encode('{"m":{"-0":1}}'))).not.toThrow();
    expect(hex(transcode(json('{"m":{"-0":1}}'), Format.Bincode, keyed("i128")).data)).toBe(`0100000000000000${"00".repeat(16)}01`);
    expect(hex(transcode(json('{"m":{"-0":1}}'), Format.Msgpack, keyed("i128")).data)).toBe("81a16d810001");
    expect(refusal(keyed("i64"), Format.Json, utf8.encode('{"m":{"-0":1}}'))).toBe("request.m key: expected an integer (i64), got a string (-0)");
  });

  it("takes an option's key as its inner type, as serde_json does (a key is never None)", () => {
    expect(check(keyed({ option: "u32" }), Format.Json, utf8.encode('{"m":{"7":1}}'))).not.toThrow();
    expect(hex(transcode(json('{"m":{"7":1}}'), Format.Bincode, keyed({ option: "u32" })).data)).toBe("01000000000000000107000000" + "01");
    // to msgpack as the inner type's own, as rmp-serde reads Some(7) from the key's marker (it refuses a str)
    expect(hex(transcode(json('{"m":{"7":1}}'), Format.Msgpack, keyed({ option: "u32" })).data)).toBe("81a16d810701");
    expect(hex(transcode(json('{"m":{"1.5":2}}'), Format.Msgpack, keyed({ option: "f64" })).data)).toBe("81a16d81cb3ff800000000000002");
    expect(hex(transcode(json('{"m":{"true":1}}'), Format.Msgpack, keyed({ option: { option: "bool" } })).data)).toBe("81a16d81c301");
  });

  it("refuses what serde_json's number grammar or its bool does not read, at the check, in the key type's words", () => {
    const f64 = keyed("f64");
    for (const k of ["1.", ".5", "+1", " 1", "01.5", "1e", "NaN", "Infinity", "1e400", "0x10"]) {
      expect(refusal(f64, Format.Json, utf8.encode(`{"m":{${JSON.stringify(k)}:1}}`))).toBe(`request.m key: expected a number, got a string (${k})`);
    }
    for (const k of ["True", "1", "yes", ""]) {
      expect(refusal(keyed("bool"), Format.Json, utf8.encode(`{"m":{${JSON.stringify(k)}:1}}`))).toBe(`request.m key: expected a boolean, got a string (${k})`);
    }
  });
});

describe("key types serde_json neither reads nor writes", () => {
  const refused: [Schema, string][] = [
    ["unit", "unit"],
    ["bytes", "bytes"],
    [{ seq: "u8" }, "a seq"],
    [{ tuple: ["u8", "u8"] }, "a tuple"],
    [{ map: ["string", "u8"] }, "a map"],
    [{ struct: { a: "u8" } }, "a struct"],
    [{ option: { struct: { a: "u8" } } }, "a struct"],
  ];

  it("are refused at the check by type from JSON, naming the field; a msgpack str key there is no key of the type", () => {
    for (const [key, what] of refused) {
      const said = `request.m key: a map's key cannot be ${what} over JSON: its keys are strings, which serde_json reads as a string, an integer, a float, a bool or a unit variant's name`;
      expect(refusal(keyed(key), Format.Json, utf8.encode('{"m":{"a":1}}'))).toBe(said);
    }
    // {"m":{"a":1}}: rmp-serde refuses a str where a tuple's array is, and so does the check
    expect(refusal(keyed({ tuple: ["u8", "u8"] }), Format.Msgpack, unhex("81a16d81a16101"))).toBe("request.m key: expected an array of 2, got a string (a)");
  });

  it("leave an empty map be, which serde_json reads whatever its key type", () => {
    for (const [key] of refused) expect(check(keyed(key), Format.Json, utf8.encode('{"m":{}}'))).not.toThrow();
  });
});

/**
 * A map's key of each type JSON cannot carry, {m: {K: 7}}: in bincode, and in msgpack as rmp-serde
 * 1.3.1 writes it (to_vec_named, the Rust SDK's: a tuple or seq key an array, a struct or map key a
 * map, a variant carrying a value {name: value}, `()` nil, bytes a bin).
 */
const VALUE_KEYS: [Schema, string, string, string][] = [
  [{ tuple: ["u8", "u8"] }, "0102", "920102", "a tuple"],
  [{ struct: { a: "u8", b: "u8" } }, "0102", "82a16101a16202", "a struct"],
  [{ seq: "u8" }, "02000000000000000102", "920102", "a seq"],
  [{ map: ["u8", "u8"] }, "01000000000000000102", "810102", "a map"],
  ["unit", "", "c0", "unit"],
  ["bytes", "02000000000000006162", "c4026162", "bytes"],
  [{ option: { tuple: ["u8", "u8"] } }, "010102", "920102", "a tuple"],
];
const bincodeMap = (key: string) => `0100000000000000${key}07`;
const msgpackMap = (key: string) => `81a16d81${key}07`;

describe("a bincode reply's keys that JSON cannot carry", () => {
  /** A bincode module's {m: map<K, u8>} transcoded for a JSON caller: the refusal. */
  const replyRefusal = (key: Schema, bincode: string, from: FormatValue = Format.Bincode) => {
    const err = thrown(BusError, () => transcode({ format: from, data: unhex(bincode) }, Format.Json, keyed(key)));
    expect(err.codeName).toBe("SerializationFailed");
    return err.message;
  };

  it("are refused by the key's type, in the request check's words, where the host wrote \"1,2\" or \"[object Object]\"; a msgpack module's alike", () => {
    for (const [key, bincode, msgpack, what] of VALUE_KEYS) {
      const said = `cannot encode as json: a map's key cannot be ${what} over JSON: its keys are strings, which serde_json reads as a string, an integer, a float, a bool or a unit variant's name`;
      expect(replyRefusal(key, bincodeMap(bincode))).toBe(said);
      expect(replyRefusal(key, msgpackMap(msgpack), Format.Msgpack)).toBe(said);
    }
  });

  it("an enum's variant that carries a value is refused, its unit variants written by name", () => {
    const key: Schema = { enum: { Off: null, Level: "u8" } };
    // {Level(5): 7}, then {Off: 7, Level(5): 8}
    for (const bytes of ["0100000000000000010000000507", "02000000000000000000000007010000000508"]) {
      expect(replyRefusal(key, bytes)).toBe("cannot encode as json: a map's key cannot be the variant Level, which carries a value, over JSON: its keys are strings, and serde_json reads and writes only a unit variant's name");
    }
    const off = { format: Format.Bincode, data: unhex("01000000000000000000000007") };
    expect(text.decode(transcode(off, Format.Json, keyed(key)).data)).toBe('{"m":{"Off":7}}');
    expect(hex(transcode(off, Format.Msgpack, keyed(key)).data)).toBe("81a16d81a34f666607");
  });

  it("an option's None is refused, where the map's entries went and it was written {}; its Some keys are written as their inner value", () => {
    const key: Schema = { option: "string" };
    const said = "cannot encode as json: a map's key cannot be None over JSON: its keys are strings, and serde_json writes an option's key only where it is Some";
    // {None: 7}, {None: 7, Some("a"): 8}, {Some("a"): 8, None: 7}
    for (const bytes of ["01000000000000000007", "020000000000000000070101000000000000006108", "020000000000000001010000000000000061080007"]) {
      expect(replyRefusal(key, bytes)).toBe(said);
    }
    // {Some(1): 8, None: 7} at option<u8>; a msgpack module's {nil: 7}
    expect(replyRefusal({ option: "u8" }, "020000000000000001010800" + "07")).toBe(said);
    expect(replyRefusal(key, msgpackMap("c0"), Format.Msgpack)).toBe(said);
    const some = { format: Format.Bincode, data: unhex("0100000000000000010100000000000000" + "6108") };
    expect(text.decode(transcode(some, Format.Json, keyed(key)).data)).toBe('{"m":{"a":8}}');
  });

  it("write an empty map, as serde_json writes {} whatever its key type; bincode's keys travel to bincode as they are", () => {
    for (const [key] of VALUE_KEYS) {
      const empty = { format: Format.Bincode, data: unhex("0000000000000000") };
      expect(text.decode(transcode(empty, Format.Json, keyed(key)).data)).toBe('{"m":{}}');
      expect(hex(transcode(empty, Format.Msgpack, keyed(key)).data)).toBe("81a16d80");
    }
    // the value read keeps the keys, which bincode writes back
    const pair = unhex("01000000000000000102" + "07");
    expect(hex(encode(Format.Bincode, decode(Format.Bincode, pair, keyed({ tuple: ["u8", "u8"] })), keyed({ tuple: ["u8", "u8"] })))).toBe(hex(pair));
  });
});

describe("keys msgpack and bincode carry, where JSON cannot", () => {
  it("travel between msgpack, as rmp-serde writes them, and bincode, both ways", () => {
    for (const [key, bincode, msgpack] of VALUE_KEYS) {
      const from = { format: Format.Msgpack, data: unhex(msgpackMap(msgpack)) };
      expect([key, hex(transcode(from, Format.Bincode, keyed(key)).data)]).toEqual([key, bincodeMap(bincode)]);
      const back = { format: Format.Bincode, data: unhex(bincodeMap(bincode)) };
      expect([key, hex(transcode(back, Format.Msgpack, keyed(key)).data)]).toEqual([key, msgpackMap(msgpack)]);
    }
  });

  it("keep a -0.0 inside a key, as rmp-serde writes it (the f64 -0, not the integer 0)", () => {
    const key: Schema = { tuple: ["f64", "u8"] };
    const bincode = bincodeMap("000000000000008001");
    const msgpack = msgpackMap("92cb800000000000000001");
    expect(hex(transcode({ format: Format.Bincode, data: unhex(bincode) }, Format.Msgpack, keyed(key)).data)).toBe(msgpack);
    expect(hex(transcode({ format: Format.Msgpack, data: unhex(msgpack) }, Format.Bincode, keyed(key)).data)).toBe(bincode);
  });

  it("an option's None travels as nil, as rmp-serde 1.3.1 writes and reads it; a str \"null\" key is Some(\"null\")", () => {
    // {None: 7, Some("a"): 8} and {Some("a"): 8, None: 7} at option<string>; {None: 7, Some(1): 8} at option<u8>
    const cases: [Schema, string, string][] = [
      [{ option: "string" }, "020000000000000000070101000000000000006108", "81a16d82c007a16108"],
      [{ option: "string" }, "020000000000000001010000000000000061080007", "81a16d82a16108c007"],
      [{ option: "u8" }, "0200000000000000000701010" + "8", "81a16d82c0070108"],
    ];
    for (const [key, bincode, msgpack] of cases) {
      expect(hex(transcode({ format: Format.Bincode, data: unhex(bincode) }, Format.Msgpack, keyed(key)).data)).toBe(msgpack);
      expect(hex(transcode({ format: Format.Msgpack, data: unhex(msgpack) }, Format.Bincode, keyed(key)).data)).toBe(bincode);
      expect(check(keyed(key), Format.Msgpack, unhex(msgpack))).not.toThrow();
    }
    const str = { format: Format.Msgpack, data: unhex(msgpackMap("a46e756c6c")) };
    expect(hex(transcode(str, Format.Bincode, keyed({ option: "string" })).data)).toBe(bincodeMap("0104000000000000006e756c6c"));
  });

  it("an enum's variants carrying values travel as {name: value}, unit variants as their names", () => {
    const key: Schema = { enum: { Off: null, Level: "u8" } };
    // {Off: 7, Level(5): 8}
    const msgpack = "81a16d82a34f66660781a54c6576656c0508";
    const bincode = "02000000000000000000000007010000000508";
    expect(hex(transcode({ format: Format.Msgpack, data: unhex(msgpack) }, Format.Bincode, keyed(key)).data)).toBe(bincode);
    expect(hex(transcode({ format: Format.Bincode, data: unhex(bincode) }, Format.Msgpack, keyed(key)).data)).toBe(msgpack);
  });

  it("pass a msgpack caller's request check, each key checked as its type's value", () => {
    for (const [key, , msgpack] of VALUE_KEYS) expect(check(keyed(key), Format.Msgpack, unhex(msgpackMap(msgpack)))).not.toThrow();
    // {m: {[1, 300]: 7}}, {m: {[1]: 7}}
    expect(refusal(keyed({ tuple: ["u8", "u8"] }), Format.Msgpack, unhex(msgpackMap("9201cd012c")))).toBe("request.m key[1]: 300 is out of range for u8");
    expect(refusal(keyed({ tuple: ["u8", "u8"] }), Format.Msgpack, unhex(msgpackMap("9101")))).toBe("request.m key: expected an array of 2, got an array");
    // {m: {{a: 1}: 7}} where b is required
    expect(refusal(keyed({ struct: { a: "u8", b: "u8" } }), Format.Msgpack, unhex(msgpackMap("81a16101")))).toBe("request.m key: missing field b");
  });

  it("an array or map key where the key type takes text is refused, naming that type", () => {
    const read = (key: Schema, msgpack: string) => thrown(BusError, () => decode(Format.Msgpack, unhex(msgpackMap(msgpack)), keyed(key))).message;
    expect(read("u8", "920102")).toBe("malformed msgpack payload: a map's key is an array, where the map's key type is u8");
    expect(read({ option: "string" }, "81a16101")).toBe("malformed msgpack payload: a map's key is a map, where the map's key type is option<string>");
    expect(read({ enum: { Off: null } }, "81a34f6666c0")).toBe("malformed msgpack payload: a map's key is a map, where the map's key type is an enum of unit variants");
  });
});

describe("a variant holding () as a map's key, Foo(())", () => {
  // serde_json 1.0.154 reads the key "Foo" as no Foo(()) ("invalid type: unit variant, expected
  // newtype variant") and refuses to write Foo(()) as a key ("key must be a string"), as it does
  // Level(5); rmp-serde writes it {"Foo": nil}, bincode as its tag
  const key: Schema = { enum: { Off: null, Foo: "unit" } };
  const said = "a map's key cannot be the variant Foo, which carries a value, over JSON: its keys are strings, and serde_json reads and writes only a unit variant's name";

  it("is refused from a JSON caller and for one, in the same words", () => {
    expect(refusal(keyed(key), Format.Json, utf8.encode('{"m":{"Foo":7}}'))).toBe(`request.m key: ${said}`);
    expect(check(keyed(key), Format.Json, utf8.encode('{"m":{"Off":7}}'))).not.toThrow();
    const err = thrown(BusError, () => transcode({ format: Format.Bincode, data: unhex(bincodeMap("01000000")) }, Format.Json, keyed(key)));
    expect([err.codeName, err.message]).toEqual(["SerializationFailed", `cannot encode as json: ${said}`]);
  });

  it("travels between msgpack and bincode as the variant; a msgpack str key \"Foo\" is refused, as rmp-serde refuses it", () => {
    const msgpack = msgpackMap("81a3466f6fc0");
    expect(hex(transcode({ format: Format.Msgpack, data: unhex(msgpack) }, Format.Bincode, keyed(key)).data)).toBe(bincodeMap("01000000"));
    expect(hex(transcode({ format: Format.Bincode, data: unhex(bincodeMap("01000000")) }, Format.Msgpack, keyed(key)).data)).toBe(msgpack);
    expect(check(keyed(key), Format.Msgpack, unhex(msgpack))).not.toThrow();
    expect(refusal(keyed(key), Format.Msgpack, unhex(msgpackMap("a3466f6f")))).toBe("request.m key: variant Foo carries a value");
  });
});
