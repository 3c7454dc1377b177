// Fuel metering (docs/host.md, "Limits and metering"), as the build does it to every module that
// does not opt out: `meter(file, wasmOpt)`.
//
// binaryen's --log-execution adds the import `wasm_bus_meter.log_execution (i32)` (the runtime's
// meter, src/fuel.wat: one call takes a unit of fuel and stops the guest when none is left) and
// calls it at every function entry, before every return and end of a function, and at every loop
// header: three imported calls for each call the guest makes. This step keeps the import and
// rewrites the code:
//
// - its calls go; in their place each loop header, and the entry of each function that needs it
//   (below), takes a unit inline from the imported mutable global `wasm_bus_meter.fuel` (the same
//   meter's counter) and calls `log_execution` only once that is below zero, which stops the guest:
//     global.get fuel  i64.const 1  i64.sub  global.set fuel
//     global.get fuel  i64.const 0  i64.lt_s  if  i32.const 0  call log_execution  end
// - a function is metered at its entry when it is recursive (in a cycle of calls, direct or
//   through a table, whose iterations no loop need count), or when, between two metered points,
//   it could run more than FAN_OUT times (its callers' call sites multiplied along unmetered call
//   paths: f calling g twice, g calling h twice, ... runs the last 2^n times without a loop or a
//   recursion). So every loop iteration and recursive call takes fuel, as before, and the code that
//   runs between two units of fuel is at most FAN_OUT times the module's code.
//
// The new global import comes after the module's imported globals, so every global the module
// defines moves up by one: code, global initialisers, exports, element and data offsets and the
// name section follow. Instructions are decoded with their immediates (MVP, sign extension,
// saturating truncation, bulk memory, reference types, SIMD and relaxed SIMD, threads, exceptions,
// tail calls); anything else (GC) fails the build rather than go unmetered.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { section, sections, skipLeb, uleb, writeUleb } from "./wasm-binary.mjs";

/** A function that could run more often than this between two units of fuel takes one at its entry. */
export const FAN_OUT = 16;
/**
 * What each call of an import takes: a call into the host costs about as much as a hundred loop
 * iterations of guest code (tens of nanoseconds to microseconds against a few), so a loop around an
 * import would otherwise run a hundred times longer on the same fuel.
 */
export const IMPORT_FUEL = 100;

const utf8 = new TextEncoder();
const METER_MODULE = "wasm_bus_meter";

/** Meters the module in `file` in place. */
export function meter(file, wasmOpt) {
  execFileSync(wasmOpt, [file, "--log-execution=wasm_bus_meter", "--all-features", "-o", file], { stdio: "inherit" });
  writeFileSync(file, meterBinary(readFileSync(file)));
}

