/// <reference types="node" />
import { describe, expect, it, vi } from "vitest";
import { Code, Format } from "../../src/abi.js";
import { DEFAULT_PAYLOAD_LIMIT, decode, transcode } from "../../src/codec/index.js";
import type { Schema } from "../../src/codec/schema.js";
import { BusError } from "../../src/errors.js";
import { thrown } from "./thrown.js";

/**
 * The container budget of a msgpack or bincode payload (src/codec/budget.ts): at a limit of L
 * bytes, what its objects would take as the densest JSON must fit L: an array 2 bytes (`[]`), a
 * map, struct or byte array 3 (`,{}`), and the root needs no separator (L + 1 in all).
 */
const LIMIT = 1000;
const BUDGET = LIMIT / 2;
/** The refusal's words at LIMIT. */
const MSGPACK_OVER = `msgpack payload over its container budget: its maps and bins (3 bytes each) and arrays (2) would take more than the limit of ${LIMIT} bytes as the densest JSON ([] is 2 bytes, ,{} 3)`;

/** An array16 of `n` elements, each `element`'s bytes. */
function array16(n: number, element: number[]): Uint8Array {
  const out = new Uint8Array(3 + n * element.length);
  out.set([0xdc, n >> 8, n & 0xff]);
  for (let i = 0; i < n; i++) out.set(element, 3 + i * element.length);
  return out;
}

const jsonOf = (value: unknown) => JSON.stringify(value, (_k, v: unknown) => (v instanceof Uint8Array ? Array.from(v) : v));

