/** Byte helpers shared by the codecs and the ABI glue. */

/** UTF-8 bytes of a string; unpaired surrogates become U+FFFD, so the host always sees valid UTF-8. */
export function utf8(s: string): ArrayBuffer {
  return String.UTF8.encode(s, false, String.UTF8.ErrorMode.REPLACE);
}

/** UTF-8 bytes of a string as a Uint8Array. */
export function utf8Bytes(s: string): Uint8Array {
  return Uint8Array.wrap(utf8(s));
}

/** Decodes UTF-8 bytes to a string. */
export function text(bytes: Uint8Array): string {
  return String.UTF8.decodeUnsafe(bytes.dataStart, <usize>bytes.length);
}

/** Copies `len` bytes at `ptr` (host-written memory) into a new Uint8Array. */
export function copyIn(ptr: usize, len: usize): Uint8Array {
  const out = new Uint8Array(<i32>len);
  if (len) memory.copy(out.dataStart, ptr, len);
  return out;
}

/** A growable byte buffer for encoders. */
export class ByteWriter {
  buf: Uint8Array;
  len: i32 = 0;

  constructor(capacity: i32 = 64) {
    this.buf = new Uint8Array(capacity);
  }

  /** Makes room for `n` more bytes and answers where they go. */
  reserve(n: i32): usize {
    const need = this.len + n;
    if (need > this.buf.length) {
      let cap = this.buf.length << 1;
      if (cap < need) cap = need;
      const next = new Uint8Array(cap);
      memory.copy(next.dataStart, this.buf.dataStart, <usize>this.len);
      this.buf = next;
    }
    const at = this.buf.dataStart + <usize>this.len;
    this.len = need;
    return at;
  }

  byte(b: u32): void {
    store<u8>(this.reserve(1), <u8>b);
  }

  raw(ptr: usize, n: i32): void {
    if (n > 0) memory.copy(this.reserve(n), ptr, <usize>n);
  }

  bytes(b: Uint8Array): void {
    this.raw(b.dataStart, b.length);
  }

  buffer(b: ArrayBuffer): void {
    this.raw(changetype<usize>(b), b.byteLength);
  }

  /** A string known to be ASCII (numbers, literals), one byte per char. */
  ascii(s: string): void {
    const n = s.length;
    const at = this.reserve(n);
    for (let i = 0; i < n; i++) store<u8>(at + <usize>i, <u8>s.charCodeAt(i));
  }

  u16be(v: u32): void {
    store<u16>(this.reserve(2), bswap<u16>(<u16>v));
  }

  u32be(v: u32): void {
    store<u32>(this.reserve(4), bswap<u32>(v));
  }

  u64be(v: u64): void {
    store<u64>(this.reserve(8), bswap<u64>(v));
  }

  /** The bytes written, copied out. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}
