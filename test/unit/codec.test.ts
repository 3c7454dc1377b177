import { pack, unpack } from "msgpackr";
import { describe, expect, it } from "vitest";
import { Format } from "../../src/abi.js";
import { decode, encode, transcode } from "../../src/codec/index.js";
import type { Schema } from "../../src/codec/schema.js";
import { BusError } from "../../src/errors.js";

const sleep: Schema = { struct: { duration_ms: "u128" } };
const fetchReq: Schema = {
  struct: { method: "string", url: "string", headers: { seq: { tuple: ["string", "string"] } }, body: { option: "bytes" } },
};

describe("bincode (bincode 1.x default options)", () => {
  it("writes a struct of u128 as 16 little-endian bytes, as bincode::serialize does", () => {
    const bytes = encode(Format.Bincode, { duration_ms: 10 }, sleep);
    expect([...bytes]).toEqual([10, ...new Array(15).fill(0)]);
    expect(decode(Format.Bincode, bytes, sleep)).toEqual({ duration_ms: 10 });
  });

  it("round-trips strings, sequences, tuples, options and bytes with u64 lengths", () => {
    const value = { method: "GET", url: "http://x/", headers: [["a", "b"]], body: new Uint8Array([1, 2]) };
    const bytes = encode(Format.Bincode, value, fetchReq);
    // "GET": u64 length 3 then the bytes
    expect([...bytes.subarray(0, 11)]).toEqual([3, 0, 0, 0, 0, 0, 0, 0, 71, 69, 84]);
    expect(decode(Format.Bincode, bytes, fetchReq)).toEqual(value);
  });

  it("keeps integers past 2^53 exact", () => {
    const big = { duration_ms: 2n ** 100n + 7n };
    expect(decode(Format.Bincode, encode(Format.Bincode, big, sleep), sleep)).toEqual(big);
  });

  it("writes enums as u32 variant indexes, externally tagged in JSON", () => {
    const state: Schema = { enum: { Opening: null, Opened: null, Closed: { struct: { code: "u16" } } } };
    expect([...encode(Format.Bincode, "Opened", state)]).toEqual([1, 0, 0, 0]);
    const closed = encode(Format.Bincode, { Closed: { code: 1000 } }, state);
    expect(decode(Format.Bincode, closed, state)).toEqual({ Closed: { code: 1000 } });
  });

  it("rejects truncated input, trailing bytes and hostile lengths with DeserializationFailed", () => {
    const bytes = encode(Format.Bincode, { duration_ms: 1 }, sleep);
    for (const bad of [bytes.subarray(0, 5), new Uint8Array([...bytes, 0]), new Uint8Array([255, 255, 255, 255, 255, 255, 255, 127])]) {
      const schema: Schema = bad.length === 8 ? "string" : sleep;
      expect(() => decode(Format.Bincode, bad, schema)).toThrowError(BusError);
      try {
        decode(Format.Bincode, bad, schema);
      } catch (err) {
        expect((err as BusError).code).toBe(2);
      }
    }
  });

  it("refuses bincode without a schema with Unsupported (415)", () => {
    expect(() => decode(Format.Bincode, new Uint8Array(), undefined)).toThrowError(/bincode needs/);
  });
});

describe("json and msgpack", () => {
  it("transcodes json to msgpack and back, bytes fields as msgpack bin", () => {
    const json = encode(Format.Json, { url: "x", body: [104, 105] });
    const mp = transcode({ format: Format.Json, data: json }, Format.Msgpack, fetchReq);
    const unpacked = unpack(mp.data as Buffer) as { body: Uint8Array };
    expect(unpacked.body).toBeInstanceOf(Uint8Array);
    expect([...unpacked.body]).toEqual([104, 105]);
    const back = transcode(mp, Format.Json, fetchReq);
    expect(JSON.parse(new TextDecoder().decode(back.data))).toEqual({ url: "x", body: [104, 105] });
  });

  it("keeps big integers' digits through JSON", () => {
    const text = '{"duration_ms":340282366920938463463374607431768211455}';
    const value = decode(Format.Json, new TextEncoder().encode(text), sleep);
    expect(value).toEqual({ duration_ms: 2n ** 128n - 1n });
    expect(new TextDecoder().decode(encode(Format.Json, value))).toBe(text);
  });

  it("decodes msgpack made by another encoder", () => {
    expect(decode(Format.Msgpack, pack({ a: [1, "b", null] }))).toEqual({ a: [1, "b", null] });
  });

  it("reports malformed payloads as DeserializationFailed", () => {
    expect(() => decode(Format.Json, new TextEncoder().encode("{"))).toThrowError(/malformed json/);
    expect(() => decode(Format.Msgpack, new Uint8Array([0x92, 0x01]))).toThrowError(/malformed msgpack/);
  });
});

