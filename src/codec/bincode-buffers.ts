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
  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  take(n: number): number {
    if (this.pos + n > this.buf.length) throw new Error("bincode: unexpected end of input");
    const at = this.pos;
    this.pos += n;
    return at;
  }
  length(): number {
    const n = this.view.getBigUint64(this.take(8), true);
    // Every element takes at least a byte or is unit; cap by what is left to stop a
    // hostile length from allocating before the read fails.
    if (n > BigInt(this.buf.length - this.pos) && n > 0x10000n) throw new Error("bincode: length past the end of input");
    return Number(n);
  }
}
