import { Packr } from "msgpackr";
import { Format, type FormatValue, formatName } from "../abi.js";
import { BusError } from "../errors.js";
import { decodeBincode, encodeBincode } from "./bincode.js";
import { COST, overBudget } from "./budget.js";
import { conform, decodeJson, encodeJson, escapesSurrogate, wellFormed } from "./json.js";
import { DEFAULT_LIMITS } from "../manifest.js";
import { floatKeysAsWritten } from "./json-float-keys.js";
import { isOption, keysAreValues, VALUE_KEYS } from "./map-keys.js";
import { withBomsKept } from "./msgpack-bom.js";
import { bomStrs, budgetLeft, msgpackFault, sawProto, zeroKeys } from "./msgpack-scan.js";
import { wholeFloatsAsIntegers } from "./msgpack-ints.js";
import { TYPED_KEYS, keysAsTyped } from "./msgpack-keys.js";
import { withSignedZeros } from "./msgpack-sign.js";
import { withZeroKeysSigned } from "./msgpack-zero-keys.js";
import { fromBin, isWide, WIDE_INT, type Wide, widesAsBins, widesFromBins } from "./msgpack-wide.js";
import { setOwn } from "./own.js";
import { FLOAT, holds, memberType, type Schema, unwrapOption } from "./schema.js";
import { keysAsWritten } from "./written-keys.js";
import { binText } from "./token-walk.js";

export { decodeJson, encodeJson, stringifyJson } from "./json.js";

export type { Schema, TopicSpec } from "./schema.js";

// Records off: msgpackr would otherwise generate decoders with `new Function`, which workerd forbids.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: "bigint", variableMapSize: true });
/** The same with maps as Maps, for the rare payload with a key "__proto__" (see unpackOne). */
const mapPackr = new Packr({ useRecords: false, mapsAsObjects: false, int64AsType: "bigint" });
const utf8 = new TextEncoder();

/** Bytes of one payload in one format. */
export interface Payload {
  format: FormatValue;
  data: Uint8Array;
}

/**
 * The limit a payload's container budget (msgpack-scan.ts) is taken from where the caller knows
 * none (a host service's reply): the default limits.requestBytes, 1 MiB, so 524,288 empty arrays.
 */
export const DEFAULT_PAYLOAD_LIMIT = DEFAULT_LIMITS.requestBytes;

/**
 * The value of a payload. `limit`: the bytes the payload is held to where it comes from (the
 * serving module's limits.requestBytes for a request, limits.responseBytes for a reply), which
 * bounds how many maps and arrays a msgpack payload may hold.
 */
export function decode(format: number, data: Uint8Array, schema?: Schema, limit = DEFAULT_PAYLOAD_LIMIT): unknown {
  try {
    switch (format) {
      case Format.Raw:
        return data;
      case Format.Json:
        return decodeJson(data, schema);
      case Format.Msgpack: {
        if (!data.length) return conform(undefined, schema);
        const value = unpackOne(data, limit, schema);
        // A str or array the topic's types read as bytes is a Uint8Array more (a bin's 104 bytes
        // of heap): it takes what is left of the budget, as a bin would have. Counted as nothing
        // (a str) or as an array, 1 MiB of msgpack strs read as Vec<Vec<u8>> held 201 MB.
        let left = budgetLeft;
        const conformed = conform(value, schema, (from) => {
          if ((left -= COST.bin - (Array.isArray(from) ? COST.array : 0)) < 0) throw overBudget("msgpack", limit);
        });
        // A u128 or i128 that rmp-serde wrote is a 16-byte bin (./msgpack-wide.ts).
        return widesFromBins(conformed, schema);
      }
      case Format.Bincode:
        if (!schema) throw BusError.of("Unsupported", "bincode needs the payload's types, and this topic declares none");
        return decodeBincode(data, schema, limit);
    }
  } catch (err) {
    if (err instanceof BusError) throw err;
    throw BusError.of("DeserializationFailed", `malformed ${formatName(format)} payload: ${(err as Error).message}`);
  }
  throw BusError.of("DeserializationFailed", `unknown format ${format}`);
}

export function encode(format: number, value: unknown, schema?: Schema): Uint8Array {
  try {
    switch (format) {
      case Format.Raw:
        return value instanceof Uint8Array ? value : typeof value === "string" ? utf8.encode(value) : encodeJson(value);
      case Format.Json:
        return encodeJson(floatKeysAsWritten(keysAsWritten(value, schema, Format.Json), schema));
      case Format.Msgpack:
        // pack() hands back a view of msgpackr's reusable buffer: copy it out.
        return packMsgpack(rewritten(value, schema), schema);
      case Format.Bincode:
        if (!schema) throw BusError.of("Unsupported", "bincode needs the payload's types, and this topic declares none");
        return encodeBincode(value, schema);
    }
  } catch (err) {
    if (err instanceof BusError) throw err;
    throw BusError.of("SerializationFailed", `cannot encode as ${formatName(format)}: ${(err as Error).message}`);
  }
  throw BusError.of("SerializationFailed", `unknown format ${format}`);
}

