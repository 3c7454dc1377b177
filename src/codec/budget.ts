import { BusError } from "../errors.js";

/**
 * The most maps, arrays, structs, tuples and byte strings one payload held to `limit` bytes may
 * decode into (each a JS object): as many as the densest JSON within that limit could
 * (`[[[...]]]`, two bytes each). Every payload whose JSON would fit the limit passes, and none
 * costs more objects than JSON at the same limit, where msgpack spends one byte on an empty array
 * and bincode none on a struct's braces. A budget of the payload's own size refused real shapes:
 * msgpack spends two bytes on `[1]`, JSON four.
 */
export const containerBudget = (limit: number): number => Math.floor(limit / 2);

/** What each format counts against its budget. */
const COUNTED = { msgpack: "maps, arrays and bins", bincode: "structs, maps, sequences, tuples, byte arrays and enum variants with a value" };

/** The refusal of a payload past its container budget: the caller's bytes (400), as other unreadable payloads are. */
export function overBudget(format: keyof typeof COUNTED, limit: number): BusError {
  return BusError.of(
    "DeserializationFailed",
    `${format} payload over its container budget: more than ${containerBudget(limit)} ${COUNTED[format]}, the most JSON within the limit of ${limit} bytes could hold ([] is 2 bytes)`,
  );
}
