/**
 * The host's codecs against what the Rust SDK's serde codecs do at their edges, byte for byte
 * (u128, -0, a key twice, a whole float at an integer, bin keys, integer keys, u128 keys,
 * integers past 32 bits, an integer key at a struct, a variant holding ()): the same bytes are held to rmp-serde, serde_json and bincode in
 * sdk/rust/wasm-bus/tests/serde_edges.rs (cargo test), so both sides are checked against the real
 * crates, not against a memory of them.
 */
import { describe, expect, it } from "vitest";
import { Format } from "../../src/abi.js";
import { jsonDuplicates } from "../../src/codec/duplicates.js";
import { checkRequest } from "../../src/codec/request-check.js";
import { decode, encode, transcode } from "../../src/codec/index.js";
import type { Schema } from "../../src/codec/schema.js";
import { BusError } from "../../src/errors.js";
import { thrown } from "./thrown.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const unhex = (s: string) => new Uint8Array(Buffer.from(s, "hex"));
const utf8 = new TextEncoder();
const text = new TextDecoder();
/** `{"v": x}` as msgpack: fixmap 1, fixstr "v", then x. */
const v = (x: string) => unhex(`81a176${x}`);
const json = (s: string) => ({ format: Format.Json, data: utf8.encode(s) });
const msgpack = (x: string) => ({ format: Format.Msgpack, data: v(x) });

describe("u128 and i128 in msgpack, as rmp-serde 1.3 has them", () => {
  const U: Schema = { struct: { v: "u128" } };
  const I: Schema = { struct: { v: "i128" } };
  // rmp-serde's bytes for each (serde_edges.rs: msgpack_writes_every_u128_and_i128_as_a_16_byte_bin_big_endian)
  const unsigned: [bigint, string][] = [
    [5n, "c41000000000000000000000000000000005"],
    [2n ** 64n - 1n, "c4100000000000000000ffffffffffffffff"],
    [2n ** 64n, "c41000000000000000010000000000000000"],
    [2n ** 128n - 1n, "c410ffffffffffffffffffffffffffffffff"],
  ];
  const signed: [bigint, string][] = [
    [-1n, "c410ffffffffffffffffffffffffffffffff"],
    [-(2n ** 63n) - 1n, "c410ffffffffffffffff7fffffffffffffff"],
    [-(2n ** 127n), "c41080000000000000000000000000000000"],
    [2n ** 127n - 1n, "c4107fffffffffffffffffffffffffffffff"],
  ];

  it("reads rmp-serde's 16-byte bin as the integer, and transcodes it to JSON's digits", () => {
    for (const [schema, cases] of [[U, unsigned], [I, signed]] as const) {
      for (const [n, bin] of cases) {
        const got = decode(Format.Msgpack, v(bin), schema) as { v: number | bigint };
        expect(BigInt(got.v)).toBe(n);
        expect(text.decode(transcode(msgpack(bin), Format.Json, schema).data)).toBe(`{"v":${n}}`);
        // the edge check takes it (it refused "expected an integer (u128), got bytes")
        expect(() => checkRequest({ format: "msgpack", request: schema }, Format.Msgpack, v(bin), 1 << 20)).not.toThrow();
      }
    }
  });

  it("writes one past 64 bits as rmp-serde's bin, one that fits as the msgpack integer rmp-serde reads too", () => {
    for (const [schema, cases] of [[U, unsigned], [I, signed]] as const) {
      for (const [n, bin] of cases) {
        const out = transcode(json(`{"v":${n}}`), Format.Msgpack, schema).data;
        const fits = n >= -(2n ** 63n) && n < 2n ** 64n;
        // rmp-serde reads 05, cf ff.., d3 80.. (serde_edges.rs: msgpack_reads_a_u128_or_i128_from_any_integer...)
        if (fits) expect(hex(out)).not.toMatch(/^81a176c410/);
        else expect(hex(out)).toBe(`81a176${bin}`);
        expect(text.decode(transcode({ format: Format.Msgpack, data: out }, Format.Json, schema).data)).toBe(`{"v":${n}}`);
      }
    }
    expect(hex(encode(Format.Msgpack, { v: 5 }, U))).toBe("81a17605");
  });

  it("refuses a bin of another length at the edge, as rmp-serde does (LengthMismatch), naming the field", () => {
    const err = thrown(BusError, () => checkRequest({ format: "msgpack", request: U }, Format.Msgpack, v("c40105"), 1 << 20));
    expect(err.codeName).toBe("BadRequest");
    expect(err.message).toMatch(/request\.v: expected an integer \(u128\), got bytes/);
  });

  it("refuses a negative integer as a u128, where rmp-serde casts it (-1 as 2^128 - 1), as serde_json and bincode do", () => {
    const err = thrown(BusError, () => checkRequest({ format: "msgpack", request: U }, Format.Msgpack, v("ff"), 1 << 20));
    expect(err.codeName).toBe("BadRequest");
    expect(err.message).toBe("request.v: -1 is out of range for u128");
    expect(thrown(BusError, () => encode(Format.Msgpack, { v: -1 }, U)).message).toMatch(/-1 is out of range for u128/);
  });

  it("still refuses an integer past 64 bits where no type says u128", () => {
    const err = thrown(BusError, () => encode(Format.Msgpack, { v: 2n ** 70n }));
    expect(err.codeName).toBe("SerializationFailed");
    expect(err.message).toMatch(/past 64 bits/);
  });
});