describe("the msgpack container budget", () => {
  it("takes a payload of exactly the budget's arrays, and refuses one more", () => {
    // the outer array and its empty arrays: BUDGET in all, 2 bytes each
    const at = array16(BUDGET - 1, [0x90]);
    expect((decode(Format.Msgpack, at, undefined, LIMIT) as unknown[]).length).toBe(BUDGET - 1);
    const past = array16(BUDGET, [0x90]);
    const err = thrown(BusError, () => decode(Format.Msgpack, past, undefined, LIMIT));
    expect(err.code).toBe(Code.DeserializationFailed);
    expect(err.message).toBe(MSGPACK_OVER);
  });

  it("counts a map or a bin as 3 bytes, as its JSON takes with the comma before it: a third of the limit of empty ones", () => {
    // each empty map a 64-byte object and each bin a 104-byte Uint8Array view, where an empty
    // array is 40: counted as arrays, a payload of them made 33.6 MB and 54.5 MB at 1 MiB
    for (const empty of [[0x80], [0xc4, 0x00]]) {
      // 2 + 3 * 333 = 1001: the limit and the root's missing comma
      const at = array16(333, empty);
      const value = decode(Format.Msgpack, at, undefined, LIMIT) as unknown[];
      expect(value.length).toBe(333);
      // as JSON, the same payload takes the whole limit
      expect(jsonOf(value).length).toBe(LIMIT);
      const past = array16(334, empty);
      expect(thrown(BusError, () => decode(Format.Msgpack, past, undefined, LIMIT)).message).toBe(MSGPACK_OVER);
      expect(jsonOf(decode(Format.Msgpack, past, undefined, LIMIT + 3)).length).toBe(LIMIT + 3);
    }
    // maps among arrays: 2 + 3 * 100 + 2 * 349 = 1000
    const mixed = array16(449, [0x90]);
    mixed.fill(0x80, 3, 3 + 100);
    expect(() => decode(Format.Msgpack, mixed, undefined, LIMIT)).not.toThrow();
    const more = array16(451, [0x90]);
    more.fill(0x80, 3, 3 + 100);
    expect(thrown(BusError, () => decode(Format.Msgpack, more, undefined, LIMIT)).message).toBe(MSGPACK_OVER);
    // a map at the root needs no comma: `{}` within 2 bytes
    expect(decode(Format.Msgpack, Uint8Array.of(0x80), undefined, 2)).toEqual({});
    expect(decode(Format.Msgpack, Uint8Array.of(0x91, 0x80), undefined, 4)).toEqual([{}]);
    expect(thrown(BusError, () => decode(Format.Msgpack, Uint8Array.of(0x91, 0x80), undefined, 3)).message).toMatch("container budget");
  });

  it("counts a str or an array the topic's types read as bytes as a bin: 3 bytes, `,[]`", () => {
    // each a Uint8Array once conformed; counted as nothing (a str) or as an array, 1 MiB of
    // empty strs read as Vec<Vec<u8>> held 201 MB
    const bytes: Schema = { seq: "bytes" };
    for (const empty of [[0xa0], [0x90]]) {
      const at = array16(333, empty);
      expect((decode(Format.Msgpack, at, bytes, LIMIT) as Uint8Array[]).every((b) => b instanceof Uint8Array)).toBe(true);
      // as JSON, the same value takes the whole limit
      expect(transcode({ format: Format.Msgpack, data: at }, Format.Json, bytes, LIMIT).data.length).toBe(LIMIT);
      expect(thrown(BusError, () => decode(Format.Msgpack, array16(334, empty), bytes, LIMIT)).message).toBe(MSGPACK_OVER);
      // without the types that make them bytes, they are strs and arrays as they are
      expect(() => decode(Format.Msgpack, array16(334, empty), undefined, LIMIT)).not.toThrow();
    }
    // bins are bytes already, counted as they were read
    expect(() => decode(Format.Msgpack, array16(333, [0xc4, 0x00]), bytes, LIMIT)).not.toThrow();
  });

  it("counts nested containers as the flat ones", () => {
    // BUDGET arrays nested in one another, the densest JSON's own shape
    const nested = new Uint8Array(BUDGET).fill(0x91);
    nested[BUDGET - 1] = 0x90;
    expect(() => decode(Format.Msgpack, nested, undefined, LIMIT)).not.toThrow();
    const deeper = new Uint8Array(BUDGET + 1).fill(0x91);
    deeper[BUDGET] = 0x90;
    expect(thrown(BusError, () => decode(Format.Msgpack, deeper, undefined, LIMIT)).message).toMatch("container budget");
  });

  it("takes a Vec<(u8,)> filling the limit, whose JSON would not even fit in it", () => {
    // 0x91 0x01 per element: two bytes of msgpack, `[1],` four of JSON
    const elements = Math.floor((LIMIT - 3) / 2);
    const vec = array16(elements, [0x91, 0x01]);
    expect(vec.length).toBeLessThanOrEqual(LIMIT);
    expect((decode(Format.Msgpack, vec, undefined, LIMIT) as unknown[]).length).toBe(elements);
    // the longest whose JSON fits: msgpack at half the limit, which a budget of a third of the
    // payload's bytes refused
    const half = array16(LIMIT / 4 - 1, [0x91, 0x01]);
    expect(half.length).toBeLessThanOrEqual(LIMIT / 2 + 1);
    expect(JSON.stringify(decode(Format.Msgpack, half, undefined, LIMIT)).length).toBeLessThanOrEqual(LIMIT);
  });

  it("refuses before msgpackr builds anything: the payload's end is never reached", () => {
    // past the budget, then cut short: msgpackr alone would refuse the end of input
    const cut = array16(BUDGET + 10, [0x90]).subarray(0, 3 + BUDGET + 1);
    expect(thrown(BusError, () => decode(Format.Msgpack, cut, undefined, LIMIT)).message).toMatch("container budget");
  });

  it("holds transcoding to the limit it is given", () => {
    const past = { format: Format.Msgpack, data: array16(BUDGET, [0x90]) };
    expect(thrown(BusError, () => transcode(past, Format.Json, undefined, LIMIT)).message).toMatch("container budget");
    expect(new TextDecoder().decode(transcode(past, Format.Json, undefined, LIMIT + 2).data)).toBe(`[${Array(BUDGET).fill("[]").join(",")}]`);
  });

  it("holds the default limit (limits.requestBytes) where none is given: 1 MiB of 0x90 is refused", () => {
    expect(DEFAULT_PAYLOAD_LIMIT).toBe(1 << 20);
    const n = DEFAULT_PAYLOAD_LIMIT / 2;
    const at = new Uint8Array(5 + n - 1).fill(0x90);
    at.set([0xdd, 0, (n - 1) >> 16, ((n - 1) >> 8) & 0xff, (n - 1) & 0xff]);
    expect((decode(Format.Msgpack, at) as unknown[]).length).toBe(n - 1);
    const mib = new Uint8Array(DEFAULT_PAYLOAD_LIMIT).fill(0x90);
    mib.set([0xdd, 0, 0x0f, 0xff, 0xfb]);
    expect(thrown(BusError, () => decode(Format.Msgpack, mib)).message).toMatch(`would take more than the limit of ${DEFAULT_PAYLOAD_LIMIT} bytes`);
  });
});