/** A module binary after --log-execution=wasm_bus_meter: the same, metered inline (see above). */
export function meterBinary(bytes) {
  const all = sections(bytes);
  const find = (id) => all.find((s) => s.id === id);
  const imports = readImports(bytes, find(2));
  const log = imports.functions.findIndex((i) => i.module === METER_MODULE && i.name === "log_execution");
  if (log < 0) throw new Error("wasm-meter: no wasm_bus_meter.log_execution import (run --log-execution=wasm_bus_meter first)");
  if (imports.globals.some((i) => i.module === METER_MODULE)) throw new Error("wasm-meter: the module is metered already");
  const firstDefinedGlobal = imports.globals.length;
  const fuel = firstDefinedGlobal; // the new import's index
  const global = (i) => (i >= firstDefinedGlobal ? i + 1 : i);
  const firstDefined = imports.functions.length;

  // What calls what, and which functions a table or ref.func can reach.
  const code = find(10);
  const bodies = code ? readBodies(bytes, code) : [];
  const addressTaken = new Set();
  const roots = new Set();
  for (const e of readExports(bytes, find(7))) if (e.kind === 0) roots.add(e.index);
  if (find(8)) roots.add(uleb(bytes, find(8).body)[0]);
  const constExpr = (at) => rewriteConst(bytes, at, global, (f) => addressTaken.add(f));
  // Each section that holds a global index, rewritten (and the functions they reference noted).
  const replaced = new Map();
  if (!find(2)) throw new Error("wasm-meter: no import section");
  const importBody = [...writeUleb(imports.count + 1)];
  append(importBody, bytes.subarray(imports.entries, find(2).end));
  importBody.push(...importEntry());
  replaced.set(2, section(2, importBody));
  if (find(6)) replaced.set(6, rewriteGlobals(bytes, find(6), constExpr));
  if (find(7)) replaced.set(7, rewriteExports(bytes, find(7), global));
  if (find(9)) replaced.set(9, rewriteElements(bytes, find(9), constExpr, (f) => addressTaken.add(f)));
  if (find(11)) replaced.set(11, rewriteData(bytes, find(11), constExpr));
  const graph = bodies.map((b) => scan(bytes, b, log, (f) => addressTaken.add(f)));
  for (const f of addressTaken) roots.add(f);
  const entries = meteredEntries(graph, firstDefined, roots, addressTaken);
  if (code) {
    const out = [...writeUleb(bodies.length)];
    bodies.forEach((b, i) => {
      const body = rewriteBody(bytes, b, { log, fuel, global, firstDefined, entry: entries.has(firstDefined + i) });
      out.push(...writeUleb(body.length));
      append(out, body);
    });
    replaced.set(10, section(10, out));
  }
  const parts = [bytes.subarray(0, 8)];
  for (const s of all) {
    if (s.id === 0 && customName(bytes, s) === "name") parts.push(rewriteNames(bytes, s, global));
    else parts.push(replaced.get(s.id) ?? bytes.subarray(s.start, s.end));
  }
  const length = parts.reduce((n, p) => n + p.length, 0);
  const result = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    result.set(p, at);
    at += p.length;
  }
  return result;
}

/** Appends bytes to an array one by one (a spread of a large array overflows the call stack). */
function append(out, bytes) {
  for (let i = 0; i < bytes.length; i++) out.push(bytes[i]);
}

/** `wasm_bus_meter.fuel`: an imported mutable i64 global. */
function importEntry() {
  const mod = utf8.encode(METER_MODULE);
  const name = utf8.encode("fuel");
  return [...writeUleb(mod.length), ...mod, ...writeUleb(name.length), ...name, 0x03, 0x7e, 0x01];
}

// ---- sections -------------------------------------------------------------------------------

function readName(bytes, at) {
  const [len, next] = uleb(bytes, at);
  return [new TextDecoder().decode(bytes.subarray(next, next + len)), next + len];
}

function customName(bytes, s) {
  return readName(bytes, s.body)[0];
}

/** Skips a value type (a reference type with a prefix names its heap type). */
function skipValType(bytes, at) {
  const t = bytes[at];
  return t === 0x63 || t === 0x64 ? skipLeb(bytes, at + 1) : at + 1;
}

function skipLimits(bytes, at) {
  const flags = bytes[at];
  at = skipLeb(bytes, at + 1);
  return flags & 0x01 ? skipLeb(bytes, at) : at;
}

function readImports(bytes, s) {
  const functions = [];
  const globals = [];
  if (!s) return { functions, globals, count: 0, entries: 0 };
  let [count, at] = uleb(bytes, s.body);
  const entries = at;
  for (let i = 0; i < count; i++) {
    let module;
    let name;
    [module, at] = readName(bytes, at);
    [name, at] = readName(bytes, at);
    const kind = bytes[at++];
    if (kind === 0x00) (at = skipLeb(bytes, at)), functions.push({ module, name });
    else if (kind === 0x01) at = skipLimits(bytes, skipValType(bytes, at));
    else if (kind === 0x02) at = skipLimits(bytes, at);
    else if (kind === 0x03) (at = skipValType(bytes, at) + 1), globals.push({ module, name });
    else if (kind === 0x04) at = skipLeb(bytes, at + 1);
    else throw new Error(`wasm-meter: import kind ${kind}`);
  }
  return { functions, globals, count, entries };
}

