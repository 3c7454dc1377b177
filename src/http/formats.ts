import { Format, type FormatValue } from "../abi.js";

/** Content types of the HTTP edge, one per bus format. */
const CONTENT_TYPES: Record<FormatValue, string> = {
  [Format.Raw]: "application/octet-stream",
  [Format.Json]: "application/json",
  [Format.Msgpack]: "application/msgpack",
  [Format.Bincode]: "application/x-bincode",
};

/** Content types as a Map: the header is the client's, and "constructor" must not find anything. */
const BY_TYPE = new Map<string, FormatValue>([
  ["application/json", Format.Json],
  ["application/msgpack", Format.Msgpack],
  ["application/x-msgpack", Format.Msgpack],
  ["application/vnd.msgpack", Format.Msgpack],
  ["application/octet-stream", Format.Raw],
  ["application/x-bincode", Format.Bincode],
]);

export function formatOfContentType(header: string | undefined): FormatValue | undefined {
  const type = (header ?? "application/json").split(";")[0]!.trim().toLowerCase();
  return BY_TYPE.get(type);
}

export function contentTypeOf(format: FormatValue): string {
  return CONTENT_TYPES[format];
}

/** The headers of a reply in each format, made once: a reply is the hot path of every call. */
const HEADERS: Record<FormatValue, Readonly<Record<string, string>>> = {
  [Format.Raw]: Object.freeze({ "content-type": CONTENT_TYPES[Format.Raw] }),
  [Format.Json]: Object.freeze({ "content-type": CONTENT_TYPES[Format.Json] }),
  [Format.Msgpack]: Object.freeze({ "content-type": CONTENT_TYPES[Format.Msgpack] }),
  [Format.Bincode]: Object.freeze({ "content-type": CONTENT_TYPES[Format.Bincode] }),
};

export function headersOf(format: FormatValue): Readonly<Record<string, string>> {
  return HEADERS[format];
}