describe("a float past 2^53 with no fraction, as serde_json writes one: a float", () => {
  it("writes it with an exponent, so that it reads back a float and msgpack takes it back, with no types known", () => {
    expect(text.decode(encode(Format.Json, { v: 1e20, w: [2 ** 60, -(2 ** 70)], s: 2 ** 53 - 1 }))).toBe('{"v":1e+20,"w":[1.152921504606847e+18,-1.1805916207174113e+21],"s":9007199254740991}');
    // msgpack's float 1e20 through JSON (a module whose topic is json) and back
    const there = transcode(msgpack("cb4415af1d78b58c40"), Format.Json);
    expect(text.decode(there.data)).toBe('{"v":1e+20}');
    expect(hex(transcode(there, Format.Msgpack).data)).toBe("81a176cb4415af1d78b58c40");
    // a u64 past 2^53 is a bigint, and keeps its digits
    expect(text.decode(encode(Format.Json, { v: 2n ** 60n }))).toBe('{"v":1152921504606846976}');
  });
});

describe("-0, as serde keeps an f32's or f64's sign", () => {
  const F: Schema = { struct: { v: "f64" } };
  const sign = (x: unknown) => Object.is((x as { v: number }).v, -0);

  it("writes -0 as serde_json does (\"-0.0\"), from msgpack and bincode", () => {
    expect(text.decode(encode(Format.Json, { v: -0 }))).toBe('{"v":-0.0}');
    expect(text.decode(transcode(msgpack("cb8000000000000000"), Format.Json, F).data)).toBe('{"v":-0.0}');
    expect(text.decode(transcode({ format: Format.Bincode, data: unhex("0000000000000080") }, Format.Json, F).data)).toBe('{"v":-0.0}');
    expect(text.decode(encode(Format.Json, [0, -0]))).toBe("[0,-0.0]");
  });

  it("writes -0 as msgpack's float -0.0 (cb 80..), as rmp-serde does, not the integer 0 (read as +0.0)", () => {
    for (const t of ['{"v":-0}', '{"v":-0.0}', '{"v":-0e3}', '{"v":-1e-400}']) {
      expect(hex(transcode(json(t), Format.Msgpack, F).data)).toBe("81a176cb8000000000000000");
      expect(hex(transcode(json(t), Format.Msgpack).data)).toBe("81a176cb8000000000000000");
    }
    expect(hex(transcode({ format: Format.Bincode, data: unhex("0000000000000080") }, Format.Msgpack, F).data)).toBe("81a176cb8000000000000000");
    expect(hex(encode(Format.Msgpack, { v: 0 }))).toBe("81a17600");
    expect(sign(decode(Format.Msgpack, encode(Format.Msgpack, { v: -0 })))).toBe(true);
    // the caller's value is left as it was
    const mine = { v: -0, w: [1, -0] };
    encode(Format.Msgpack, mine);
    expect(Object.is(mine.v, -0) && Object.is(mine.w[1], -0)).toBe(true);
  });

  it("walks a value for -0 only where its types hold a float: inside an option, a map's value or an enum too", () => {
    const deep: Schema = { map: ["string", { enum: { A: { option: { seq: "f32" } }, B: null } }] };
    expect(hex(encode(Format.Msgpack, { k: { A: [-0] } }, deep))).toBe("81a16b81a14191cb8000000000000000");
    // no float in the types: an integer refuses -0 (validate), so the value is packed as it is
    expect(hex(encode(Format.Msgpack, { v: -0 }, { struct: { v: "i64" } }))).toBe("81a17600");
  });

  it("refuses -0 at an integer field at the edge, as serde_json and rmp-serde refuse the float -0.0 there", () => {
    const I: Schema = { struct: { v: "i64" } };
    for (const [format, data] of [[Format.Json, utf8.encode('{"v":-0}')], [Format.Msgpack, v("cb8000000000000000")]] as const) {
      const err = thrown(BusError, () => checkRequest({ format: "json", request: I }, format, data, 1 << 20));
      expect(err.codeName).toBe("BadRequest");
      expect(err.message).toBe("request.v: expected an integer (i64), got the float -0");
    }
    expect(() => checkRequest({ format: "json", request: I }, Format.Json, utf8.encode('{"v":0}'), 1 << 20)).not.toThrow();
  });
});