/**
 * msgpack as this runtime writes it. An integer past 64 bits has no msgpack integer form; where the
 * topic's types say u128 or i128 it was made rmp-serde's 16-byte bin before this (./msgpack-wide.ts),
 * and anywhere else it is refused: msgpackr's refusal names its own options (useBigIntExtension,
 * ...), which mean nothing to whoever sent the value, so it is said in the bus's terms. A -0 is
 * written as the float it is (./msgpack-sign.ts), an integer-, float- or bool-keyed map's keys as those
 * (./msgpack-keys.ts), a whole number past 32 bits as an integer, not msgpackr's f64
 * (./msgpack-ints.ts).
 */
function packMsgpack(value: unknown, schema: Schema | undefined): Uint8Array {
  try {
    return wholeFloatsAsIntegers(packr.pack(value).slice(), schema);
  } catch (err) {
    const wide = /^(-?\d+) was too large to fit in MessagePack 64-bit integer format/.exec((err as Error).message);
    if (!wide) throw err;
    throw BusError.of("SerializationFailed", `cannot encode as msgpack: the integer ${wide[1]} is past 64 bits, which a msgpack integer cannot hold (a u128 or i128 that large travels in msgpack where the topic declares its type, as rmp-serde's 16-byte bin, and in JSON or bincode)`);
  }
}

/**
 * Which of msgpack's rewrites before packing a schema needs (8: keys that are values as a Map of
 * them, ./written-keys.ts; 1: u128 and i128 as bins; 2: -0 as the float; 4: integer, float and
 * bool keys), kept per schema: each rewrite asks its own question of the schema again, at a
 * look-up each, so a schema that needs none or one (greet's, time.sleep's) pays for one or two,
 * not four.
 */
const REWRITES = new WeakMap<object, number>();
function rewritten(value: unknown, schema: Schema | undefined): unknown {
  // No types: -0 is looked for everywhere, and nothing else can be known.
  if (schema === undefined) return withSignedZeros(value, schema);
  let r = typeof schema === "object" ? REWRITES.get(schema) : undefined;
  if (r === undefined) {
    r = (holds(schema, WIDE_INT) ? 1 : 0) | (holds(schema, FLOAT) ? 2 : 0) | (holds(schema, TYPED_KEYS) ? 4 : 0) | (holds(schema, VALUE_KEYS) ? 8 : 0);
    if (typeof schema === "object") REWRITES.set(schema, r);
  }
  // first: a key it refuses costs none of the others' copies
  if (r & 8) value = keysAsWritten(value, schema, Format.Msgpack);
  if (r & 1) value = widesAsBins(value, schema);
  if (r & 2) value = withSignedZeros(value, schema);
  if (r & 4) value = keysAsTyped(value, schema);
  return value;
}

/** Re-encodes a payload; the identity when the formats agree. `limit` is decode's. */
export function transcode(payload: Payload, to: FormatValue, schema?: Schema, limit?: number): Payload {
  if (payload.format === to) return payload;
  const value = decode(payload.format, payload.data, schema, limit);
  // JSON can escape a lone surrogate ("\ud800"), and keeps it where it stays JSON; a msgpack or
  // bincode string is UTF-8, which cannot carry one (msgpackr wrote bytes that are not UTF-8,
  // bincode's TextEncoder U+FFFD). Only text with a surrogate escape pays for the walk.
  if (payload.format === Format.Json && to !== Format.Raw && escapesSurrogate(payload.data) && !wellFormed(value)) {
    throw BusError.of("SerializationFailed", `cannot encode as ${formatName(to)}: a string holds a lone surrogate (an unpaired \\uD800-\\uDFFF escape), which UTF-8 cannot carry`);
  }
  return { format: to, data: encode(to, value, schema) };
}

/**
 * Exactly one msgpack value: msgpackr alone takes the first value and ignores what follows, reads
 * 0xc1 (never used in msgpack) as a placeholder object instead of failing, a str that is not
 * UTF-8 with U+FFFD in place of its bad bytes, and builds every map and array it is given
 * (msgpack-scan.ts refuses all three, before msgpackr builds anything).
 */
function unpackOne(data: Uint8Array, limit: number, schema: Schema | undefined): unknown {
  const fault = msgpackFault(data, limit);
  if (fault) throw new Error(fault);
  // a token of the same length: the offsets bomStrs holds stay true
  if (zeroKeys) data = withZeroKeysSigned(data, zeroKeys);
  if (bomStrs) data = withBomsKept(data, bomStrs);
  // A map whose keys are values of their type (a tuple's, a struct's: ./map-keys.ts) is a Map
  // of them, which only maps as Maps read (objects() makes the other maps objects).
  if (typeof schema === "object" && valueKeyed(schema)) return objects(readOne(mapPackr, data), schema);
  let value: unknown;
  try {
    value = readOne(packr, data);
  } catch (err) {
    // A map with a bin (or array, or map) for a key, which msgpackr will not make an object key:
    // read it again with maps as Maps (objects() says what such a key is).
    if (!NOT_A_KEY.test((err as Error).message)) throw err;
    return objects(readOne(mapPackr, data), schema);
  }
  // msgpackr renames a key "__proto__" to "__proto_" (so as not to set a prototype): read such a
  // payload again with maps as Maps, and make them objects with the key as data.
  return sawProto ? objects(readOne(mapPackr, data), schema) : value;
}

