/**
 * What msgpackr lets through and the bus refuses, found in one pass over a payload's tokens, with
 * no recursion (nesting as deep as the payload is long costs nothing) and no allocation:
 * - the byte 0xc1, which msgpack never uses: msgpackr reads it as a placeholder object;
 * - a str that is not UTF-8: msgpackr puts U+FFFD in place of the bad bytes, where the JSON
 *   decoder refuses the whole payload, and the module would get bytes no serde `String` reads;
 * - an ext value (a timestamp, msgpackr's own Date, Set, RegExp, Error, typed arrays, bigint):
 *   outside serde's data model, which the bus's formats share. msgpackr makes objects of them
 *   that validate as what they are not and become `{}` in JSON; the SDKs' decoders refuse them.
 *
 * It runs on a payload msgpackr has read to its end, so every length in it is within the bytes.
 * On the way it notes a str "__proto__" (`sawProto`): msgpackr renames that key `__proto_`.
 */

const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

const u16 = (d: Uint8Array, p: number) => (d[p]! << 8) | d[p + 1]!;
const u32 = (d: Uint8Array, p: number) => d[p]! * 0x1000000 + ((d[p + 1]! << 16) | (d[p + 2]! << 8) | d[p + 3]!);

/** Whether the last payload msgpackFault scanned holds the str "__proto__" (as a key or not). */
export let sawProto = false;
const PROTO = [0x5f, 0x5f, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x5f, 0x5f];

/** Why the payload is refused, or undefined. */
export function msgpackFault(d: Uint8Array): string | undefined {
  sawProto = false;
  const n = d.length;
  let p = 0;
  // values still to read: one, and those each map and array adds
  let pending = 1;
  while (pending > 0 && p < n) {
    pending--;
    const at = p;
    const t = d[p++]!;
    if (t < 0x80 || t >= 0xe0) continue; // fixint
    if (t < 0x90) {
      pending += (t & 0x0f) * 2; // fixmap
      continue;
    }
    if (t < 0xa0) {
      pending += t & 0x0f; // fixarray
      continue;
    }
    let len: number;
    switch (t) {
      case 0xc0: case 0xc2: case 0xc3: continue;
      case 0xc1: return "byte 0xc1 is never used in msgpack";
      case 0xc4: p += 1 + d[p]!; continue; // bin
      case 0xc5: p += 2 + u16(d, p); continue;
      case 0xc6: p += 4 + u32(d, p); continue;
      case 0xc7: case 0xc8: case 0xc9: // ext: length, type, data
      case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: // fixext: type, data
        return extension(d, at);
      case 0xcc: case 0xd0: p += 1; continue;
      case 0xcd: case 0xd1: p += 2; continue;
      case 0xca: case 0xce: case 0xd2: p += 4; continue;
      case 0xcb: case 0xcf: case 0xd3: p += 8; continue;
      case 0xd9: len = d[p]!; p += 1; break; // str
      case 0xda: len = u16(d, p); p += 2; break;
      case 0xdb: len = u32(d, p); p += 4; break;
      case 0xdc: pending += u16(d, p); p += 2; continue; // array
      case 0xdd: pending += u32(d, p); p += 4; continue;
      case 0xde: pending += 2 * u16(d, p); p += 2; continue; // map
      case 0xdf: pending += 2 * u32(d, p); p += 4; continue;
      default: len = t & 0x1f; // fixstr
    }
    if (!isUtf8(d, p, p + len)) return `the str at byte ${at} is not UTF-8`;
    if (len === 9 && d[p] === 0x5f && PROTO.every((b, i) => d[p + i] === b)) sawProto = true;
    p += len;
  }
  return undefined;
}

/** The refusal of the ext value whose token is at `at`, naming its type (an i8). */
function extension(d: Uint8Array, at: number): string {
  const t = d[at]!;
  const type = (d[at + (t === 0xc7 ? 2 : t === 0xc8 ? 3 : t === 0xc9 ? 5 : 1)]! << 24) >> 24;
  return `ext type ${type} at byte ${at}: msgpack extensions (timestamps among them) are not in the bus's data model`;
}

/** Whether d[from, to) is UTF-8: ASCII by a loop, the rest (rarer) by the native decoder. */
function isUtf8(d: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    if (d[i]! >= 0x80) return decodes(d.subarray(i, to));
  }
  return true;
}

/** Out of the loop's function: a try block there slows the loop. */
function decodes(bytes: Uint8Array): boolean {
  try {
    strict.decode(bytes);
    return true;
  } catch {
    return false;
  }
}
