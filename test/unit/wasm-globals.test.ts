import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain ES module script without types
import { exportGlobals } from "../../scripts/wasm-globals.mjs";
import { compile, watBytes } from "./wat.js";

const wasm = (text: string) => watBytes(text, { mutable_globals: true, simd: true, reference_types: true });

describe("the build exports every mutable global for snapshots (scripts/wasm-globals.mjs)", () => {
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
    (func (export "bump") (global.set $sp (i32.sub (global.get $sp) (i32.const 16)))))`;

  it("exports the module's own mutable numeric globals by index, after the imported one, and nothing else", () => {
    const out = exportGlobals(wasm(source));
    const exports = WebAssembly.Module.exports(compile(out)).filter((e) => e.kind === "global").map((e) => e.name);
    // index 0 is the import; 2 is immutable; 4 (funcref) and 5 (v128) JavaScript cannot hold as numbers
    expect(exports).toEqual(["__wasm_bus_global_1", "__wasm_bus_global_3", "__wasm_bus_global_6"]);
  });

  it("exposes the live value, and setting it is what the guest then sees", () => {
    const instance = new WebAssembly.Instance(compile(exportGlobals(wasm(source))), {
      env: { g: new WebAssembly.Global({ value: "i32", mutable: true }, 0), f: () => {} },
    });
    const sp = instance.exports.__wasm_bus_global_1 as WebAssembly.Global;
    (instance.exports.bump as () => void)();
    expect(sp.value).toBe(65536 - 16);
    sp.value = 1024;
    (instance.exports.bump as () => void)();
    expect(sp.value).toBe(1008);
    expect((instance.exports.__wasm_bus_global_3 as WebAssembly.Global).value).toBe(-5n);
  });

  it("leaves a module without mutable globals as it was, byte for byte", () => {
    const bytes = wasm(`(module (memory (export "memory") 1) (global i32 (i32.const 1)))`);
    expect(exportGlobals(bytes)).toBe(bytes);
  });
});
