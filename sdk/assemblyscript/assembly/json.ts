/**
 * JSON <-> Value. Bytes encode as an array of numbers (serde's way); integers
 * without fraction or exponent that fit i64 decode as Int, those past it that fit
 * u64 as an exact big uint (Value.uint), other numbers as Float.
 * The decoder is strict (RFC 8259: UTF-8 only, no byte order mark) and answers
 * null on malformed input, and on nesting deeper than 128.
 */
import { ByteWriter, text, utf8 } from "./bytes";
import { Kind, Value } from "./value";

/** Nesting deeper than this is refused rather than risk the stack. */
const MAX_DEPTH = 128;

export function encodeJson(v: Value): Uint8Array {
  const w = new ByteWriter();
  writeJson(w, v);
  return w.finish();
}

export function stringifyJson(v: Value): string {
  return text(encodeJson(v));
}

export function decodeJson(data: Uint8Array): Value | null {
  const r = reader;
  r.data = data;
  r.pos = 0;
  r.ws();
  let v = r.value(0);
  if (v != null) {
    r.ws();
    if (r.pos != data.length) v = null;
  }
  r.data = NO_BYTES; // holds no caller's bytes alive
  return v;
}

export function parseJson(s: string): Value | null {
  return decodeJson(Uint8Array.wrap(utf8(s)));
}

const NO_BYTES = new Uint8Array(0);
/** Every decode's reader, as a decode runs no code that could start another: a decode allocates none. */
const reader = new JsonReader(NO_BYTES);

// ---- encoding -------------------------------------------------------------------

const HEX = "0123456789abcdef";

/** Each of four UTF-16 units, all below 0x80, alone in the 16 bits of its lane. */
const LANES_1: u64 = 0x0001_0001_0001_0001;
const LANES_HIGH: u64 = 0x8000_8000_8000_8000;

/**
 * A string as JSON, written from its UTF-16 in one pass (unpaired surrogates as U+FFFD, as `utf8`
 * writes them): four characters at a time while they are ASCII that needs no escape. It was three
 * passes of one character each (String.UTF8's length and its encoding, then the escape scan), and
 * a module built with fuel metering pays for every loop iteration: a chat post of 4 KB was ~12,000.
 */
function writeString(w: ByteWriter, s: string): void {
  const p = changetype<usize>(s);
  const n = <usize>s.length;
  w.byte(0x22);
  let i: usize = 0;
  while (i < n) {
    if (n - i >= 4) {
      const q = load<u64>(p + (i << 1));
      // Every lane below 0x80, none below 0x20 nor a quote nor a backslash (a lane that is, or a
      // borrow out of one, sets the high bit of a lane: a false alarm only takes the slow path).
      const special = (q - 0x20 * LANES_1) | ((q ^ (0x22 * LANES_1)) - LANES_1) | ((q ^ (0x5c * LANES_1)) - LANES_1);
      if ((q & 0xff80_ff80_ff80_ff80) == 0 && (special & LANES_HIGH) == 0) {
        const at = w.reserve(4);
        store<u32>(at, <u32>(q & 0xff) | (<u32>((q >> 8) & 0xff00)) | (<u32>((q >> 16) & 0xff_0000)) | (<u32>((q >> 24) & 0xff00_0000)));
        i += 4;
        continue;
      }
    }
    const c = <u32>load<u16>(p + (i << 1));
    i++;
    if (c < 0x80) {
      if (c >= 0x20 && c != 0x22 && c != 0x5c) {
        w.byte(c);
        continue;
      }
      w.byte(0x5c);
      if (c == 0x22 || c == 0x5c) w.byte(c);
      else if (c == 0x0a) w.byte(0x6e);
      else if (c == 0x0d) w.byte(0x72);
      else if (c == 0x09) w.byte(0x74);
      else {
        w.ascii("u00");
        w.byte(HEX.charCodeAt(c >> 4));
        w.byte(HEX.charCodeAt(c & 15));
      }
      continue;
    }
    let cp = c;
    if (c >= 0xd800 && c < 0xe000) {
      const lo = i < n ? <u32>load<u16>(p + (i << 1)) : 0;
      if (c < 0xdc00 && lo >= 0xdc00 && lo < 0xe000) {
        cp = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
        i++;
      } else cp = 0xfffd; // unpaired
    }
    writeUtf8(w, cp);
  }
  w.byte(0x22);
}

