import { Packr } from "msgpackr";
import type { FormatName } from "./codes.js";
import { decodeJson, encodeJson, encodeText } from "./json.js";

// Records off, as the runtime's own Packr: a record extension would mean nothing to other
// clients, and decoding them generates code, which Workers and strict CSPs forbid.
const frames = new Packr({ useRecords: false, mapsAsObjects: true });
// Payloads keep 64-bit integers exact: a number where it holds one exactly, a bigint past 2^53, as
// JSON's are read (./json.ts). rmp-serde, and the runtime, write a u64 or i64 past 32 bits as
// msgpack's 64-bit integer whatever its size; read as a bigint always, 5000000000 came back
// 5000000000n in msgpack and 5000000000 in JSON. Frames never carry such numbers.
const payloads = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  // @ts-expect-error msgpackr reads "auto" (its unpack.js); its index.d.ts names only "bigint", "number" and "string"
  int64AsType: "auto",
});

/** The formats a caller picks for a request: the reply comes back in the same one. */
export type CallFormat = "json" | "msgpack" | "raw";

export const CONTENT_TYPES: Record<CallFormat, string> = {
  json: "application/json",
  msgpack: "application/msgpack",
  raw: "application/octet-stream",
};

export function formatOfContentType(header: string | null): FormatName {
  const type = (header ?? "").split(";")[0]!.trim().toLowerCase();
  if (type === "application/json") return "json";
  if (type === "application/msgpack" || type === "application/x-msgpack" || type === "application/vnd.msgpack") return "msgpack";
  if (type === "application/x-bincode") return "bincode";
  return "raw";
}

/** A request as bytes: json and msgpack encode the value; raw takes bytes or text as they are. */
export function encodePayload(format: FormatName, value: unknown): Uint8Array {
  switch (format) {
    case "json":
      return encodeJson(value);
    case "msgpack":
      // pack() hands back a view of a reusable buffer: copy it out.
      return payloads.pack(value).slice();
    default:
      if (value instanceof Uint8Array) return value;
      if (typeof value === "string") return encodeText(value);
      throw new TypeError(`a ${format} payload is bytes (Uint8Array) or a string`);
  }
}

/** A reply or callback value from its bytes; formats the client cannot read stay bytes. */
export function decodePayload(format: FormatName, data: Uint8Array): unknown {
  if (format === "json") return decodeJson(data);
  if (format === "msgpack") return data.length ? payloads.unpack(data) : null;
  return data;
}

export const packFrame = (frame: object): Uint8Array => frames.pack(frame).slice();
export const unpackFrame = (data: Uint8Array): unknown => frames.unpack(data);