describe("bincode lengths are held to the payload", () => {
  /** A u64 length, little-endian. */
  const len = (n: number) => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
    return [...b];
  };
  const refusal = /^malformed bincode payload: bincode: length past the end of input$/;

  it("a length of 2^32 or 2^64 - 1 is refused before anything is allocated", () => {
    for (const schema of ["bytes", "string", { seq: "u8" }, { seq: "unit" }, { map: ["unit", "unit"] }] as Schema[]) {
      expect(() => decode(Format.Bincode, new Uint8Array(len(2 ** 32)), schema)).toThrow(refusal);
      expect(() => decode(Format.Bincode, new Uint8Array([255, 255, 255, 255, 255, 255, 255, 255]), schema)).toThrow(refusal);
    }
  });

  it("elements that take no bytes (unit, an empty struct or tuple) are held to 65,536 in all, not 65,536 per sequence", () => {
    // two sequences of 65,536 units inside one: each alone is within the allowance
    const nested = new Uint8Array([...len(2), ...len(65536), ...len(65536)]);
    expect(() => decode(Format.Bincode, nested, { seq: { seq: "unit" } })).toThrow(refusal);
    expect(() => decode(Format.Bincode, nested, { seq: { seq: { struct: {} } } })).toThrow(refusal);
    // 128 KiB of such lengths (far inside requestBytes) would announce 2^30 units
    const flood = new Uint8Array([...len(16384), ...Array.from({ length: 16384 }, () => len(65536)).flat()]);
    expect(() => decode(Format.Bincode, flood, { seq: { tuple: [{ seq: "unit" }] } })).toThrow(refusal);
    // within the allowance they are read
    expect((decode(Format.Bincode, new Uint8Array([...len(2), ...len(30000), ...len(30000)]), { seq: { seq: "unit" } }) as unknown[][]).map((s) => s.length)).toEqual([30000, 30000]);
  });

  it("a payload's own lengths, however many, are read: a sequence of 10,000 strings", () => {
    const strings = Array.from({ length: 10_000 }, (_, i) => `s${i}`);
    expect(decode(Format.Bincode, encode(Format.Bincode, strings, { seq: "string" }), { seq: "string" })).toEqual(strings);
    const nested = Array.from({ length: 3000 }, () => [1, 2]);
    expect(decode(Format.Bincode, encode(Format.Bincode, nested, { seq: { seq: "u8" } }), { seq: { seq: "u8" } })).toEqual(nested);
  });
});

describe("bincode maps keep every key", () => {
  it('"__proto__" is a key like any other: kept, transcoded, and no object inherits from its value', () => {
    const schema: Schema = { map: ["string", { struct: { x: "u8" } }] };
    const scalar: Schema = { map: ["string", "u8"] };
    // encoded from a Map: an object literal's "__proto__" would set its prototype
    const data = encode(Format.Bincode, new Map([["__proto__", { x: 1 }], ["a", { x: 2 }]]), schema);
    const value = decode(Format.Bincode, data, schema) as Record<string, unknown>;
    expect(Object.keys(value)).toEqual(["__proto__", "a"]);
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(new TextDecoder().decode(transcode({ format: Format.Bincode, data }, Format.Json, schema).data)).toBe('{"__proto__":{"x":1},"a":{"x":2}}');
    const n = decode(Format.Bincode, encode(Format.Bincode, new Map([["__proto__", 5]]), scalar), scalar);
    expect(Object.keys(n as object)).toEqual(["__proto__"]);
  });
});

