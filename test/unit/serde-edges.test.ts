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
