// Declares a maximum on a module's own memory, in the binary, so `memory.grow` past a module's
// `limits.memoryPages` fails in the guest (it returns -1) instead of growing the host first and
// being noticed after. The build runs it on every module (scripts/build-modules.mjs).
//
// Only the memory section changes: its limits get the "has max" flag and the smaller of the
// declared maximum and `maxPages`. A module whose initial memory is already past `maxPages`
// cannot run within its limit: that is an error, with the module's numbers.

import { uleb, writeUleb } from "./wasm-binary.mjs";

/**
 * `bytes` with every memory the module defines capped at `maxPages`; the same bytes where
 * they already are. Throws where a memory starts above `maxPages` or is 64-bit or shared.
 */
export function capMemory(bytes, maxPages) {
  if (bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) throw new Error("not a Wasm binary");
  let at = 8;
  while (at < bytes.length) {
    const id = bytes[at];
    const [size, body] = uleb(bytes, at + 1);
    const end = body + size;
    if (id === 5) {
      const [count, first] = uleb(bytes, body);
      const section = [...writeUleb(count)];
      let p = first;
      for (let i = 0; i < count; i++) {
        const flags = bytes[p];
        if (flags & ~0x01) throw new Error(`memory ${i}: flags ${flags} (shared or 64-bit) are not supported`);
        const [min, q] = uleb(bytes, p + 1);
        let max = maxPages;
        p = q;
        if (flags & 0x01) {
          const [declared, r] = uleb(bytes, p);
          max = Math.min(declared, maxPages);
          p = r;
        }
        if (min > maxPages) throw new Error(`memory ${i} starts at ${min} pages, over limits.memoryPages (${maxPages})`);
        section.push(0x01, ...writeUleb(min), ...writeUleb(max));
      }
      if (p !== end) throw new Error("memory section: trailing bytes");
      const rewritten = Uint8Array.from([5, ...writeUleb(section.length), ...section]);
      const out = new Uint8Array(at + rewritten.length + (bytes.length - end));
      out.set(bytes.subarray(0, at), 0);
      out.set(rewritten, at);
      out.set(bytes.subarray(end), at + rewritten.length);
      return out;
    }
    at = end;
  }
  return bytes;
}

/**
 * The largest maximum the module declares on a memory it defines, in pages; undefined where one
 * has none (or it defines no memory). What the registry says of a binary (build-modules.mjs): the
 * runtime leaves the memory limit to the engine only where the binary itself holds it.
 */
export function declaredMax(bytes) {
  if (bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) throw new Error("not a Wasm binary");
  let at = 8;
  while (at < bytes.length) {
    const [size, body] = uleb(bytes, at + 1);
    if (bytes[at] === 5) {
      const [count, first] = uleb(bytes, body);
      let p = first;
      let most;
      for (let i = 0; i < count; i++) {
        const flags = bytes[p];
        const [, q] = uleb(bytes, p + 1);
        p = q;
        if (!(flags & 0x01)) return undefined;
        const [max, r] = uleb(bytes, p);
        p = r;
        most = Math.max(most ?? 0, max);
      }
      return most;
    }
    at = body + size;
  }
  return undefined;
}
