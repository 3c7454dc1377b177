/**
 * A float key -0.0 in msgpack (rmp-serde writes an f64 -0.0 key as `cb 80 00..`), read with its
 * sign. msgpackr makes each key of an object String of what it reads, and String(-0) is "0" (a
 * Map's key alike: -0 is 0 there), so a msgpack module's {-0.0: 1} reached a JSON caller as
 * {"0.0": 1}, where serde_json writes "-0.0", and a bincode one as the key +0.0. Before msgpackr
 * reads it, each such key is made the str "-0.0" of the same length: the key as serde_json spells
 * it, which the float-key writers (./json-float-keys.ts, ./msgpack-keys.ts) read as -0.0 again.
 */
const utf8 = new TextEncoder();
/** "-0.0" as a str of the f32's five bytes (a fixstr) and of the f64's nine (a str32). */
const AS_STR = { 5: Uint8Array.of(0xa4, ...utf8.encode("-0.0")), 9: Uint8Array.of(0xdb, 0, 0, 0, 4, ...utf8.encode("-0.0")) };

/** `d` with the float at each of `starts` (msgpackFault's zeroKeys: each a -0.0 key, its bytes all there) the str "-0.0". */
export function withZeroKeysSigned(d: Uint8Array, starts: readonly number[]): Uint8Array {
  const out = d.slice();
  for (const at of starts) out.set(out[at] === 0xca ? AS_STR[5] : AS_STR[9], at);
  return out;
}
