import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain ES module script without types
import { addGlobalAccess } from "../../scripts/wasm-globals.mjs";
import { compile, watBytes } from "./wat.js";

const wasm = (text: string) => watBytes(text, { mutable_globals: true, simd: true, reference_types: true });

type Access = { __wasm_bus_global_get(k: number): bigint; __wasm_bus_global_set(k: number, bits: bigint): void; bump(): void; read(): number };

/** The LEB128s of the build's custom section: the indices of the globals, by place. */
function listed(module: WebAssembly.Module): number[] {
  const sections = WebAssembly.Module.customSections(module, "wasm_bus_globals");
  expect(sections).toHaveLength(1);
  const bytes = new Uint8Array(sections[0]!);
  const out: number[] = [];
  for (let at = 0; at < bytes.length; ) {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bytes[at++]!;
      value += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) break;
    }
    out.push(value);
  }
  return out.slice(1); // the count first
}

describe("the build makes every mutable global reachable for snapshots (scripts/wasm-globals.mjs)", () => {
  const source = `(module
    (import "env" "g" (global $imported (mut i32)))
    (import "env" "f" (func $f))
    (memory (export "memory") 1)
    (global $sp (mut i32) (i32.const 65536))
    (global $const i32 (i32.const 7))
    (global $big (mut i64) (i64.const -5))
    (global $ref (mut funcref) (ref.null func))
    (global $vec (mut v128) (v128.const i32x4 11 11 11 11))
    (global $float (mut f64) (f64.const 1.5))
    (global $single (mut f32) (f32.const -0.0))
    (func (export "bump") (global.set $sp (i32.sub (global.get $sp) (i32.const 16))))
    (func (export "read") (result i32) (global.get $sp)))`;
  const instantiate = () =>
    new WebAssembly.Instance(compile(addGlobalAccess(wasm(source))), {
      env: { g: new WebAssembly.Global({ value: "i32", mutable: true }, 0), f: () => {} },
    }).exports as unknown as Access;

  it("lists the module's own mutable numeric globals by index, after the imported one, and nothing else; two exports, not one a global", () => {
    const module = compile(addGlobalAccess(wasm(source)));
    // index 0 is the import; 2 is immutable; 4 (funcref) and 5 (v128) JavaScript cannot hold as numbers
    expect(listed(module)).toEqual([1, 3, 6, 7]);
    const added = WebAssembly.Module.exports(module).filter((e) => e.name.startsWith("__wasm_bus_"));
    expect(added).toEqual([
      { name: "__wasm_bus_global_get", kind: "function" },
      { name: "__wasm_bus_global_set", kind: "function" },
    ]);
  });

  it("reads each live value as the i64 of its bits, and a value set is what the guest then sees", () => {
    const x = instantiate();
    x.bump();
    expect(x.__wasm_bus_global_get(0)).toBe(65536n - 16n);
    x.__wasm_bus_global_set(0, 1024n);
    x.bump();
    expect(x.read()).toBe(1008);
    expect(x.__wasm_bus_global_get(1)).toBe(-5n);
    const bits = new DataView(new ArrayBuffer(8));
    bits.setFloat64(0, 1.5);
    expect(x.__wasm_bus_global_get(2)).toBe(bits.getBigInt64(0));
    expect(x.__wasm_bus_global_get(3)).toBe(0x80000000n); // f32 -0: its sign bit, which a JavaScript number would lose in JSON
    // An i32 goes out sign-extended (as JavaScript reads one) and comes back wrapped.
    x.__wasm_bus_global_set(0, -2n);
    expect(x.read()).toBe(-2);
    expect(x.__wasm_bus_global_get(0)).toBe(-2n);
  });

  it("traps on a place past the list", () => {
    const x = instantiate();
    expect(() => x.__wasm_bus_global_get(4)).toThrow(WebAssembly.RuntimeError);
    expect(() => x.__wasm_bus_global_set(-1, 0n)).toThrow(WebAssembly.RuntimeError);
  });

  it("leaves a module without mutable globals as it was, byte for byte", () => {
    const bytes = wasm(`(module (memory (export "memory") 1) (global i32 (i32.const 1)))`);
    expect(addGlobalAccess(bytes)).toBe(bytes);
  });

  it("adds the sections a module without functions lacks, in their place", () => {
    const bytes = wasm(`(module (memory (export "memory") 1) (global (mut i64) (i64.const 9)) (data (i32.const 0) "x"))`);
    const x = new WebAssembly.Instance(compile(addGlobalAccess(bytes))).exports as unknown as Access;
    expect(x.__wasm_bus_global_get(0)).toBe(9n);
  });
});
