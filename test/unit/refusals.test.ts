import { describe, expect, it } from "vitest";
import { Code, type CodeName, Format } from "../../src/abi.js";
import { BusCall, type CallSink } from "../../src/call.js";
import type { Payload } from "../../src/codec/index.js";
import { BusError } from "../../src/errors.js";
import { GuestMemory, MAX_NAME_BYTES } from "../../src/memory.js";
import { Runtime } from "../../src/runtime.js";
import { fuel, watModule } from "./wat.js";

// The refusals the hot functions build out of line (for V8's inlining budget: docs/performance.md,
// "Fifth pass"), pinned by their messages and by which one wins when several things are wrong.

/**
 * Serves one scenario per topic and replies with the status it got, as 4 bytes (LE):
 *   a  call_now with parent 99 (no such call) and format 9 (no such format)
 *   b  one call in flight (maxCalls is 1), then call_now with format 9
 *   c  one call in flight, then a good call_now
 *   d  call_now with a 65-byte request (requestBytes is 64)
 *   e  reply with format 9 and 65 bytes (responseBytes is 64)
 *   f  reply with 65 bytes
 */
const SRV = `(module
  (import "wasm-bus" "listen" (func $listen (param i32 i32) (result i32)))
  (import "wasm-bus" "reply" (func $reply (param i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "handle" (func $handle (result i32)))
  (import "wasm-bus" "call" (func $call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "call_now" (func $call_now (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "os")
  (data (i32.const 32) "echo.echo")
  (data (i32.const 48) "abcdef")
  (data (i32.const 64) "quiet")
  (data (i32.const 80) "t")
  (func (export "_initialize")
    (local $i i32)
    (loop $each
      (drop (call $listen (i32.add (i32.const 48) (local.get $i)) (i32.const 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $each (i32.lt_u (local.get $i) (i32.const 6)))))
  (func (export "wasm_bus_malloc") (param i32) (result i32) (i32.const 4096))
  (func $now (param $parent i32) (param $format i32) (param $len i32) (result i32)
    (call $call_now (local.get $parent) (i32.const 0) (i32.const 0) (local.get $format)
      (i32.const 16) (i32.const 2) (i32.const 32) (i32.const 9)
      (i32.const 1024) (local.get $len) (i32.const 2048) (i32.const 256) (i32.const 512)))
  ;; a v1 call to another module: its instance takes it once this entry has returned, so it is in flight meanwhile
  (func $inflight
    (drop (call $call (i32.const 0) (call $handle) (i32.const 0) (i32.const 0)
      (i32.const 64) (i32.const 5) (i32.const 80) (i32.const 1) (i32.const 1024) (i32.const 1))))
  (func $answer (param $h i32) (param $status i32)
    (i32.store (i32.const 3000) (local.get $status))
    (drop (call $reply (local.get $h) (i32.const 0) (i32.const 3000) (i32.const 4))))
  (func (export "wasm_bus_start") (param $parent i32) (param $h i32) (param $format i32)
        (param $topic i32) (param $topicLen i32) (param $req i32) (param $reqLen i32)
    (local $t i32)
    (local.set $t (i32.sub (i32.load8_u (local.get $topic)) (i32.const 97)))
    (if (i32.eq (local.get $t) (i32.const 0))
      (then (call $answer (local.get $h) (call $now (i32.const 99) (i32.const 9) (i32.const 1))) (return)))
    (if (i32.eq (local.get $t) (i32.const 1))
      (then (call $inflight) (call $answer (local.get $h) (call $now (i32.const 0) (i32.const 9) (i32.const 1))) (return)))
    (if (i32.eq (local.get $t) (i32.const 2))
      (then (call $inflight) (call $answer (local.get $h) (call $now (i32.const 0) (i32.const 0) (i32.const 1))) (return)))
    (if (i32.eq (local.get $t) (i32.const 3))
      (then (call $answer (local.get $h) (call $now (i32.const 0) (i32.const 0) (i32.const 65))) (return)))
    (if (i32.eq (local.get $t) (i32.const 4))
      (then (call $answer (local.get $h) (call $reply (local.get $h) (i32.const 9) (i32.const 1024) (i32.const 65))) (return)))
    (call $answer (local.get $h) (call $reply (local.get $h) (i32.const 0) (i32.const 1024) (i32.const 65)))))`;

