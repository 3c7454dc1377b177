import { C1, Packr } from "msgpackr";
import { Format, type FormatValue, formatName } from "../abi.js";
import { BusError } from "../errors.js";
import { asBytes, decodeBincode, encodeBincode } from "./bincode.js";
import type { Schema } from "./schema.js";

export type { Schema, TopicSpec } from "./schema.js";

// Records off: msgpackr would otherwise generate decoders with `new Function`, which workerd forbids.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: "bigint", variableMapSize: true });
const utf8 = new TextEncoder();

/** Bytes of one payload in one format. */
export interface Payload {
  format: FormatValue;
  data: Uint8Array;
}

export function decode(format: number, data: Uint8Array, schema?: Schema): unknown {
  try {
    switch (format) {
      case Format.Raw:
        return data;
      case Format.Json:
        return conform(parseJson(data), schema);
      case Format.Msgpack:
        return conform(data.length ? unpackOne(data) : undefined, schema);
      case Format.Bincode:
        if (!schema) throw BusError.of("Unsupported", "bincode needs the payload's types, and this topic declares none");
        return decodeBincode(data, schema);
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
        return value instanceof Uint8Array ? value : typeof value === "string" ? utf8.encode(value) : utf8.encode(stringifyJson(value));
      case Format.Json:
        return utf8.encode(stringifyJson(value));
      case Format.Msgpack:
        // pack() hands back a view of msgpackr's reusable buffer: copy it out.
        return packr.pack(value).slice();
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

/** Re-encodes a payload; the identity when the formats agree. */
export function transcode(payload: Payload, to: FormatValue, schema?: Schema): Payload {
  if (payload.format === to) return payload;
  return { format: to, data: encode(to, decode(payload.format, payload.data, schema), schema) };
}

/**
 * Exactly one msgpack value: msgpackr alone takes the first value and ignores what follows,
 * and reads 0xc1 (never used in msgpack) as a placeholder object instead of failing.
 */
function unpackOne(data: Uint8Array): unknown {
  let value: unknown;
  let end = 0;
  packr.unpackMultiple(data, (v: unknown, _start?: number, stop?: number) => {
    if (end) throw new Error(`${data.length - end} bytes after the value`);
    value = v;
    end = stop ?? data.length;
  });
  if (end !== data.length) throw new Error(`${data.length - end} bytes after the value`);
  // A cheap native scan first: the walk only runs where the byte occurs at all.
  if (data.includes(0xc1) && holdsC1(value)) throw new Error("byte 0xc1 is never used in msgpack");
  return value;
}

function holdsC1(v: unknown): boolean {
  if (v === C1) return true;
  if (v === null || typeof v !== "object" || v instanceof Uint8Array) return false;
  if (v instanceof Map) {
    for (const [k, x] of v) if (holdsC1(k) || holdsC1(x)) return true;
    return false;
  }
  return Object.values(v).some(holdsC1);
}

const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

function parseJson(data: Uint8Array): unknown {
  const source = text.decode(data);
  // Integers past 2^53 keep their digits as bigint (u64/u128 fields); a reviver costs ten
  // times the parse, so only text with a run of 16 digits pays for it.
  if (!/\d{16}/.test(source)) return JSON.parse(source);
  return JSON.parse(source, (_key, value, context?: { source?: string }) =>
    typeof value === "number" && !Number.isSafeInteger(value) && context?.source && /^-?\d+$/.test(context.source)
      ? BigInt(context.source)
      : value,
  );
}

declare global {
  interface JSON {
    rawJSON(text: string): unknown;
  }
}

/** JSON as serde_json writes it: bytes as arrays of numbers, big integers with all their digits. */
export function stringifyJson(value: unknown): string {
  // A prepared copy and a plain stringify beat a replacer, which V8 calls for every value.
  return JSON.stringify(prepareJson(value ?? null));
}

function prepareJson(v: unknown): unknown {
  if (typeof v === "bigint") return JSON.rawJSON(v.toString());
  if (v === null || typeof v !== "object") return v;
  if (v instanceof Uint8Array) return Array.from(v);
  if (Array.isArray(v)) return v.map(prepareJson);
  // Keys are data ("__proto__" too): a null-prototype object keeps each as its own property.
  const out: Record<string, unknown> = Object.create(null);
  for (const k of Object.keys(v)) out[k] = prepareJson((v as Record<string, unknown>)[k]);
  return out;
}

/** Brings a self-describing value to the shape the schema names: byte arrays become Uint8Array. */
function conform(value: unknown, schema?: Schema): unknown {
  if (!schema || typeof schema === "string") return schema === "bytes" && value != null ? asBytes(value, "$") : value;
  if (value === null || value === undefined || typeof value !== "object") return value;
  if ("option" in schema) return conform(value, schema.option);
  if ("seq" in schema && Array.isArray(value)) return value.map((v) => conform(v, schema.seq));
  if ("tuple" in schema && Array.isArray(value)) return value.map((v, i) => conform(v, schema.tuple[i]));
  if ("struct" in schema) {
    const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    for (const [k, s] of Object.entries(schema.struct)) if (k in out) out[k] = conform(out[k], s);
    return out;
  }
  return value;
}
