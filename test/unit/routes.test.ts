import { describe, expect, it } from "vitest";
import { Runtime } from "../../src/runtime.js";
import { fuel, watModule } from "./wat.js";

const runtimeOf = (name: string, text: string) =>
  new Runtime({ [name]: { manifest: { topics: { ping: "raw" } }, wasm: watModule(text) } }, { fuel: fuel(), log: () => {} });

/** Listens on the topic at 16 (`len` bytes) and replies with one byte: what `answer` leaves on the stack. */
const pinger = (topic: string, len: number, answer: string) => `(module
  (import "wasm-bus" "listen" (func $listen (param i32 i32) (result i32)))
  (import "wasm-bus" "reply" (func $reply (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "${topic}")
  (func (export "_initialize") (drop (call $listen (i32.const 16) (i32.const ${len}))))
  (func (export "wasm_bus_malloc") (param i32) (result i32) (i32.const 1024))
  (func (export "wasm_bus_start") (param $parent i32) (param $h i32) (param $format i32) (param $topic i32) (param $topicLen i32) (param i32 i32)
    (i32.store8 (i32.const 0) ${answer})
    (drop (call $reply (local.get $h) (i32.const 0) (i32.const 0) (i32.const 1)))))`;

describe("how the runtime routes a call (Runtime.#route)", () => {
  it("wapm `os` is the host's built-ins, even where a module is named os", async () => {
    const runtime = runtimeOf("os", pinger("ping", 4, "(local.get $format)"));
    expect(runtime.topic("os", "echo.echo").format).toBe("raw");
    const reply = await runtime.request("os", "echo.echo", { format: 0, data: new Uint8Array([7]) });
    expect([...reply.data]).toEqual([7]);
  });

  it("refuses a format outside the four, however large its number (never taken as another: 1 << 32 is 1)", async () => {
    const runtime = runtimeOf("pinger", pinger("ping", 4, "(local.get $format)"));
    for (const format of [4, 32, 33, -1]) {
      await expect(runtime.request("pinger", "ping", { format: format as never, data: new Uint8Array([1]) })).rejects.toBeDefined();
    }
    expect([...(await runtime.request("pinger", "ping", { format: 0, data: new Uint8Array([1]) })).data]).toEqual([0]);
  });

  it("hands wasm_bus_start the topic's UTF-8, as a restored instance gets it: a BOM the guest listened with is not part of it", async () => {
    const runtime = runtimeOf("bom", pinger("\\ef\\bb\\bfping", 7, "(local.get $topicLen)"));
    expect([...(await runtime.request("bom", "ping", { format: 0, data: new Uint8Array([1]) })).data]).toEqual([4]);
  });
});