function readExports(bytes, s) {
  const out = [];
  if (!s) return out;
  let [count, at] = uleb(bytes, s.body);
  for (let i = 0; i < count; i++) {
    at = readName(bytes, at)[1];
    const kind = bytes[at++];
    let index;
    [index, at] = uleb(bytes, at);
    out.push({ kind, index });
  }
  return out;
}

function rewriteExports(bytes, s, global) {
  let [count, at] = uleb(bytes, s.body);
  const out = [...writeUleb(count)];
  for (let i = 0; i < count; i++) {
    const nameEnd = readName(bytes, at)[1];
    out.push(...bytes.subarray(at, nameEnd));
    const kind = bytes[nameEnd];
    let index;
    [index, at] = uleb(bytes, nameEnd + 1);
    out.push(kind, ...writeUleb(kind === 0x03 ? global(index) : index));
  }
  return section(7, out);
}

/**
 * A constant expression at `at` up to its `end`, with global indices moved: [bytes, next offset].
 * `funcRef` hears of every ref.func.
 */
function rewriteConst(bytes, at, global, funcRef) {
  const out = [];
  for (;;) {
    const op = bytes[at++];
    out.push(op);
    if (op === 0x0b) return [out, at];
    if (op === 0x23) {
      let i;
      [i, at] = uleb(bytes, at);
      out.push(...writeUleb(global(i)));
    } else if (op === 0xd2) {
      let f;
      [f, at] = uleb(bytes, at);
      funcRef(f);
      out.push(...writeUleb(f));
    } else {
      const from = at;
      if (op === 0x41 || op === 0x42 || op === 0xd0) at = skipLeb(bytes, at);
      else if (op === 0x43) at += 4;
      else if (op === 0x44) at += 8;
      else if (op === 0xfd) {
        const [sub, next] = uleb(bytes, at);
        if (sub !== 12) throw new Error(`wasm-meter: constant expression: SIMD opcode ${sub}`);
        at = next + 16;
      } else if (![0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e].includes(op)) throw new Error(`wasm-meter: constant expression: opcode 0x${op?.toString(16)}`);
      out.push(...bytes.subarray(from, at));
    }
  }
}

function rewriteGlobals(bytes, s, constExpr) {
  let [count, at] = uleb(bytes, s.body);
  const out = [...writeUleb(count)];
  for (let i = 0; i < count; i++) {
    const typeEnd = skipValType(bytes, at) + 1; // the type and its mutability
    out.push(...bytes.subarray(at, typeEnd));
    let init;
    [init, at] = constExpr(typeEnd);
    out.push(...init);
  }
  return section(6, out);
}

/** Element segments with their expressions' global indices moved; `funcRef` hears of every function they hold. */
function rewriteElements(bytes, s, constExpr, funcRef) {
  let [count, at] = uleb(bytes, s.body);
  const out = [...writeUleb(count)];
  for (let i = 0; i < count; i++) {
    let flags;
    [flags, at] = uleb(bytes, at);
    out.push(...writeUleb(flags));
    const copy = (to) => {
      append(out, bytes.subarray(at, to));
      at = to;
    };
    if (flags & 0x02 && !(flags & 0x01)) copy(skipLeb(bytes, at)); // table index
    if (!(flags & 0x01)) {
      let offset;
      [offset, at] = constExpr(at);
      out.push(...offset);
    }
    if (flags & 0x04) {
      if (flags & 0x03) copy(skipValType(bytes, at)); // reference type
      let n;
      [n, at] = uleb(bytes, at);
      out.push(...writeUleb(n));
      for (let j = 0; j < n; j++) {
        let e;
        [e, at] = constExpr(at);
        out.push(...e);
      }
    } else {
      if (flags & 0x03) copy(at + 1); // element kind
      let n;
      [n, at] = uleb(bytes, at);
      out.push(...writeUleb(n));
      for (let j = 0; j < n; j++) {
        let f;
        [f, at] = uleb(bytes, at);
        funcRef(f);
        out.push(...writeUleb(f));
      }
    }
  }
  return section(9, out);
}

