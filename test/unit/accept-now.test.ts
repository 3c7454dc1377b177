import { describe, expect, it } from "vitest";
import { Code, Format } from "../../src/abi.js";
import { BusCall } from "../../src/call.js";
import { Guest } from "../../src/instance/guest.js";
import { Runtime } from "../../src/runtime.js";
import { fuel, watModule } from "./wat.js";

/**
 * Listens on "t"; its wasm_bus_malloc traps, so whether the host called it shows as the instance
 * breaking; wasm_bus_start (never reached here) would reply.
 */
const SRV = `(module
  (import "wasm-bus" "listen" (func $listen (param i32 i32) (result i32)))
  (import "wasm-bus" "reply" (func $reply (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "t")
  (func (export "_initialize") (drop (call $listen (i32.const 16) (i32.const 1))))
  (func (export "wasm_bus_malloc") (param i32) (result i32) unreachable)
  (func (export "wasm_bus_start") (param $parent i32) (param $h i32) (param $format i32) (param i32 i32 i32 i32)
    (drop (call $reply (local.get $h) (i32.const 0) (i32.const 16) (i32.const 1)))))`;

function instance() {
  const errors: string[] = [];
  const rt = new Runtime({ srv: { manifest: { topics: { t: "raw" } }, wasm: watModule(SRV) } }, {
    fuel: fuel(),
    log: (line) => void (line.level === "error" && errors.push(line.msg)),
  });
  return { guest: Guest.create(rt.modules.get("srv")!, rt), errors };
}

/** A call whose caller waits inside call_now (or Runtime.request), as the pool hands it over. */
function waitingCall(): { call: BusCall; outcome: string[] } {
  const outcome: string[] = [];
  const call = new BusCall("srv", "t", { format: Format.Raw, data: new Uint8Array([1, 2, 3]) }, {
    finish: () => outcome.push("finished"),
    fail: (e) => outcome.push(`failed ${e.codeName}`),
    callback: () => Code.MissingCallbacks,
  });
  call.waiting = true;
  return { call, outcome };
}

describe("Guest.accept, a waiting call to an instance at rest (taken at once)", () => {
  it("one that has ended already gets no wasm_bus_malloc and no start: the instance stays whole", () => {
    const { guest, errors } = instance();
    const { call, outcome } = waitingCall();
    call.drop("gone before the instance took it");
    guest.accept(call);
    expect(guest.broken).toBe(false);
    expect(errors).toEqual([]);
    expect(outcome).toEqual(["failed Aborted"]); // the drop's own, and nothing after it
  });

  it("one that has not reaches wasm_bus_malloc (here a trap: the instance breaks and the call fails)", () => {
    const { guest, errors } = instance();
    const { call, outcome } = waitingCall();
    guest.accept(call);
    expect(guest.broken).toBe(true);
    expect(errors.length).toBe(1);
    expect(outcome).toEqual(["failed GuestTrapped"]);
  });
});

/** Listens on "t" and replies inside wasm_bus_start with one byte: how many calls this instance has taken. */
const COUNTER = `(module
  (import "wasm-bus" "listen" (func $listen (param i32 i32) (result i32)))
  (import "wasm-bus" "reply" (func $reply (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "t")
  (global $n (mut i32) (i32.const 0))
  (func (export "_initialize") (drop (call $listen (i32.const 16) (i32.const 1))))
  (func (export "wasm_bus_malloc") (param i32) (result i32) (i32.const 1024))
  (func (export "wasm_bus_start") (param $parent i32) (param $h i32) (param $format i32) (param i32 i32 i32 i32)
    (global.set $n (i32.add (global.get $n) (i32.const 1)))
    (i32.store8 (i32.const 32) (global.get $n))
    (drop (call $reply (local.get $h) (i32.const 0) (i32.const 32) (i32.const 1)))))`;

function counters(instances?: "pooled" | "fresh") {
  return new Runtime({ srv: { manifest: { topics: { t: "raw" }, ...(instances && { instances }) }, wasm: watModule(COUNTER) } }, { fuel: fuel(), log: () => {} });
}

describe("what Guest.accept answers: at rest again at once, said to its caller instead of onIdle", () => {
  it("a waiting call answered inside its start: true, and no onIdle", () => {
    const rt = counters();
    let idle = 0;
    const guest = Guest.create(rt.modules.get("srv")!, rt, { onIdle: () => idle++ });
    const { call, outcome } = waitingCall();
    expect(guest.accept(call)).toBe(true);
    expect(outcome).toEqual(["finished"]);
    expect(idle).toBe(0);
  });

  it("a call taken after its caller returned: false, and onIdle once it has settled", async () => {
    const rt = counters();
    let idle = 0;
    const guest = Guest.create(rt.modules.get("srv")!, rt, { onIdle: () => idle++ });
    const { call, outcome } = waitingCall();
    call.waiting = false;
    expect(guest.accept(call)).toBe(false);
    expect(outcome).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(outcome).toEqual(["finished"]);
    expect(idle).toBe(1);
  });

  it("a pool hands the instance that answered at once to the next call (pooled), or lets it go (fresh)", async () => {
    const served = async (rt: Runtime) => (await rt.request("srv", "t", { format: Format.Raw, data: new Uint8Array([1]) })).data[0];
    const pooled = counters();
    expect([await served(pooled), await served(pooled), await served(pooled)]).toEqual([1, 2, 3]);
    const fresh = counters("fresh");
    expect([await served(fresh), await served(fresh)]).toEqual([1, 1]);
  });
});