describe("a key twice, as serde_json and rmp-serde have it", () => {
  const Pair: Schema = { struct: { a: "u8", b: { option: "u8" } } };
  const spec = (request: Schema) => ({ format: "json" as const, request });
  const check = (request: Schema, format: number, data: Uint8Array) => () => checkRequest(spec(request), format, data, 1 << 20);
  // the msgpack of each JSON text, its keys in the same order (serde_edges.rs has the same bytes)
  const cases: [string, string][] = [
    ['{"a":1,"a":2}', "82a16101a16102"],
    ['{"a":1,"b":2,"b":null}', "83a16101a16202a162c0"],
  ];

  it("refuses a struct's field twice at the edge with BadRequest naming it, in JSON and msgpack", () => {
    for (const [t, mp] of cases) {
      for (const [format, data] of [[Format.Json, utf8.encode(t)], [Format.Msgpack, unhex(mp)]] as const) {
        const err = thrown(BusError, check(Pair, format, data));
        expect(err.codeName).toBe("BadRequest");
        expect(err.message).toMatch(/^request: duplicate field [ab]$/);
      }
    }
  });

  it("names the place of one deep in the request", () => {
    const deep: Schema = { struct: { items: { seq: { map: ["string", Pair] } } } };
    const t = '{"items":[{"x":{"a":1}},{"y":{"a":1},"z":{"a":1,"b":null,"a":3}}]}';
    expect(thrown(BusError, check(deep, Format.Json, utf8.encode(t))).message).toBe("request.items[1].z: duplicate field a");
    // the same as msgpack: {"items":[{"x":{"a":1}},{"y":{"a":1},"z":{"a":1,"b":nil,"a":3}}]}
    const mp = "81a56974656d739281a17881a1610182a17981a16101a17a83a16101a162c0a16103";
    expect(thrown(BusError, check(deep, Format.Msgpack, unhex(mp))).message).toBe("request.items[1].z: duplicate field a");
  });

  it("lets a field the struct does not declare come twice, and keeps a map's last value, as serde does", () => {
    for (const [format, data] of [[Format.Json, utf8.encode('{"a":1,"c":1,"c":2}')], [Format.Msgpack, unhex("83a16101a16301a16302")]] as const) {
      expect(check(Pair, format, data)).not.toThrow();
    }
    const M: Schema = { map: ["string", "u8"] };
    for (const [format, data] of [[Format.Json, utf8.encode('{"k":1,"k":2}')], [Format.Msgpack, unhex("82a16b01a16b02")]] as const) {
      expect(check(M, format, data)).not.toThrow();
      expect(decode(format, data, M)).toEqual({ k: 2 });
      const other = format === Format.Json ? Format.Msgpack : Format.Json;
      expect(decode(other, transcode({ format, data }, other, M).data, M)).toEqual({ k: 2 });
    }
  });

  it("tells a key that starts with U+FEFF from the key without it: \\ufeffa is a field the struct does not declare, not a twice", () => {
    // {"a":1,"\ufeffa":2,"c":1,"c":2}: "c" twice makes the scan run; serde takes it (c is undeclared).
    const t = '{"a":1,"\ufeffa":2,"c":1,"c":2}';
    for (const [format, data] of [[Format.Json, utf8.encode(t)], [Format.Msgpack, unhex("84a16101a4efbbbf6102a16301a16302")]] as const) {
      expect(check(Pair, format, data), String(format)).not.toThrow();
    }
  });

  it("refuses an enum's object with a key twice, as serde does", () => {
    const Shape: Schema = { enum: { Circle: "u8", Square: "u8" } };
    const err = thrown(BusError, check({ struct: { s: Shape } }, Format.Json, utf8.encode('{"s":{"Circle":1,"Circle":2}}')));
    expect(err.codeName).toBe("BadRequest");
    expect(err.message).toBe("request.s: expected one variant, got the key Circle twice");
  });

  it("is not fooled by colons in strings, escaped ones included, or by keys spelt apart", () => {
    // no key twice, many colons in strings
    const ok = '{"a":1,"b":":::","c":{"x:y":"\\u003a"}}';
    expect(check({ struct: { a: "u8", b: "string" } }, Format.Json, utf8.encode(ok))).not.toThrow();
    // "\u0061" is "a": the same key, spelt apart; its colon count is no help either ("\u003a")
    for (const t of ['{"a":1,"\\u0061":2}', '{"a":1,"s":"\\u003a","a":2}', '{"s":"q\\":","a":1,"a":2}', '{"s":"\\\\","a":1,"a":2}']) {
      expect(thrown(BusError, check({ struct: { a: "u8", s: { option: "string" } } }, Format.Json, utf8.encode(t))).message).toBe("request: duplicate field a");
    }
  });
});

describe("an array or bin where a struct is named", () => {
  // A struct of options given an array (JSON) or a bin (msgpack): made an object with keys "0",
  // "1"..., it passed validate, and its keys made up for a field given twice elsewhere, so the
  // count in duplicates.ts saw none.
  const S: Schema = { struct: { a: { option: { struct: { b: { option: "bytes" } } } }, c: "u8" } };
  const check = (format: number, data: Uint8Array) => () => checkRequest({ format: "json", request: S }, format, data, 1 << 20);

  it("is refused, and does not hide a field given twice", () => {
    for (const [format, data] of [
      [Format.Json, utf8.encode('{"a":[0],"c":1}')],
      [Format.Msgpack, unhex("82a161c40100a16301")],
    ] as const) {
      const err = thrown(BusError, check(format, data));
      expect(err.codeName).toBe("BadRequest");
      expect(err.message).toMatch(/^request\.a: expected an object/);
    }
    for (const [format, data] of [
      [Format.Json, utf8.encode('{"a":[0],"c":1,"c":2}')],
      [Format.Msgpack, unhex("83a161c40100a16301a16302")],
    ] as const) {
      expect(thrown(BusError, check(format, data)).codeName).toBe("BadRequest");
    }
  });
});

