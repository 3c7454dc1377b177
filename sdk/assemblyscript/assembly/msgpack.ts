/**
 * MessagePack <-> Value. Bytes are bin, integers take the smallest encoding,
 * floats are float64. The decoder answers null on malformed input (0xc1,
 * truncation, trailing bytes, str that is not UTF-8, nesting deeper than 128)
 * and on ext types; a uint64 past i64 decodes as an exact big uint (Value.uint,
 * written back as uint64); integer map keys become strings, other non-string
 * keys are refused.
 */
import { ByteWriter } from "./bytes";
import { isUtf8 } from "./json";
import { Kind, Value } from "./value";

const MAX_DEPTH = 128;

export function encodeMsgpack(v: Value): Uint8Array {
  const w = new ByteWriter();
  writeMsgpack(w, v);
  return w.finish();
}

export function decodeMsgpack(data: Uint8Array): Value | null {
  const r = reader;
  r.data = data;
  r.pos = 0;
  r.ok = true;
  const v = r.value(0);
  const whole = v != null && r.pos == data.length;
  r.data = NO_BYTES; // holds no caller's bytes alive
  return whole ? v : null;
}

const NO_BYTES = new Uint8Array(0);
/** Every decode's reader, as a decode runs no code that could start another: a decode allocates none. */
const reader = new MsgpackReader(NO_BYTES);

// ---- encoding -------------------------------------------------------------------

function writeHeader(w: ByteWriter, n: u32, fix: u32, fixMax: u32, op8: u32, op16: u32, op32: u32): void {
  if (n <= fixMax) w.byte(fix | n);
  else if (op8 != 0 && n <= 0xff) {
    w.byte(op8);
    w.byte(n);
  } else if (n <= 0xffff) {
    w.byte(op16);
    w.u16be(n);
  } else {
    w.byte(op32);
    w.u32be(n);
  }
}

function writeInt(w: ByteWriter, i: i64): void {
  if (i >= 0) {
    if (i < 0x80) w.byte(<u32>i);
    else if (i <= 0xff) { w.byte(0xcc); w.byte(<u32>i); }
    else if (i <= 0xffff) { w.byte(0xcd); w.u16be(<u32>i); }
    else if (i <= 0xffff_ffff) { w.byte(0xce); w.u32be(<u32>i); }
    else { w.byte(0xcf); w.u64be(<u64>i); }
  } else {
    if (i >= -32) w.byte(<u32>(<i32>i) & 0xff);
    else if (i >= -128) { w.byte(0xd0); w.byte(<u32>(<i32>i) & 0xff); }
    else if (i >= -32768) { w.byte(0xd1); w.u16be(<u32>(<i32>i) & 0xffff); }
    else if (i >= i32.MIN_VALUE) { w.byte(0xd2); w.u32be(<u32>(<i32>i)); }
    else { w.byte(0xd3); w.u64be(<u64>i); }
  }
}

/** A string's UTF-8 as `utf8` makes it, written into `w` with no buffer of its own. */
function writeStr(w: ByteWriter, s: string): void {
  const n = String.UTF8.byteLength(s);
  // fixstr holds up to 31 bytes; str8 exists (msgpack 2013 spec).
  writeHeader(w, <u32>n, 0xa0, 31, 0xd9, 0xda, 0xdb);
  String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, w.reserve(n), false, String.UTF8.ErrorMode.REPLACE);
}

/** Appends `v` as MessagePack to `w`. */
export function writeMsgpack(w: ByteWriter, v: Value): void {
  switch (v.kind) {
    case Kind.Null: w.byte(0xc0); break;
    case Kind.Bool: w.byte(v.asBool() ? 0xc3 : 0xc2); break;
    case Kind.Int: writeInt(w, v.asInt()); break;
    case Kind.Float: {
      if (v.isBigUint()) {
        w.byte(0xcf);
        w.u64be(v.asUint());
        break;
      }
      w.byte(0xcb);
      w.u64be(reinterpret<u64>(v.asFloat()));
      break;
    }
    case Kind.String: writeStr(w, v.asString()); break;
    case Kind.Bytes: {
      const b = v.asBytes()!;
      // bin has no fix form and a different op range, so its header is written here.
      const n = <u32>b.length;
      if (n <= 0xff) { w.byte(0xc4); w.byte(n); }
      else if (n <= 0xffff) { w.byte(0xc5); w.u16be(n); }
      else { w.byte(0xc6); w.u32be(n); }
      w.bytes(b);
      break;
    }
    case Kind.Array: {
      const n = v.length;
      writeHeader(w, <u32>n, 0x90, 15, 0, 0xdc, 0xdd);
      for (let i = 0; i < n; i++) writeMsgpack(w, v.at(i)!);
      break;
    }
    case Kind.Object: {
      const n = v.length;
      writeHeader(w, <u32>n, 0x80, 15, 0, 0xde, 0xdf);
      for (let i = 0; i < n; i++) {
        writeStr(w, v.keyAt(i));
        writeMsgpack(w, v.at(i)!);
      }
      break;
    }
  }
}

