/// <reference types="node" />
// A guest's kept-alive call made under a kept-alive parent ends with the parent (docs/abi.md,
// `call`), answered or not: the guest hears it as any end of a kept-alive call, wasm_bus_error, and
// its handle goes. Answered, it once heard nothing (BusCall.drop tells the sink only of a pending
// call), and its handle stayed in the guest's table, under limits.maxHandles, for as long as the
// instance lived.
import { describe, expect, it } from "vitest";
import { Code, Format } from "../../src/abi.js";
import { Runtime } from "../../src/runtime.js";
import { fuel, watModule } from "./wat.js";

/** "obj", "sub" and "end" reply at once with the request's byte; "end" then drops the call it was made under (the server ends the sub-API). */
const SRV = `(module
  (import "wasm-bus" "listen" (func $listen (param i32 i32) (result i32)))
  (import "wasm-bus" "reply" (func $reply (param i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "drop" (func $drop (param i32) (result i32)))
  (memory (export "memory") 16)
  (data (i32.const 16) "obj")
  (data (i32.const 24) "sub")
  (data (i32.const 32) "end")
  (func (export "_initialize")
    (drop (call $listen (i32.const 16) (i32.const 3)))
    (drop (call $listen (i32.const 24) (i32.const 3)))
    (drop (call $listen (i32.const 32) (i32.const 3))))
  (func (export "wasm_bus_malloc") (param i32) (result i32) (i32.const 4096))
  (func (export "wasm_bus_drop") (param i32))
  (func (export "wasm_bus_start") (param $parent i32) (param $h i32) (param $format i32) (param $t i32) (param i32) (param $r i32) (param i32)
    (drop (call $reply (local.get $h) (i32.const 0) (local.get $r) (i32.const 1)))
    (if (i32.eq (i32.load8_u (local.get $t)) (i32.const 101)) (then (drop (call $drop (local.get $parent)))))))`;

/**
 * One instance for every call. "go" (its byte the mode): calls srv "obj" kept alive, then, once
 * answered, srv "sub" kept alive under it; once that is answered, in mode "a" drops the parent
 * itself and replies, in mode "b" calls srv "end" under it (the server ends the parent) and
 * replies once that is answered. A handle() that answers 0 fails the go with LimitExceeded.
 * "count" replies with how many wasm_bus_error it heard, and how many of them were Aborted (two
 * u32). `now`: the calls go through call_now, whose results come inside the import (`ready`).
 */
