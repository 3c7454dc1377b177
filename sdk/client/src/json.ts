/**
 * JSON as the runtime speaks it (serde_json's model): integers past 2^53 keep their digits, and
 * bytes are arrays of numbers. JavaScript's JSON would round the first and turn a Uint8Array
 * into an object of indices.
 */

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

/**
 * Stands in for a bigint while JSON.stringify runs; swapped for the bare digits afterwards. A raw
 * U+0000 in a string is always escaped as \u0000 in JSON, and the random part keeps a caller's
 * own string from matching by accident.
 */
const MARK = `bigint${Math.random().toString(36).slice(2, 10)}:`;
const BIGINT = `\u0000${MARK}`;
const BIGINT_TEXT = new RegExp(`"\\\\u0000${MARK}(-?\\d+)"`, "g");

/** `space` indents as JSON.stringify's does, for text a person reads. */
export function stringifyJson(value: unknown, space?: number): string {
  let sawBigint = false;
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === "bigint") {
      sawBigint = true;
      return `${BIGINT}${v}`;
    }
    if (v instanceof Uint8Array) return Array.from(v);
    return v;
  }, space);
  return sawBigint ? text.replace(BIGINT_TEXT, "$1") : text;
}

interface ReviverContext {
  source?: string;
}

/** Parses JSON; an integer JavaScript's numbers cannot hold exactly becomes a bigint (where the engine gives the source text). */
export function parseJson(text: string): unknown {
  return JSON.parse(text, function (this: unknown, _key: string, value: unknown, context?: ReviverContext) {
    if (typeof value === "number" && !Number.isSafeInteger(value) && context?.source && /^-?\d+$/.test(context.source)) {
      return BigInt(context.source);
    }
    return value;
  } as (this: unknown, key: string, value: unknown) => unknown);
}

export const encodeJson = (value: unknown): Uint8Array => utf8.encode(stringifyJson(value));
export const decodeJson = (data: Uint8Array): unknown => (data.length ? parseJson(utf8Decoder.decode(data)) : null);
export const decodeText = (data: Uint8Array): string => utf8Decoder.decode(data);
export const encodeText = (text: string): Uint8Array => utf8.encode(text);
