/**
 * A dynamic value in the serde data model, for self-describing payloads
 * (JSON, MessagePack): null, bool, int (i64), float (f64), string, bytes,
 * array and object (keys in insertion order). A u64 past i64.MAX_VALUE is a
 * Float that keeps its exact value too (Value.uint, asUint), so serde's u64
 * fields pass through with all their digits.
 */
export enum Kind { Null, Bool, Int, Float, String, Bytes, Array, Object }

export class Value {
  kind: Kind = Kind.Null;
  private b: bool = false;
  private i: i64 = 0;
  private f: f64 = 0;
  /** A Float made by Value.uint from a u64 past i64.MAX_VALUE: `i` holds its bits. */
  private big: bool = false;
  private s: string = "";
  private data: Uint8Array | null = null;
  /**
   * Array elements, or object values. Null until the first is added: an empty array or object
   * allocates nothing more, and the first element goes into room the constructor reserves (`[]`
   * reserves none, so its first push moved the buffer).
   */
  private items: Array<Value> | null = null;
  /** Object keys, parallel to `items` (null with it). */
  private names: Array<string> | null = null;

  // ---- construction ----------------------------------------------------------

  static null(): Value {
    return new Value();
  }
  static bool(b: bool): Value {
    const v = new Value();
    v.kind = Kind.Bool;
    v.b = b;
    return v;
  }
  static int(i: i64): Value {
    const v = new Value();
    v.kind = Kind.Int;
    v.i = i;
    return v;
  }
  static float(f: f64): Value {
    const v = new Value();
    v.kind = Kind.Float;
    v.f = f;
    return v;
  }
  /**
   * An unsigned 64-bit integer: an Int where it fits i64, else a Float that also keeps the
   * exact u64, which asUint answers and both encoders write (JSON digits, MessagePack uint64).
   */
  static uint(u: u64): Value {
    if (u <= <u64>i64.MAX_VALUE) return Value.int(<i64>u);
    const v = Value.float(<f64>u);
    v.i = <i64>u;
    v.big = true;
    return v;
  }
  static str(s: string): Value {
    const v = new Value();
    v.kind = Kind.String;
    v.s = s;
    return v;
  }
  static bytes(data: Uint8Array): Value {
    const v = new Value();
    v.kind = Kind.Bytes;
    v.data = data;
    return v;
  }
  static array(): Value {
    const v = new Value();
    v.kind = Kind.Array;
    return v;
  }
  static object(): Value {
    const v = new Value();
    v.kind = Kind.Object;
    return v;
  }

  // ---- kind tests --------------------------------------------------------------

  isNull(): bool { return this.kind == Kind.Null; }
  isBool(): bool { return this.kind == Kind.Bool; }
  isInt(): bool { return this.kind == Kind.Int; }
  isFloat(): bool { return this.kind == Kind.Float; }
  /** Int, or a float with no fractional part within i64 range. */
  isInteger(): bool {
    return this.kind == Kind.Int || (this.kind == Kind.Float && this.f == Math.trunc(this.f) && Math.abs(this.f) < 9.2e18);
  }
  isNumber(): bool { return this.kind == Kind.Int || this.kind == Kind.Float; }
  /** A Float that holds a u64 past i64.MAX_VALUE exactly (Value.uint; the decoders make them). */
  isBigUint(): bool { return this.kind == Kind.Float && this.big; }
  isString(): bool { return this.kind == Kind.String; }
  isBytes(): bool { return this.kind == Kind.Bytes; }
  isArray(): bool { return this.kind == Kind.Array; }
  isObject(): bool { return this.kind == Kind.Object; }

  // ---- scalar access (a neutral value when the kind differs) --------------------

  asBool(): bool { return this.kind == Kind.Bool ? this.b : false; }
  /** The int, or a float truncated; 0 otherwise. */
  asInt(): i64 {
    if (this.kind == Kind.Int) return this.i;
    if (this.kind == Kind.Float && Math.abs(this.f) < 9.2e18) return <i64>this.f;
    return 0;
  }
  /** The integer as a u64: an Int >= 0, a big uint exactly, or a float truncated within u64 range; 0 otherwise. */
  asUint(): u64 {
    if (this.kind == Kind.Int) return this.i >= 0 ? <u64>this.i : 0;
    if (this.isBigUint()) return <u64>this.i;
    if (this.kind == Kind.Float && this.f >= 0 && this.f < 18446744073709551616.0) return <u64>this.f;
    return 0;
  }
  /** The float, or an int converted; 0 otherwise. */
  asFloat(): f64 {
    if (this.kind == Kind.Float) return this.f;
    if (this.kind == Kind.Int) return <f64>this.i;
    return 0;
  }
  /** The string; "" otherwise. */
  asString(): string { return this.kind == Kind.String ? this.s : ""; }

