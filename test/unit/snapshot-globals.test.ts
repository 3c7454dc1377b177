// A snapshot keeps a module's mutable globals exactly: through the two functions the build adds
// (scripts/wasm-globals.mjs, src/instance/globals.ts), as the bits of each value, through the JSON
// a Durable Object stores. A JavaScript number in JSON loses -0 (written 0), NaN and the
// infinities (written null), and a NaN's payload; the bits keep them.
import { describe, expect, it } from "vitest";
import { Format } from "../../src/abi.js";
import type { Durable, Guest, Saved } from "../../src/instance/guest.js";
import { Runtime } from "../../src/runtime.js";
// @ts-expect-error: a plain ES module script without types
import { addGlobalAccess } from "../../scripts/wasm-globals.mjs";
import { compile, fuel, watBytes } from "./wat.js";

/** "set" puts awkward values into its globals; both topics reply with all four (24 bytes). */
const GLOBALS = `(module
  (import "wasm-bus" "listen" (func $listen (param i32 i32) (result i32)))
  (import "wasm-bus" "reply" (func $reply (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "set")
  (data (i32.const 20) "get")
  (global $f64 (mut f64) (f64.const 1))
  (global $f32 (mut f32) (f32.const 1))
  (global $i64 (mut i64) (i64.const 1))
  (global $i32 (mut i32) (i32.const 1))
  (func (export "_initialize")
    (drop (call $listen (i32.const 16) (i32.const 3)))
    (drop (call $listen (i32.const 20) (i32.const 3))))
  (func (export "wasm_bus_malloc") (param i32) (result i32) (i32.const 4096))
  (func (export "wasm_bus_drop") (param i32))
  (func (export "wasm_bus_start") (param $parent i32) (param $h i32) (param $format i32) (param $t i32) (param i32 i32 i32)
    (if (i32.eq (i32.load8_u (local.get $t)) (i32.const 115))
      (then
        (global.set $f64 (f64.const -0))
        (global.set $f32 (f32.const nan:0x200001))
        (global.set $i64 (i64.const -9007199254740993))
        (global.set $i32 (i32.const -7))))
    (f64.store (i32.const 200) (global.get $f64))
    (f32.store (i32.const 208) (global.get $f32))
    (i64.store (i32.const 212) (global.get $i64))
    (i32.store (i32.const 220) (global.get $i32))
    (drop (call $reply (local.get $h) (i32.const 0) (i32.const 200) (i32.const 24)))))`;

const durable: Durable = { quiet() {}, broke: () => false };

/** A runtime with module g: GLOBALS as the build gives it, its globals reachable. */
function runtime() {
  const wasm = compile(addGlobalAccess(watBytes(GLOBALS, { mutable_globals: true })));
  const rt = new Runtime({ g: { manifest: { topics: { set: "raw", get: "raw" } } as never, wasm } }, { fuel: fuel(), log: () => {} });
  return { rt, module: rt.modules.get("g")! };
}

async function call(rt: Runtime, topic: string): Promise<Uint8Array> {
  return (await rt.request("g", topic, { format: Format.Raw, data: new Uint8Array(0) })).data.slice();
}

describe("a snapshot's globals (src/instance/globals.ts)", () => {
  it("come back bit for bit after the state's JSON: -0, a NaN with its payload, an i64 past 2^53, a negative i32", async () => {
    const { rt, module } = runtime();
    const first: Guest = rt.instances.create(module, { ephemeral: false, durable });
    const unpin = rt.instances.pin(first);
    const set = await call(rt, "set");
    const { state, pages } = first.snapshot();
    // As a Durable Object stores it: JSON, and the pages copied.
    const saved: Saved = { state: JSON.parse(JSON.stringify(state)), pages: pages.map(([p, d]) => [p, d.slice()]) };
    expect(saved.state.globals.map(([name]) => name)).toEqual(["__wasm_bus_global_0", "__wasm_bus_global_1", "__wasm_bus_global_2", "__wasm_bus_global_3"]);
    unpin();
    const again = rt.instances.restore(module, { ephemeral: false, durable }, saved, () => undefined);
    rt.instances.pin(again);
    const got = await call(rt, "get");
    expect([...got]).toEqual([...set]);
    const view = new DataView(got.buffer);
    expect(Object.is(view.getFloat64(0, true), -0)).toBe(true);
    expect(view.getUint32(8, true)).toBe(0x7fa00001); // f32 NaN, payload 0x200001
    expect(view.getBigInt64(12, true)).toBe(-9007199254740993n);
    expect(view.getInt32(20, true)).toBe(-7);
  });

  it("a global the binary does not have is refused with IncorrectAbi, naming it", () => {
    const { rt, module } = runtime();
    const first = rt.instances.create(module, { ephemeral: false, durable });
    const { state, pages } = first.snapshot();
    const saved: Saved = { state: { ...state, globals: [...state.globals, ["__wasm_bus_global_9", "1"]] }, pages: pages.map(([p, d]) => [p, d.slice()]) };
    expect(() => rt.instances.restore(module, { ephemeral: false, durable }, saved, () => undefined)).toThrow(/IncorrectAbi|has no global __wasm_bus_global_9/);
  });
});