describe("a key repeated many times deep in a request", () => {
  // Each repeat kept its own path from the root: 170,000 repeats of one key 500 levels down, a
  // 1 MiB request (the default requestBytes), held 700 MB at the edge, past a Worker's 128 MB.
  it("costs the scan no path per repeat", async () => {
    const { setFlagsFromString } = await import("node:v8");
    const { runInNewContext } = await import("node:vm");
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const depth = 500;
    const t = '{"x":'.repeat(depth) + "{" + '"k":1,'.repeat(170_000) + '"k":1}' + "}".repeat(depth);
    const data = utf8.encode(t);
    expect(data.length).toBeLessThan(1 << 20);
    gc();
    const before = process.memoryUsage().heapUsed;
    const found = jsonDuplicates(data);
    gc();
    const held = process.memoryUsage().heapUsed - before;
    expect(found).toHaveLength(170_000);
    expect(found[0]!.path).toHaveLength(depth);
    expect(held).toBeLessThan(64 << 20);
    // the struct at the root does not declare x, so nothing is refused
    expect(() => checkRequest({ format: "json", request: { struct: { a: { option: "u8" } } } }, Format.Json, data, 1 << 20)).not.toThrow();
  });
});

describe("a whole float where an integer is declared, as serde_json and rmp-serde refuse it", () => {
  // serde_edges.rs: json_refuses_a_whole_float_at_an_integer_field_however_it_is_spelt,
  // msgpack_refuses_a_whole_float_f32_or_f64_at_an_integer_field. JSON.parse and msgpackr read
  // each as the number 1 (or 0, -1, 100), which validate alone took as the integer.
  const INTS = ["u8", "u16", "u32", "u64", "u128", "i8", "i16", "i32", "i64", "i128"] as const;
  const check = (request: Schema, format: number, data: Uint8Array) => () => checkRequest({ format: "json", request }, format, data, 1 << 20);
  const floats = ["1.0", "1e0", "1E0", "1.0e0", "10e-1", "0.1e1", "0.0", "1e2"];
  // f64 1.0, f32 1.0, f64 0.0, f64 100.0 (and their texts, as the refusal spells them)
  const msgpackFloats: [string, string][] = [["cb3ff0000000000000", "1.0"], ["ca3f800000", "1.0"], ["cb0000000000000000", "0.0"], ["cb4059000000000000", "100.0"]];

  it("refuses JSON's 1.0, 1e0, 10e-1 ... at every integer type, with BadRequest naming the field and the text", () => {
    for (const int of INTS) {
      const S: Schema = { struct: { v: int } };
      for (const n of floats) {
        const err = thrown(BusError, check(S, Format.Json, utf8.encode(`{"v":${n}}`)));
        expect(err.codeName).toBe("BadRequest");
        expect(err.message).toBe(`request.v: expected an integer (${int}), got the float ${n}`);
      }
      if (!int.startsWith("u")) expect(thrown(BusError, check(S, Format.Json, utf8.encode('{"v":-1.0}'))).message).toMatch(/got the float -1\.0$/);
      expect(check(S, Format.Json, utf8.encode('{"v":1}'))).not.toThrow();
    }
  });

  it("refuses msgpack's f32 or f64 holding a whole number at every integer type", () => {
    for (const int of INTS) {
      for (const [float, said] of msgpackFloats) {
        const err = thrown(BusError, check({ struct: { v: int } }, Format.Msgpack, v(float)));
        expect(err.codeName).toBe("BadRequest");
        expect(err.message).toBe(`request.v: expected an integer (${int}), got the float ${said}`);
      }
      expect(check({ struct: { v: int } }, Format.Msgpack, v("01"))).not.toThrow();
    }
  });

  it("takes a whole float at a float field, and a float's spelling inside a string", () => {
    const S: Schema = { struct: { n: "u32", x: "f64", y: { option: "f32" }, s: { option: "string" } } };
    expect(check(S, Format.Json, utf8.encode('{"n":1,"x":1.0,"y":2e0,"s":"v1.0 at 127.0.0.1, 2e3"}'))).not.toThrow();
    // {"n":1,"x":f64 1.0,"y":f32 2.0}
    expect(check(S, Format.Msgpack, unhex("83a16e01a178cb3ff0000000000000a179ca40000000"))).not.toThrow();
  });

  it("finds one deep in the request: a seq's element, a map's value or key, an enum's variant, under options", () => {
    const S: Schema = {
      struct: {
        a: { option: { seq: "i64" } },
        m: { option: { map: ["u32", { option: "u8" }] } },
        e: { option: { enum: { C: "u16", U: null } } },
      },
    };
    const json: [string, string][] = [
      ['{"a":[1,2E1]}', "request.a[1]: expected an integer (i64), got the float 2E1"],
      ['{"m":{"7":2.0}}', "request.m.7: expected an integer (u8), got the float 2.0"],
      ['{"e":{"C":3.0}}', "request.e.C: expected an integer (u16), got the float 3.0"],
    ];
    for (const [t, said] of json) expect(thrown(BusError, check(S, Format.Json, utf8.encode(t))).message).toBe(said);
    const msgpack: [string, string][] = [
      // {"a":[1, f64 2.0]}
      ["81a1619201cb4000000000000000", "request.a[1]: expected an integer (i64), got the float 2.0"],
      // {"m":{7: f64 2.0}}
      ["81a16d8107cb4000000000000000", "request.m.7: expected an integer (u8), got the float 2.0"],
      // {"m":{f64 1.0: 1}}: a float key where the key is a u32 (rmp-serde refuses it too)
      ["81a16d81cb3ff000000000000001", "request.m key: expected an integer (u32), got the float 1.0"],
      // {"e":{"C": f32 3.0}}
      ["81a16581a143ca40400000", "request.e.C: expected an integer (u16), got the float 3.0"],
    ];
    for (const [mp, said] of msgpack) expect(thrown(BusError, check(S, Format.Msgpack, unhex(mp))).message).toBe(said);
  });

  it("finds one in bytes given as an array, whose elements serde reads as u8", () => {
    const S: Schema = { struct: { b: { option: "bytes" } } };
    expect(thrown(BusError, check(S, Format.Json, utf8.encode('{"b":[1,2.0]}'))).message).toBe("request.b[1]: expected an integer (u8), got the float 2.0");
    // {"b":[1, f64 2.0]}
    expect(thrown(BusError, check(S, Format.Msgpack, unhex("81a1629201cb4000000000000000"))).message).toBe("request.b[1]: expected an integer (u8), got the float 2.0");
    expect(check(S, Format.Json, utf8.encode('{"b":[1,2]}'))).not.toThrow();
  });
});

