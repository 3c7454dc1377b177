import { describe, expect, it } from "vitest";
import { Format } from "../../src/abi.js";
import { BusCall, type CallSink } from "../../src/call.js";
import { type Entry, HandleTable } from "../../src/handles.js";

const sink: CallSink = { finish() {}, fail() {}, callback: () => 0 };
const newCall = (topic = "t") => new BusCall("mod", topic, { format: Format.Json, data: new Uint8Array() }, sink);
const out = (callbacks?: Map<string, number>): Entry => ({ kind: "out", call: newCall(), callbacks });
const inbound = (): Entry => ({ kind: "in", call: newCall() });

describe("HandleTable", () => {
  it("issues distinct handles from 1, never 0", () => {
    const table = new HandleTable();
    const handles = Array.from({ length: 100 }, () => table.add({ kind: "reserved" }));
    expect(handles[0]).toBe(1);
    expect(handles).not.toContain(0);
    expect(new Set(handles).size).toBe(100);
    expect(table.live).toBe(100);
  });

  it("does not reuse a released handle at once: handles move on", () => {
    const table = new HandleTable();
    const a = table.add({ kind: "reserved" });
    table.release(a);
    const b = table.add({ kind: "reserved" });
    expect(b).not.toBe(a);
    expect(table.get(a)).toBeUndefined();
  });

  it("skips handles that are live: one set() ahead of the counter is not issued again", () => {
    const table = new HandleTable();
    table.set(3, { kind: "reserved" });
    table.set(4, { kind: "reserved" });
    expect([1, 2, 3].map(() => table.add({ kind: "reserved" }))).toEqual([1, 2, 5]);
    expect(table.live).toBe(5);
  });

  it("keeps handles in u32 space: a negative i32 names the same handle", () => {
    const table = new HandleTable();
    table.set(0xffff_ffff, { kind: "reserved" });
    expect(table.get(-1)).toEqual({ kind: "reserved" });
    table.release(-1);
    expect(table.get(0xffff_ffff)).toBeUndefined();
    expect(table.live).toBe(0);
  });

  it("counts outbound calls as they are added, replaced, removed and cleared", () => {
    const table = new HandleTable();
    const a = table.add(out());
    const b = table.add(out());
    table.add(inbound());
    table.add({ kind: "reserved" });
    expect(table.outbound).toBe(2);
    table.remove(a);
    expect(table.outbound).toBe(1);
    table.remove(a); // twice: nothing more
    expect(table.outbound).toBe(1);
    table.set(b, { kind: "reserved" }); // an out entry replaced by another kind
    expect(table.outbound).toBe(0);
    const r = table.add({ kind: "reserved" });
    table.set(r, out()); // a reserved handle becomes a call
    expect(table.outbound).toBe(1);
    table.clear();
    expect(table.outbound).toBe(0);
    expect(table.live).toBe(0);
  });

  it("finds the handle of a call, and 0 for a call it does not hold", () => {
    const table = new HandleTable();
    const entry = out();
    const served = inbound();
    const h = table.add(entry);
    const s = table.add(served);
    expect(table.handleOf((entry as { call: BusCall }).call)).toBe(h);
    expect(table.handleOf((served as { call: BusCall }).call)).toBe(s);
    expect(table.handleOf(newCall())).toBe(0);
    table.remove(h);
    expect(table.handleOf((entry as { call: BusCall }).call)).toBe(0);
  });

  it("forgets the call of a handle that set() overwrites", () => {
    const table = new HandleTable();
    const entry = out();
    const h = table.add(entry);
    table.set(h, { kind: "reserved" });
    expect(table.handleOf((entry as { call: BusCall }).call)).toBe(0);
  });

  it("release of an out call removes its callbacks", () => {
    const table = new HandleTable();
    const callbacks = new Map<string, number>();
    const owner = table.add(out(callbacks));
    const cb1 = table.add({ kind: "callback", parent: owner, topic: "progress" });
    const cb2 = table.add({ kind: "callback", parent: owner, topic: "done" });
    callbacks.set("progress", cb1).set("done", cb2);
    const other = table.add({ kind: "callback", parent: 999, topic: "x" });
    table.release(owner);
    expect(table.get(owner)).toBeUndefined();
    expect(table.get(cb1)).toBeUndefined();
    expect(table.get(cb2)).toBeUndefined();
    expect(table.get(other)).toBeDefined();
    expect(table.live).toBe(1);
    expect(table.outbound).toBe(0);
  });

  it("release of a reserved handle removes the callbacks registered before the call", () => {
    const table = new HandleTable();
    const callbacks = new Map<string, number>();
    const reserved = table.add({ kind: "reserved", callbacks });
    callbacks.set("tick", table.add({ kind: "callback", parent: reserved, topic: "tick" }));
    expect(table.live).toBe(2);
    table.release(reserved);
    expect(table.live).toBe(0);
  });

  it("remove() forgets only the handle, release() its callbacks too", () => {
    const table = new HandleTable();
    const callbacks = new Map<string, number>();
    const owner = table.add(out(callbacks));
    const cb = table.add({ kind: "callback", parent: owner, topic: "t" });
    callbacks.set("t", cb);
    expect(table.remove(owner)?.kind).toBe("out");
    expect(table.get(cb)).toBeDefined();
    expect(table.remove(owner)).toBeUndefined();
  });

  it("release of a callback unlinks it from its owner, leaving the owner and its other callbacks", () => {
    const table = new HandleTable();
    const callbacks = new Map<string, number>();
    const owner = table.add(out(callbacks));
    const a = table.add({ kind: "callback", parent: owner, topic: "a" });
    const b = table.add({ kind: "callback", parent: owner, topic: "b" });
    callbacks.set("a", a).set("b", b);
    table.release(a);
    expect(table.get(a)).toBeUndefined();
    expect([...callbacks.keys()]).toEqual(["b"]);
    expect(table.get(owner)?.kind).toBe("out");
    // Handle `a` in use again for something else: releasing the owner must not take it along.
    table.set(a, { kind: "reserved" });
    table.release(owner);
    expect(table.get(b)).toBeUndefined();
    expect(table.get(a)).toEqual({ kind: "reserved" });
  });

  it("release of a callback whose owner is gone, or an unknown handle, is harmless", () => {
    const table = new HandleTable();
    const cb = table.add({ kind: "callback", parent: 12345, topic: "a" });
    expect(() => table.release(cb)).not.toThrow();
    expect(() => table.release(777)).not.toThrow();
    expect(table.live).toBe(0);
  });

  it("release of an inbound call removes only it", () => {
    const table = new HandleTable();
    const entry = inbound();
    const h = table.add(entry);
    const keep = table.add({ kind: "reserved" });
    table.release(h);
    expect(table.get(h)).toBeUndefined();
    expect(table.handleOf((entry as { call: BusCall }).call)).toBe(0);
    expect(table.get(keep)).toBeDefined();
  });

  it("inbound() yields the served calls only, and tolerates removal while iterating", () => {
    const table = new HandleTable();
    const i1 = table.add(inbound());
    table.add(out());
    const i2 = table.add(inbound());
    table.add({ kind: "reserved" });
    const seen: number[] = [];
    for (const [h, entry] of table.inbound()) {
      expect(entry.kind).toBe("in");
      seen.push(h);
      table.remove(h);
    }
    expect(seen).toEqual([i1, i2]);
    expect([...table.inbound()]).toEqual([]);
    expect(table.live).toBe(2);
  });

  it("clear() hands back every entry and forgets them all", () => {
    const table = new HandleTable();
    const o = out();
    table.add(o);
    table.add(inbound());
    table.add({ kind: "reserved" });
    const all = table.clear();
    expect(all.map((e) => e.kind).sort()).toEqual(["in", "out", "reserved"]);
    expect(table.live).toBe(0);
    expect(table.handleOf((o as { call: BusCall }).call)).toBe(0);
    expect(table.clear()).toEqual([]);
  });

  it("holds many live handles at once, where they share slots, and finds each until it is removed", () => {
    const table = new HandleTable();
    const kept = table.add(out()); // a long-lived handle: its slot is taken for every 64th handle after it
    const live = new Map<number, Entry>();
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 300; i++) {
        const entry = i % 2 ? inbound() : out();
        live.set(table.add(entry), entry);
      }
      // Remove every third, then check the others are all still found, with the right counts.
      for (const handle of [...live.keys()].filter((h) => h % 3 === 0)) {
        expect(table.remove(handle)).toBe(live.get(handle));
        live.delete(handle);
      }
      for (const [handle, entry] of live) expect(table.get(handle)).toBe(entry);
      expect(table.live).toBe(live.size + 1);
      const outs = [...live.values()].filter((e) => e.kind === "out").length;
      expect(table.outbound).toBe(outs + 1);
    }
    expect(table.get(kept)?.kind).toBe("out");
    expect(table.entries().map(([h]) => h)).toEqual([kept, ...[...live.keys()].sort((a, b) => a - b)]);
    for (const handle of live.keys()) table.remove(handle);
    expect(table.entries().map(([h]) => h)).toEqual([kept]);
    expect(table.get(0)).toBeUndefined();
    expect(table.remove(0)).toBeUndefined();
  });

  it("set() on a handle in the spill replaces it in place, and a freed slot is used again", () => {
    const table = new HandleTable();
    table.set(1, { kind: "reserved" });
    table.set(65, { kind: "reserved" }); // same slot as 1
    table.set(65, out());
    expect(table.live).toBe(2);
    expect(table.outbound).toBe(1);
    table.remove(1);
    expect(table.get(65)?.kind).toBe("out");
    table.set(129, inbound()); // slot of 1 is free again
    expect(table.entries().map(([h]) => h)).toEqual([65, 129]);
    expect(table.serving).toBe(true);
  });

  it("lists handles oldest first across the u32 wrap-around: a parent before the calls made under it", () => {
    const table = new HandleTable();
    table.resumeAt(0xffff_fffe);
    const issued = [0, 1, 2, 3].map(() => table.add({ kind: "reserved" }));
    expect(issued).toEqual([0xffff_fffe, 0xffff_ffff, 1, 2]);
    expect(table.entries().map(([h]) => h)).toEqual(issued);
  });
});

