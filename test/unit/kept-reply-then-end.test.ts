/// <reference types="node" />
// A server that replies to a kept-alive call and ends it at once (faults it, drops it, or ends the
// call it was made under) before the reply reaches the calling guest: the guest hears the reply,
// then the end (docs/abi.md, `call`: "A kept-alive call that the server ends after answering gets
// `wasm_bus_error` too"), and the handle goes once the end is delivered (a parent no longer while
// its end waits). The end once took the handle away at once, and the queued reply, which checks
// that its handle is still the guest's, was dropped: the guest heard only wasm_bus_error.
import { describe, expect, it } from "vitest";
import { Code, Format } from "../../src/abi.js";
import { Runtime } from "../../src/runtime.js";
import { fuel, watModule } from "./wat.js";

/**
 * "obj" replies with the request's byte. "kept" replies with it, then by it: "f" faults the call
 * (BusInvocationFailed), "d" drops it, "p" drops the call it was made under; "w" drops that
 * without replying.
 */
const SRV = `(module
  (import "wasm-bus" "listen" (func $listen (param i32 i32) (result i32)))
  (import "wasm-bus" "reply" (func $reply (param i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "fault" (func $fault (param i32 i32) (result i32)))
  (import "wasm-bus" "drop" (func $drop (param i32) (result i32)))
  (memory (export "memory") 16)
  (data (i32.const 16) "obj")
  (data (i32.const 24) "kept")
  (func (export "_initialize")
    (drop (call $listen (i32.const 16) (i32.const 3)))
    (drop (call $listen (i32.const 24) (i32.const 4))))
  (func (export "wasm_bus_malloc") (param i32) (result i32) (i32.const 4096))
  (func (export "wasm_bus_drop") (param i32))
  (func (export "wasm_bus_start") (param $parent i32) (param $h i32) (param $format i32) (param $t i32) (param i32) (param $r i32) (param i32)
    (local $mode i32)
    (local.set $mode (i32.load8_u (local.get $r)))
    (if (i32.or (i32.ne (local.get $mode) (i32.const 119)) (i32.ne (i32.load8_u (local.get $t)) (i32.const 107)))
      (then (drop (call $reply (local.get $h) (i32.const 0) (local.get $r) (i32.const 1)))))
    (if (i32.ne (i32.load8_u (local.get $t)) (i32.const 107)) (then (return)))
    (if (i32.eq (local.get $mode) (i32.const 119)) (then (drop (call $drop (local.get $parent)))))
    (if (i32.eq (local.get $mode) (i32.const 102)) (then (drop (call $fault (local.get $h) (i32.const ${Code.BusInvocationFailed})))))
    (if (i32.eq (local.get $mode) (i32.const 100)) (then (drop (call $drop (local.get $h)))))
    (if (i32.eq (local.get $mode) (i32.const 112)) (then (drop (call $drop (local.get $parent)))))))`;

/**
 * One instance for every call. "go" (its byte the mode) calls srv "kept" kept alive with the mode
 * as its request; in modes "p" and "w" under a kept-alive call to srv "obj", once that is answered. It
 * logs what the "kept" call's handle hears, "F" and the reply's byte for wasm_bus_finish (then,
 * under a parent, "C" and the status of a call made under the parent), "E" and the code for
 * wasm_bus_error, and replies with the log once every call it made has ended. A
 * handle() that answers 0 fails the go with LimitExceeded. `now`: the calls go through call_now,
 * whose results may come inside the import (`ready`).
 */
