import { wasi as defs } from "@bjorn3/browser_wasi_shim";
import type { GuestMemory } from "../memory.js";
import { type Import, setU32 } from "./context.js";

// argv and the environment, as C strings. browser_wasi_shim sized argv by JavaScript string
// length (UTF-16 units), not bytes: a guest that allocated what args_sizes_get said had args_get
// write past its buffer, over its own heap, for any arg that is not ASCII. Both lists are encoded
// here once, and each size is the bytes that are then written.

/** `*_sizes_get` and `*_get` for one list of strings (argv, or `name=value` pairs). */
function cStrings(strings: string[], memory: () => GuestMemory, what: string): { sizes: Import; get: Import } {
  const encoder = new TextEncoder();
  const encoded = strings.map((s) => encoder.encode(`${s}\0`));
  const total = encoded.reduce((n, e) => n + e.length, 0);
  const sizes = (countPtr: number, sizePtr: number) => {
    memory().check(countPtr, 4, `${what}_sizes_get count`);
    memory().check(sizePtr, 4, `${what}_sizes_get size`);
    setU32(memory(), countPtr, encoded.length, `${what}_sizes_get count`);
    setU32(memory(), sizePtr, total, `${what}_sizes_get size`);
    return defs.ERRNO_SUCCESS;
  };
  const get = (ptrs: number, buf: number) => {
    // Both regions checked before a byte is written: a wild one is EFAULT with memory untouched.
    memory().check(ptrs, encoded.length * 4, `${what}_get pointers`);
    memory().check(buf, total, `${what}_get buffer`);
    const table = new Uint8Array(encoded.length * 4);
    const view = new DataView(table.buffer);
    const all = new Uint8Array(total);
    let at = 0;
    encoded.forEach((e, i) => {
      view.setUint32(i * 4, ((buf >>> 0) + at) >>> 0, true);
      all.set(e, at);
      at += e.length;
    });
    memory().write(buf, all, `${what}_get buffer`);
    memory().write(ptrs, table, `${what}_get pointers`);
    return defs.ERRNO_SUCCESS;
  };
  return { sizes: sizes as Import, get: get as Import };
}

/** args_sizes_get, args_get, environ_sizes_get, environ_get. */
export function argsImports(args: string[], env: string[], memory: () => GuestMemory): Record<string, Import> {
  const argv = cStrings(args, memory, "args");
  const environ = cStrings(env, memory, "environ");
  return { args_sizes_get: argv.sizes, args_get: argv.get, environ_sizes_get: environ.sizes, environ_get: environ.get };
}