describe("a bin key in msgpack, read by rmp-serde as its bytes", () => {
  // serde_edges.rs: msgpack_reads_a_bin_key_as_its_bytes_a_structs_field_and_a_string_keys_text
  const Pair: Schema = { struct: { a: "u8", b: { option: "u8" } } };
  const check = (request: Schema, data: Uint8Array) => () => checkRequest({ format: "msgpack", request }, Format.Msgpack, data, 1 << 20);
  /** "__proto__": 0, which made the host read the payload's maps as Maps, and a bin key the digits of its bytes. */
  const proto = "a95f5f70726f746f5f5f00";

  it("is the field its bytes spell: {bin a: 1} is {a: 1}, to the edge and through JSON", () => {
    expect(decode(Format.Msgpack, unhex("81c4016101"), Pair)).toEqual({ a: 1 });
    expect(check(Pair, unhex("81c4016101"))).not.toThrow();
    expect(text.decode(transcode({ format: Format.Msgpack, data: unhex("81c4016101") }, Format.Json, Pair).data)).toBe('{"a":1}');
    expect(decode(Format.Msgpack, unhex(`82${proto}c4016101`), Pair)).toEqual({ ["__proto__"]: 0, a: 1 });
  });

  it("gives the field twice with a str key of the same text, refused as rmp-serde refuses it", () => {
    for (const mp of ["82a16101c4016102", "82c4016101a16102", `83${proto}a16101c4016102`]) {
      const err = thrown(BusError, check(Pair, unhex(mp)));
      expect(err.codeName).toBe("BadRequest");
      expect(err.message).toBe("request: duplicate field a");
    }
  });

  it("is a String key's text, the last value kept, as in a map of str keys", () => {
    const M: Schema = { map: ["string", "u8"] };
    expect(check(M, unhex("82a16b01c4016b02"))).not.toThrow();
    expect(decode(Format.Msgpack, unhex("82a16b01c4016b02"), M)).toEqual({ k: 2 });
  });

  it("is refused where its bytes are no UTF-8 text, in the bus's words", () => {
    for (const mp of ["81c401ff01", `82${proto}c401ff01`]) {
      const err = thrown(BusError, check(Pair, unhex(mp)));
      expect(err.codeName).toBe("DeserializationFailed");
      expect(err.message).toBe("malformed msgpack payload: a map's key is a bin that is not UTF-8 text");
    }
  });
});

describe("integer map keys: msgpack integers, as rmp-serde writes and reads them; JSON's digits in strings", () => {
  // serde_edges.rs: integer_map_keys_are_integers_in_msgpack_and_digits_in_strings_in_json
  const M: Schema = { map: ["i32", "u8"] };
  const check = (format: number, data: Uint8Array) => () => checkRequest({ format: "json", request: M }, format, data, 1 << 20);

  it("writes a JSON caller's digits as msgpack integers, which rmp-serde reads (it refuses a str key)", () => {
    // rmp-serde writes 82 fe 03 01 05 (sorted); the host writes the object's order, which rmp-serde reads alike
    expect(hex(transcode(json('{"1":5,"-2":3}'), Format.Msgpack, M).data)).toBe("820105fe03");
    expect(hex(transcode({ format: Format.Bincode, data: unhex("0200000000000000feffffff030100000005") }, Format.Msgpack, M).data)).toBe("820105fe03");
    // deep, under an option and a seq, and a u64 past 2^53 as msgpack's u64
    const S: Schema = { struct: { m: { option: { seq: { map: ["u64", "string"] } } } } };
    const value = { m: [{ "18446744073709551615": "x", "7": "y" }] };
    expect(hex(encode(Format.Msgpack, value, S))).toBe("81a16d918207a179cfffffffffffffffffa178");
    // the caller's value is left as it was
    expect(Object.keys(value.m[0]!)).toEqual(["7", "18446744073709551615"]);
    // no types: the keys stay strs, as they always were
    expect(hex(encode(Format.Msgpack, { 1: 5 }))).toBe("81a13105");
  });

  it("reads rmp-serde's integer keys as JSON's digits", () => {
    expect(text.decode(transcode({ format: Format.Msgpack, data: unhex("82fe030105") }, Format.Json, M).data)).toBe('{"1":5,"-2":3}');
    expect(check(Format.Msgpack, unhex("82fe030105"))).not.toThrow();
  });

  it("refuses a JSON key serde_json's number grammar does not read (01, +1, -0, 1.0), takes 0 and -2", () => {
    for (const key of ["01", "+1", " 1", "1.0", "1e0", "-0", "-01", "", "x"]) {
      const err = thrown(BusError, check(Format.Json, utf8.encode(`{"${key}":5}`)));
      expect(err.codeName).toBe("BadRequest");
      expect(err.message).toMatch(/^request key: expected an integer \(i32\), got a string/);
    }
    expect(check(Format.Json, utf8.encode('{"0":5,"-2":3}'))).not.toThrow();
  });
});