const cli = (now: boolean) => `(module
  (import "wasm-bus" "listen" (func $listen (param i32 i32) (result i32)))
  (import "wasm-bus" "reply" (func $reply (param i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "fault" (func $fault (param i32 i32) (result i32)))
  (import "wasm-bus" "handle" (func $handle (result i32)))
  (import "wasm-bus" "call" (func $call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "call_now" (func $call_now (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 16)
  (data (i32.const 16) "go")
  (data (i32.const 32) "srv")
  (data (i32.const 40) "obj")
  (data (i32.const 48) "kept")
  (global $go (mut i32) (i32.const 0))
  (global $p (mut i32) (i32.const 0))
  (global $k (mut i32) (i32.const 0))
  ;; Ends still to come this round, and the log's length (it is at 900).
  (global $ends (mut i32) (i32.const 0))
  (global $n (mut i32) (i32.const 0))
  (func (export "_initialize") (drop (call $listen (i32.const 16) (i32.const 2))))
  (func (export "wasm_bus_malloc") (param i32) (result i32) (i32.const 4096))
  (func (export "wasm_bus_drop") (param i32))
  (func $log (param $b i32)
    (i32.store8 (i32.add (i32.const 900) (global.get $n)) (local.get $b))
    (global.set $n (i32.add (global.get $n) (i32.const 1))))
  ;; A kept-alive call of topic $topic under $parent on handle $h; the mode byte (at 600) its request.
  (func $send (param $parent i32) (param $h i32) (param $topic i32) (param $len i32)
    (local $rc i32)
    (if (i32.eqz (local.get $h)) (then (drop (call $fault (global.get $go) (i32.const ${Code.LimitExceeded}))) (return)))
    ${
      now
        ? `(local.set $rc (call $call_now (local.get $parent) (local.get $h) (i32.const 1) (i32.const 0) (i32.const 32) (i32.const 3) (local.get $topic) (local.get $len) (i32.const 600) (i32.const 1) (i32.const 700) (i32.const 64) (i32.const 800)))
           (if (local.get $rc) (then (drop (call $fault (global.get $go) (local.get $rc))) (return)))
           (if (i32.load (i32.const 800)) (then (call $finished (local.get $h) (i32.load (i32.const 812)))))`
        : `(local.set $rc (call $call (local.get $parent) (local.get $h) (i32.const 1) (i32.const 0) (i32.const 32) (i32.const 3) (local.get $topic) (local.get $len) (i32.const 600) (i32.const 1)))
           (if (local.get $rc) (then (drop (call $fault (global.get $go) (local.get $rc)))))`
    })
  (func $finished (param $h i32) (param $ptr i32)
    (if (i32.eq (local.get $h) (global.get $k))
      (then
        (call $log (i32.const 70))
        (call $log (i32.load8_u (local.get $ptr)))
        ;; Its parent has ended (its end waits in the queue): no call goes under it.
        (if (global.get $p)
          (then
            (call $log (i32.const 67))
            (call $log (call $call (global.get $p) (call $handle) (i32.const 0) (i32.const 0) (i32.const 32) (i32.const 3) (i32.const 40) (i32.const 3) (i32.const 600) (i32.const 1)))))
        (return)))
    ;; The parent answered: the "kept" call under it.
    (global.set $k (call $handle))
    (call $send (global.get $p) (global.get $k) (i32.const 48) (i32.const 4)))
  (func (export "wasm_bus_finish") (param $h i32) (param i32) (param $ptr i32) (param i32) (call $finished (local.get $h) (local.get $ptr)))
  (func (export "wasm_bus_error") (param $h i32) (param $code i32)
    (if (i32.eq (local.get $h) (global.get $k))
      (then
        (call $log (i32.const 69))
        (call $log (local.get $code))))
    (global.set $ends (i32.sub (global.get $ends) (i32.const 1)))
    (if (i32.eqz (global.get $ends))
      (then (drop (call $reply (global.get $go) (i32.const 0) (i32.const 900) (global.get $n))))))
  (func (export "wasm_bus_start") (param $parent i32) (param $h i32) (param $format i32) (param $t i32) (param $tl i32) (param $r i32) (param i32)
    (global.set $go (local.get $h))
    (global.set $n (i32.const 0))
    (global.set $k (i32.const 0))
    (i32.store8 (i32.const 600) (i32.load8_u (local.get $r)))
    (if (i32.or (i32.eq (i32.load8_u (i32.const 600)) (i32.const 112)) (i32.eq (i32.load8_u (i32.const 600)) (i32.const 119)))
      (then
        (global.set $ends (i32.const 2))
        (global.set $p (call $handle))
        (call $send (i32.const 0) (global.get $p) (i32.const 40) (i32.const 3)))
      (else
        (global.set $ends (i32.const 1))
        (global.set $k (call $handle))
        (call $send (i32.const 0) (global.get $k) (i32.const 48) (i32.const 4))))))`;

const ROUNDS = 10;
const turn = () => new Promise((r) => setTimeout(r, 0));
const MODES = {
  f: "faults it",
  d: "drops it",
  p: "ends the call it was made under",
} as const;
const HEARD = { f: ["F", 102, "E", Code.BusInvocationFailed], d: ["F", 100, "E", Code.Aborted], p: ["F", 112, "C", Code.InvalidHandle, "E", Code.Aborted] };

function runtime(how: "call" | "call_now") {
  return new Runtime(
    {
      // Four handles a round at most (the go, the parent, the kept call, the one refused under the parent): one left behind each round runs out within a few.
      cli: { manifest: { topics: { go: "raw" }, instances: "shared", limits: { maxHandles: 6 } } as never, wasm: watModule(cli(how === "call_now")) },
      srv: { manifest: { topics: { obj: "raw", kept: "raw" }, instances: "shared" } as never, wasm: watModule(SRV) },
    },
    { fuel: fuel(), log: () => {} },
  );
}

/** One "go" in `mode`: what the kept call's handle heard ("F" and the reply's byte, "E" and the code, in order), or why the go failed. */
const go = (rt: Runtime, mode: string) =>
  rt.request("cli", "go", { format: Format.Raw, data: new Uint8Array([mode.charCodeAt(0)]) }).then(
    (reply) => [...reply.data].map((b, at) => (at % 2 ? b : String.fromCharCode(b))),
    (err) => `${err.codeName}: ${err.message}`,
  );

describe("a kept-alive call its server answers and ends at once", () => {
  it.each([
    ["call", "f"],
    ["call", "d"],
    ["call", "p"],
    ["call_now", "f"],
    ["call_now", "d"],
    ["call_now", "p"],
  ] as const)("made with %s, mode %s: the guest hears the reply, then the end, and the handle is freed", async (how, mode) => {
    const rt = runtime(how);
    for (let i = 0; i < ROUNDS; i++) {
      expect(await go(rt, mode), `round ${i + 1}, the server ${MODES[mode]}`).toEqual(HEARD[mode]);
      await turn();
    }
  });

  // Not answered, it ends with its parent too: the guest hears that once. (With call_now it fails
  // at once, inside the import.)
  it("made with call, not answered, under a call the server ends: the guest hears the end once", async () => {
    const rt = runtime("call");
    for (let i = 0; i < ROUNDS; i++) {
      expect(await go(rt, "w"), `round ${i + 1}`).toEqual(["E", Code.Aborted]);
      await turn();
    }
  });
});