/** A server whose wasm_bus_malloc answers `ptr` for any length. */
const mallocAnswering = (ptr: number) => `(module
  (import "wasm-bus" "listen" (func $listen (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "t")
  (func (export "_initialize") (drop (call $listen (i32.const 16) (i32.const 1))))
  (func (export "wasm_bus_malloc") (param i32) (result i32) (i32.const ${ptr}))
  (func (export "wasm_bus_start") (param i32 i32 i32 i32 i32 i32 i32)))`;

/**
 * A v1 caller with no room for a large result: on "t" it calls os echo.echo with 2,000 bytes, and
 * its wasm_bus_malloc answers 0 from 1,000 bytes up. It replies with the code its call failed
 * with (wasm_bus_error), or 0 where the result came.
 */
const ROOMLESS = `(module
  (import "wasm-bus" "listen" (func $listen (param i32 i32) (result i32)))
  (import "wasm-bus" "handle" (func $handle (result i32)))
  (import "wasm-bus" "call" (func $call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasm-bus" "reply" (func $reply (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "t")
  (data (i32.const 32) "os")
  (data (i32.const 48) "echo.echo")
  (global $in (mut i32) (i32.const 0))
  (func $answer (param $code i32)
    (i32.store (i32.const 1024) (local.get $code))
    (drop (call $reply (global.get $in) (i32.const 0) (i32.const 1024) (i32.const 4))))
  (func (export "_initialize") (drop (call $listen (i32.const 16) (i32.const 1))))
  (func (export "wasm_bus_malloc") (param $n i32) (result i32)
    (select (i32.const 0) (i32.const 8192) (i32.ge_u (local.get $n) (i32.const 1000))))
  (func (export "wasm_bus_start") (param i32) (param $h i32) (param i32 i32 i32 i32 i32)
    (global.set $in (local.get $h))
    (drop (call $call (i32.const 0) (call $handle) (i32.const 0) (i32.const 0) (i32.const 32) (i32.const 2) (i32.const 48) (i32.const 9) (i32.const 4096) (i32.const 2000))))
  (func (export "wasm_bus_finish") (param i32 i32 i32 i32) (call $answer (i32.const 0)))
  (func (export "wasm_bus_error") (param i32) (param $code i32) (call $answer (local.get $code))))`;

const raw = (bytes: number[] = [1]): Payload => ({ format: Format.Raw, data: new Uint8Array(bytes) });

function runtime() {
  const warnings: string[] = [];
  const errors: string[] = [];
  const topics = Object.fromEntries([..."abcdef", "t"].map((t) => [t, "raw"]));
  const rt = new Runtime(
    {
      srv: { manifest: { topics: { ...topics, j: { format: "json" } }, limits: { maxCalls: 1, requestBytes: 64, responseBytes: 64 } }, wasm: watModule(SRV) },
      // Takes a call and never answers it: failed once its entry returns (an ephemeral instance).
      quiet: { manifest: { topics }, wasm: watModule(mallocAnswering(4096)) },
      "null-malloc": { manifest: { topics }, wasm: watModule(mallocAnswering(0)) },
      "wild-malloc": { manifest: { topics }, wasm: watModule(mallocAnswering(65534)) },
      roomless: { manifest: { topics }, wasm: watModule(ROOMLESS) },
    },
    { fuel: fuel(), maxDepth: 1, log: (line) => void (line.level === "warn" ? warnings.push(line.msg) : line.level === "error" && errors.push(line.msg)) },
  );
  return { rt, warnings, errors };
}

/** Runs a scenario of SRV: the status it got must be `code`, and its refusal the one warning logged. */
async function refused(topic: string, code: CodeName, warning: string) {
  const { rt, warnings } = runtime();
  const reply = await rt.request("srv", topic, raw());
  expect(new DataView(reply.data.buffer, reply.data.byteOffset).getUint32(0, true)).toBe(Code[code]);
  expect(warnings).toEqual([warning]);
}

const sink = (): CallSink & { failed: BusError[]; finished: Payload[] } => {
  const failed: BusError[] = [];
  const finished: Payload[] = [];
  return { failed, finished, finish: (p) => void finished.push(p), fail: (e) => void failed.push(e), callback: () => Code.MissingCallbacks };
};

