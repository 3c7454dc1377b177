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

/** `d` with one U+FEFF more at the start of each str at `ats` (their tokens' offsets, in order), each then a str32. */
export function withBomsKept(d: Uint8Array, ats: readonly number[]): Uint8Array {
  const out = new Uint8Array(d.length + ats.length * 8);
  let from = 0;
  let o = 0;
  for (const at of ats) {
    const t = d[at]!;
    const head = t === 0xd9 ? 2 : t === 0xda ? 3 : t === 0xdb ? 5 : 1;
    const len =
      t === 0xd9 ? d[at + 1]!
      : t === 0xda ? (d[at + 1]! << 8) | d[at + 2]!
      : t === 0xdb ? new DataView(d.buffer, d.byteOffset + at + 1, 4).getUint32(0)
      : t & 0x1f; // fixstr
    out.set(d.subarray(from, at), o);
    o += at - from;
    new DataView(out.buffer, o, 5).setUint32(1, len + 3);
    out[o] = 0xdb;
    out.set(BOM, o + 5);
    o += 8;
    from = at + head;
  }
  out.set(d.subarray(from), o);
  return out.subarray(0, o + d.length - from);
}