/**
 * Whether a schema holds a map whose keys are values (./map-keys.ts), kept per schema as REWRITES
 * is: asked of every msgpack payload read, the query of the schema made a greet request's read
 * cost 1.11 to 1.22 times what it did without it (kept, 1.02 to 1.06; one bundle against a copy
 * of itself, 1.04).
 */
const VALUE_KEYED = new WeakMap<object, boolean>();
function valueKeyed(schema: Exclude<Schema, string>): boolean {
  let answer = VALUE_KEYED.get(schema);
  if (answer === undefined) VALUE_KEYED.set(schema, (answer = holds(schema, VALUE_KEYS)));
  return answer;
}

/** The one value `data` holds; bytes after it are refused in the bus's words, not msgpackr's (which stringify the value). */
function readOne(p: Packr, data: Uint8Array): unknown {
  let value: unknown;
  let end = 0;
  p.unpackMultiple(data, (v: unknown, _start?: number, stop?: number) => {
    if (end) throw new Error(`${data.length - end} bytes after the value`);
    value = v;
    end = stop ?? data.length;
  });
  if (end !== data.length) throw new Error(`${data.length - end} bytes after the value`);
  return value;
}

const NOT_A_KEY = /^Invalid property type for record/;

/**
 * Maps as objects, with keys as msgpackr makes them (String of a number, nil or boolean),
 * "__proto__" defined as data. A bin key is its UTF-8 text, as rmp-serde reads one (a struct's
 * field by its name's bytes, a String key's text: sdk/rust/wasm-bus/tests/serde_edges.rs);
 * msgpackr refused it in its own words, and with a "__proto__" in the payload made it the digits
 * of its bytes ("97" for "a"), which hid a field given twice. Where `schema` says the map's key is
 * a u128 or i128, a 16-byte bin key is the integer it holds, as rmp-serde writes every such key
 * (./msgpack-wide.ts): its digits, as a JSON key spells it; a bin of another length there is
 * refused, as rmp-serde refuses it. Where it says the keys are values (a tuple's, a struct's:
 * ./map-keys.ts), the map stays a Map of them, as rmp-serde writes them (an array, a map) and
 * the bincode reader reads them; so does a map with a nil key where the key type is an option (its
 * None, as rmp-serde reads it). A bin that is not UTF-8, an array or a map, at a key type of text,
 * is refused, naming that type.
 */
function objects(v: unknown, schema: Schema | null | undefined): unknown {
  const s = unwrapOption(schema);
  const inner = typeof s === "object" ? s : undefined;
  const typeOf = (key: string | number) => inner && memberType(inner, key);
  if (v instanceof Map) {
    const map = inner && "map" in inner ? inner.map : undefined;
    if (map && keysAreValues(map[0])) return new Map([...v].map(([k, x]) => [objects(k, map[0]), objects(x, map[1])]));
    const wide = map && isWide(map[0]) ? map[0] : undefined;
    const text = (k: unknown) => (wide && k instanceof Uint8Array ? wideKeyDigits(k, wide) : keyText(k, map?.[0]));
    // an option's None (nil) has no text, "null" being Some("null"): a Map, as the bincode reader's
    if (map && isOption(map[0]) && v.has(null)) return new Map([...v].map(([k, x]) => [k === null ? k : text(k), objects(x, map[1])]));
    const out: Record<string, unknown> = {};
    for (const [k, x] of v) {
      const key = text(k);
      setOwn(out, key, objects(x, typeOf(key)));
    }
    return out;
  }
  return Array.isArray(v) ? v.map((x, i) => objects(x, typeOf(i))) : v;
}

/** The digits of a bin key where the types say u128 or i128; refused unless it has rmp-serde's 16 bytes (rmp-serde: "LengthMismatch(16)"). */
function wideKeyDigits(k: Uint8Array, type: Wide): string {
  if (k.length !== 16) throw new Error(`a map's ${type} key is a bin of ${k.length} bytes, where rmp-serde writes 16`);
  return String(fromBin(k, type));
}

/** A key as an object's: its text. `type`: the map's key type, where the topic declares it. */
function keyText(k: unknown, type: Schema | undefined): string {
  if (k instanceof Uint8Array) {
    const text = binText(k);
    if (text === undefined) throw new Error("a map's key is a bin that is not UTF-8 text");
    return text;
  }
  if (k !== null && typeof k === "object") {
    throw new Error(`a map's key is ${Array.isArray(k) ? "an array" : "a map"}, where ${type === undefined ? "no key type is declared to read it as" : `the map's key type is ${typeText(type)}`}`);
  }
  return String(k);
}

/** A key type that takes text, named: `u8`, `option<string>`, `an enum of unit variants`. */
function typeText(type: Schema): string {
  if (typeof type === "string") return type;
  return "option" in type ? `option<${typeText(type.option)}>` : "an enum of unit variants";
}