const cli = (now: boolean) => `(module
  (import "wasm-bus" "listen" (func $listen (param i32 i32) (result i32)))
  (import "wasm-bus" "reply" (func $reply (param i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "fault" (func $fault (param i32 i32) (result i32)))
  (import "wasm-bus" "handle" (func $handle (result i32)))
  (import "wasm-bus" "drop" (func $drop (param i32) (result i32)))
  (import "wasm-bus" "call" (func $call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "call_now" (func $call_now (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 16)
  (data (i32.const 16) "go")
  (data (i32.const 24) "count")
  (data (i32.const 32) "srv")
  (data (i32.const 40) "obj")
  (data (i32.const 48) "sub")
  (data (i32.const 56) "end")
  (global $go (mut i32) (i32.const 0))
  (global $p (mut i32) (i32.const 0))
  (global $c (mut i32) (i32.const 0))
  (global $e (mut i32) (i32.const 0))
  (global $errors (mut i32) (i32.const 0))
  (global $aborted (mut i32) (i32.const 0))
  (func (export "_initialize")
    (drop (call $listen (i32.const 16) (i32.const 2)))
    (drop (call $listen (i32.const 24) (i32.const 5))))
  (func (export "wasm_bus_malloc") (param i32) (result i32) (i32.const 4096))
  (func (export "wasm_bus_drop") (param i32))
  ;; A call of topic $topic under $parent on handle $h; the mode byte (at 600) its request.
  (func $send (param $parent i32) (param $h i32) (param $topic i32) (param $keep i32)
    (local $rc i32)
    (if (i32.eqz (local.get $h)) (then (drop (call $fault (global.get $go) (i32.const ${Code.LimitExceeded}))) (return)))
    ${
      now
        ? `(local.set $rc (call $call_now (local.get $parent) (local.get $h) (local.get $keep) (i32.const 0) (i32.const 32) (i32.const 3) (local.get $topic) (i32.const 3) (i32.const 600) (i32.const 1) (i32.const 700) (i32.const 64) (i32.const 800)))
           (if (local.get $rc) (then (drop (call $fault (global.get $go) (local.get $rc))) (return)))
           (if (i32.load (i32.const 800)) (then (call $answered (local.get $h))))`
        : `(local.set $rc (call $call (local.get $parent) (local.get $h) (local.get $keep) (i32.const 0) (i32.const 32) (i32.const 3) (local.get $topic) (i32.const 3) (i32.const 600) (i32.const 1)))
           (if (local.get $rc) (then (drop (call $fault (global.get $go) (local.get $rc)))))`
    })
  (func $answered (param $h i32)
    (if (i32.eq (local.get $h) (global.get $p))
      (then
        (global.set $c (call $handle))
        (call $send (global.get $p) (global.get $c) (i32.const 48) (i32.const 1))
        (return)))
    (if (i32.eq (local.get $h) (global.get $c))
      (then
        (if (i32.eq (i32.load8_u (i32.const 600)) (i32.const 98))
          (then
            (global.set $e (call $handle))
            (call $send (global.get $p) (global.get $e) (i32.const 56) (i32.const 0))
            (return)))
        (drop (call $drop (global.get $p)))))
    (drop (call $reply (global.get $go) (i32.const 0) (i32.const 600) (i32.const 1))))
  (func (export "wasm_bus_finish") (param $h i32) (param i32 i32 i32) (call $answered (local.get $h)))
  (func (export "wasm_bus_error") (param $h i32) (param $code i32)
    (global.set $errors (i32.add (global.get $errors) (i32.const 1)))
    (if (i32.eq (local.get $code) (i32.const ${Code.Aborted})) (then (global.set $aborted (i32.add (global.get $aborted) (i32.const 1))))))
  (func (export "wasm_bus_start") (param $parent i32) (param $h i32) (param $format i32) (param $t i32) (param $tl i32) (param $r i32) (param i32)
    (if (i32.eq (local.get $tl) (i32.const 5))
      (then
        (i32.store (i32.const 512) (global.get $errors))
        (i32.store (i32.const 516) (global.get $aborted))
        (drop (call $reply (local.get $h) (i32.const 0) (i32.const 512) (i32.const 8)))
        (return)))
    (global.set $go (local.get $h))
    (i32.store8 (i32.const 600) (i32.load8_u (local.get $r)))
    (global.set $p (call $handle))
    (call $send (i32.const 0) (global.get $p) (i32.const 40) (i32.const 1))))`;

const ROUNDS = 10;
const turn = () => new Promise((r) => setTimeout(r, 0));

describe("a guest's kept-alive call under a kept-alive parent, answered, ends with the parent", () => {
  it.each([
    ["call", "a", "the guest drops the parent"],
    ["call", "b", "the server ends the parent"],
    ["call_now", "a", "the guest drops the parent"],
    ["call_now", "b", "the server ends the parent"],
  ] as const)("made with %s, mode %s (%s): the guest hears wasm_bus_error (Aborted) and the handle is freed", async (how, mode, _) => {
    const rt = new Runtime(
      {
        // Three handles a round (the go, its parent and child calls): 6 hold two rounds' leftovers at most.
        cli: { manifest: { topics: { go: "raw", count: "raw" }, instances: "shared", limits: { maxHandles: 6 } } as never, wasm: watModule(cli(how === "call_now")) },
        srv: { manifest: { topics: { obj: "raw", sub: "raw", end: "raw" }, instances: "shared" } as never, wasm: watModule(SRV) },
      },
      { fuel: fuel(), log: () => {} },
    );
    for (let i = 0; i < ROUNDS; i++) {
      const done = await rt.request("cli", "go", { format: Format.Raw, data: new Uint8Array([mode.charCodeAt(0)]) }).then(
        () => "done",
        (err) => `round ${i + 1}: ${err.codeName}: ${err.message}`,
      );
      expect(done).toBe("done");
      await turn();
    }
    const count = await rt.request("cli", "count", { format: Format.Raw, data: new Uint8Array() });
    const heard = new DataView(count.data.buffer, count.data.byteOffset);
    // Each child's end, and in mode b also each parent's (the server ended it); all Aborted.
    const ends = mode === "a" ? ROUNDS : 2 * ROUNDS;
    expect({ errors: heard.getUint32(0, true), aborted: heard.getUint32(4, true) }).toEqual({ errors: ends, aborted: ends });
  });
});