describe("bincode's refusals are short, whatever they refuse", () => {
  it("names the value in at most 80 characters, bigints and all, instead of writing all of it", () => {
    const big = Array.from({ length: 200_000 }, (_, i) => i);
    const message = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error("nothing thrown");
    };
    const array = message(() => encode(Format.Bincode, big, "string"));
    expect(array).toMatch(/^cannot encode as bincode: bincode: \$: expected string, got \[0,1,2,3,.{0,80}$/);
    expect(message(() => encode(Format.Bincode, "x".repeat(1_000_000), "u8")).length).toBeLessThan(150);
    expect(message(() => encode(Format.Bincode, [1n, 2n ** 70n], { struct: {} }))).toBe("cannot encode as bincode: bincode: $: expected object, got [1,1180591620717411303424]");
    expect(message(() => encode(Format.Bincode, { a: 1 }, "u8"))).toBe('cannot encode as bincode: bincode: $: expected u8, got {"a":1}');
  });
});

describe("bincode's reader names where a fault is", () => {
  const u64 = (n: number) => [n, 0, 0, 0, 0, 0, 0, 0];
  const u32 = (n: number) => [n, 0, 0, 0];
  const refusal = (schema: Schema, bytes: number[]) => {
    try {
      decode(Format.Bincode, Uint8Array.from(bytes), schema);
    } catch (err) {
      expect(err).toBeInstanceOf(BusError);
      return (err as BusError).message;
    }
    throw new Error("nothing thrown");
  };
  const malformed = (rest: string) => `malformed bincode payload: bincode: ${rest}`;

  it("by field, index, map key and variant, down to the value that is wrong", () => {
    const pixels: Schema = { struct: { w: "u8", items: { seq: { struct: { v: "bool" } } } } };
    expect(refusal(pixels, [3, ...u64(3), 1, 0, 7])).toBe(malformed("$.items[2].v: invalid bool 7"));
    expect(refusal({ map: ["string", { option: "bool" }] }, [...u64(2), ...u64(1), 97, 0, ...u64(2), 97, 98, 5])).toBe(malformed("$.ab: invalid option tag 5"));
    expect(refusal({ map: ["bool", "u8"] }, [...u64(1), 2, 0])).toBe(malformed("$.<key>: invalid bool 2"));
    const tagged: Schema = { tuple: ["u8", { enum: { A: null, B: { seq: { option: "bool" } } } }] };
    expect(refusal(tagged, [0, ...u32(1), ...u64(2), 0, 1, 9])).toBe(malformed("$[1].B[1]: invalid bool 9"));
    expect(refusal(tagged, [0, ...u32(5)])).toBe(malformed("$[1]: invalid enum tag 5"));
    expect(refusal("bool", [3])).toBe(malformed("$: invalid bool 3"));
  });

  it("and faults that have no place keep their messages", () => {
    expect(refusal({ seq: { struct: { v: "u16" } } }, [...u64(2), 1, 0, 2])).toBe(malformed("unexpected end of input"));
    expect(refusal({ seq: "u8" }, [0, 0, 0, 0, 0, 0, 1, 0])).toBe(malformed("length past the end of input"));
    expect(refusal({ struct: { v: "u8" } }, [1, 2])).toBe(malformed("1 trailing bytes"));
  });
});

