import { BusError } from "../errors.js";

/**
 * How deep a payload read from a caller may nest maps and arrays. msgpackr's reader, the JSON and
 * msgpack writers that transcode and the line writer of callbacks over HTTP all recurse, one stack
 * frame a level: past a few thousand levels they run out of stack, where they are is what decides,
 * so a request the edge read could fail once transcoded, or pass and its echo fail as the module's
 * reply (a 500 blaming the module for the caller's bytes). Held to this when read, every value the
 * host holds is far within any of them. serde_json's own limit is 128.
 */
export const MAX_NESTING = 512;

/** The refusal of a payload nested deeper than MAX_NESTING: the caller's bytes (400), as other unreadable payloads are. */
export function tooDeep(format: "json" | "msgpack"): BusError {
  return BusError.of("DeserializationFailed", `${format} payload nested deeper than ${MAX_NESTING} levels of maps and arrays, the bus's limit`);
}

/**
 * Whether JSON text opens more than MAX_NESTING arrays and objects at once, by one pass over it,
 * strings stepped over. Text that is not JSON may be told either way: JSON.parse refuses it. The
 * text is what JSON.parse is given: where long byte arrays were cut out of it (./json-bytes-read.ts)
 * they are leaves of the value, and the pass is over what is left, not over their digits.
 */
export function jsonTooDeep(t: string): boolean {
  // Each level opens with a character of its own: fewer than the limit cannot nest past it. They
  // are counted natively (indexOf); the pass by character in JavaScript is for the rest.
  if (t.length <= MAX_NESTING || opens(t) <= MAX_NESTING) return false;
  let depth = 0;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c === 0x22) {
      i = endOfText(t, i) - 1;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_NESTING) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}

/** How many `[` and `{` the text holds, strings included, counted up to one past MAX_NESTING. */
function opens(t: string): number {
  let n = 0;
  for (let i = t.indexOf("["); i >= 0 && n <= MAX_NESTING; i = t.indexOf("[", i + 1)) n++;
  for (let i = t.indexOf("{"); i >= 0 && n <= MAX_NESTING; i = t.indexOf("{", i + 1)) n++;
  return n;
}

/** endOfString on text: the index after the closing quote of the string whose opening quote is at `i`. */
function endOfText(t: string, i: number): number {
  let j = i + 1;
  for (;;) {
    const q = t.indexOf('"', j);
    if (q < 0) return t.length;
    let k = q - 1;
    while (t.charCodeAt(k) === 0x5c) k--;
    if ((q - 1 - k) % 2 === 0) return q + 1;
    j = q + 1;
  }
}

/** The index after the closing quote (the first not escaped by an odd run of backslashes) of the JSON string whose opening quote is at `i`; the text's length where there is none. */
export function endOfString(d: Uint8Array, i: number): number {
  let j = i + 1;
  for (;;) {
    const q = d.indexOf(0x22, j);
    if (q < 0) return d.length;
    let k = q - 1;
    while (d[k] === 0x5c) k--;
    if ((q - 1 - k) % 2 === 0) return q + 1;
    j = q + 1;
  }
}
