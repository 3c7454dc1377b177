/** Bytes in one format: what a request, reply or callback carries. */
import { Format } from "./abi";
import { ByteWriter, text, utf8Bytes } from "./bytes";
import { decodeJson, encodeJson, writeJson } from "./json";
import { decodeMsgpack, encodeMsgpack, writeMsgpack } from "./msgpack";
import { Value } from "./value";

export class Payload {
  constructor(public format: u32, public data: Uint8Array) {}

  /** The bytes as UTF-8 text. */
  text(): string {
    return text(this.data);
  }

  /**
   * Decodes a JSON or MessagePack payload; raw bytes come back as Value.bytes.
   * Null when malformed, or bincode (not self-describing).
   */
  value(): Value | null {
    return decodeAs(this.format, this.data);
  }

  static json(v: Value): Payload {
    return new Payload(Format.Json, encodeJson(v));
  }

  static msgpack(v: Value): Payload {
    return new Payload(Format.Msgpack, encodeMsgpack(v));
  }

  static raw(data: Uint8Array): Payload {
    return new Payload(Format.Raw, data);
  }

  static text(s: string): Payload {
    return new Payload(Format.Raw, utf8Bytes(s));
  }
}

/** Decodes bytes of a format into a Value; null when malformed or bincode. */
export function decodeAs(format: u32, data: Uint8Array): Value | null {
  if (format == Format.Json) return decodeJson(data);
  if (format == Format.Msgpack) return decodeMsgpack(data);
  if (format == Format.Raw) return Value.bytes(data);
  return null;
}

/**
 * Encodes a Value in a format: JSON, MessagePack, or raw (bytes as they are,
 * a string as UTF-8, anything else as JSON text, as the host does). Bincode
 * needs the payload's types, which a Value lacks: it is written as JSON, so
 * check `formatFor` first when the format comes from elsewhere.
 */
export function encodeAs(format: u32, v: Value): Uint8Array {
  const raw = rawBytes(format, v);
  if (raw !== null) return raw;
  const w = new ByteWriter();
  writeAs(w, format, v);
  return w.finish();
}

/** What encodeAs answers for raw bytes or a raw string, which need no encoder; null for the rest. */
export function rawBytes(format: u32, v: Value): Uint8Array | null {
  if (format != Format.Raw) return null;
  if (v.isBytes()) return v.asBytes()!;
  if (v.isString()) return utf8Bytes(v.asString());
  return null;
}

/** Appends what encodeAs answers for a Value rawBytes does not take (MessagePack, else JSON) to `w`. */
export function writeAs(w: ByteWriter, format: u32, v: Value): void {
  if (format == Format.Msgpack) writeMsgpack(w, v);
  else writeJson(w, v);
}

/** The format a Value is written in when replying to `format`: itself, except bincode -> json. */
export function formatFor(format: u32): u32 {
  return format == Format.Bincode ? Format.Json : format;
}
