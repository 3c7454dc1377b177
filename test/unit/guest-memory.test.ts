import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain ES module script without types
import { capMemory } from "../../scripts/wasm-memory-max.mjs";
import { Format } from "../../src/abi.js";
import { Guest } from "../../src/instance/guest.js";
import { Runtime } from "../../src/runtime.js";
import { compile, fuel, watBytes, watModule } from "./wat.js";

describe("a bus import called from the Wasm start section", () => {
  it("fails the start-up with IncorrectAbi and says what to do instead", () => {
    const module = watModule(`(module
      (import "wasm-bus" "listen" (func $listen (param i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 16) "go")
      (func $init (drop (call $listen (i32.const 16) (i32.const 2))))
      (start $init))`);
    const runtime = new Runtime({ early: { manifest: { topics: { go: "raw" } }, wasm: module } }, { fuel: fuel(), log: () => {} });
    let thrown: unknown;
    try {
      Guest.create(runtime.modules.get("early")!, runtime);
    } catch (err) {
      thrown = err;
    }
    expect((thrown as { codeName?: string }).codeName).toBe("IncorrectAbi");
    expect(String((thrown as Error).message)).toContain("export _initialize");
  });
});

/** Grows its memory by 5 pages when called, and replies with what memory.grow returned (i32, little-endian). */
const GROWER = `(module
  (import "wasm-bus" "listen" (func $listen (param i32 i32) (result i32)))
  (import "wasm-bus" "reply" (func $reply (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "grow")
  (func (export "_initialize") (drop (call $listen (i32.const 16) (i32.const 4))))
  (func (export "wasm_bus_malloc") (param i32) (result i32) (i32.const 1024))
  (func (export "wasm_bus_start") (param $parent i32) (param $h i32) (param $format i32) (param i32 i32 i32 i32)
    (i32.store (i32.const 0) (memory.grow (i32.const 5)))
    (drop (call $reply (local.get $h) (i32.const 0) (i32.const 0) (i32.const 4)))))`;
const manifest = { topics: { grow: "raw" }, limits: { memoryPages: 2 } };
const grow = (runtime: Runtime) => runtime.request("grower", "grow", { format: Format.Raw, data: new Uint8Array([1]) });

describe("limits.memoryPages", () => {
  it("a binary the build capped cannot grow past it: memory.grow fails in the guest, and the call goes on", async () => {
    const capped = compile(capMemory(watBytes(GROWER), 2));
    const runtime = new Runtime({ grower: { manifest, wasm: capped, memoryPages: 2 } }, { fuel: fuel(), log: () => {} });
    expect(runtime.modules.get("grower")!.capped).toBe(true);
    const reply = await grow(runtime);
    expect(new DataView(reply.data.buffer, reply.data.byteOffset).getInt32(0, true)).toBe(-1);
  });

  it("a binary not capped is checked by the host: growing past the limit fails the call with MemoryAllocationFailed", async () => {
    const runtime = new Runtime({ grower: { manifest, wasm: watModule(GROWER) } }, { fuel: fuel(), log: () => {} });
    expect(runtime.modules.get("grower")!.capped).toBe(false);
    await expect(grow(runtime)).rejects.toMatchObject({ message: expect.stringContaining("over its limit of 2") });
    await expect(grow(runtime)).rejects.toMatchObject({ codeName: "MemoryAllocationFailed" });
  });

  it("a registry that declares a larger maximum than the limit is not taken as capped", () => {
    const runtime = new Runtime({ grower: { manifest, wasm: watModule(GROWER), memoryPages: 8 } }, { fuel: fuel(), log: () => {} });
    expect(runtime.modules.get("grower")!.capped).toBe(false);
  });
});
