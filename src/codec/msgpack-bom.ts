import { Packr } from "msgpackr";

/**
 * A str that starts with U+FEFF keeps it, as bincode's and JSON's readers keep it: msgpackr reads
 * a long str with a TextDecoder of its own, which drops a leading U+FEFF as a BOM, so kv.put of a
 * 100-byte key "\ufeff..." in msgpack wrote another key (in workerd; Node's msgpackr reads it
 * another way and keeps it). Where msgpackr drops one, the payload it reads has one U+FEFF more in
 * each such str: the one it drops.
 */

const BOM = [0xef, 0xbb, 0xbf];

/** Whether msgpackr drops the leading U+FEFF of a str of `len` bytes (here, as it reads them). */
function drops(len: number): boolean {
  const d = new Uint8Array(5 + len).fill(0x61);
  d.set([0xdb, 0, 0, len >> 8, len & 0xff, ...BOM]);
  return (new Packr({ useRecords: false }).unpack(d) as string).charCodeAt(0) !== 0xfeff;
}

/** The shortest str whose leading U+FEFF msgpackr drops (it reads strs past 64 bytes apart), or Infinity. */
export const DROPS_FROM = drops(3) ? 3 : drops(65) ? 65 : Infinity;

/** Whether the str of `len` bytes at `p` in `d` starts with U+FEFF that msgpackr would drop. */
export const bomDropped = (d: Uint8Array, p: number, len: number) =>
  len >= DROPS_FROM && p + len <= d.length && d[p] === 0xef && d[p + 1] === 0xbb && d[p + 2] === 0xbf;

/**
 * `d` with one U+FEFF more at the start of each str in `strs` (msgpackFault's bomStrs: its token's
 * offset, its bytes' offset and length, in order), each then a str32.
 */
export function withBomsKept(d: Uint8Array, strs: readonly number[]): Uint8Array {
  const out = new Uint8Array(d.length + (strs.length / 3) * 8);
  let from = 0;
  let o = 0;
  for (let i = 0; i < strs.length; i += 3) {
    const at = strs[i]!;
    out.set(d.subarray(from, at), o);
    o += at - from;
    out[o] = 0xdb;
    new DataView(out.buffer, o + 1, 4).setUint32(0, strs[i + 2]! + 3);
    out.set(BOM, o + 5);
    o += 8;
    from = strs[i + 1]!; // its bytes follow, after the token head they replace
  }
  out.set(d.subarray(from), o);
  return out.subarray(0, o + d.length - from);
}
