import { BusError } from "./errors.js";

/**
 * Bounds-checked access to a guest's linear memory.
 *
 * Threat model: every (ptr, len) pair comes from guest code and may be wild.
 * Reads copy out (the guest may change its memory later); writes go only into
 * buffers the guest itself handed out from `wasm_bus_malloc`.
 */
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

export class GuestMemory {
  #memory: WebAssembly.Memory;
  #bytes: Uint8Array;

  constructor(memory: WebAssembly.Memory) {
    this.#memory = memory;
    this.#bytes = new Uint8Array(memory.buffer);
  }

  get raw(): WebAssembly.Memory {
    return this.#memory;
  }

  get size(): number {
    return this.#view().length;
  }

  /** A view that is valid until the guest runs again (memory.grow detaches buffers). */
  #view(): Uint8Array {
    // A grown memory detaches the old buffer, so the cached view reads as empty; reading
    // memory.buffer on every access costs more than the rest of a small copy.
    if (this.#bytes.length === 0) this.#bytes = new Uint8Array(this.#memory.buffer);
    return this.#bytes;
  }

  #check(ptr: number, len: number, what: string): Uint8Array {
    const view = this.#view();
    const start = ptr >>> 0;
    const n = len >>> 0;
    if (start + n > view.length) {
      throw BusError.of("InvalidPointer", `${what}: ${n} bytes at ${start} run past guest memory (${view.length} bytes)`);
    }
    return view;
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
    try {
      return utf8.decode(bytes);
    } catch {
      throw BusError.of("InvalidUtf8", `${what} is not valid UTF-8`);
    }
  }

  write(ptr: number, bytes: Uint8Array, what = "buffer"): void {
    this.#check(ptr, bytes.length, what).set(bytes, ptr >>> 0);
  }
}
