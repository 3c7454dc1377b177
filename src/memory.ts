import { strictUtf8 } from "./codec/strict-utf8.js";
import { BusError } from "./errors.js";

/** Names remembered per memory (readName): a few places in a guest hold the names it calls. */
const NAME_SLOTS = 64;
/**
 * The longest name a guest may pass (a wapm name, a topic, a callback's topic), in bytes. Names
 * are kept (a callback's topic with its handle, in snapshots too): without a bound, a guest of
 * 16 MiB could register thousands of callbacks each named by its whole memory and fill the isolate.
 */
export const MAX_NAME_BYTES = 1024;
const EMPTY = new Uint8Array(0);

/**
 * Bounds-checked access to a guest's linear memory.
 *
 * Threat model: every (ptr, len) pair comes from guest code and may be wild.
 * Reads copy out (the guest may change its memory later); writes go only into
 * buffers the guest itself handed out from `wasm_bus_malloc`.
 */
export class GuestMemory {
  #memory?: WebAssembly.Memory;
  /** Where there is no memory yet: what every access throws. */
  #missing?: () => Error;
  #bytes: Uint8Array;
  #words?: DataView;
  #names: ({ ptr: number; bytes: Uint8Array; text: string } | undefined)[] = new Array(NAME_SLOTS);

  /** A guest's memory; or, given why there is none yet (its start section runs), one whose every access throws that. */
  constructor(memory: WebAssembly.Memory | (() => Error)) {
    if (memory instanceof WebAssembly.Memory) this.#memory = memory;
    else this.#missing = memory;
    this.#bytes = this.#memory ? new Uint8Array(this.#memory.buffer) : EMPTY;
  }

  get raw(): WebAssembly.Memory {
    if (!this.#memory) throw this.#missing!();
    return this.#memory;
  }

  get size(): number {
    return this.#view().length;
  }

  /** A view that is valid until the guest runs again (memory.grow detaches buffers). */
  #view(): Uint8Array {
    // A grown memory detaches the old buffer, so the cached view reads as empty; reading
    // memory.buffer on every access costs more than the rest of a small copy.
    if (this.#bytes.length === 0) {
      this.#bytes = new Uint8Array(this.raw.buffer);
      this.#words = undefined;
    }
    return this.#bytes;
  }

  #check(ptr: number, len: number, what: string): Uint8Array {
    const view = this.#view();
    if ((ptr >>> 0) + (len >>> 0) > view.length) throw outside(what, ptr, len, view.length);
    return view;
  }

  /** Whether `bytes` is a view of this memory (valid only until the guest runs or grows it). */
  holds(bytes: Uint8Array): boolean {
    return bytes.buffer === this.#view().buffer;
  }

  /** Throws InvalidPointer unless `len` bytes at `ptr` lie inside guest memory. */
  check(ptr: number, len: number, what = "buffer"): void {
    this.#check(ptr, len, what);
  }

  /**
   * A short name (a wapm name, a topic) that a guest passes again and again from the same place:
   * the same string each time while the bytes there are unchanged (checked), so the lookups it
   * keys hash it once.
   */
  readName(ptr: number, len: number, what = "name"): string {
    const view = this.#check(ptr, len, what);
    if (len >>> 0 > MAX_NAME_BYTES) throw nameTooLong(what, len);
    const start = ptr >>> 0;
    const n = len >>> 0;
    const slot = (start * 31 + n) & (NAME_SLOTS - 1);
    const hit = this.#names[slot];
    if (hit !== undefined && hit.ptr === start && hit.bytes.length === n) {
      const bytes = hit.bytes;
      let i = 0;
      while (i < n && view[start + i] === bytes[i]) i++;
      if (i === n) return hit.text;
    }
    return this.#remember(slot, start, n, what);
  }

  /** readName's miss: the name decoded, and kept in its slot where it is short. */
  #remember(slot: number, start: number, n: number, what: string): string {
    const text = this.readString(start, n, what);
    if (n <= 64) this.#names[slot] = { ptr: start, bytes: this.#view().slice(start, start + n), text };
    return text;
  }

  /** Copies guest bytes out. */
  read(ptr: number, len: number, what = "buffer"): Uint8Array {
    const view = this.#check(ptr, len, what);
    return view.slice(ptr >>> 0, (ptr >>> 0) + (len >>> 0));
  }

  /** A zero-copy view for data that is consumed before the guest runs again. */
  peek(ptr: number, len: number, what = "buffer"): Uint8Array {
    const view = this.#check(ptr, len, what);
    return view.subarray(ptr >>> 0, (ptr >>> 0) + (len >>> 0));
  }

  /** Copies `into.length` guest bytes at `ptr` into `into`: by hand, as it is for a few bytes (no view made). */
  copyOut(ptr: number, into: Uint8Array, what = "buffer"): void {
    const n = into.length;
    const view = this.#check(ptr, n, what);
    const start = ptr >>> 0;
    for (let i = 0; i < n; i++) into[i] = view[start + i]!;
  }

  readString(ptr: number, len: number, what = "string"): string {
    const bytes = this.peek(ptr, len, what);
    // Topics and wapm names are short ASCII: building them by hand beats TextDecoder's call cost.
    if (bytes.length <= 32) {
      let ascii = "";
      for (let i = 0; i < bytes.length; i++) {
        const b = bytes[i]!;
        if (b >= 0x80) {
          ascii = "";
          break;
        }
        ascii += String.fromCharCode(b);
      }
      if (ascii.length === bytes.length) return ascii;
    }
    // The codecs' reader: a leading U+FEFF is part of the name, as it is in every payload, so a
    // topic "\ufeffecho" is not echo and a name means the same bytes everywhere (snapshots too).
    try {
      return strictUtf8.decode(bytes);
    } catch {
      throw BusError.of("InvalidUtf8", `${what} is not valid UTF-8`);
    }
  }

  write(ptr: number, bytes: Uint8Array, what = "buffer"): void {
    this.#check(ptr, bytes.length, what).set(bytes, ptr >>> 0);
  }

  /**
   * A DataView of the whole memory for `len` bytes at `ptr` that were bounds-checked just now
   * (little-endian u32 records the guest handed over); valid until the guest runs again.
   */
  words(ptr: number, len: number, what = "record"): DataView {
    const view = this.#check(ptr, len, what);
    return (this.#words ??= new DataView(view.buffer, view.byteOffset, view.byteLength));
  }
}

/**
 * #check's refusal, out of line. V8 inlines the calls a bus call makes only up to a budget of
 * bytecode per optimized function, and messages' templates would spend it on paths that are not
 * taken: the hot functions of the bus's paths keep theirs out (4% on a call_now round trip,
 * `node bench/compare.mjs`; docs/performance.md, "Fifth pass").
 */
/** readName's refusal of a name past MAX_NAME_BYTES: out of line, as `outside` is. */
function nameTooLong(what: string, len: number): BusError {
  return BusError.of("LimitExceeded", `${what} of ${len >>> 0} bytes is over the limit of ${MAX_NAME_BYTES} for a name`);
}

function outside(what: string, ptr: number, len: number, size: number): BusError {
  return BusError.of("InvalidPointer", `${what}: ${len >>> 0} bytes at ${ptr >>> 0} run past guest memory (${size} bytes)`);
}