describe("the bincode container budget", () => {
  /** A bincode Vec of `n` one-byte elements: its u64 length, then the bytes. */
  const vec = (n: number) => {
    const out = new Uint8Array(8 + n).fill(1);
    new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
    return out;
  };
  const pixels: Schema = { seq: { struct: { v: "u8" } } };

  it("takes a Vec<Pixel { v: u8 }> of as many structs as its JSON within the limit, and refuses one more", () => {
    // one byte of bincode a struct, an object of 64 bytes of heap; 3 bytes of the budget (`,{}`),
    // 2 the Vec's: 333 structs at 1000 bytes
    expect((decode(Format.Bincode, vec(333), pixels, LIMIT) as unknown[]).length).toBe(333);
    const err = thrown(BusError, () => decode(Format.Bincode, vec(334), pixels, LIMIT));
    expect(err.code).toBe(Code.DeserializationFailed);
    expect(err.message).toBe(
      `bincode payload over its container budget: its structs, maps, byte arrays and enum variants with a value (3 bytes each) and sequences and tuples (2) would take more than the limit of ${LIMIT} bytes as the densest JSON ([] is 2 bytes, ,{} 3)`,
    );
  });

  it("makes each sequence and tuple of its length, not grown by push", () => {
    // grown by push, a one-element array holds room for 17 (192 bytes of heap, where JSON's `[1]`
    // takes 56): at 1 MiB, a Vec<(u8,)> at its budget held 101 MB
    const push = vi.spyOn(Array.prototype, "push");
    let value: unknown[][];
    let pushed: unknown[];
    try {
      value = decode(Format.Bincode, vec(BUDGET - 1), { seq: { tuple: ["u8"] } }, LIMIT) as unknown[][];
      pushed = [...push.mock.contexts];
    } finally {
      push.mockRestore();
    }
    expect(value).toHaveLength(BUDGET - 1);
    expect(value[0]).toEqual([1]);
    const made = new Set<unknown>([value, ...value]);
    expect(pushed.filter((array) => made.has(array))).toHaveLength(0);
  });

  it("counts tuples as arrays, byte arrays and enum variants with a value as maps", () => {
    expect(thrown(BusError, () => decode(Format.Bincode, vec(BUDGET), { seq: { tuple: ["u8"] } }, LIMIT)).message).toMatch("container budget");
    expect(() => decode(Format.Bincode, vec(BUDGET - 1), { seq: { tuple: ["u8"] } }, LIMIT)).not.toThrow();
    // 0-byte Vec<u8>s: eight bytes each, within the budget however many fit the limit
    const empties = new Uint8Array(8 + 8 * 100);
    new DataView(empties.buffer).setBigUint64(0, 100n, true);
    expect((decode(Format.Bincode, empties, { seq: "bytes" }, LIMIT) as unknown[]).length).toBe(100);
    // 2 + 3 * 100 = 302
    expect(() => decode(Format.Bincode, empties, { seq: "bytes" }, 301)).not.toThrow();
    expect(thrown(BusError, () => decode(Format.Bincode, empties, { seq: "bytes" }, 300)).message).toMatch("more than the limit of 300 bytes");
    // an enum's variant with a value is an object ({"V": ...}); one without, a string
    const tags = new Uint8Array(8 + 4 * 60);
    new DataView(tags.buffer).setBigUint64(0, 60n, true);
    const e: Schema = { seq: { enum: { Off: null, On: "unit" } } };
    expect(() => decode(Format.Bincode, tags, e, 100)).not.toThrow();
    tags.fill(0);
    new DataView(tags.buffer).setBigUint64(0, 60n, true);
    for (let i = 0; i < 60; i++) tags[8 + 4 * i] = 1;
    // 2 + 3 * 60 = 182
    expect(() => decode(Format.Bincode, tags, e, 181)).not.toThrow();
    expect(thrown(BusError, () => decode(Format.Bincode, tags, e, 180)).message).toMatch("more than the limit of 180 bytes");
  });
});