function rewriteData(bytes, s, constExpr) {
  let [count, at] = uleb(bytes, s.body);
  const out = [...writeUleb(count)];
  for (let i = 0; i < count; i++) {
    let flags;
    [flags, at] = uleb(bytes, at);
    out.push(...writeUleb(flags));
    if (flags === 2) {
      const next = skipLeb(bytes, at);
      out.push(...bytes.subarray(at, next));
      at = next;
    }
    if (flags !== 1) {
      let offset;
      [offset, at] = constExpr(at);
      out.push(...offset);
    }
    const [len, next] = uleb(bytes, at);
    append(out, bytes.subarray(at, next + len));
    at = next + len;
  }
  return section(11, out);
}

/** The name section with global names (subsection 7) moved; the rest as it was. */
function rewriteNames(bytes, s, global) {
  let at = readName(bytes, s.body)[1];
  const out = [...bytes.subarray(s.body, at)];
  while (at < s.end) {
    const id = bytes[at];
    const [size, body] = uleb(bytes, at + 1);
    const end = body + size;
    if (id !== 7) {
      append(out, bytes.subarray(at, end));
    } else {
      let [n, p] = uleb(bytes, body);
      const sub = [...writeUleb(n)];
      for (let i = 0; i < n; i++) {
        let index;
        [index, p] = uleb(bytes, p);
        const nameEnd = readName(bytes, p)[1];
        sub.push(...writeUleb(global(index)));
        append(sub, bytes.subarray(p, nameEnd));
        p = nameEnd;
      }
      out.push(7, ...writeUleb(sub.length));
      append(out, sub);
    }
    at = end;
  }
  return section(0, out);
}

// ---- code -----------------------------------------------------------------------------------

/** Each function body: where its locals start, where its instructions start, where it ends. */
function readBodies(bytes, s) {
  let [count, at] = uleb(bytes, s.body);
  const out = [];
  for (let i = 0; i < count; i++) {
    const [size, start] = uleb(bytes, at);
    const end = start + size;
    let [groups, p] = uleb(bytes, start);
    for (let g = 0; g < groups; g++) p = skipValType(bytes, skipLeb(bytes, p));
    out.push({ start, code: p, end });
    at = end;
  }
  return out;
}

function skipMemarg(bytes, at) {
  const [align, next] = uleb(bytes, at);
  at = align & 0x40 ? skipLeb(bytes, next) : next; // a memory index follows with multi-memory
  return skipLeb(bytes, at);
}

function skipBlockType(bytes, at) {
  return bytes[at] === 0x63 || bytes[at] === 0x64 ? skipLeb(bytes, at + 1) : skipLeb(bytes, at);
}

/**
 * The instruction at `at`: its opcode (prefixed ones as prefix << 16 | sub) and where its
 * immediates end. Throws on what it does not know.
 */
