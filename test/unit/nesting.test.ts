import { describe, expect, it } from "vitest";
import { Format } from "../../src/abi.js";
import { decode } from "../../src/codec/index.js";
import { MAX_NESTING } from "../../src/codec/nesting.js";
import type { Schema } from "../../src/codec/schema.js";
import { BusError } from "../../src/errors.js";

const utf8 = new TextEncoder();
const nested = (levels: number) => "[".repeat(levels) + "]".repeat(levels);
const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    return (err as BusError).codeName;
  }
  return "taken";
};

describe("JSON nested past MAX_NESTING is refused as it is read, long byte arrays cut out or not", () => {
  // A long text whose schema names bytes is read with its byte arrays cut out (json-bytes-read.ts):
  // the depth is held on what is left, which is what JSON.parse and the walkers see.
  const withBytes: Schema = { struct: { body: "bytes" } };
  const body = JSON.stringify(Array.from({ length: 4096 }, (_, i) => i & 0xff));

  it.each([
    ["no types", undefined],
    ["types that name bytes (the cut path)", withBytes],
  ])("%s", (_, schema) => {
    const at = (levels: number) => utf8.encode(`{"body":${body},"deep":${nested(levels)}}`);
    // the object itself is a level
    expect(refusal(() => decode(Format.Json, at(MAX_NESTING - 1), schema))).toBe("taken");
    expect(refusal(() => decode(Format.Json, at(MAX_NESTING), schema))).toBe("DeserializationFailed");
    // brackets inside strings open nothing
    const quoted = utf8.encode(`{"body":${body},"s":${JSON.stringify("[".repeat(2 * MAX_NESTING))}}`);
    expect(refusal(() => decode(Format.Json, quoted, schema))).toBe("taken");
  });
});