describe("bincode's writer names where a fault is", () => {
  const refusal = (value: unknown, schema: Schema) => {
    try {
      encode(Format.Bincode, value, schema);
    } catch (err) {
      expect(err).toBeInstanceOf(BusError);
      return (err as BusError).message;
    }
    throw new Error("nothing thrown");
  };
  const refused = (rest: string) => `cannot encode as bincode: bincode: ${rest}`;

  it("by field, index, map key and variant, down to the value that is wrong", () => {
    const pixels: Schema = { struct: { w: "u8", items: { seq: { struct: { v: "u8" } } } } };
    expect(refusal({ w: 1, items: [{ v: 1 }, { v: 2 }, { v: 256 }] }, pixels)).toBe(refused("$.items[2].v: expected u8, got 256"));
    expect(refusal({ w: "x", items: [] }, pixels)).toBe(refused("$.w: expected u8, got x"));
    expect(refusal({ w: 1, items: [{ v: 1 }, 7] }, pixels)).toBe(refused("$.items[1]: expected object, got 7"));
    expect(refusal({ a: true, ab: 5 }, { map: ["string", { option: "bool" }] })).toBe(refused("$.ab: expected bool, got 5"));
    expect(refusal(new Map([[1, 2]]), { map: ["string", "u8"] })).toBe(refused("$.<key>: expected string, got 1"));
    const tagged: Schema = { tuple: ["u8", { enum: { A: null, B: { seq: { option: "bytes" } } } }] };
    expect(refusal([0, { B: [null, "x", 9] }], tagged)).toBe(refused("$[1].B[2]: expected bytes, got 9"));
    expect(refusal([0, "C"], tagged)).toBe(refused("$[1]: expected one of A, B, got C"));
    expect(refusal([0], tagged)).toBe(refused("$: expected tuple of 2, got [0]"));
    expect(refusal([-1, "A"], tagged)).toBe(refused("$[0]: expected u8, got -1"));
    expect(refusal({ x: [1.5] }, { struct: { x: { seq: "i64" } } })).toBe(refused("$.x[0]: expected i64, got 1.5"));
    expect(refusal({ x: [2n ** 64n] }, { struct: { x: { seq: "u64" } } })).toBe(refused("$.x[0]: expected u64, got 18446744073709551616"));
    expect(refusal({ x: ["1"] }, { struct: { x: { seq: "f32" } } })).toBe(refused("$.x[0]: expected f32, got 1"));
  });

  it("and writes integers at both ends of each type, from numbers, bigints and digits", () => {
    const schema: Schema = { tuple: ["u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64", "u128", "i128"] };
    const value = [255, -128, 65535, -32768, 2 ** 32 - 1, -(2 ** 31), 2n ** 64n - 1n, -(2n ** 63n), "340282366920938463463374607431768211455", -(2n ** 127n)];
    const bytes = encode(Format.Bincode, value, schema);
    expect(Array.from(bytes)).toEqual([255, 128, 255, 255, 0, 128, 255, 255, 255, 255, 0, 0, 0, 128, ...Array(8).fill(255), ...Array(7).fill(0), 128, ...Array(16).fill(255), ...Array(15).fill(0), 128]);
    for (const [v, s] of [[256, "u8"], [-129, "i8"], [65536, "u16"], [2 ** 31, "i32"], [-1, "u32"], [2n ** 63n, "i64"]] as const) {
      expect(refusal(v, s)).toBe(refused(`$: expected ${s}, got ${v}`));
    }
  });
});

describe("bincode integers up to 32 bits", () => {
  it("read back as the numbers written, at both ends of each type", () => {
    const schema: Schema = { tuple: ["u8", "u8", "i8", "i8", "u16", "u16", "i16", "i16", "u32", "u32", "i32", "i32"] };
    const value = [0, 255, -128, 127, 0, 65535, -32768, 32767, 0, 2 ** 32 - 1, -(2 ** 31), 2 ** 31 - 1];
    const bytes = encode(Format.Bincode, value, schema);
    expect(bytes.length).toBe(2 + 2 + 4 + 4 + 8 + 8);
    expect(decode(Format.Bincode, bytes, schema)).toEqual(value);
  });
});

