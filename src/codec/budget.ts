import { BusError } from "../errors.js";

/**
 * What a payload held to `limit` bytes may spend on maps, arrays, structs, tuples and byte strings
 * (each a JS object once read): the bytes the densest JSON of the same objects would take at the
 * least, which must fit the limit. An array is 2 (`[]`, its first element needing no comma), a
 * map or a byte string 3 (`{}` or `[]` and the comma or key before it, `,{}`). Every payload whose
 * JSON would fit the limit passes (JSON of A arrays and M maps and bins is at least 2A + 3M - 1
 * bytes: only an array's first element and the root go without a separator), and none makes more
 * heap than that JSON could: counted alike, a payload of empty maps held 33.6 MB at 1 MiB and one
 * of empty bins (each a Uint8Array view) 54.5 MB, where the densest JSON holds 29.4 MB (nested
 * arrays), an empty array 40 bytes of heap, an empty map 64 and a bin 104 (scripts/budget-heap.mjs).
 * msgpack spends one byte on an empty array and bincode none on a struct's braces.
 */
export const COST = { array: 2, map: 3, bin: 3 } as const;

/** The budget at `limit` bytes, in COST's units: the root is the one container with no separator. */
export const containerBudget = (limit: number): number => limit + 1;

/** What each format counts against its budget. */
const COUNTED = {
  msgpack: "maps and bins (3 bytes each) and arrays (2)",
  bincode: "structs, maps, byte arrays and enum variants with a value (3 bytes each) and sequences and tuples (2)",
};

/** The refusal of a payload past its container budget: the caller's bytes (400), as other unreadable payloads are. */
export function overBudget(format: keyof typeof COUNTED, limit: number): BusError {
  return BusError.of(
    "DeserializationFailed",
    `${format} payload over its container budget: its ${COUNTED[format]} would take more than the limit of ${limit} bytes as the densest JSON ([] is 2 bytes, ,{} 3)`,
  );
}
