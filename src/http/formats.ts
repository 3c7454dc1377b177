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

/** The content types a body may have, for a 415 to name: every one formatOfContentType takes. */
export const BODY_TYPES: readonly string[] = [...BY_TYPE.keys()];

export function formatOfContentType(header: string | undefined): FormatValue | undefined {
  const type = (header ?? "application/json").split(";")[0]!.trim().toLowerCase();
  return BY_TYPE.get(type);
}

export function contentTypeOf(format: FormatValue): string {
  return CONTENT_TYPES[format];
}

/**
 * What a reply in each format is answered with, made once. A Headers object rather than a plain
 * one: the runtime takes it as it is instead of reading a dictionary's properties, about half a
 * microsecond a reply; Response copies it, so no answer shares or changes it.
 */
const REPLY_INIT = Object.fromEntries(
  Object.entries(CONTENT_TYPES).map(([format, type]) => [format, { headers: new Headers({ "content-type": type }) }]),
) as unknown as Record<FormatValue, ResponseInit>;

export function replyInit(format: FormatValue): ResponseInit {
  return REPLY_INIT[format];
}