describe("a whole number past 32 bits written as msgpack: an integer, as rmp-serde writes it", () => {
  // serde_edges.rs: msgpack_writes_an_integer_past_32_bits_as_one_and_a_float_reads_it. msgpackr
  // wrote any number past int32 and uint32 as an f64 (cb 41 f0 00..), which rmp-serde refuses at
  // a u64 or i64, so a JSON caller's {"v":4294967296} reached a msgpack Rust module as a float.
  const U: Schema = { struct: { v: "u64" } };
  const I: Schema = { struct: { v: "i64" } };

  it("writes cf or d3 where msgpackr wrote cb, from a value, from JSON and from bincode", () => {
    expect(hex(encode(Format.Msgpack, { v: 2 ** 32 }, U))).toBe("81a176cf0000000100000000");
    expect(hex(encode(Format.Msgpack, { v: -(2 ** 31) - 1 }, I))).toBe("81a176d3ffffffff7fffffff");
    expect(hex(transcode(json('{"v":4294967296}'), Format.Msgpack, U).data)).toBe("81a176cf0000000100000000");
    expect(hex(transcode({ format: Format.Bincode, data: unhex("0000000001000000") }, Format.Msgpack, U).data)).toBe("81a176cf0000000100000000");
    // the largest safe integer, in an array, with no types
    expect(hex(encode(Format.Msgpack, [2 ** 53 - 1, -(2 ** 53 - 1)]))).toBe("92cf001fffffffffffffd3ffe0000000000001");
    // and what it wrote, the edge takes (it refused msgpackr's f64 as a whole float)
    const out = transcode(json('{"v":4294967296}'), Format.Msgpack, U).data;
    expect(() => checkRequest({ format: "msgpack", request: U }, Format.Msgpack, out, 1 << 20)).not.toThrow();
  });

  it("leaves a float a float: a fraction, -0, past 2^53, and the bytes of one inside a bin", () => {
    expect(hex(encode(Format.Msgpack, { v: 4294967296.5 }))).toBe("81a176cb41f0000000080000");
    expect(hex(encode(Format.Msgpack, { v: -0 }))).toBe("81a176cb8000000000000000");
    expect(hex(encode(Format.Msgpack, { v: 2 ** 53 }))).toBe("81a176cb4340000000000000");
    // the bytes of an f64 of 2^32 inside a bin are left as they are
    expect(hex(encode(Format.Msgpack, { b: unhex("cb41f0000000000000") }))).toBe("81a162c409cb41f0000000000000");
  });

  it("leaves a whole number where the types declare f32 or f64 a float, as rmp-serde writes an f64 (a JS caller reads a number there)", () => {
    const F: Schema = { struct: { v: "f64" } };
    expect(hex(encode(Format.Msgpack, { v: 2 ** 32 }, F))).toBe("81a176cb41f0000000000000");
    expect(hex(transcode(json('{"v":4294967296}'), Format.Msgpack, F).data)).toBe("81a176cb41f0000000000000");
    expect(decode(Format.Msgpack, encode(Format.Msgpack, { v: 2 ** 32 }, F), F)).toEqual({ v: 2 ** 32 });
    // after a fraction, which alone needs no walk with places
    expect(hex(encode(Format.Msgpack, { a: 0.5, v: 2 ** 32 }, { struct: { a: "f64", v: "f64" } }))).toBe("82a161cb3fe0000000000000a176cb41f0000000000000");
    // beside an integer, in a seq, under an option, and a field the types do not declare (no type: an integer)
    const M: Schema = { struct: { f: { option: { seq: "f64" } }, u: "u64" } };
    expect(hex(encode(Format.Msgpack, { f: [2 ** 32], u: 2 ** 32, x: 2 ** 32 }, M))).toBe(
      "83a16691cb41f0000000000000a175cf0000000100000000a178cf0000000100000000",
    );
  });
});