/** Appends `v` as JSON to `w`. */
export function writeJson(w: ByteWriter, v: Value): void {
  switch (v.kind) {
    case Kind.Null: w.ascii("null"); break;
    case Kind.Bool: w.ascii(v.asBool() ? "true" : "false"); break;
    case Kind.Int: w.ascii(v.asInt().toString()); break;
    case Kind.Float: {
      // Whole floats print as integers ("3", not "3.0"), as JSON.stringify does, so serde reads them as ints too.
      const f = v.asFloat();
      if (v.isBigUint()) w.ascii(v.asUint().toString());
      else if (!isFinite(f)) w.ascii("null");
      else if (f == Math.trunc(f) && Math.abs(f) < 9007199254740992) w.ascii((<i64>f).toString());
      else {
        // Past 2^53 JSON.stringify still writes whole numbers below 1e21 as plain digits
        // ("100000000000000000000"), where f64.toString adds ".0".
        const t = f.toString();
        w.ascii(t.endsWith(".0") ? t.slice(0, t.length - 2) : t);
      }
      break;
    }
    case Kind.String: writeString(w, v.asString()); break;
    case Kind.Bytes: {
      const b = v.asBytes()!;
      w.byte(0x5b);
      for (let i = 0; i < b.length; i++) {
        if (i) w.byte(0x2c);
        w.ascii((<u32>b[i]).toString());
      }
      w.byte(0x5d);
      break;
    }
    case Kind.Array: {
      w.byte(0x5b);
      for (let i = 0; i < v.length; i++) {
        if (i) w.byte(0x2c);
        writeJson(w, v.at(i)!);
      }
      w.byte(0x5d);
      break;
    }
    case Kind.Object: {
      w.byte(0x7b);
      for (let i = 0; i < v.length; i++) {
        if (i) w.byte(0x2c);
        writeString(w, v.keyAt(i));
        w.byte(0x3a);
        writeJson(w, v.at(i)!);
      }
      w.byte(0x7d);
      break;
    }
  }
}

// ---- decoding -------------------------------------------------------------------

function hexDigit(c: u32): i32 {
  if (c >= 0x30 && c <= 0x39) return <i32>(c - 0x30);
  c |= 0x20;
  if (c >= 0x61 && c <= 0x66) return <i32>(c - 0x61 + 10);
  return -1;
}

function isDigit(c: u32): bool {
  return c - 0x30 < 10;
}

/**
 * Whether `len` bytes at `ptr` are well-formed UTF-8 (RFC 3629): no stray continuation bytes,
 * truncated sequences, overlong forms, surrogates or code points past U+10FFFF. The decoders
 * check strings with it, as String.UTF8.decodeUnsafe takes anything and mangles what is not.
 */
export function isUtf8(ptr: usize, len: usize): bool {
  let i: usize = 0;
  while (i < len) {
    // Eight ASCII bytes at a time.
    if (len - i >= 8 && (load<u64>(ptr + i) & 0x8080_8080_8080_8080) == 0) {
      i += 8;
      continue;
    }
    const c = <u32>load<u8>(ptr + i);
    if (c < 0x80) {
      i++;
      continue;
    }
    let n: usize;
    let cp: u32;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      cp = c & 0x07;
    } else return false; // a continuation byte, 0xc0/0xc1 (overlong) or 0xf5.. (past U+10FFFF)
    if (len - i <= n) return false;
    for (let k: usize = 1; k <= n; k++) {
      const b = <u32>load<u8>(ptr + i + k);
      if ((b & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3f);
    }
    if (n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000))) return false;
    if (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) return false;
    i += n + 1;
  }
  return true;
}