  /**
   * Bytes, however the format carried them: MessagePack bin, a JSON array of
   * numbers 0–255 (serde's way), or a string (as UTF-8). Null otherwise.
   */
  asBytes(): Uint8Array | null {
    if (this.kind == Kind.Bytes) return this.data;
    if (this.kind == Kind.String) return Uint8Array.wrap(String.UTF8.encode(this.s, false, String.UTF8.ErrorMode.REPLACE));
    if (this.kind != Kind.Array) return null;
    const n = this.length;
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const item = this.items![i];
      if (!item.isInteger()) return null;
      const n = item.asInt();
      if (n < 0 || n > 255) return null;
      out[i] = <u8>n;
    }
    return out;
  }

  // ---- arrays and objects -------------------------------------------------------

  /** Elements of an array, entries of an object, bytes of bytes, UTF-16 units of a string. */
  get length(): i32 {
    if (this.kind == Kind.Array || this.kind == Kind.Object) {
      const items = this.items;
      return items === null ? 0 : items.length;
    }
    if (this.kind == Kind.Bytes) return this.data!.length;
    if (this.kind == Kind.String) return this.s.length;
    return 0;
  }

  /** Element `i` of an array (or the value of entry `i` of an object); null when out of range. */
  at(i: i32): Value | null {
    if (this.kind != Kind.Array && this.kind != Kind.Object) return null;
    const items = this.items;
    return items !== null && i >= 0 && i < items.length ? items[i] : null;
  }

  /** Key of entry `i` of an object; "" when out of range. */
  keyAt(i: i32): string {
    if (this.kind != Kind.Object) return "";
    const names = this.names;
    return names !== null && i >= 0 && i < names.length ? names[i] : "";
  }

  /** The value under `key` of an object (the last, if repeated); null when absent or not an object. */
  get(key: string): Value | null {
    if (this.kind != Kind.Object) return null;
    const names = this.names;
    if (names === null) return null;
    for (let i = names.length - 1; i >= 0; i--) if (names[i] == key) return this.items![i];
    return null;
  }

  has(key: string): bool {
    return this.get(key) != null;
  }

  /** A string field, or null when absent or of another kind. */
  getString(key: string): string | null {
    const v = this.get(key);
    return v != null && v.isString() ? v.asString() : null;
  }

  /** Sets `key` of an object, replacing any earlier value; returns this, to chain. */
  set(key: string, value: Value): Value {
    if (this.kind != Kind.Object) return this;
    const names = this.names;
    if (names !== null) {
      for (let i = 0; i < names.length; i++) {
        if (names[i] == key) {
          this.items![i] = value;
          return this;
        }
      }
    }
    return this.append(key, value);
  }

  /** Adds an entry without looking for the key first (decoders use it: O(1)). */
  append(key: string, value: Value): Value {
    if (this.kind != Kind.Object) return this;
    let names = this.names;
    if (names === null) {
      this.names = names = new Array<string>();
      this.items = new Array<Value>();
    }
    names.push(key);
    this.items!.push(value);
    return this;
  }

  /** Appends to an array; returns this, to chain. */
  push(value: Value): Value {
    if (this.kind != Kind.Array) return this;
    let items = this.items;
    if (items === null) this.items = items = new Array<Value>();
    items.push(value);
    return this;
  }

  // ---- shorthands for building replies ------------------------------------------

  setString(key: string, s: string): Value { return this.set(key, Value.str(s)); }
  setInt(key: string, i: i64): Value { return this.set(key, Value.int(i)); }
  setFloat(key: string, f: f64): Value { return this.set(key, Value.float(f)); }
  setBool(key: string, b: bool): Value { return this.set(key, Value.bool(b)); }
  setBytes(key: string, data: Uint8Array): Value { return this.set(key, Value.bytes(data)); }
}
