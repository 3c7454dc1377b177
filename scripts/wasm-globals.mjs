// Exports every mutable global a module defines under a reserved name, `__wasm_bus_global_<index>`,
// so the host can read and restore them: a snapshot of an instance (src/snapshot/) is its memory
// and these. Compilers keep their most important state in globals they never export (the shadow
// stack's `__stack_pointer`, a bump allocator's top, asyncify's state), and JavaScript can only
// reach a global through an export. The build runs it on every module (scripts/build-modules.mjs),
// after every step that may add globals (metering, asyncify).
//
// Only the export section changes. Globals of types JavaScript cannot hold as a number (v128,
// references) are not exported: docs/abi.md says what a snapshot keeps.

import { section, sections, skipLeb, splice, uleb, writeUleb } from "./wasm-binary.mjs";

export const GLOBAL_PREFIX = "__wasm_bus_global_";

const NUMERIC = new Set([0x7f, 0x7e, 0x7d, 0x7c]); // i32 i64 f32 f64
const EXPORT_GLOBAL = 0x03;

/** Skips a value type (a reference type names its heap type): the next offset. */
function skipValType(bytes, at) {
  const t = bytes[at];
  return t === 0x63 || t === 0x64 ? skipLeb(bytes, at + 1) : at + 1;
}

/** Skips a name (a length, then UTF-8). */
function skipName(bytes, at) {
  const [len, next] = uleb(bytes, at);
  return next + len;
}

/** Skips table or memory limits. */
function skipLimits(bytes, at) {
  const flags = bytes[at];
  at = skipLeb(bytes, at + 1);
  return flags & 0x01 ? skipLeb(bytes, at) : at;
}

/** Skips a constant expression up to and including its `end`. */
function skipInit(bytes, at) {
  for (;;) {
    const op = bytes[at++];
    if (op === 0x0b) return at;
    if (op === 0x41 || op === 0x42 || op === 0x23 || op === 0xd2) at = skipLeb(bytes, at); // i32/i64.const, global.get, ref.func
    else if (op === 0x43) at += 4;
    else if (op === 0x44) at += 8;
    else if (op === 0xd0) at = skipLeb(bytes, at); // ref.null heaptype
    else if (op === 0xfd) {
      const [sub, next] = uleb(bytes, at);
      if (sub !== 12) throw new Error(`global initialiser: SIMD opcode ${sub}`);
      at = next + 16; // v128.const
    } else if ([0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e].includes(op)) continue; // extended-const arithmetic
    else throw new Error(`global initialiser: opcode 0x${op?.toString(16)}`);
  }
}

/** How many globals the module imports: defined globals are numbered after them. */
function importedGlobals(bytes, body) {
  let [count, at] = uleb(bytes, body);
  let globals = 0;
  while (count--) {
    at = skipName(bytes, skipName(bytes, at));
    const kind = bytes[at++];
    if (kind === 0x00) at = skipLeb(bytes, at);
    else if (kind === 0x01) at = skipLimits(bytes, skipValType(bytes, at));
    else if (kind === 0x02) at = skipLimits(bytes, at);
    else if (kind === 0x03) (at = skipValType(bytes, at) + 1), globals++;
    else if (kind === 0x04) at = skipLeb(bytes, at + 1);
    else throw new Error(`import kind ${kind}`);
  }
  return globals;
}

/** The indices of the mutable numeric globals the module defines. */
function mutableGlobals(bytes, body, first) {
  let [count, at] = uleb(bytes, body);
  const out = [];
  for (let i = 0; i < count; i++) {
    const type = bytes[at];
    at = skipValType(bytes, at);
    const mutable = bytes[at++] === 0x01;
    at = skipInit(bytes, at);
    if (mutable && NUMERIC.has(type)) out.push(first + i);
  }
  return out;
}

/** `bytes` with every mutable numeric global it defines exported as `__wasm_bus_global_<index>`. */
export function exportGlobals(bytes) {
  const all = sections(bytes);
  const imports = all.find((s) => s.id === 2);
  const globals = all.find((s) => s.id === 6);
  if (!globals) return bytes;
  const indices = mutableGlobals(bytes, globals.body, imports ? importedGlobals(bytes, imports.body) : 0);
  if (!indices.length) return bytes;
  const exports = all.find((s) => s.id === 7);
  if (!exports) throw new Error("the module exports nothing (not even its memory)");
  const [count, first] = uleb(bytes, exports.body);
  const entries = [];
  const utf8 = new TextEncoder();
  for (const index of indices) {
    const name = utf8.encode(`${GLOBAL_PREFIX}${index}`);
    entries.push(...writeUleb(name.length), ...name, EXPORT_GLOBAL, ...writeUleb(index));
  }
  const body = [...writeUleb(count + indices.length), ...bytes.subarray(first, exports.end), ...entries];
  return splice(bytes, exports.start, exports.end, section(7, body));
}
