/**
 * The host's codecs against what the Rust SDK's serde codecs do at three edges, byte for byte:
 * the same bytes are held to rmp-serde, serde_json and bincode in
 * sdk/rust/wasm-bus/tests/serde_edges.rs (cargo test), so both sides are checked against the real
 * crates, not against a memory of them.
 */
import { describe, expect, it } from "vitest";
import { Format } from "../../src/abi.js";
import { checkRequest } from "../../src/codec/request-check.js";
import { decode, encode, transcode } from "../../src/codec/index.js";
import type { Schema } from "../../src/codec/schema.js";
import { BusError } from "../../src/errors.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const unhex = (s: string) => new Uint8Array(Buffer.from(s, "hex"));
const utf8 = new TextEncoder();
const text = new TextDecoder();
/** `{"v": x}` as msgpack: fixmap 1, fixstr "v", then x. */
const v = (x: string) => unhex(`81a176${x}`);
const json = (s: string) => ({ format: Format.Json, data: utf8.encode(s) });
const msgpack = (x: string) => ({ format: Format.Msgpack, data: v(x) });

function refusal(f: () => unknown): BusError {
  try {
    f();
  } catch (err) {
    if (err instanceof BusError) return err;
    throw err;
  }
  throw new Error("not refused");
}

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
    const err = refusal(() => checkRequest({ format: "msgpack", request: U }, Format.Msgpack, v("c40105"), 1 << 20));
    expect(err.codeName).toBe("BadRequest");
    expect(err.message).toMatch(/request\.v: expected an integer \(u128\), got bytes/);
  });

  it("still refuses an integer past 64 bits where no type says u128", () => {
    const err = refusal(() => encode(Format.Msgpack, { v: 2n ** 70n }));
    expect(err.codeName).toBe("SerializationFailed");
    expect(err.message).toMatch(/past 64 bits/);
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

  it("refuses -0 at an integer field at the edge, as serde_json and rmp-serde refuse the float -0.0 there", () => {
    const I: Schema = { struct: { v: "i64" } };
    for (const [format, data] of [[Format.Json, utf8.encode('{"v":-0}')], [Format.Msgpack, v("cb8000000000000000")]] as const) {
      const err = refusal(() => checkRequest({ format: "json", request: I }, format, data, 1 << 20));
      expect(err.codeName).toBe("BadRequest");
      expect(err.message).toBe("request.v: expected an integer (i64), got the float -0");
    }
    expect(() => checkRequest({ format: "json", request: I }, Format.Json, utf8.encode('{"v":0}'), 1 << 20)).not.toThrow();
  });
});
