import { BusError } from "../errors.js";
import type { InstanceContext } from "./context.js";

// A snapshot keeps every mutable numeric global a module defines: compilers keep vital state in
// globals they never export. The build lists them in a custom section and exports two functions
// that reach them by their place in it (scripts/wasm-globals.mjs), each value as the i64 of its
// bits. An export per global, as the build first made, cost every instantiation: V8 builds each
// instance's exports object anew, a few thousand instructions an export.

/** The custom section the build writes: the globals' indices, in the order the functions take them. */
const SECTION = "wasm_bus_globals";
const PREFIX = "__wasm_bus_global_";

/** A global as a snapshot keeps it: `__wasm_bus_global_<index>`, and the decimal i64 of its bits (exact, -0 and NaN too). */
export type SavedGlobal = [name: string, bits: string];

interface Access {
  get(place: number): bigint;
  set(place: number, bits: bigint): void;
}

const names = new WeakMap<WebAssembly.Module, string[]>();

/** The names of the globals the build listed for `module`, by place: read once per compiled module. */
function listed(module: WebAssembly.Module): string[] {
  let out = names.get(module);
  if (out) return out;
  out = [];
  const [section] = WebAssembly.Module.customSections(module, SECTION);
  if (section) {
    const bytes = new Uint8Array(section);
    let at = 0;
    const leb = () => {
      let value = 0;
      for (let shift = 0; ; shift += 7) {
        const b = bytes[at++]!;
        value += (b & 0x7f) * 2 ** shift;
        if (!(b & 0x80)) return value;
      }
    };
    for (let count = leb(); count > 0; count--) out.push(`${PREFIX}${leb()}`);
  }
  names.set(module, out);
  return out;
}

function access(cx: InstanceContext): Access | undefined {
  const get = cx.allExports[`${PREFIX}get`];
  const set = cx.allExports[`${PREFIX}set`];
  return typeof get === "function" && typeof set === "function" ? { get, set } as Access : undefined;
}

/** The instance's globals: call only while no guest code runs. */
export function saveGlobals(cx: InstanceContext): SavedGlobal[] {
  const list = listed(cx.module.wasm);
  const reach = list.length ? access(cx) : undefined;
  if (!reach) return [];
  return list.map((name, place) => [name, reach.get(place).toString()]);
}

/** Puts saved globals into a fresh instance of the same binary. */
export function restoreGlobals(cx: InstanceContext, saved: readonly SavedGlobal[]): void {
  if (!saved.length) return;
  const list = listed(cx.module.wasm);
  const reach = access(cx);
  for (const [name, bits] of saved) {
    const place = list.indexOf(name);
    if (place < 0 || !reach) throw BusError.of("IncorrectAbi", `module ${cx.module.name} has no global ${name} to restore`);
    reach.set(place, BigInt(bits));
  }
}
