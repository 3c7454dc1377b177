/// <reference types="node" />
// Instances that trap are thrown away: nothing the runtime keeps may keep them (each holds its
// whole memory, 16 MB for a module at 256 pages). Counted with WeakRefs after a forced GC
// (--expose-gc, set at run time), for a session's shared instance restored after each trap (its
// kept-alive calls adopted by the restored instance) and for plain calls to pooled and shared modules.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { Code, Format } from "../../src/abi.js";
import type { BusCall, CallSink } from "../../src/call.js";
import type { BusError } from "../../src/errors.js";
import type { Durable, Guest, Saved } from "../../src/instance/guest.js";
import type { SavedCall } from "../../src/instance/snapshot.js";
import type { Manifest } from "../../src/manifest.js";
import { Runtime } from "../../src/runtime.js";
import { fuel, watModule } from "./wat.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** "join" replies and keeps the call (a chat room's join, kept alive by its caller); "boom" traps. */
const SRV = `(module
  (import "wasm-bus" "listen" (func $listen (param i32 i32) (result i32)))
  (import "wasm-bus" "reply" (func $reply (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 16)
  (data (i32.const 16) "join")
  (data (i32.const 20) "boom")
  (func (export "_initialize")
    (drop (call $listen (i32.const 16) (i32.const 4)))
    (drop (call $listen (i32.const 20) (i32.const 4))))
  (func (export "wasm_bus_malloc") (param i32) (result i32) (i32.const 4096))
  (func (export "wasm_bus_drop") (param i32))
  (func (export "wasm_bus_start") (param $parent i32) (param $h i32) (param $format i32) (param $t i32) (param i32 i32 i32)
    ;; a topic that does not start with "j" traps
    (if (i32.ne (i32.load8_u (local.get $t)) (i32.const 106)) (then unreachable))
    (drop (call $reply (local.get $h) (i32.const 0) (i32.const 16) (i32.const 1)))))`;

const TRAPS = 20;
const sink: CallSink = { finish() {}, fail() {}, callback: () => Code.Success };
const turn = () => new Promise((r) => setTimeout(r, 0));
const request = () => ({ format: Format.Raw, data: new Uint8Array(1) });

function runtime(manifest: Partial<Manifest> = {}) {
  const rt = new Runtime({ srv: { manifest: { topics: { join: "raw", boom: "raw" }, ...manifest } as never, wasm: watModule(SRV) } }, { fuel: fuel(), log: () => {} });
  return { rt, module: rt.modules.get("srv")! };
}

/** How many of `guests` a full GC leaves (a WeakRef holds its target for the rest of the turn: GC on a later one). */
async function alive(guests: WeakRef<Guest>[]): Promise<number> {
  await turn();
  gc();
  await turn();
  gc();
  return guests.filter((g) => g.deref() !== undefined).length;
}

describe("a session's shared instance that traps again and again (BusSession.#recover)", () => {
  /**
   * The session's keeping of its instance, as durable-objects/bus-session.ts does it: saved at
   * each rest (here in memory), and on a break restored from the last save through
   * Instances.restore, the calls the broken one served adopted by their keys, the rest faulted.
   */
  function session() {
    const { rt, module } = runtime();
    let saved: Saved | undefined;
    let current!: Guest;
    /** The session's calls by key (BusSession.#calls), while they live. */
    const calls = new Map<string, BusCall>();
    const broken: WeakRef<Guest>[] = [];
    const durable = (): Durable => ({
      quiet: (guest) =>
        queueMicrotask(() => {
          if (!guest.quiet || guest !== current) return;
          const { state, pages } = guest.snapshot();
          saved = { state: structuredClone(state), pages: pages.map(([p, d]) => [p, d.slice()]) };
        }),
      broke: (guest, err) => {
        if (guest !== current || !saved) return false;
        queueMicrotask(() => recover(guest, err));
        return true;
      },
    });
    const recover = (guest: Guest, err: BusError) => {
      broken.push(new WeakRef(guest));
      const held = new Map([...calls].filter(([, call]) => call.server === guest));
      const adopt = (call: SavedCall) => {
        const found = held.get(call.key!);
        held.delete(call.key!);
        return found;
      };
      current = rt.instances.restore(module, { ephemeral: false, durable: durable() }, saved!, adopt);
      rt.instances.pin(current);
      for (const call of held.values()) call.fault(err);
    };
    current = rt.instances.create(module, { ephemeral: false, durable: durable() });
    rt.instances.pin(current);
    const start = (topic: string, key: string, keepalive = false) => {
      const call = rt.start("srv", topic, request(), sink, { key, keepalive });
      if (!call.ended) calls.set(key, call);
      call.onEnd(() => calls.delete(key));
      return call;
    };
    return { start, broken, current: () => current, saved: () => saved };
  }

  it("keeps none of the broken instances alive while a kept-alive call they served lives on", async () => {
    const s = session();
    const join = s.start("join", "ws/1", true);
    // Counts what instances give the join's onEnd and take back: one listener per instance that serves it now.
    let listening = 0;
    const onEnd = join.onEnd.bind(join);
    const offEnd = join.offEnd?.bind(join);
    join.onEnd = (fn) => (listening++, onEnd(fn));
    join.offEnd = (fn) => (listening--, offEnd?.(fn));
    await turn();
    expect(s.saved()).toBeDefined();
    // In a function of its own: no trapped call (its server a broken instance) is left on this frame.
    const trap = async (key: string) => {
      const boom = s.start("boom", key);
      await turn();
      expect(boom.ended).toBe(true);
    };
    for (let i = 0; i < TRAPS; i++) await trap(`ws/${i + 2}`);
    expect(s.broken.length).toBe(TRAPS);
    expect(join.ended).toBe(false);
    expect(join.server).toBe(s.current());
    // Each restored instance listened once, and each broken one took its listener back: only the current one's is left.
    expect(listening).toBe(1);
    expect(await alive(s.broken)).toBe(0);
  });
});

describe("plain calls that trap (no session)", () => {
  for (const instances of ["pooled", "fresh", "shared"] as const) {
    it(`keep none of the broken instances of a ${instances} module alive`, async () => {
      const { rt } = runtime({ instances });
      const broken: WeakRef<Guest>[] = [];
      const trap = async () => {
        const call = rt.start("srv", "boom", request(), sink);
        await turn();
        expect(call.ended).toBe(true);
        expect((call.server as Guest).broken).toBe(true);
        broken.push(new WeakRef(call.server as Guest));
      };
      for (let i = 0; i < TRAPS; i++) await trap();
      expect(await alive(broken)).toBe(0);
    });
  }
});