function instruction(bytes, at) {
  const op = bytes[at++];
  if (op <= 0x01 || op === 0x05 || op === 0x0a || op === 0x0b || op === 0x0f || op === 0x19 || op === 0x1a || op === 0x1b) return [op, at];
  if (op >= 0x02 && op <= 0x04) return [op, skipBlockType(bytes, at)];
  if (op === 0x06) return [op, skipBlockType(bytes, at)]; // try
  if ((op >= 0x07 && op <= 0x09) || op === 0x0c || op === 0x0d || op === 0x18) return [op, skipLeb(bytes, at)]; // catch throw rethrow br br_if delegate
  if (op === 0x0e) {
    let [n, p] = uleb(bytes, at);
    for (let i = 0; i <= n; i++) p = skipLeb(bytes, p);
    return [op, p];
  }
  if (op === 0x10 || op === 0x12 || op === 0x14 || op === 0x15) return [op, skipLeb(bytes, at)]; // call return_call call_ref return_call_ref
  if (op === 0x11 || op === 0x13) return [op, skipLeb(bytes, skipLeb(bytes, at))]; // call_indirect: type, table
  if (op === 0x1c) {
    let [n, p] = uleb(bytes, at);
    for (let i = 0; i < n; i++) p = skipValType(bytes, p);
    return [op, p];
  }
  if (op === 0x1f) {
    // try_table: block type, then catch clauses (kind, a tag for 0 and 1, a label)
    let p = skipBlockType(bytes, at);
    let n;
    [n, p] = uleb(bytes, p);
    for (let i = 0; i < n; i++) {
      const kind = bytes[p++];
      if (kind <= 1) p = skipLeb(bytes, p);
      p = skipLeb(bytes, p);
    }
    return [op, p];
  }
  if (op >= 0x20 && op <= 0x26) return [op, skipLeb(bytes, at)]; // locals, globals, table.get/set
  if (op >= 0x28 && op <= 0x3e) return [op, skipMemarg(bytes, at)];
  if (op === 0x3f || op === 0x40) return [op, skipLeb(bytes, at)];
  if (op === 0x41 || op === 0x42) return [op, skipLeb(bytes, at)];
  if (op === 0x43) return [op, at + 4];
  if (op === 0x44) return [op, at + 8];
  if (op >= 0x45 && op <= 0xc4) return [op, at];
  if (op === 0xd0 || op === 0xd2 || op === 0xd5 || op === 0xd6) return [op, skipLeb(bytes, at)]; // ref.null ref.func br_on_null br_on_non_null
  if (op === 0xd1 || op === 0xd3 || op === 0xd4) return [op, at];
  if (op === 0xfc) {
    const [sub, p] = uleb(bytes, at);
    const code = 0xfc0000 | sub;
    if (sub <= 7) return [code, p];
    if (sub === 8 || sub === 10 || sub === 12 || sub === 14) return [code, skipLeb(bytes, skipLeb(bytes, p))];
    if (sub === 9 || sub === 11 || sub === 13 || (sub >= 15 && sub <= 17)) return [code, skipLeb(bytes, p)];
    throw new Error(`wasm-meter: opcode 0xfc ${sub}`);
  }
  if (op === 0xfd) {
    const [sub, p] = uleb(bytes, at);
    const code = 0xfd0000 | sub;
    if (sub <= 11 || sub === 92 || sub === 93) return [code, skipMemarg(bytes, p)];
    if (sub === 12 || sub === 13) return [code, p + 16];
    if (sub >= 21 && sub <= 34) return [code, p + 1];
    if (sub >= 84 && sub <= 91) return [code, skipMemarg(bytes, p) + 1];
    return [code, p];
  }
  if (op === 0xfe) {
    const [sub, p] = uleb(bytes, at);
    const code = 0xfe0000 | sub;
    if (sub === 3) return [code, p + 1];
    if (sub <= 2 || (sub >= 0x10 && sub <= 0x4e)) return [code, skipMemarg(bytes, p)];
    throw new Error(`wasm-meter: opcode 0xfe ${sub}`);
  }
  throw new Error(`wasm-meter: opcode 0x${op.toString(16)} at ${at - 1}`);
}

/** A body's calls: direct callees (with how many sites each), indirect call sites; ref.func targets to `funcRef`. */
function scan(bytes, body, log, funcRef) {
  const calls = new Map();
  let indirect = 0;
  for (let at = body.code; at < body.end; ) {
    const [op, next] = instruction(bytes, at);
    if (op === 0x10 || op === 0x12 || op === 0xd2) {
      const f = uleb(bytes, at + 1)[0];
      if (op === 0xd2) funcRef(f);
      else if (f !== log) calls.set(f, (calls.get(f) ?? 0) + 1);
    } else if (op === 0x11 || op === 0x13 || op === 0x14 || op === 0x15) indirect++;
    at = next;
  }
  return { calls, indirect };
}

/**
 * The functions metered at their entry: every one in a cycle of calls (an indirect call may
 * reach any function a table or ref.func holds), and every one that could run more than FAN_OUT
 * times between two units of fuel.
 */