describe("call and call_now refusals (checkOutbound): the parent first, then the format, then maxCalls", () => {
  it("a parent that is no live call wins over an unknown format", () => refused("a", "InvalidHandle", "call_now: parent 99 is not a live call"));

  it("an unknown format wins over maxCalls", () => refused("b", "BadRequest", "call_now: unknown format 9"));

  it("maxCalls in flight already", () => refused("c", "LimitExceeded", "call_now: limits.maxCalls (1) calls are in flight already"));
});

describe("payloads leaving a guest (read): the format first, then the size", () => {
  it("a request over requestBytes", () => refused("d", "LimitExceeded", "request of 65 bytes is over the limit of 64"));

  it("a reply in an unknown format and over responseBytes: the format wins", () => refused("e", "BadRequest", "reply: unknown format 9"));

  it("a reply over responseBytes", () => refused("f", "LimitExceeded", "reply of 65 bytes is over the limit of 64"));
});

describe("wasm_bus_malloc's answers the host refuses (give)", () => {
  it("null fails the one call, and the instance serves on (docs/abi.md: the guest has no room)", async () => {
    const { rt, errors } = runtime();
    for (let i = 0; i < 2; i++) {
      await expect(rt.request("null-malloc", "t", raw([1, 2, 3]))).rejects.toMatchObject({ codeName: "MemoryAllocationFailed", message: "wasm_bus_malloc(4) returned null" });
    }
    // not halted: a broken instance logs why (a trap), and the pool would make another
    expect(errors).toEqual([]);
  });

  it("null for a call's result fails that call (wasm_bus_error, MemoryAllocationFailed), and the guest goes on", async () => {
    const { rt, errors, warnings } = runtime();
    const reply = await rt.request("roomless", "t", raw());
    expect(new DataView(reply.data.buffer, reply.data.byteOffset).getUint32(0, true)).toBe(Code.MemoryAllocationFailed);
    expect(errors).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it("a buffer that runs past memory", async () => {
    const { rt } = runtime();
    await expect(rt.request("wild-malloc", "t", raw([1, 2, 3]))).rejects.toMatchObject({
      codeName: "MemoryAllocationFailed",
      message: "wasm_bus_malloc(4) returned 65534, outside memory",
    });
  });
});

describe("dispatch's refusals", () => {
  const call = (wapm: string, topic: string, origin?: BusCall) => new BusCall(wapm, topic, raw(), sink(), { origin, caller: origin?.wapm });

  it("a cycle that is also too deep is reported as the cycle", () => {
    const { rt } = runtime();
    const chain = call("srv", "a", call("srv", "a", call("other", "x")));
    expect(chain.depth).toBe(2); // over maxDepth 1
    expect(rt.dispatch(chain)).toMatchObject({ codeName: "CallCycle", message: "cycle of calls: other → srv → srv" });
  });

  it("a chain too deep", () => {
    const { rt } = runtime();
    expect(rt.dispatch(call("srv", "a", call("two", "x", call("one", "x"))))).toMatchObject({ codeName: "CallCycle", message: "call chain deeper than 1: one → two → srv" });
  });

  it("no such module, no such topic (a module's, the host's), and raw bytes to a topic that takes JSON", () => {
    const { rt } = runtime();
    expect(rt.dispatch(call("nobody", "a"))).toMatchObject({ codeName: "InvalidWapm", message: "no module named nobody" });
    expect(rt.dispatch(call("srv", "nope"))).toMatchObject({ codeName: "InvalidTopic", message: "module srv has no topic nope" });
    expect(rt.dispatch(call("os", "nope"))).toMatchObject({ codeName: "InvalidTopic", message: "the host has no service for topic nope" });
    // Asked again: a route that was refused is not kept, and the message is the same.
    expect(rt.dispatch(call("srv", "nope"))).toMatchObject({ codeName: "InvalidTopic", message: "module srv has no topic nope" });
    expect(rt.dispatch(call("srv", "j"))).toMatchObject({ codeName: "Unsupported", message: "topic j takes json, and raw bytes cannot be transcoded" });
  });

  it("a request as it came, over the serving module's requestBytes: refused whoever sends it (a module, a session's client)", () => {
    const { rt } = runtime();
    const sent = (n: number) => new BusCall("srv", "a", raw(new Array(n).fill(7)), sink(), { caller: "other" });
    expect(rt.dispatch(sent(65))).toMatchObject({ codeName: "LimitExceeded", message: "request of 65 bytes to topic a is over module srv's limit of 64 (limits.requestBytes)" });
    const within = sent(64);
    expect(rt.dispatch(within)).toBeUndefined();
    within.drop();
    // The host's services have no such limit of their own: their callers' limits hold.
    const echo = new BusCall("os", "echo.echo", raw(new Array(65).fill(7)), sink(), { caller: "other" });
    expect(rt.dispatch(echo)).toBeUndefined();
  });

  it("a request transcoded past the serving module's requestBytes (here, a guest's call: the same dispatch), and the reply held to its responseBytes", () => {
    const { rt } = runtime();
    // 20 bytes of msgpack bin (22 on the wire, within srv's 64) are 81 of JSON.
    const big = new BusCall("srv", "j", { format: Format.Msgpack, data: new Uint8Array([0xc4, 20, ...new Array(20).fill(255)]) }, sink(), { caller: "other" });
    expect(rt.dispatch(big)).toMatchObject({
      codeName: "LimitExceeded",
      message: "request of 22 bytes of msgpack is 81 bytes once transcoded into json for topic j, over module srv's limit of 64 (limits.requestBytes)",
    });
    expect(big.request.format).toBe(Format.Msgpack); // not served: the request is as it came
    const small = new BusCall("srv", "j", { format: Format.Msgpack, data: new Uint8Array([0xc4, 2, 1, 2]) }, sink(), { caller: "other" });
    expect(rt.dispatch(small)).toBeUndefined();
    expect(small.replyAs).toMatchObject({ format: Format.Msgpack, limit: 64 });
    small.drop();
  });
});

describe("BusCall.reply in the caller's format", () => {
  it("a reply that cannot be transcoded faults the call and answers SerializationFailed", () => {
    const out = sink();
    const call = new BusCall("srv", "a", { format: Format.Msgpack, data: new Uint8Array([0x80]) }, out);
    call.replyAs = { format: Format.Msgpack, schema: { struct: { n: "u32" } } };
    expect(call.reply({ format: Format.Json, data: new TextEncoder().encode("{") })).toBe(Code.SerializationFailed);
    expect(call.ended).toBe(true);
    expect(out.finished).toEqual([]);
    // The module's reply is bad, not the caller's request: never the decoder's DeserializationFailed (a 400).
    expect(out.failed).toEqual([
      expect.objectContaining({ codeName: "SerializationFailed", message: expect.stringMatching(/^the reply of module srv to a cannot be transcoded into msgpack for its caller: malformed json payload: /) }),
    ]);
  });

  it("a reply over the serving module's responseBytes once transcoded: LimitExceeded for the replier, SerializationFailed for the caller", () => {
    const out = sink();
    const call = new BusCall("srv", "a", { format: Format.Msgpack, data: new Uint8Array([0x80]) }, out);
    call.replyAs = { format: Format.Json, limit: 64 };
    // 20 bytes of msgpack bin (22 on the wire) are 81 of JSON: [255,255,...]
    const bin = new Uint8Array([0xc4, 20, ...new Array(20).fill(255)]);
    expect(call.reply({ format: Format.Msgpack, data: bin })).toBe(Code.LimitExceeded);
    expect(out.finished).toEqual([]);
    expect(out.failed.map((e) => [e.codeName, e.message])).toEqual([
      ["SerializationFailed", "the reply of module srv to a is 81 bytes once transcoded into json for its caller, over the limit of 64 (limits.responseBytes)"],
    ]);
  });

  it("a callback that cannot be transcoded, or grows past the limit, is refused with its reason; the call goes on", () => {
    const out = sink();
    const call = new BusCall("srv", "a", { format: Format.Msgpack, data: new Uint8Array([0x80]) }, out);
    call.replyAs = { format: Format.Json, limit: 64 };
    expect(() => call.callback("tick", { format: Format.Msgpack, data: new Uint8Array([0xc1]) })).toThrow(
      expect.objectContaining({ codeName: "SerializationFailed", message: expect.stringMatching(/^callback tick of module srv's a cannot be transcoded into json for its caller: malformed msgpack payload/) }),
    );
    expect(() => call.callback("tick", { format: Format.Msgpack, data: new Uint8Array([0xc4, 20, ...new Array(20).fill(255)]) })).toThrow(
      expect.objectContaining({ codeName: "LimitExceeded", message: "callback tick of module srv's a is 81 bytes once transcoded into json for its caller, over the limit of 64 (limits.responseBytes)" }),
    );
    expect(call.ended).toBe(false);
    expect(out.failed).toEqual([]);
  });
});

describe("GuestMemory's refusals", () => {
  it("say the guest's i32 pointer and length as the u32s they are", () => {
    const mem = new GuestMemory(new WebAssembly.Memory({ initial: 1 }));
    expect(() => mem.read(-1, 1)).toThrow("buffer: 1 bytes at 4294967295 run past guest memory (65536 bytes)");
    expect(() => mem.peek(16, -2, "topic")).toThrow("topic: 4294967294 bytes at 16 run past guest memory (65536 bytes)");
  });

  it("readName: a name read again where its bytes changed is read anew; one that is not UTF-8 is refused and not kept", () => {
    const raw = new WebAssembly.Memory({ initial: 1 });
    const bytes = new Uint8Array(raw.buffer);
    const mem = new GuestMemory(raw);
    bytes.set(new TextEncoder().encode("echo"), 100);
    expect(mem.readName(100, 4, "topic")).toBe("echo");
    bytes.set(new TextEncoder().encode("ping"), 100);
    expect(mem.readName(100, 4, "topic")).toBe("ping");
    bytes.set([0xff, 0xfe, 0x80, 0x80], 100);
    expect(() => mem.readName(100, 4, "topic")).toThrow(expect.objectContaining({ codeName: "InvalidUtf8", message: "topic is not valid UTF-8" }));
    bytes.set(new TextEncoder().encode("pong"), 100);
    expect(mem.readName(100, 4, "topic")).toBe("pong");
  });

  it("readName: a name past MAX_NAME_BYTES is refused before it is decoded (a callback's topic is kept with its handle)", () => {
    const mem = new GuestMemory(new WebAssembly.Memory({ initial: 1 }));
    expect(mem.readName(0, MAX_NAME_BYTES, "topic")).toHaveLength(MAX_NAME_BYTES);
    expect(() => mem.readName(0, MAX_NAME_BYTES + 1, "callback topic")).toThrow(
      expect.objectContaining({ codeName: "LimitExceeded", message: `callback topic of ${MAX_NAME_BYTES + 1} bytes is over the limit of ${MAX_NAME_BYTES} for a name` }),
    );
  });

  it("the callback import refuses a topic past MAX_NAME_BYTES, and keeps nothing of it", async () => {
    // On "t": two handles, a callback on the first named by the 2,000 bytes at 4096; replies the status.
    const rt = new Runtime(
      {
        namer: {
          manifest: { topics: { t: "raw" } },
          wasm: watModule(`(module
            (import "wasm-bus" "listen" (func $listen (param i32 i32) (result i32)))
            (import "wasm-bus" "handle" (func $handle (result i32)))
            (import "wasm-bus" "callback" (func $callback (param i32 i32 i32 i32) (result i32)))
            (import "wasm-bus" "reply" (func $reply (param i32 i32 i32 i32) (result i32)))
            (memory (export "memory") 1)
            (data (i32.const 16) "t")
            (func (export "_initialize") (drop (call $listen (i32.const 16) (i32.const 1))))
            (func (export "wasm_bus_malloc") (param i32) (result i32) (i32.const 8192))
            (func (export "wasm_bus_start") (param i32) (param $h i32) (param i32 i32 i32 i32 i32)
              (i32.store (i32.const 32) (call $callback (call $handle) (call $handle) (i32.const 4096) (i32.const 2000)))
              (drop (call $reply (local.get $h) (i32.const 0) (i32.const 32) (i32.const 4)))))`),
        },
      },
      { fuel: fuel(), log: () => {} },
    );
    const reply = await rt.request("namer", "t", raw());
    expect(new DataView(reply.data.buffer, reply.data.byteOffset).getUint32(0, true)).toBe(Code.LimitExceeded);
  });
});
