/// <reference types="node" />
// Hostile: kept-alive calls three deep (a grandchild under a child under a parent), the top one
// ended by the guest or by its server, many times over on one instance held to few handles. A
// call under one that ends ends with it (docs/abi.md, `call`), answered or not: the guest hears
// wasm_bus_error (Aborted), and its handle goes. Answered, it once heard nothing (BusCall.drop
// tells the sink only of a pending call), and its handle stayed in the guest's table, under
// limits.maxHandles, for as long as the instance lived.
import { describe, expect, it } from "vitest";
import { Code, Format } from "../../src/abi.js";
import { Runtime } from "../../src/runtime.js";
import { fuel, watModule } from "./wat.js";

/** "obj" and "end" reply at once with the request's byte; "end" then drops the call it was made under. */
const SRV = `(module
  (import "wasm-bus" "listen" (func $listen (param i32 i32) (result i32)))
  (import "wasm-bus" "reply" (func $reply (param i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "drop" (func $drop (param i32) (result i32)))
  (memory (export "memory") 16)
  (data (i32.const 16) "obj")
  (data (i32.const 32) "end")
  (global $drops (mut i32) (i32.const 0))
  (func (export "_initialize")
    (drop (call $listen (i32.const 16) (i32.const 3)))
    (drop (call $listen (i32.const 32) (i32.const 3))))
  (func (export "wasm_bus_malloc") (param i32) (result i32) (i32.const 4096))
  (func (export "wasm_bus_drop") (param i32) (global.set $drops (i32.add (global.get $drops) (i32.const 1))))
  (func (export "wasm_bus_start") (param $parent i32) (param $h i32) (param $format i32) (param $t i32) (param i32) (param $r i32) (param i32)
    (drop (call $reply (local.get $h) (i32.const 0) (local.get $r) (i32.const 1)))
    (if (i32.eq (i32.load8_u (local.get $t)) (i32.const 101)) (then (drop (call $drop (local.get $parent)))))))`;

/**
 * "go" (its byte the mode): calls srv "obj" kept alive (level 0), once answered another under it
 * (level 1), once answered another under that (level 2); once the deepest is answered: mode "a"
 * drops level 0 and replies; "b" calls srv "end" under level 0 (the server ends it) and replies
 * once that is answered; "m" drops level 1 (the middle) and then level 0, and replies. "count"
 * replies with the wasm_bus_error it heard and how many were Aborted. The levels' handles at 1000.
 */
const CLI = (now: boolean) => `(module
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
  (data (i32.const 56) "end")
  (global $go (mut i32) (i32.const 0))
  (global $e (mut i32) (i32.const 0))
  (global $errors (mut i32) (i32.const 0))
  (global $aborted (mut i32) (i32.const 0))
  (func (export "_initialize")
    (drop (call $listen (i32.const 16) (i32.const 2)))
    (drop (call $listen (i32.const 24) (i32.const 5))))
  (func (export "wasm_bus_malloc") (param i32) (result i32) (i32.const 4096))
  (func (export "wasm_bus_drop") (param i32))
  (func $level (param $i i32) (result i32) (i32.load (i32.add (i32.const 1000) (i32.shl (local.get $i) (i32.const 2)))))
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
  (func $open (param $i i32)
    (local $h i32)
    (local.set $h (call $handle))
    (i32.store (i32.add (i32.const 1000) (i32.shl (local.get $i) (i32.const 2))) (local.get $h))
    (call $send (if (result i32) (local.get $i) (then (call $level (i32.sub (local.get $i) (i32.const 1)))) (else (i32.const 0))) (local.get $h) (i32.const 40) (i32.const 1)))
  (func $answered (param $h i32)
    (local $mode i32)
    (if (i32.eq (local.get $h) (call $level (i32.const 0))) (then (call $open (i32.const 1)) (return)))
    (if (i32.eq (local.get $h) (call $level (i32.const 1))) (then (call $open (i32.const 2)) (return)))
    (local.set $mode (i32.load8_u (i32.const 600)))
    (if (i32.eq (local.get $h) (call $level (i32.const 2)))
      (then
        (if (i32.eq (local.get $mode) (i32.const 98))
          (then
            (global.set $e (call $handle))
            (call $send (call $level (i32.const 0)) (global.get $e) (i32.const 56) (i32.const 0))
            (return)))
        (if (i32.eq (local.get $mode) (i32.const 109)) (then (drop (call $drop (call $level (i32.const 1))))))
        (drop (call $drop (call $level (i32.const 0))))))
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
    (call $open (i32.const 0))))`;

// A leak fills maxHandles (8) within a few rounds; 10,000 held as well, each mode in about a second.
const ROUNDS = 1_000;
const turn = () => new Promise((r) => setImmediate(r));

describe("kept-alive calls three deep, the top one ended", () => {
  it.each([
    ["call", "a"],
    ["call", "b"],
    ["call", "m"],
    ["call_now", "a"],
    ["call_now", "b"],
    ["call_now", "m"],
  ] as const)("made with %s, mode %s: every call under it is heard to end, and no handle is left", async (how, mode) => {
    const rt = new Runtime(
      {
        cli: { manifest: { topics: { go: "raw", count: "raw" }, instances: "shared", limits: { maxHandles: 8 } } as never, wasm: watModule(CLI(how === "call_now")) },
        srv: { manifest: { topics: { obj: "raw", end: "raw" }, instances: "shared", limits: { maxHandles: 8 } } as never, wasm: watModule(SRV) },
      },
      { fuel: fuel(), log: () => {} },
    );
    for (let i = 0; i < ROUNDS; i++) {
      const done = await rt.request("cli", "go", { format: Format.Raw, data: new Uint8Array([mode.charCodeAt(0)]) }).then(
        () => "done",
        (err) => `round ${i + 1}: ${err.codeName}: ${err.message}`,
      );
      if (done !== "done") expect(done).toBe("done");
      await turn();
    }
    const count = await rt.request("cli", "count", { format: Format.Raw, data: new Uint8Array() });
    const heard = new DataView(count.data.buffer, count.data.byteOffset);
    // a: the child and grandchild; m: the grandchild (its parent dropped), the child's drop is the guest's own; b: all three.
    const ends = { a: 2, m: 1, b: 3 }[mode] * ROUNDS;
    expect({ errors: heard.getUint32(0, true), aborted: heard.getUint32(4, true) }).toEqual({ errors: ends, aborted: ends });
  }, 120_000);
});