function meteredEntries(graph, first, roots, addressTaken) {
  const n = graph.length;
  const edges = graph.map(({ calls, indirect }) => {
    const out = new Map();
    for (const [f, count] of calls) if (f >= first) out.set(f - first, count);
    if (indirect) for (const f of addressTaken) if (f >= first) out.set(f - first, (out.get(f - first) ?? 0) + indirect);
    return out;
  });
  // Tarjan's strongly connected components, without recursion: components come callees first.
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const stack = [];
  const components = [];
  let counter = 0;
  for (let root = 0; root < n; root++) {
    if (index[root] >= 0) continue;
    const work = [[root, edges[root].keys()]];
    index[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = 1;
    while (work.length) {
      const top = work[work.length - 1];
      const [v, it] = top;
      const step = it.next();
      if (!step.done) {
        const w = step.value;
        if (index[w] < 0) {
          index[w] = low[w] = counter++;
          stack.push(w);
          onStack[w] = 1;
          work.push([w, edges[w].keys()]);
        } else if (onStack[w]) low[v] = Math.min(low[v], index[w]);
        continue;
      }
      work.pop();
      if (work.length) {
        const u = work[work.length - 1][0];
        low[u] = Math.min(low[u], low[v]);
      }
      if (low[v] === index[v]) {
        const component = [];
        let w;
        do {
          w = stack.pop();
          onStack[w] = 0;
          component.push(w);
        } while (w !== v);
        components.push(component);
      }
    }
  }
  const metered = new Uint8Array(n);
  const componentOf = new Int32Array(n);
  components.forEach((c, i) => {
    for (const f of c) componentOf[f] = i;
    if (c.length > 1 || edges[c[0]].has(c[0])) for (const f of c) metered[f] = 1;
  });
  // How often each function can run per unit of fuel, callers first (components in reverse).
  const runs = new Float64Array(n);
  for (const f of roots) if (f >= first && f - first < n) runs[f - first] = 1;
  for (let i = components.length - 1; i >= 0; i--) {
    const c = components[i];
    for (const f of c) {
      if (!metered[f] && runs[f] > FAN_OUT) metered[f] = 1;
    }
    for (const f of c) {
      const weight = metered[f] ? 1 : runs[f];
      for (const [g, count] of edges[f]) if (componentOf[g] !== i) runs[g] = Math.min(runs[g] + count * weight, FAN_OUT + 1);
    }
  }
  const out = new Set();
  metered.forEach((m, f) => m && out.add(first + f));
  return out;
}

/**
 * One body, metered: log_execution's calls gone, a unit of fuel at each loop header (and at the
 * entry when `entry`), IMPORT_FUEL before each direct call of an import (functions below
 * `firstDefined`; an import reached through a table or a reference is not counted).
 */
function rewriteBody(bytes, body, { log, fuel, global, firstDefined, entry }) {
  const g = writeUleb(fuel);
  const l = writeUleb(log);
  // global.get fuel; i64.const n; i64.sub; global.set fuel; global.get fuel; i64.const 0; i64.lt_s;
  // if; i32.const 0; call log_execution; end
  const take = (n) => [0x23, ...g, 0x42, ...writeSleb(n), 0x7d, 0x24, ...g, 0x23, ...g, 0x42, 0x00, 0x53, 0x04, 0x40, 0x41, 0x00, 0x10, ...l, 0x0b];
  const unit = take(1);
  const importCall = take(IMPORT_FUEL);
  const out = [];
  append(out, bytes.subarray(body.start, body.code));
  if (entry) out.push(...unit);
  for (let at = body.code; at < body.end; ) {
    const [op, next] = instruction(bytes, at);
    if (op === 0x41 && bytes[next] === 0x10 && uleb(bytes, next + 1)[0] === log) {
      at = instruction(bytes, next)[1]; // --log-execution's `i32.const id; call log_execution`
      continue;
    }
    if (op === 0x23 || op === 0x24) {
      out.push(op, ...writeUleb(global(uleb(bytes, at + 1)[0])));
    } else {
      if ((op === 0x10 || op === 0x12) && uleb(bytes, at + 1)[0] < firstDefined) out.push(...importCall);
      for (let i = at; i < next; i++) out.push(bytes[i]);
      if (op === 0x03) out.push(...unit);
    }
    at = next;
  }
  return out;
}

/** A non-negative integer as a signed LEB128 (an i64.const immediate). */
function writeSleb(n) {
  const out = [];
  for (;;) {
    const byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n === 0 && !(byte & 0x40)) return [...out, byte];
    out.push(byte | 0x80);
  }
}
