// Gives the host a way to read and restore every mutable global a module defines: a snapshot of
// an instance (src/snapshot/) is its memory and these. Compilers keep their most important state
// in globals they never export (the shadow stack's `__stack_pointer`, a bump allocator's top,
// asyncify's state), and JavaScript can only reach a global through an export. The build runs it
// on every module (scripts/build-modules.mjs), after every step that may add globals (metering,
// asyncify).
//
// Two exported functions reach them all, by their place in a custom section that lists them. One
// export per global, as the build first did, cost every instantiation: V8 builds the exports
// object anew for each instance (each name interned, a dictionary made fast, its descriptors
// sorted), about 3,000 instructions an export, and hello's 26 globals were a quarter of its
// Guest.create. Globals of types JavaScript cannot hold as a number (v128, references) are left
// out: docs/abi.md says what a snapshot keeps.

import { section, sections, skipLeb, uleb, writeUleb } from "./wasm-binary.mjs";

export const GLOBAL_PREFIX = "__wasm_bus_global_";
/** The custom section that lists the globals the two functions reach. */
export const GLOBALS_SECTION = "wasm_bus_globals";

const NUMERIC = new Set([0x7f, 0x7e, 0x7d, 0x7c]); // i32 i64 f32 f64

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

/** How many functions and globals the module imports: defined ones are numbered after them. */
function importCounts(bytes, body) {
  let [count, at] = uleb(bytes, body);
  const counts = { functions: 0, globals: 0 };
  while (count--) {
    at = skipName(bytes, skipName(bytes, at));
    const kind = bytes[at++];
    if (kind === 0x00) (at = skipLeb(bytes, at)), counts.functions++;
    else if (kind === 0x01) at = skipLimits(bytes, skipValType(bytes, at));
    else if (kind === 0x02) at = skipLimits(bytes, at);
    else if (kind === 0x03) (at = skipValType(bytes, at) + 1), counts.globals++;
    else if (kind === 0x04) at = skipLeb(bytes, at + 1);
    else throw new Error(`import kind ${kind}`);
  }
  return counts;
}

/** The mutable numeric globals the module defines: [index, value type]. */
function mutableGlobals(bytes, body, first) {
  let [count, at] = uleb(bytes, body);
  const out = [];
  for (let i = 0; i < count; i++) {
    const type = bytes[at];
    at = skipValType(bytes, at);
    const mutable = bytes[at++] === 0x01;
    at = skipInit(bytes, at);
    if (mutable && NUMERIC.has(type)) out.push([first + i, type]);
  }
  return out;
}

// Opcodes of the two functions' bodies.
const BLOCK = 0x02, EMPTY = 0x40, END = 0x0b, BR_TABLE = 0x0e, RETURN = 0x0f, UNREACHABLE = 0x00;
const LOCAL_GET = 0x20, GLOBAL_GET = 0x23, GLOBAL_SET = 0x24;
const I32 = 0x7f, I64 = 0x7e, F32 = 0x7d, F64 = 0x7c;
/** A global's value as the i64 of its bits (an i32 sign-extended, as JavaScript reads one), and back. */
const TO_BITS = { [I32]: [0xac], [I64]: [], [F32]: [0xbc, 0xad], [F64]: [0xbd] }; // i64.extend_i32_s; i32.reinterpret_f32, i64.extend_i32_u; i64.reinterpret_f64
const FROM_BITS = { [I32]: [0xa7], [I64]: [], [F32]: [0xa7, 0xbe], [F64]: [0xbf] }; // i32.wrap_i64; + f32.reinterpret_i32; f64.reinterpret_i64

/**
 * A body that picks the k-th global by `br_table` (k out of range traps) and runs `access` on it:
 * one block per global, innermost first, so the table's k-th label leaves the k-th block.
 */
function switchBody(globals, access) {
  const body = [0]; // no locals
  for (let k = 0; k <= globals.length; k++) body.push(BLOCK, EMPTY);
  body.push(LOCAL_GET, 0, BR_TABLE, ...writeUleb(globals.length), ...globals.flatMap((_, k) => writeUleb(k)), ...writeUleb(globals.length));
  for (const [index, type] of globals) body.push(END, ...access(index, type), RETURN);
  body.push(END, UNREACHABLE, END);
  return [...writeUleb(body.length), ...body];
}

/** A vector section's body with `entries` appended (or a new one). */
function appended(bytes, found, entries) {
  const [count, first] = found ? uleb(bytes, found.body) : [0, 0];
  return [...writeUleb(count + entries.length), ...(found ? bytes.subarray(first, found.end) : []), ...entries.flat()];
}

/** Where a section of `id` goes among the known sections: their order in a module. */
const ORDER = [1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11];

/**
 * `bytes` with two exported functions that read and write every mutable numeric global the module
 * defines, by its place k in a custom section that lists their indices (`wasm_bus_globals`, a
 * vector of LEB128s), each as the i64 of its bits (exact: -0, NaN and the infinities as they are):
 * `__wasm_bus_global_get(k: i32) -> i64` and `__wasm_bus_global_set(k: i32, bits: i64)`.
 */
export function addGlobalAccess(bytes) {
  const all = sections(bytes);
  const find = (id) => all.find((s) => s.id === id);
  const imports = find(2) ? importCounts(bytes, find(2).body) : { functions: 0, globals: 0 };
  const globals = find(6) ? mutableGlobals(bytes, find(6).body, imports.globals) : [];
  if (!globals.length) return bytes;
  if (!find(7)) throw new Error("the module exports nothing (not even its memory)");
  const types = find(1) ? uleb(bytes, find(1).body)[0] : 0;
  const defined = find(3) ? uleb(bytes, find(3).body)[0] : 0;
  const get = imports.functions + defined;
  const utf8 = new TextEncoder();
  const name = (text) => [...writeUleb(utf8.encode(text).length), ...utf8.encode(text)];
  const replaced = new Map([
    [1, appended(bytes, find(1), [[0x60, 1, I32, 1, I64], [0x60, 2, I32, I64, 0]])],
    [3, appended(bytes, find(3), [writeUleb(types), writeUleb(types + 1)])],
    [7, appended(bytes, find(7), [[...name(`${GLOBAL_PREFIX}get`), 0x00, ...writeUleb(get)], [...name(`${GLOBAL_PREFIX}set`), 0x00, ...writeUleb(get + 1)]])],
    [10, appended(bytes, find(10), [
      switchBody(globals, (index, type) => [GLOBAL_GET, ...writeUleb(index), ...TO_BITS[type]]),
      switchBody(globals, (index, type) => [LOCAL_GET, 1, ...FROM_BITS[type], GLOBAL_SET, ...writeUleb(index)]),
    ])],
  ]);
  const parts = [bytes.subarray(0, 8)];
  const place = (id) => ORDER.indexOf(id);
  for (const s of all) {
    // Sections the module lacks go in before the first one that comes after them.
    for (const [id, body] of replaced) {
      if (!find(id) && s.id !== 0 && place(id) < place(s.id)) parts.push(section(id, body)), replaced.delete(id);
    }
    if (replaced.has(s.id)) parts.push(section(s.id, replaced.get(s.id))), replaced.delete(s.id);
    else parts.push(bytes.subarray(s.start, s.end));
  }
  for (const [id, body] of replaced) parts.push(section(id, body));
  const list = [...writeUleb(globals.length), ...globals.flatMap(([index]) => writeUleb(index))];
  parts.push(section(0, [...name(GLOBALS_SECTION), ...list]));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, at), (at += p.length);
  return out;
}
