/// <reference types="node" />
// An instance kept for later (a pool's idle one, a shared module's) must not keep the calls it
// served once they end: through such a call (its caller's sink, its origin) the instances that
// made it stay reachable after they are gone, each with its whole memory (16 pages here, 16 MB
// at 256). Counted with WeakRefs after a forced GC, as ./trap-leak.test.ts counts broken instances.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { Code, Format } from "../../src/abi.js";
import type { CallSink } from "../../src/call.js";
import type { Guest } from "../../src/instance/guest.js";
import { Runtime } from "../../src/runtime.js";
import { fuel, watModule } from "./wat.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** On "go": calls callee's "hi" (not waiting for it) and replies at once. */
const CALLER = `(module
  (import "wasm-bus" "listen" (func $listen (param i32 i32) (result i32)))
  (import "wasm-bus" "reply" (func $reply (param i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "handle" (func $handle (result i32)))
  (import "wasm-bus" "call" (func $call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 16)
  (data (i32.const 16) "go")
  (data (i32.const 32) "callee")
  (data (i32.const 48) "hi")
  (func (export "_initialize") (drop (call $listen (i32.const 16) (i32.const 2))))
  (func (export "wasm_bus_malloc") (param i32) (result i32) (i32.const 4096))
  (func (export "wasm_bus_drop") (param i32))
  (func (export "wasm_bus_finish") (param i32 i32 i32 i32))
  (func (export "wasm_bus_error") (param i32 i32))
  (func (export "wasm_bus_start") (param $parent i32) (param $h i32) (param $format i32) (param i32 i32 i32 i32)
    (drop (call $call (i32.const 0) (call $handle) (i32.const 0) (i32.const 0) (i32.const 32) (i32.const 6) (i32.const 48) (i32.const 2) (i32.const 16) (i32.const 1)))
    (drop (call $reply (local.get $h) (i32.const 0) (i32.const 16) (i32.const 1)))))`;

/**
 * On "hi": replies. `refused`: first makes a call in format 9, which there is not, and is refused:
 * the instance keeps that refusal, and the call it was serving, for a fault that passes it on.
 */
const callee = (refused: boolean) => `(module
  (import "wasm-bus" "listen" (func $listen (param i32 i32) (result i32)))
  (import "wasm-bus" "reply" (func $reply (param i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "handle" (func $handle (result i32)))
  (import "wasm-bus" "call" (func $call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 16)
  (data (i32.const 16) "hi")
  (func (export "_initialize") (drop (call $listen (i32.const 16) (i32.const 2))))
  (func (export "wasm_bus_malloc") (param i32) (result i32) (i32.const 4096))
  (func (export "wasm_bus_drop") (param i32))
  (func (export "wasm_bus_start") (param $parent i32) (param $h i32) (param $format i32) (param i32 i32 i32 i32)
    ${refused ? "(drop (call $call (i32.const 0) (call $handle) (i32.const 0) (i32.const 9) (i32.const 16) (i32.const 2) (i32.const 16) (i32.const 2) (i32.const 16) (i32.const 1)))" : ""}
    (drop (call $reply (local.get $h) (i32.const 0) (i32.const 16) (i32.const 1)))))`;

const sink: CallSink = { finish() {}, fail() {}, callback: () => Code.Success };
const turn = () => new Promise((r) => setTimeout(r, 0));

describe("a fresh instance that called another module, once it is done", () => {
  it.each([
    ["pooled", false],
    ["shared", false],
    ["pooled", true],
  ] as const)("is not kept by the %s instance that served its call (refused an import while serving it: %s)", async (instances, refused) => {
    const rt = new Runtime(
      {
        caller: { manifest: { topics: { go: "raw" }, instances: "fresh" } as never, wasm: watModule(CALLER) },
        callee: { manifest: { topics: { hi: "raw" }, instances } as never, wasm: watModule(callee(refused)) },
      },
      { fuel: fuel(), log: () => {} },
    );
    const done: WeakRef<Guest>[] = [];
    // In a function of its own: no call (its server a caller instance) is left on this frame.
    const go = async () => {
      const call = rt.start("caller", "go", { format: Format.Raw, data: new Uint8Array(1) }, sink);
      done.push(new WeakRef(call.server as Guest));
      // the reply, then the callee's answer delivered to the caller, which then retires
      await turn();
      await turn();
      expect(call.ended).toBe(true);
    };
    for (let i = 0; i < 5; i++) await go();
    // A WeakRef holds its target for the rest of the turn: GC on a later one.
    await turn();
    gc();
    await turn();
    gc();
    expect(done.filter((g) => g.deref() !== undefined).length).toBe(0);
  });
});
