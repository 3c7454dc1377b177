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
import { u16, u32 } from "./msgpack-scan.js";
import { endOfString } from "./nesting.js";
import { holds, memberType, type Schema, type SchemaQuery } from "./schema.js";

/** A struct or an enum, where a key held twice may be refused. */
const KEYED: SchemaQuery = { is: (s) => typeof s === "object" && ("struct" in s || "enum" in s), keys: true };
export const namesKeyed = (schema: Schema | null | undefined) => holds(schema, KEYED);

/**
 * Where an object or array is: the container holding it and its key or index there (none for the
 * root), made once per container, so every key found twice in one object shares it: a path array
 * per repeat cost 700 MB for a 1 MiB request repeating one key 170,000 times 500 levels down.
 */
interface Place {
  up: Place | undefined;
  seg: string | number | undefined;
  /** refuseDuplicates' memo: the type there, options unwrapped (null: none). */
  type?: Schema | null;
}

/** A key held twice, and where the object holding it is. */
export class Duplicate {
  constructor(
    readonly place: Place,
    readonly key: string,
  ) {}

  /** The keys and indexes from the root to the object holding the key. */
  get path(): (string | number)[] {
    const path: (string | number)[] = [];
    for (let p: Place | undefined = this.place; p?.up; p = p.up) path.push(p.seg!);
    return path.reverse();
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
      for (const x of v.values()) stack.push(x);
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

const text = new TextDecoder();

/** An object or array being read: its keys so far (an object) and where in it the reader is. */
interface Frame {
  keys?: Set<string>;
  /** An array's index; a msgpack map's count of keys and values read. */
  index: number;
  /** The object's key being read (undefined: a msgpack key that is not a str). */
  key?: string;
  /** A msgpack container's keys and values, or elements, in all. */
  total?: number;
  place: Place;
}

/** The place of a container about to be pushed onto `stack`. */
function placeIn(stack: Frame[]): Place {
  const top = stack[stack.length - 1];
  return top ? { up: top.place, seg: top.keys ? (top.key ?? "?") : top.index } : { up: undefined, seg: undefined };
}

function saw(stack: Frame[], key: string, out: Duplicate[]) {
  const top = stack[stack.length - 1]!;
  if (top.keys!.has(key)) out.push(new Duplicate(top.place, key));
  else top.keys!.add(key);
  top.key = key;
}

/** The keys well-formed JSON text holds twice in one object. */
export function jsonDuplicates(d: Uint8Array): Duplicate[] {
  const out: Duplicate[] = [];
  const stack: Frame[] = [];
  let wantKey = false;
  for (let i = 0; i < d.length; ) {
    const c = d[i]!;
    if (c === 0x22) {
      const end = endOfString(d, i);
      if (wantKey) saw(stack, JSON.parse(text.decode(d.subarray(i, end))) as string, out);
      wantKey = false;
      i = end;
      continue;
    }
    if (c === 0x7b) {
      stack.push({ keys: new Set(), index: 0, place: placeIn(stack) });
      wantKey = true;
    } else if (c === 0x5b) {
      stack.push({ index: 0, place: placeIn(stack) });
      wantKey = false;
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
      wantKey = false;
    } else if (c === 0x2c) {
      const top = stack[stack.length - 1]!;
      if (top.keys) wantKey = true;
      else top.index++;
    }
    i++;
  }
  return out;
}

/** The str keys a well-formed msgpack payload (one msgpack-scan.ts and msgpackr took) holds twice in one map. */
export function msgpackDuplicates(d: Uint8Array): Duplicate[] {
  const out: Duplicate[] = [];
  const stack: Frame[] = [];
  let p = 0;
  while (p < d.length) {
    const top = stack[stack.length - 1];
    const isKey = top?.keys !== undefined && top.index % 2 === 0;
    const t = d[p++]!;
    let str = -1;
    let container: Omit<Frame, "place"> | undefined;
    if (t < 0x80 || t >= 0xe0) {
      // fixint
    } else if (t < 0x90) container = { keys: new Set(), index: 0, total: (t & 0x0f) * 2 };
    else if (t < 0xa0) container = { index: 0, total: t & 0x0f };
    else if (t < 0xc0) str = t & 0x1f;
    else {
      switch (t) {
        case 0xc4: p += 1 + d[p]!; break;
        case 0xc5: p += 2 + u16(d, p); break;
        case 0xc6: p += 4 + u32(d, p); break;
        case 0xcc: case 0xd0: p += 1; break;
        case 0xcd: case 0xd1: p += 2; break;
        case 0xca: case 0xce: case 0xd2: p += 4; break;
        case 0xcb: case 0xcf: case 0xd3: p += 8; break;
        case 0xd9: str = d[p]!; p += 1; break;
        case 0xda: str = u16(d, p); p += 2; break;
        case 0xdb: str = u32(d, p); p += 4; break;
        case 0xdc: container = { index: 0, total: u16(d, p) }; p += 2; break;
        case 0xdd: container = { index: 0, total: u32(d, p) }; p += 4; break;
        case 0xde: container = { keys: new Set(), index: 0, total: u16(d, p) * 2 }; p += 2; break;
        case 0xdf: container = { keys: new Set(), index: 0, total: u32(d, p) * 2 }; p += 4; break;
        default: break; // nil, booleans (anything else msgpack-scan refused before)
      }
    }
    if (isKey) {
      if (str >= 0) saw(stack, text.decode(d.subarray(p, p + str)), out);
      else top!.key = undefined;
    }
    if (str >= 0) p += str;
    if (container?.total) {
      stack.push({ ...container, place: placeIn(stack) });
      continue;
    }
    // an item read whole: its container moves on, and ends with its last
    for (;;) {
      const f = stack[stack.length - 1];
      if (!f) return out;
      if (++f.index < f.total!) break;
      stack.pop();
    }
  }
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
    const at = () => root + dup.path.map((seg) => (typeof seg === "number" ? `[${seg}]` : `.${seg}`)).join("");
    if ("struct" in s && Object.hasOwn(s.struct, key)) throw BusError.of("BadRequest", `${at()}: duplicate field ${key}`);
    if ("enum" in s) throw BusError.of("BadRequest", `${at()}: expected one variant, got the key ${key} twice`);
  }
}

/** The type at a place, options unwrapped; worked out once a place (each container's its own). */
function typeAt(place: Place, schema: Schema): Schema | undefined {
  if (place.type === undefined) place.type = (place.up ? unwrap(inner(typeAt(place.up, schema), place.seg!)) : unwrap(schema)) ?? null;
  return place.type ?? undefined;
}

function unwrap(s: Schema | null | undefined): Schema | undefined {
  while (s && typeof s === "object" && "option" in s) s = s.option;
  return s ?? undefined;
}

/** The type of a container's member (memberType), through the options around the container. */
function inner(s: Schema | null | undefined, seg: string | number): Schema | undefined {
  s = unwrap(s);
  return s === undefined || typeof s === "string" ? undefined : (memberType(s, seg) ?? undefined);
}