// ---- decoding -------------------------------------------------------------------

class MsgpackReader {
  pos: i32 = 0;
  ok: bool = true;
  constructor(public data: Uint8Array) {}

  left(): i32 {
    return this.data.length - this.pos;
  }

  /** Big-endian unsigned of `n` bytes (1, 2, 4 or 8); sets ok = false past the end. */
  uint(n: i32): u64 {
    if (this.left() < n) {
      this.ok = false;
      return 0;
    }
    const p = this.data.dataStart + <usize>this.pos;
    this.pos += n;
    if (n == 1) return <u64>load<u8>(p);
    if (n == 2) return <u64>bswap<u16>(load<u16>(p));
    if (n == 4) return <u64>bswap<u32>(load<u32>(p));
    return bswap<u64>(load<u64>(p));
  }

  /** `n` raw bytes as a slice, or null past the end. */
  take(n: u64): Uint8Array | null {
    if (n > <u64>this.left()) return null;
    const start = this.pos;
    this.pos += <i32>n;
    return this.data.slice(start, this.pos);
  }

  str(n: u64): Value | null {
    if (n > <u64>this.left()) return null;
    if (!isUtf8(this.data.dataStart + <usize>this.pos, <usize>n)) return null;
    const s = String.UTF8.decodeUnsafe(this.data.dataStart + <usize>this.pos, <usize>n);
    this.pos += <i32>n;
    return Value.str(s);
  }

  array(n: u64, depth: i32): Value | null {
    if (n > <u64>this.left()) return null; // every element takes a byte at least
    const arr = Value.array();
    for (let i: u64 = 0; i < n; i++) {
      const v = this.value(depth + 1);
      if (v == null) return null;
      arr.push(v);
    }
    return arr;
  }

  map(n: u64, depth: i32): Value | null {
    if (n * 2 > <u64>this.left()) return null;
    const obj = Value.object();
    for (let i: u64 = 0; i < n; i++) {
      const k = this.value(depth + 1);
      if (k == null) return null;
      let key: string;
      if (k.isString()) key = k.asString();
      else if (k.isInt()) key = k.asInt().toString();
      else return null;
      const v = this.value(depth + 1);
      if (v == null) return null;
      obj.append(key, v);
    }
    return obj;
  }

  value(depth: i32): Value | null {
    if (depth > MAX_DEPTH || this.left() < 1) return null;
    const c = <u32>this.data[this.pos++];
    if (c < 0x80) return Value.int(c);
    if (c >= 0xe0) return Value.int(<i64>(<i8>c));
    if (c < 0x90) return this.map(c & 15, depth);
    if (c < 0xa0) return this.array(c & 15, depth);
    if (c < 0xc0) return this.str(c & 31);
    let v: Value | null = null;
    switch (c) {
      case 0xc0: return Value.null();
      case 0xc2: return Value.bool(false);
      case 0xc3: return Value.bool(true);
      case 0xc4: case 0xc5: case 0xc6: {
        const n = this.uint(1 << (c - 0xc4));
        if (!this.ok) return null;
        const b = this.take(n);
        return b == null ? null : Value.bytes(b);
      }
      case 0xca: v = Value.float(<f64>reinterpret<f32>(<u32>this.uint(4))); break;
      case 0xcb: v = Value.float(reinterpret<f64>(this.uint(8))); break;
      case 0xcc: case 0xcd: case 0xce: case 0xcf: {
        const u = this.uint(1 << (c - 0xcc));
        v = Value.uint(u);
        break;
      }
      case 0xd0: v = Value.int(<i64>(<i8>this.uint(1))); break;
      case 0xd1: v = Value.int(<i64>(<i16>this.uint(2))); break;
      case 0xd2: v = Value.int(<i64>(<i32>this.uint(4))); break;
      case 0xd3: v = Value.int(<i64>this.uint(8)); break;
      case 0xd9: case 0xda: case 0xdb: {
        const n = this.uint(1 << (c - 0xd9));
        return this.ok ? this.str(n) : null;
      }
      case 0xdc: case 0xdd: {
        const n = this.uint(2 << (c - 0xdc));
        return this.ok ? this.array(n, depth) : null;
      }
      case 0xde: case 0xdf: {
        const n = this.uint(2 << (c - 0xde));
        return this.ok ? this.map(n, depth) : null;
      }
      default: return null; // 0xc1 (never used) and the ext types
    }
    return this.ok ? v : null;
  }
}