describe("bytes inside a map or an enum", () => {
  const map: Schema = { map: ["string", "bytes"] };
  const variant: Schema = { enum: { Data: "bytes", Empty: null } };
  const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

  it("are bytes as a struct's are, from short JSON and long (read by whole blocks) alike", () => {
    for (const n of [2, 700]) {
      const bytes = new Array(n).fill(7);
      const m = decode(Format.Json, json({ a: bytes, __proto__x: bytes }), map) as Record<string, unknown>;
      expect(m.a).toBeInstanceOf(Uint8Array);
      expect([...(m.a as Uint8Array)]).toEqual(bytes);
      const e = decode(Format.Json, json({ Data: bytes }), variant) as Record<string, unknown>;
      expect(e.Data).toBeInstanceOf(Uint8Array);
      expect(decode(Format.Json, json("Empty"), variant)).toBe("Empty");
    }
  });

  it("go on to msgpack as bins, as a struct's do", () => {
    const m = unpack(transcode({ format: Format.Json, data: json({ a: [1, 2] }) }, Format.Msgpack, map).data);
    expect(m.a).toBeInstanceOf(Uint8Array);
    const e = unpack(transcode({ format: Format.Json, data: json({ Data: [1, 2] }) }, Format.Msgpack, variant).data);
    expect(e.Data).toBeInstanceOf(Uint8Array);
  });

  it("keep a map key named __proto__ as a key", () => {
    const text = new TextEncoder().encode('{"__proto__":[1,2],"b":[3]}');
    const m = decode(Format.Json, text, map) as Record<string, unknown>;
    expect(Object.getPrototypeOf(m)).toBe(Object.prototype);
    expect(Object.keys(m)).toEqual(["__proto__", "b"]);
    expect(m.__proto__).toBeInstanceOf(Uint8Array);
  });

  it("count against the container budget when msgpack strs become them", () => {
    // 400 empty strs (a byte each) read as bytes: a bin's 3 each, over a 1,000-byte limit's budget.
    const strs = pack({ a: new Array(400).fill("") });
    expect(strs.length).toBeLessThan(1000);
    expect(() => decode(Format.Msgpack, strs, { map: ["string", { seq: "bytes" }] }, 1000)).toThrowError(/budget/);
    expect(decode(Format.Msgpack, strs, { map: ["string", { seq: "string" }] }, 1000)).toEqual({ a: new Array(400).fill("") });
  });
});

describe("an integer past 64 bits", () => {
  it("is refused as msgpack in the bus's words, not msgpackr's options", () => {
    const wide = 2n ** 70n;
    const err = (() => {
      try {
        encode(Format.Msgpack, { n: wide });
      } catch (e) {
        return e as BusError;
      }
    })();
    expect(err).toBeInstanceOf(BusError);
    expect(err?.message).toBe(`cannot encode as msgpack: the integer ${wide} is past 64 bits, which a msgpack integer cannot hold (a u128 or i128 that large travels in msgpack where the topic declares its type, as rmp-serde's 16-byte bin, and in JSON or bincode)`);
    // It travels in JSON and bincode as it is.
    const json = transcode({ format: Format.Json, data: new TextEncoder().encode(`{"n":${wide}}`) }, Format.Bincode, { struct: { n: "u128" } });
    expect(decode(Format.Bincode, json.data, { struct: { n: "u128" } })).toEqual({ n: wide });
  });
});

describe("a struct field named as a prototype's property", () => {
  // `k in out` found "constructor" and "toString" on Object.prototype: a request without such a
  // field, to a struct that names bytes, was refused ("expected bytes, got function Object()").
  // as a manifest gives it (TypeScript will not type an object literal's toString as a Schema)
  const S = JSON.parse('{"struct":{"constructor":{"option":"bytes"},"toString":{"option":"u8"},"c":"u8"}}') as Schema;

  it("is absent where the request leaves it out, and read where it gives it, in JSON and msgpack", () => {
    expect(decode(Format.Json, new TextEncoder().encode('{"c":1}'), S)).toEqual({ c: 1 });
    expect(decode(Format.Msgpack, pack({ c: 1 }), S)).toEqual({ c: 1 });
    expect(decode(Format.Json, new TextEncoder().encode('{"c":1,"constructor":[1,2]}'), S)).toEqual({ c: 1, constructor: new Uint8Array([1, 2]) });
    expect(decode(Format.Msgpack, pack({ c: 1, toString: 3 }), S)).toEqual({ c: 1, toString: 3 });
  });
});

describe("a struct field named as a prototype's property, written as bincode", () => {
  // value[name] read Object.prototype.constructor for a value that left the field out: an Option
  // written as Some(function), refused ("expected bytes"), where None was meant.
  const S = JSON.parse('{"struct":{"constructor":{"option":"bytes"},"c":"u8"}}') as Schema;

  it("is None where the value leaves it out", () => {
    const out = transcode({ format: Format.Json, data: new TextEncoder().encode('{"c":1}') }, Format.Bincode, S);
    expect([...out.data]).toEqual([0, 1]);
    expect(decode(Format.Bincode, out.data, S)).toEqual({ constructor: null, c: 1 });
  });
});
