/**
 * Keys a JSON object or msgpack map holds twice. JSON.parse and msgpackr keep the last value and
 * say nothing; serde keeps the last too for a map (HashMap, BTreeMap, serde_json::Value), but
 * refuses a struct that names a field twice ("duplicate field `a`", serde_json and rmp-serde
 * alike; a field it does not know may come twice) and an enum's object with a second key. So a
 * request with such a struct passed the edge and failed in the guest. checkRequest refuses it
 * where the topic declares its types (sdk/rust/wasm-bus/tests/serde_edges.rs holds the crates to
 * this).
 *
 * Finding them costs a scan of the payload with a Set of keys per object, so it runs only where a
 * cheaper count says some key came twice: the keys the payload spells (a msgpack map's count, a
 * JSON text's colons outside strings) against the keys of the value read from it. That holds
 * only while every key of the value is one the payload spells: a reader that adds one (conform
 * once spread an array into a struct's place, and filled in "constructor" from the prototype)
 * hides a repeated key from the count.
 */
import { BusError } from "../errors.js";
import { type Place, pathOf, showPlace, typeAt } from "./places.js";
import { holds, type Schema, type SchemaQuery } from "./schema.js";
import { type Frame, walkJson, walkMsgpack } from "./token-walk.js";

/** A struct or an enum, where a key held twice may be refused. */
const KEYED: SchemaQuery = { is: (s) => typeof s === "object" && ("struct" in s || "enum" in s), keys: true };
export const namesKeyed = (schema: Schema | null | undefined) => holds(schema, KEYED);

/** A key held twice, and where the object holding it is. */
export class Duplicate {
  constructor(
    readonly place: Place,
    readonly key: string,
  ) {}

  /** The keys and indexes from the root to the object holding the key. */
  get path(): (string | number)[] {
    return pathOf(this.place);
  }

  toJSON() {
    return { path: this.path, key: this.key };
  }
}

/** How many keys the objects and maps of a read value hold; a loop, not recursion: JSON.parse takes any depth. */
function keysIn(root: unknown): number {
  let keys = 0;
  const stack = [root];
  while (stack.length) {
    const v = stack.pop();
    if (v === null || typeof v !== "object" || v instanceof Uint8Array) continue;
    if (Array.isArray(v)) {
      for (const x of v) if (x !== null && typeof x === "object") stack.push(x);
    } else if (v instanceof Map) {
      keys += v.size;
      // a key may be a struct's map itself (a msgpack map whose keys are values: ./map-keys.ts)
      for (const [k, x] of v) stack.push(k, x);
    } else {
      for (const k in v) {
        keys++;
        const x = (v as Record<string, unknown>)[k];
        if (x !== null && typeof x === "object") stack.push(x);
      }
    }
  }
  return keys;
}

/**
 * The colons outside strings in JSON text: one for each key it spells. The loop alone in its
 * function (as json-bytes-read.ts keeps its loops).
 */
function pairsIn(d: Uint8Array): number {
  let pairs = 0;
  let inString = false;
  for (let i = 0; i < d.length; i++) {
    const c = d[i]!;
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x3a) pairs++;
  }
  return pairs;
}

/** Colons in JSON text, strings included, counted natively (indexOf) up to one past `most`. */
function colonsUpTo(d: Uint8Array, most: number): number {
  let n = 0;
  for (let i = d.indexOf(0x3a); i >= 0 && n <= most; i = d.indexOf(0x3a, i + 1)) n++;
  return n;
}

/**
 * Whether JSON text may hold a key twice, given the value JSON.parse read from it: fewer keys in
 * the value than the text spells. Every colon, a string's too, bounds the keys spelled from
 * above: where there are no more than the value's keys none came twice, with no pass by byte in
 * JavaScript (a long byte array, a run of numbers, holds none).
 */
export function jsonMayRepeat(d: Uint8Array, value: unknown): boolean {
  const keys = keysIn(value);
  return colonsUpTo(d, keys) > keys && keys < pairsIn(d);
}

/** Whether a msgpack payload of `pairs` map entries (msgpack-scan.ts counts them) may hold a key twice, given its value. */
export function msgpackMayRepeat(pairs: number, value: unknown): boolean {
  return keysIn(value) < pairs;
}

/** Hears each key a walk (./token-walk.ts) reads, and keeps those an object holds twice. */
function collect(out: Duplicate[]) {
  return {
    key(top: Frame, key: string | undefined) {
      if (key === undefined) return;
      const keys = (top.keys ??= new Set());
      if (keys.has(key)) out.push(new Duplicate(top.place, key));
      else keys.add(key);
    },
  };
}

/** The keys well-formed JSON text holds twice in one object. */
export function jsonDuplicates(d: Uint8Array): Duplicate[] {
  const out: Duplicate[] = [];
  walkJson(d, collect(out));
  return out;
}

/**
 * The keys a well-formed msgpack payload (one msgpack-scan.ts and msgpackr took) holds twice in
 * one map: a str's text, or a bin's where it is UTF-8, as rmp-serde reads a bin key (the field
 * `a` given as str "a" and as bin "a" is given twice).
 */
export function msgpackDuplicates(d: Uint8Array): Duplicate[] {
  const out: Duplicate[] = [];
  walkMsgpack(d, collect(out));
  return out;
}

/**
 * Refuses (BadRequest, naming the place) a duplicate where serde refuses one: a struct's declared
 * field, or an enum's second key. A map's, or an undeclared field's, is left: the last value is
 * the one kept, as serde keeps it.
 */
export function refuseDuplicates(found: Duplicate[], schema: Schema, root: string): void {
  for (const dup of found) {
    const { place, key } = dup;
    const s = typeAt(place, schema);
    if (s === undefined || typeof s === "string") continue;
    const at = () => showPlace(root, place);
    if ("struct" in s && Object.hasOwn(s.struct, key)) throw BusError.of("BadRequest", `${at()}: duplicate field ${key}`);
    if ("enum" in s) throw BusError.of("BadRequest", `${at()}: expected one variant, got the key ${key} twice`);
  }
}
