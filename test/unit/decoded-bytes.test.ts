/// <reference types="node" />
import { describe, expect, it } from "vitest";
import { Format } from "../../src/abi.js";
import { decode } from "../../src/codec/index.js";

/**
 * Byte arrays a decoder makes of arrays of numbers or strings (src/codec/small-bytes.ts): small
 * ones are views of a shared buffer, each a Uint8Array of 104 bytes of heap where one with a
 * buffer of its own is 195 (JSON's `[[],[],...]` as Vec<Vec<u8>> held 67.7 MB at 1 MiB).
 */
const text = (s: string) => new TextEncoder().encode(s);
const buffers = (arrays: Uint8Array[]) => new Set(arrays.map((b) => b.buffer)).size;

describe("decoded byte arrays", () => {
  it("are views of one buffer where small, from JSON's arrays and strings", () => {
    const value = decode(Format.Json, text('[[1,2],[],"ab",[255]]'), { seq: "bytes" }) as Uint8Array[];
    expect(value.map((b) => [...b])).toEqual([[1, 2], [], [97, 98], [255]]);
    expect(buffers(value)).toBe(1);
    // each its own bytes: writing one leaves the others as they were
    value[0]!.fill(9);
    expect(value.map((b) => [...b])).toEqual([[9, 9], [], [97, 98], [255]]);
  });

  it("are views of one buffer from a text long enough for its arrays to be cut out of it", () => {
    // 40 arrays of 40 bytes: read by hand (or by the kernel), not by JSON.parse
    const rows = Array.from({ length: 40 }, (_, i) => Array(40).fill(i));
    const value = decode(Format.Json, text(JSON.stringify(rows)), { seq: "bytes" }) as Uint8Array[];
    expect(value.map((b) => [...b])).toEqual(rows);
    expect(buffers(value)).toBeLessThanOrEqual(2);
  });

  it("are views of one buffer from msgpack's arrays and strs", () => {
    // [[1], "a", []]
    const value = decode(Format.Msgpack, Uint8Array.of(0x93, 0x91, 0x01, 0xa1, 0x61, 0x90), { seq: "bytes" }) as Uint8Array[];
    expect(value.map((b) => [...b])).toEqual([[1], [97], []]);
    expect(buffers(value)).toBe(1);
  });

  it("past 256 bytes have a buffer of their own, which a view would pin for no saving", () => {
    const value = decode(Format.Json, text(JSON.stringify([Array(300).fill(1), [1]])), { seq: "bytes" }) as Uint8Array[];
    expect(value[0]!.buffer.byteLength).toBe(300);
    expect(value[1]!.buffer).not.toBe(value[0]!.buffer);
  });
});
