/// <reference types="node" />
import { pack } from "msgpackr";
import { describe, expect, it } from "vitest";
import { Code, Format } from "../../src/abi.js";
import { decode } from "../../src/codec/index.js";
import { msgpackFault, zeroKeys } from "../../src/codec/msgpack-scan.js";
import { walkMsgpack } from "../../src/codec/token-walk.js";
import { BusError } from "../../src/errors.js";
import { Rng } from "../fuzz/rng.js";

/**
 * The token scan that refuses what msgpackr lets through (src/codec/msgpack-scan.ts), against
 * seeded random values: whatever msgpack writes of them is taken back as it was, and any bytes at
 * all are either read or refused as DeserializationFailed, never anything else.
 */
function value(r: Rng, depth: number): unknown {
  const pick = r.int(depth > 2 ? 6 : 9);
  switch (pick) {
    case 0: return null;
    case 1: return r.u32() % 2 === 0;
    case 2: return r.pick([0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, -1, -32, -33, -129, -32769, -(2 ** 31) - 1]);
    case 3: return r.float() * 1e6 - 5e5;
    case 4: return text(r);
    case 5: return r.bytes(r.pick([0, 1, 40, 300]));
    case 6: return Array.from({ length: r.pick([0, 3, 16, 17]) }, () => value(r, depth + 1));
    case 7: return Object.fromEntries(Array.from({ length: r.pick([0, 2, 17]) }, () => [text(r), value(r, depth + 1)]));
    default: return BigInt(r.u32()) * 2n ** 32n + BigInt(r.u32());
  }
}

/** Strings of every UTF-8 width, short (msgpackr's own decoding) and long (its TextDecoder). */
function text(r: Rng): string {
  const chars = ["a", "Z", " ", "é", "€", "😀", "\uFFFD", "\uFEFF", "\u0000", "\u07FF", "\uFFFF", "\u{10FFFF}"];
  return Array.from({ length: r.pick([0, 1, 5, 15, 16, 31, 32, 70, 300]) }, () => r.pick(chars)).join("");
}

/** `npm run fuzz -- --codec` sets these for other seeds and counts. */
const seed = Number(process.env.CODEC_FUZZ_SEED ?? 20261130);
const count = Number(process.env.CODEC_FUZZ_COUNT ?? 2000);
// The work grows with the count (and a shared machine slows it): vitest's 5 s timed out seeds 26
// and 30 at 5,000 under load, which each pass in 1.3 s alone. As long as the JSON fuzzer's.
const timeout = 120_000;

describe("the msgpack token scan", () => {
  it(`takes back every value msgpack writes (seed ${seed}: ${count} values)`, () => {
    const r = new Rng(seed);
    for (let i = 0; i < count; i++) {
      const v = value(r, 0);
      const bytes = pack(v).slice();
      // compared as written again (in Node, msgpackr reads bin as a Buffer)
      const again = pack(decode(Format.Msgpack, bytes)).slice();
      if (Buffer.compare(again, bytes) !== 0) expect(decode(Format.Msgpack, bytes)).toEqual(v);
    }
  }, timeout);

  it(`reads or refuses with DeserializationFailed any bytes (seed ${seed + 1}: ${count * 2.5} mutations)`, () => {
    const r = new Rng(seed + 1);
    for (let i = 0; i < count * 2.5; i++) {
      const b = pack(value(r, 0)).slice(0, 4096);
      for (let k = r.u32() % 4; k >= 0; k--) b[r.u32() % b.length] = r.u32() & 0xff;
      try {
        decode(Format.Msgpack, b);
      } catch (err) {
        if (!(err instanceof BusError) || err.code !== Code.DeserializationFailed) expect(err).toBe("a DeserializationFailed");
      }
    }
  }, timeout);
});

describe("the -0.0 float keys the scan notes (zeroKeys), for msgpack-zero-keys.ts", () => {
  const scanned = (hex: string) => {
    const d = Uint8Array.from(Buffer.from(hex, "hex"));
    expect(msgpackFault(d, 1 << 20)).toBeUndefined();
    return zeroKeys;
  };
  const NEG64 = "cb8000000000000000";
  const NEG32 = "ca80000000";

  it("a key's offset, at any depth, in a fixmap or a map16; a -0.0 value's never (it would cost a walk of the payload)", () => {
    expect(scanned(`81${NEG64}01`)).toEqual([1]);
    expect(scanned(`de0001${NEG32}01`)).toEqual([3]);
    // {"a": {-0.0: [-0.0]}, -0.0 (f32): 1}: the inner key at 4, the outer at 23, the array's -0.0 not
    expect(scanned(`82a16181${NEG64}91${NEG64}${NEG32}01`)).toEqual([4, 23]);
    expect(scanned(`81a161${NEG64}`)).toBeUndefined();
    expect(scanned(`93${NEG64}${NEG32}${NEG64}`)).toBeUndefined();
    expect(scanned(`dc0002${NEG64}81${NEG64}${NEG64}`)).toEqual([13]);
    expect(scanned(NEG64)).toBeUndefined();
  });

  it("agrees with a walk of the tokens on seeded nestings of maps and arrays, -0.0 and 0.0 as keys and values", () => {
    const r = new Rng(seed + 2);
    const item = (depth: number): string => {
      const pick = r.int(depth > 3 ? 3 : 5);
      if (pick < 3) return r.pick([NEG64, NEG32, "cb0000000000000000", "01", "a161"]);
      const n = r.pick([0, 1, 2, 3, 16]);
      const items = Array.from({ length: pick === 3 ? n : 2 * n }, () => item(depth + 1)).join("");
      const head = pick === 3 ? (n < 16 ? (0x90 + n).toString(16) : `dc${n.toString(16).padStart(4, "0")}`) : n < 16 ? (0x80 + n).toString(16) : `de${n.toString(16).padStart(4, "0")}`;
      return head + items;
    };
    for (let i = 0; i < count; i++) {
      const hex = item(0);
      const d = Uint8Array.from(Buffer.from(hex, "hex"));
      const walked: number[] = [];
      walkMsgpack(d, { float: (_t, value, _at, top, start) => void (top && Object.is(value, -0) && walked.push(start!)) });
      expect(scanned(hex) ?? []).toEqual(walked);
    }
  }, timeout);
});