describe("u128 and i128 map keys in msgpack: rmp-serde's 16-byte bin, or any integer", () => {
  // serde_edges.rs: msgpack_writes_a_u128_or_i128_key_as_a_16_byte_bin_and_reads_that_or_any_integer.
  // The host read such a bin key as its text ("\u0000...\u0005" for 5) or refused it as no UTF-8
  // text, and wrote a JSON caller's "5" as a str key, which rmp-serde refuses.
  const U: Schema = { map: ["u128", "u8"] };
  const I: Schema = { map: ["i128", "u8"] };
  const MAX = "340282366920938463463374607431768211455";
  const MIN = "-170141183460469231731687303715884105728";
  const check = (request: Schema, format: number, data: Uint8Array) => () => checkRequest({ format: "msgpack", request }, format, data, 1 << 20);
  const mp = (x: string) => ({ format: Format.Msgpack, data: unhex(x) });
  // rmp-serde's bytes for {5: 1, u128::MAX: 2} and {i128::MIN: 3, -1: 1, 5: 2}
  const rmpU = "82c4100000000000000000000000000000000501c410ffffffffffffffffffffffffffffffff02";
  const rmpI = "83c4108000000000000000000000000000000003c410ffffffffffffffffffffffffffffffff01c4100000000000000000000000000000000502";

  it("reads rmp-serde's bin keys as the integers' digits, at the edge and into JSON", () => {
    expect(decode(Format.Msgpack, unhex(rmpU), U)).toEqual({ 5: 1, [MAX]: 2 });
    expect(text.decode(transcode(mp(rmpU), Format.Json, U).data)).toBe(`{"5":1,"${MAX}":2}`);
    expect(check(U, Format.Msgpack, unhex(rmpU))).not.toThrow();
    expect(text.decode(transcode(mp(rmpI), Format.Json, I).data)).toBe(`{"5":2,"${MIN}":3,"-1":1}`);
    expect(check(I, Format.Msgpack, unhex(rmpI))).not.toThrow();
    // deep: under a struct's option, in a seq
    const S: Schema = { struct: { m: { option: { seq: U } } } };
    expect(decode(Format.Msgpack, unhex(`81a16d91${rmpU}`), S)).toEqual({ m: [{ 5: 1, [MAX]: 2 }] });
    // and into bincode, the key's 16 bytes little-endian (serde_edges.rs: bincode's bytes of {5: 1})
    expect(hex(transcode(mp("81c4100000000000000000000000000000000501"), Format.Bincode, U).data)).toBe("01000000000000000500000000000000000000000000000001");
  });

  it("reads an integer key of any marker, as rmp-serde does", () => {
    for (const [key, n] of [["05", "5"], ["cc05", "5"], ["cf0000000000000005", "5"], ["d005", "5"], ["d38000000000000000", "-9223372036854775808"]] as const) {
      expect(decode(Format.Msgpack, unhex(`81${key}01`), I)).toEqual({ [n]: 1 });
      expect(check(I, Format.Msgpack, unhex(`81${key}01`))).not.toThrow();
    }
  });

  it("writes a key that fits 64 bits as the msgpack integer, one past as rmp-serde's bin, from JSON and bincode", () => {
    // rmp-serde reads both (serde_edges.rs)
    expect(hex(transcode(json(`{"5":2,"${MAX}":1}`), Format.Msgpack, U).data)).toBe("820502c410ffffffffffffffffffffffffffffffff01");
    expect(hex(transcode(json(`{"-1":1,"${MIN}":3,"5":2}`), Format.Msgpack, I).data)).toBe("830502ff01c4108000000000000000000000000000000003");
    expect(hex(transcode({ format: Format.Bincode, data: unhex("01000000000000000500000000000000000000000000000001") }, Format.Msgpack, U).data)).toBe("810501");
    // what it wrote reads back the same, at the edge too
    const out = transcode(json(`{"5":2,"${MAX}":1}`), Format.Msgpack, U).data;
    expect(check(U, Format.Msgpack, out)).not.toThrow();
    expect(text.decode(transcode({ format: Format.Msgpack, data: out }, Format.Json, U).data)).toBe(`{"5":2,"${MAX}":1}`);
  });

  it("refuses a key out of the type's range, -1 as a u128 among them (rmp-serde casts it), as serde_json does", () => {
    const err = thrown(BusError, check(U, Format.Json, utf8.encode('{"-1":1}')));
    expect(err.codeName).toBe("BadRequest");
    expect(err.message).toBe("request key: -1 is out of range for u128");
    expect(thrown(BusError, check(U, Format.Msgpack, unhex("81ff01"))).message).toBe("request key: -1 is out of range for u128");
    // from a reply, say: 2^128 (past u128::MAX) and -1
    for (const said of ["340282366920938463463374607431768211456", "-1"]) {
      const e = thrown(BusError, () => encode(Format.Msgpack, { [said]: 1 }, U));
      expect(e.codeName).toBe("SerializationFailed");
      expect(e.message).toBe(`cannot encode as msgpack: ${said} is out of range for u128`);
    }
  });

  it("refuses a bin key of another length, as rmp-serde does (LengthMismatch), where its text would be digits", () => {
    // {bin "5": 1}, {bin ff: 1}
    for (const [x, n] of [["81c4013501", 1], ["81c401ff01", 1], ["81c40f00000000000000000000000000000501", 15]] as const) {
      const err = thrown(BusError, check(U, Format.Msgpack, unhex(x)));
      expect(err.codeName).toBe("DeserializationFailed");
      expect(err.message).toBe(`malformed msgpack payload: a map's u128 key is a bin of ${n} bytes, where rmp-serde writes 16`);
    }
    // where no type says u128, a bin key is its text, as before
    expect(decode(Format.Msgpack, unhex("81c4013501"), { map: ["string", "u8"] })).toEqual({ 5: 1 });
  });
});

