import { wasi as defs } from "@bjorn3/browser_wasi_shim";
import { describe, expect, it } from "vitest";
import { GuestMemory } from "../../src/memory.js";
import { type WasiOptions, wasiImports } from "../../src/wasi.js";

// The WASI import table (src/wasi.ts) called as a guest would, on a real WebAssembly.Memory: the
// arithmetic on guest pointers and lengths, and what each import answers.

type Fn = (...args: (number | bigint)[]) => number;

function wasi(options: WasiOptions = {}, pages = 1) {
  const memory = new GuestMemory(new WebAssembly.Memory({ initial: pages }));
  const lines: [string, string][] = [];
  const never = () => new Promise<void>(() => {});
  const made = wasiImports(options, { memory: () => memory, clock: { sleepUntil: never, now: Date.now }, log: (stream, line) => lines.push([stream, line]) });
  const call = (name: string, ...args: (number | bigint)[]) => (made.imports[name] as Fn)(...args);
  const bytes = () => new Uint8Array(memory.raw.buffer);
  const view = () => new DataView(memory.raw.buffer);
  return { memory, made, call, bytes, view, lines };
}

describe("WASI args and environ", () => {
  it("args_sizes_get counts UTF-8 bytes, so args_get writes no byte past the buffer it asked for", () => {
    const args = ["wasi", "€uro", "😀", "ü".repeat(20)];
    const { call, view, bytes } = wasi({ args });
    expect(call("args_sizes_get", 0, 4)).toBe(defs.ERRNO_SUCCESS);
    const encoded = args.map((a) => new TextEncoder().encode(a));
    const size = encoded.reduce((n, e) => n + e.length + 1, 0);
    expect(view().getUint32(0, true)).toBe(args.length);
    expect(view().getUint32(4, true)).toBe(size);
    // The buffer the guest sized by that answer, with a guard byte just past it.
    const argv = 64;
    const buf = 128;
    bytes().fill(0xaa, buf, buf + size + 64);
    expect(call("args_get", argv, buf)).toBe(defs.ERRNO_SUCCESS);
    expect(bytes()[buf + size]).toBe(0xaa);
    const got = encoded.map((_, i) => {
      const p = view().getUint32(argv + i * 4, true);
      const end = bytes().indexOf(0, p);
      return new TextDecoder().decode(bytes().subarray(p, end));
    });
    expect(got).toEqual(args);
  });

  it("a buffer that runs past memory is EFAULT, with nothing written", () => {
    const { call, bytes } = wasi({ args: ["a", "b"], env: { K: "v" } });
    const end = bytes().length;
    expect(call("args_get", 0, end - 2)).toBe(defs.ERRNO_FAULT);
    expect(call("environ_get", 0, end - 3)).toBe(defs.ERRNO_FAULT);
    expect(bytes().every((b) => b === 0)).toBe(true);
  });
});
