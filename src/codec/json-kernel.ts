/**
 * The byte-array kernel (json-bytes.wat, built to build/json-bytes.wasm): long byte arrays written
 * as digits and read back in Wasm with SIMD, a few times faster than JavaScript can. Workers cannot
 * compile Wasm from bytes, so the module comes from the bundle: the Worker hands it over once
 * (`useJsonKernel`, src/worker-runtime.ts). Without it, or for a payload past the kernel's 16 MiB
 * of memory, the writer and reader do the same in JavaScript; the text and the bytes are the same
 * either way.
 */

const PAGE = 65536;
/**
 * Where the caller's data starts in the kernel's memory (below: its tables, as json-bytes.wat lays
 * them out; the largest, decode's 512 KiB of comma masks, it fills itself when instantiated).
 */
export const KERNEL_BASE = 9 * PAGE;
/** The memory's maximum, as json-bytes.wat declares it. */
const MAX_PAGES = 256;

interface Exports {
  memory: WebAssembly.Memory;
  count: WebAssembly.Global;
  blocked: WebAssembly.Global;
  encode(src: number, n: number, dst: number): number;
  decode(j: number, limit: number, out: number): number;
}

export class JsonKernel {
  readonly #x: Exports;
  /** The kernel's memory: a new view whenever it grows. */
  bytes: Uint8Array;

  constructor(module: WebAssembly.Module) {
    this.#x = new WebAssembly.Instance(module, {}).exports as unknown as Exports;
    this.bytes = new Uint8Array(this.#x.memory.buffer);
    const m = this.bytes;
    const view = new DataView(m.buffer);
    for (let b = 0; b < 256; b++) {
      const s = `${b},`;
      let word = 0;
      for (let i = 0; i < s.length; i++) word |= s.charCodeAt(i) << (8 * i);
      view.setUint32(b * 4, word, true);
      m[1024 + b] = s.length;
    }
    // encode's shuffles, by which of four bytes are over 9 (bits 0-3) and over 99 (bits 4-7): each
    // byte keeps the last 2 + k of its four slots "hto,", k its bits set (a row with a byte over 99 and not over 9 is never read)
    for (let i = 0; i < 256; i++) {
      let q = 0;
      for (let g = 0; g < 4; g++) {
        const k = ((i >> g) & 1) + ((i >> (g + 4)) & 1);
        for (let s = 2 - k; s < 4; s++) m[16384 + i * 16 + q++] = g * 4 + s;
      }
    }
    // decode's: tens by b - '0'; hundreds and the check bias by a - ',' (0 two digits, 4-13 the
    // hundreds), 15 for one digit
    for (let x = 0; x < 10; x++) {
      m[5376 + x] = x * 10;
      m[5392 + 4 + x] = (x * 100) & 0xff;
      m[5408 + 4 + x] = x === 1 ? 128 : x === 2 ? 200 : 0;
    }
    m[5408] = 118;
    m[5408 + 15] = 128;
  }

  /** Makes the memory at least `end` bytes long; false when that is past its maximum. */
  fit(end: number): boolean {
    const have = this.bytes.length;
    if (end <= have) return true;
    const pages = Math.ceil((end - have) / PAGE);
    if (have / PAGE + pages > MAX_PAGES) return false;
    this.#x.memory.grow(pages);
    this.bytes = new Uint8Array(this.#x.memory.buffer);
    return true;
  }

  /**
   * The n bytes at `src` as "d," "dd," "ddd," from `dst` on (up to 8 bytes past it written); the
   * end. `src` may lie from `dst` + 4n + 7 on: the digits never overtake the bytes not yet read.
   */
  encode(src: number, n: number, dst: number): number {
    return this.#x.encode(src, n, dst);
  }

  /**
   * The compact array whose first byte after `[` is at `j` (text ending at `limit`) into `out`
   * on: the index after its `]`, or -1 when it is not serde_json's compact form of at least
   * BYTES_BY_HAND bytes. Writes up to 16 bytes past the last byte it reads.
   */
  decode(j: number, limit: number, out: number): number {
    return this.#x.decode(j, limit, out);
  }

  /** How many bytes the last `decode` read. */
  get count(): number {
    return this.#x.count.value as number;
  }

  /** How much of the last `decode`'s text it read 16 bytes at a time (for the tests: the fast path was taken). */
  get blocked(): number {
    return this.#x.blocked.value as number;
  }
}

let module: WebAssembly.Module | undefined;
/** The instance, null when there is none to make or it failed. */
let kernel: JsonKernel | null | undefined;

/** Hands the codec the kernel's compiled module (build/json-bytes.wasm); undefined goes back to JavaScript alone. */
export function useJsonKernel(m: WebAssembly.Module | undefined): void {
  module = m;
  kernel = undefined;
}

/** The kernel, made on first use. */
export function jsonKernel(): JsonKernel | undefined {
  if (kernel === undefined) {
    try {
      kernel = module ? new JsonKernel(module) : null;
    } catch {
      kernel = null;
    }
  }
  return kernel ?? undefined;
}