describe("an integer key at a struct: rmp-serde reads an unsigned one as the field's position; the host, as the field its digits name", () => {
  // serde_edges.rs: msgpack_reads_an_unsigned_integer_key_at_a_struct_as_the_fields_position. The
  // bus names a struct's fields: the host reads {0: 1} as serde_json reads {"0": 1}, the JSON it
  // transcodes to, a field "0" the struct does not declare (docs/abi.md says why).
  const Both: Schema = { struct: { a: "u8", b: { option: "u8" } } };
  const Opts: Schema = { struct: { a: { option: "u8" }, b: { option: "u8" } } };
  const check = (request: Schema, x: string) => () => checkRequest({ format: "msgpack", request }, Format.Msgpack, unhex(x), 1 << 20);
  const mp = (x: string) => ({ format: Format.Msgpack, data: unhex(x) });

  it("refuses a required field given by its position alone, BadRequest naming it, as serde_json refuses {\"0\":1}", () => {
    for (const x of ["810001", "8200010102", "81cc0001", "81cf000000000000000001"]) {
      const err = thrown(BusError, check(Both, x));
      expect(err.codeName).toBe("BadRequest");
      expect(err.message).toBe("request: missing field a");
    }
    expect(thrown(BusError, () => checkRequest({ format: "json", request: Both }, Format.Json, utf8.encode('{"0":1}'), 1 << 20)).message).toBe("request: missing field a");
  });

  it("takes a position beside the named field as a field the struct does not declare, and so transcodes it", () => {
    // {1: 1, "a": 2}: rmp-serde reads b = 1 from it, serde_json b = None from the JSON
    expect(check(Both, "820101a16102")).not.toThrow();
    expect(text.decode(transcode(mp("820101a16102"), Format.Json, Both).data)).toBe('{"1":1,"a":2}');
    // {0: 1} where every field is an option: rmp-serde reads a = 1, serde_json a = None from the JSON
    expect(check(Opts, "810001")).not.toThrow();
    expect(text.decode(transcode(mp("810001"), Format.Json, Opts).data)).toBe('{"0":1}');
    expect(decode(Format.Msgpack, unhex("810001"), Opts)).toEqual({ 0: 1 });
  });
});

describe("a variant holding () (Foo(())), as serde_json and rmp-serde have it: tagged with null, never its name alone", () => {
  // enum Holds { Foo(()), Bar, Opt(Option<()>) }; serde_edges.rs holds the crates to the same bytes
  const Holds: Schema = { enum: { Foo: "unit", Bar: null, Opt: { option: "unit" } } };
  const check = (format: number, data: Uint8Array) => () => checkRequest({ format: "json", request: Holds }, format, data, 1 << 20);
  const refused = (format: number, data: Uint8Array) => {
    const err = thrown(BusError, check(format, data));
    expect(err.codeName).toBe("BadRequest");
    return err.message;
  };

  it("refuses the name alone at the check, in JSON and msgpack (\"invalid type: unit variant, expected newtype variant\")", () => {
    const said = 'request: expected {"Foo": null} (the variant Foo carries ()), got a string (Foo)';
    expect(refused(Format.Json, utf8.encode('"Foo"'))).toBe(said);
    expect(refused(Format.Msgpack, unhex("a3466f6f"))).toBe(said);
    expect(refused(Format.Json, utf8.encode('"Opt"'))).toBe("request: variant Opt carries a value");
    expect(check(Format.Json, utf8.encode('{"Foo":null}'))).not.toThrow();
    expect(check(Format.Msgpack, unhex("81a3466f6fc0"))).not.toThrow();
  });

  it("refuses a unit variant's value other than null, which serde_json and rmp-serde refuse, and takes null", () => {
    expect(refused(Format.Json, utf8.encode('{"Bar":5}'))).toBe("request.Bar: expected null, got a number (5)");
    expect(refused(Format.Msgpack, unhex("81a342617290"))).toBe("request.Bar: expected null, got an array");
    for (const [format, data] of [[Format.Json, utf8.encode('"Bar"')], [Format.Json, utf8.encode('{"Bar":null}')], [Format.Msgpack, unhex("a3426172")], [Format.Msgpack, unhex("81a3426172c0")]] as const) {
      expect(check(format, data)).not.toThrow();
    }
  });

  it("transcodes bincode's Foo(()) as serde_json and rmp-serde write it, and back", () => {
    const bin = { format: Format.Bincode, data: unhex("00000000") };
    expect(text.decode(transcode(bin, Format.Json, Holds).data)).toBe('{"Foo":null}');
    expect(hex(transcode(bin, Format.Msgpack, Holds).data)).toBe("81a3466f6fc0");
    expect(hex(transcode(json('{"Foo":null}'), Format.Bincode, Holds).data)).toBe("00000000");
    expect(hex(transcode({ format: Format.Msgpack, data: unhex("81a3466f6fc0") }, Format.Bincode, Holds).data)).toBe("00000000");
    expect(hex(transcode(json('{"Opt":null}'), Format.Bincode, Holds).data)).toBe("0200000000");
  });

  it("writes no bincode for what serde reads no value from: a carrying variant's name alone, a unit variant's non-null value", () => {
    const writeRefusal = (s: string) => thrown(BusError, () => transcode(json(s), Format.Bincode, Holds));
    // it wrote Foo(()) for "Foo", and None for "Opt"
    expect(writeRefusal('"Foo"').message).toBe('cannot encode as bincode: bincode: $: expected {"Foo": ...} (the variant Foo carries a value), got Foo');
    expect(writeRefusal('"Opt"').message).toBe('cannot encode as bincode: bincode: $: expected {"Opt": ...} (the variant Opt carries a value), got Opt');
    expect(writeRefusal('{"Bar":5}').message).toBe('cannot encode as bincode: bincode: $: expected "Bar" or {"Bar": null}, got {"Bar":5}');
    expect(writeRefusal('"Foo"').codeName).toBe("SerializationFailed");
    expect(thrown(BusError, () => transcode({ format: Format.Msgpack, data: unhex("a3466f6f") }, Format.Bincode, Holds)).codeName).toBe("SerializationFailed");
  });
});