class JsonReader {
  pos: i32 = 0;
  constructor(public data: Uint8Array) {}

  peek(): u32 {
    return this.pos < this.data.length ? <u32>this.data[this.pos] : 0xffff_ffff;
  }

  ws(): void {
    while (this.pos < this.data.length) {
      const c = this.data[this.pos];
      if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) break;
      this.pos++;
    }
  }

  literal(word: string, v: Value): Value | null {
    const n = word.length;
    if (this.pos + n > this.data.length) return null;
    for (let i = 0; i < n; i++) if (<u32>this.data[this.pos + i] != <u32>word.charCodeAt(i)) return null;
    this.pos += n;
    return v;
  }

  value(depth: i32): Value | null {
    if (depth > MAX_DEPTH) return null;
    const c = this.peek();
    if (c == 0x7b) return this.object(depth);
    if (c == 0x5b) return this.array(depth);
    if (c == 0x22) {
      const s = this.string();
      return s == null ? null : Value.str(s);
    }
    if (c == 0x74) return this.literal("true", Value.bool(true));
    if (c == 0x66) return this.literal("false", Value.bool(false));
    if (c == 0x6e) return this.literal("null", Value.null());
    if (c == 0x2d || isDigit(c)) return this.number();
    return null;
  }

  object(depth: i32): Value | null {
    this.pos++; // {
    const obj = Value.object();
    this.ws();
    if (this.peek() == 0x7d) {
      this.pos++;
      return obj;
    }
    while (true) {
      this.ws();
      if (this.peek() != 0x22) return null;
      const key = this.string();
      if (key == null) return null;
      this.ws();
      if (this.peek() != 0x3a) return null;
      this.pos++;
      this.ws();
      const v = this.value(depth + 1);
      if (v == null) return null;
      obj.append(key, v);
      this.ws();
      const c = this.peek();
      this.pos++;
      if (c == 0x7d) return obj;
      if (c != 0x2c) return null;
    }
  }

  array(depth: i32): Value | null {
    this.pos++; // [
    const arr = Value.array();
    this.ws();
    if (this.peek() == 0x5d) {
      this.pos++;
      return arr;
    }
    while (true) {
      this.ws();
      const v = this.value(depth + 1);
      if (v == null) return null;
      arr.push(v);
      this.ws();
      const c = this.peek();
      this.pos++;
      if (c == 0x5d) return arr;
      if (c != 0x2c) return null;
    }
  }

  /** A string starting at the opening quote. */
  string(): string | null {
    const data = this.data;
    const start = ++this.pos;
    // Fast path: no escapes.
    let i = start;
    while (i < data.length) {
      const c = data[i];
      if (c == 0x22) {
        if (!isUtf8(data.dataStart + <usize>start, <usize>(i - start))) return null;
        this.pos = i + 1;
        return String.UTF8.decodeUnsafe(data.dataStart + <usize>start, <usize>(i - start));
      }
      if (c == 0x5c || c < 0x20) break;
      i++;
    }
    // Slow path: unescape into a buffer.
    const w = new ByteWriter(i - start + 16);
    w.raw(data.dataStart + <usize>start, i - start);
    while (i < data.length) {
      const c = <u32>data[i++];
      if (c == 0x22) {
        // Escapes write whole sequences, so the result is well-formed exactly when the raw bytes were.
        if (!isUtf8(w.buf.dataStart, <usize>w.len)) return null;
        this.pos = i;
        return text(w.finish());
      }
      if (c < 0x20) return null;
      if (c != 0x5c) {
        w.byte(c);
        continue;
      }
      if (i >= data.length) return null;
      const e = <u32>data[i++];
      if (e == 0x22 || e == 0x5c || e == 0x2f) w.byte(e);
      else if (e == 0x62) w.byte(0x08);
      else if (e == 0x66) w.byte(0x0c);
      else if (e == 0x6e) w.byte(0x0a);
      else if (e == 0x72) w.byte(0x0d);
      else if (e == 0x74) w.byte(0x09);
      else if (e == 0x75) {
        let cp = this.hex4(i);
        if (cp < 0) return null;
        i += 4;
        if (cp >= 0xd800 && cp < 0xdc00 && i + 6 <= data.length && data[i] == 0x5c && data[i + 1] == 0x75) {
          const lo = this.hex4(i + 2);
          if (lo >= 0xdc00 && lo < 0xe000) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            i += 6;
          }
        }
        if (cp >= 0xd800 && cp < 0xe000) cp = 0xfffd; // unpaired surrogate
        writeUtf8(w, <u32>cp);
      } else return null;
    }
    return null;
  }

  hex4(at: i32): i32 {
    if (at + 4 > this.data.length) return -1;
    let v = 0;
    for (let k = 0; k < 4; k++) {
      const d = hexDigit(this.data[at + k]);
      if (d < 0) return -1;
      v = (v << 4) | d;
    }
    return v;
  }

  number(): Value | null {
    const data = this.data;
    const start = this.pos;
    let i = start;
    const neg = data[i] == 0x2d;
    if (neg) i++;
    if (i >= data.length || !isDigit(data[i])) return null;
    // Magnitude accumulated negatively, so i64.MIN_VALUE fits.
    let acc: i64 = 0;
    let overflow = false;
    if (data[i] == 0x30) i++;
    else {
      while (i < data.length && isDigit(data[i])) {
        const d = <i64>(data[i] - 0x30);
        if (acc < (i64.MIN_VALUE + d) / 10) overflow = true;
        else acc = acc * 10 - d;
        i++;
      }
    }
    let isFloat = false;
    if (i < data.length && data[i] == 0x2e) {
      isFloat = true;
      i++;
      if (i >= data.length || !isDigit(data[i])) return null;
      while (i < data.length && isDigit(data[i])) i++;
    }
    if (i < data.length && (data[i] | 0x20) == 0x65) {
      isFloat = true;
      i++;
      if (i < data.length && (data[i] == 0x2b || data[i] == 0x2d)) i++;
      if (i >= data.length || !isDigit(data[i])) return null;
      while (i < data.length && isDigit(data[i])) i++;
    }
    this.pos = i;
    if (!isFloat && !overflow && (neg || acc != i64.MIN_VALUE)) return Value.int(neg ? acc : -acc);
    if (!isFloat && !neg) {
      // Past i64: a u64 keeps its digits (serde's u64 fields); only past that is it rounded.
      let u: u64 = 0;
      let k = start;
      for (; k < i; k++) {
        const d = <u64>(data[k] - 0x30);
        if (u > (u64.MAX_VALUE - d) / 10) break;
        u = u * 10 + d;
      }
      if (k == i) return Value.uint(u);
    }
    return Value.float(parseFloat(String.UTF8.decodeUnsafe(data.dataStart + <usize>start, <usize>(i - start))));
  }
}

function writeUtf8(w: ByteWriter, cp: u32): void {
  if (cp < 0x80) w.byte(cp);
  else if (cp < 0x800) {
    w.byte(0xc0 | (cp >> 6));
    w.byte(0x80 | (cp & 63));
  } else if (cp < 0x10000) {
    w.byte(0xe0 | (cp >> 12));
    w.byte(0x80 | ((cp >> 6) & 63));
    w.byte(0x80 | (cp & 63));
  } else {
    w.byte(0xf0 | (cp >> 18));
    w.byte(0x80 | ((cp >> 12) & 63));
    w.byte(0x80 | ((cp >> 6) & 63));
    w.byte(0x80 | (cp & 63));
  }
}
