import { COST, containerBudget, overBudget } from "./budget.js";

/** The byte buffers bincode writes into and reads from: little-endian, growing as needed, bounds-checked. */
export class Writer {
  buf = new Uint8Array(64);
  view = new DataView(this.buf.buffer);
  pos = 0;
  reserve(n: number): number {
    if (this.pos + n > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
      next.set(this.buf.subarray(0, this.pos));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }
  // Each writer reserves first: reserve() may swap `buf` and `view` for bigger ones.
  u8(v: number) {
    const at = this.reserve(1);
    this.buf[at] = v;
  }
  u32(v: number) {
    const at = this.reserve(4);
    this.view.setUint32(at, v, true);
  }
  u64(v: number) {
    const at = this.reserve(8);
    this.view.setBigUint64(at, BigInt(v), true);
  }
  f32(v: number) {
    const at = this.reserve(4);
    this.view.setFloat32(at, v, true);
  }
  f64(v: number) {
    const at = this.reserve(8);
    this.view.setFloat64(at, v, true);
  }
  bytes(b: Uint8Array) {
    this.u64(b.length);
    const at = this.reserve(b.length);
    this.buf.set(b, at);
  }
  finish() {
    return this.buf.slice(0, this.pos);
  }
}

export class Reader {
  view: DataView;
  pos = 0;
  /**
   * Elements the lengths still to be read may announce, in all. Each element of a payload's
   * sequences, maps, strings and bytes starts at a byte of its own (a nested sequence's elements
   * come after its length), so a payload's lengths add up to at most its size; what takes no bytes
   * at all (unit, an empty struct or tuple) is allowed 65,536 over the whole payload. Held per
   * sequence, a 1 MiB payload of lengths of 65,536 `()`s each announced 2^33 of them.
   */
  #announce: number;
  /**
   * What is left of the budget for objects still to be made (./budget.ts): a struct of one u8 is
   * one byte of bincode, so 1 MiB of `Vec<Pixel>` was a million objects, where its JSON
   * (`{"v":1},`) holds an eighth of them.
   */
  #containers: number;
  constructor(
    readonly buf: Uint8Array,
    readonly limit: number,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.#announce = buf.length + 0x10000;
    this.#containers = containerBudget(limit);
  }
  /** Counts one object against the budget, before it is made: an array (seq, tuple) or a map (struct, map, enum variant) or bytes. */
  container(kind: keyof typeof COST) {
    if ((this.#containers -= COST[kind]) < 0) throw overBudget("bincode", this.limit);
  }
  take(n: number): number {
    if (this.pos + n > this.buf.length) throw new Error("bincode: unexpected end of input");
    const at = this.pos;
    this.pos += n;
    return at;
  }
  length(): number {
    const n = this.view.getBigUint64(this.take(8), true);
    // Checked before anything is allocated or looped over for it.
    if (n > BigInt(this.#announce)) throw new Error("bincode: length past the end of input");
    this.#announce -= Number(n);
    return Number(n);
  }
}
