// A topic a guest listens on is kept in a snapshot by name (JSON in a Durable Object's SQLite)
// and made bytes again on restore: a leading U+FEFF the guest listened with must survive both,
// so the restored instance is reached by the same name and hands wasm_bus_start the same bytes.
import { describe, expect, it } from "vitest";
import { Code, Format } from "../../src/abi.js";
import type { Durable, Saved } from "../../src/instance/guest.js";
import { Runtime } from "../../src/runtime.js";
import { fuel, watModule } from "./wat.js";

/** Listens on "\ufeffping" and answers each call with the length of the topic it was handed. */
const BOM_PINGER = `(module
  (import "wasm-bus" "listen" (func $listen (param i32 i32) (result i32)))
  (import "wasm-bus" "reply" (func $reply (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "\\ef\\bb\\bfping")
  (func (export "_initialize") (drop (call $listen (i32.const 16) (i32.const 7))))
  (func (export "wasm_bus_malloc") (param i32) (result i32) (i32.const 1024))
  (func (export "wasm_bus_start") (param $parent i32) (param $h i32) (param i32) (param $topic i32) (param $topicLen i32) (param i32 i32)
    (i32.store8 (i32.const 0) (local.get $topicLen))
    (drop (call $reply (local.get $h) (i32.const 0) (i32.const 0) (i32.const 1)))))`;

const durable: Durable = { quiet() {}, broke: () => false };

describe("a snapshot's listened topics (src/instance/snapshot.ts)", () => {
  it("a topic with a leading BOM comes back with it: the restored instance is reached by \\ufeffping, with its 7 bytes, and not by ping", async () => {
    const rt = new Runtime({ b: { manifest: { topics: { ping: "raw", "\ufeffping": "raw" } }, wasm: watModule(BOM_PINGER) } }, { fuel: fuel(), log: () => {} });
    const module = rt.modules.get("b")!;
    const call = (topic: string) => rt.request("b", topic, { format: Format.Raw, data: new Uint8Array(0) });
    const first = rt.instances.create(module, { ephemeral: false, durable });
    const unpin = rt.instances.pin(first);
    const { state, pages } = first.snapshot();
    // As a Durable Object stores it: JSON, and the pages copied.
    const saved: Saved = { state: JSON.parse(JSON.stringify(state)), pages: pages.map(([p, d]) => [p, d.slice()]) };
    expect(saved.state.listening).toEqual(["\ufeffping"]);
    unpin();
    const again = rt.instances.restore(module, { ephemeral: false, durable }, saved, () => undefined);
    rt.instances.pin(again);
    expect([...(await call("\ufeffping")).data]).toEqual([7]);
    await expect(call("ping")).rejects.toMatchObject({ code: Code.InvalidTopic });
  });
});
