import { describe, expect, it } from "vitest";
import { Code } from "../../src/abi.js";
import { Runtime } from "../../src/runtime.js";
import { fuel, watModule } from "./wat.js";

const runtimeOf = (name: string, text: string, topics: Record<string, "raw"> = { ping: "raw" }) =>
  new Runtime({ [name]: { manifest: { topics }, wasm: watModule(text) } }, { fuel: fuel(), log: () => {} });

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

  it("a topic listened on with a leading BOM is that topic, BOM and all: wasm_bus_start gets its 7 bytes, and a call to ping is not it", async () => {
    // Both declared, so a call to ping reaches the module and only the guest's listen decides.
    const runtime = runtimeOf("bom", pinger("\\ef\\bb\\bfping", 7, "(local.get $topicLen)"), { ping: "raw", "\ufeffping": "raw" });
    const ping = (topic: string) => runtime.request("bom", topic, { format: 0, data: new Uint8Array([1]) });
    expect([...(await ping("\ufeffping")).data]).toEqual([7]);
    await expect(ping("ping")).rejects.toMatchObject({ code: Code.InvalidTopic });
  });

  it("a guest's call to a name with a leading BOM is to another name: \\ufeffecho.echo is no topic of os, \\ufeffos no module", async () => {
    // Replies with the statuses of three call_nows: os/echo.echo, os/\ufeffecho.echo, \ufeffos/echo.echo.
    const caller = `(module
      (import "wasm-bus" "listen" (func $listen (param i32 i32) (result i32)))
      (import "wasm-bus" "reply" (func $reply (param i32 i32 i32 i32) (result i32)))
      (import "wasm-bus" "call_now" (func $call_now (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 16) "ping")
      (data (i32.const 32) "os")
      (data (i32.const 40) "\\ef\\bb\\bfos")
      (data (i32.const 48) "echo.echo")
      (data (i32.const 64) "\\ef\\bb\\bfecho.echo")
      (func (export "_initialize") (drop (call $listen (i32.const 16) (i32.const 4))))
      (func (export "wasm_bus_malloc") (param i32) (result i32) (i32.const 4096))
      (func $call (param $wapm i32) (param $wapmLen i32) (param $topic i32) (param $topicLen i32) (result i32)
        (call $call_now (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)
          (local.get $wapm) (local.get $wapmLen) (local.get $topic) (local.get $topicLen)
          (i32.const 1024) (i32.const 1) (i32.const 2048) (i32.const 256) (i32.const 512)))
      (func (export "wasm_bus_start") (param $parent i32) (param $h i32) (param i32 i32 i32 i32 i32)
        (i32.store8 (i32.const 3000) (call $call (i32.const 32) (i32.const 2) (i32.const 48) (i32.const 9)))
        (i32.store8 (i32.const 3001) (call $call (i32.const 32) (i32.const 2) (i32.const 64) (i32.const 12)))
        (i32.store8 (i32.const 3002) (call $call (i32.const 40) (i32.const 5) (i32.const 48) (i32.const 9)))
        (drop (call $reply (local.get $h) (i32.const 0) (i32.const 3000) (i32.const 3)))))`;
    const runtime = runtimeOf("caller", caller);
    const reply = await runtime.request("caller", "ping", { format: 0, data: new Uint8Array([1]) });
    expect([...reply.data]).toEqual([Code.Success, Code.InvalidTopic, Code.InvalidWapm]);
  });
});
