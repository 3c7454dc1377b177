import { describe, expect, it } from "vitest";
import { Code } from "../src/abi.js";
import { guestApp } from "./helpers.js";

/**
 * ABI conformance: a WAT guest uses each import correctly and incorrectly.
 * Every misuse gets its code (the guest faults with the status it received)
 * or an HTTP error, and the next call to the same module still works.
 */
describe("ABI conformance (test/guests/abi/module.wat)", () => {
  const { call, logs } = guestApp();

  async function expectError(topic: string, status: number, code: number, body: unknown = {}) {
    const res = await call("abi", topic, body);
    const json = (await res.json()) as { code: number; codeName: string; error: string; module: string; topic: string };
    expect({ status: res.status, code: json.code }, json.error).toEqual({ status, code });
    expect(json).toMatchObject({ module: "abi", topic });
    // and the module still serves the next call
    const ok = await call("abi", "ok", { after: topic });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ after: topic });
    return json;
  }

  it("echoes a request in the ok topic", async () => {
    const res = await call("abi", "ok", { hello: [1, 2, 3] });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await res.json()).toEqual({ hello: [1, 2, 3] });
  });

  it("a wild pointer gets InvalidPointer", () => expectError("wild-pointer", 500, Code.InvalidPointer));
  it("a length past memory gets InvalidPointer", () => expectError("past-memory", 500, Code.InvalidPointer));
  it("an unknown handle gets InvalidHandle", () => expectError("unknown-handle", 500, Code.InvalidHandle));
  it("a double drop gets InvalidHandle", () => expectError("double-drop", 500, Code.InvalidHandle));
  it("a reply to a call never made gets InvalidHandle", () => expectError("reply-never-made", 500, Code.InvalidHandle));
  // The guest passes on the code its own import got: not the HTTP caller's fault, so 502.
  it("a topic name that is not UTF-8 gets InvalidUtf8", () => expectError("bad-utf8", 502, Code.InvalidUtf8));
  it("a call to an unknown module gets InvalidWapm", () => expectError("call-unknown", 502, Code.InvalidWapm));

  it("a trap inside wasm_bus_start is a 500 for that call alone", async () => {
    const json = await expectError("trap", 500, Code.GuestTrapped);
    expect(json.error).toMatch(/unreachable/);
  });

  it("a thread spawn fails: Workers have no threads (Unsupported)", async () => {
    logs.length = 0;
    await expectError("thread", 501, Code.Unsupported);
    expect(logs.map((l) => l.msg)).toContainEqual(expect.stringMatching(/Workers have no threads/));
  });

  it("an endless loop runs out of fuel and times out", () => expectError("loop", 504, Code.Timeout));
  it("growing memory past the limit fails in the guest: memory.grow answers -1 and nothing grew", async () => {
    const json = await expectError("grow", 500, Code.MemoryAllocationFailed);
    // the guest's own fault, not the host noticing a grown memory after the fact
    expect(json.error).toBe("module abi faulted the call with MemoryAllocationFailed (16)");
  });
  it("returning without a reply fails instead of hanging", () => expectError("no-reply", 500, Code.BusInvocationFailed));
  it("a declared topic the guest never listened on is InvalidTopic", () => expectError("not-listened", 404, Code.InvalidTopic));

  it("a huge allocation request fails with MemoryAllocationFailed", async () => {
    const big = JSON.stringify({ pad: "x".repeat(5 << 20) });
    await expectError("ok", 500, Code.MemoryAllocationFailed, big);
  });

  it("a body over the module's limit is 413", async () => {
    const res = await call("abi", "ok", JSON.stringify({ pad: "x".repeat(9 << 20) }));
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ code: Code.LimitExceeded });
  });

  it("delivers a result through wasm_bus_finish after a real sleep", async () => {
    const started = Date.now();
    const res = await call("abi", "sleep", { slept: true });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ slept: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
  });

  it("caps a log flood and tags every line with module and call", async () => {
    logs.length = 0;
    const res = await call("abi", "log-flood", {});
    expect(res.status).toBe(200);
    const lines = logs.filter((l) => l.module === "abi");
    expect(lines.length).toBeLessThan(200);
    expect(lines.at(-1)?.msg).toMatch(/log limit/);
    expect(lines[0]).toMatchObject({ module: "abi", level: "info", msg: "a line of log text that repeats" });
    expect(typeof lines[0]?.call).toBe("number");
  });

  it("answers unknown modules and topics with 404 and a malformed body with 400", async () => {
    expect((await call("nope", "ok")).status).toBe(404);
    const topic = await call("abi", "nope");
    expect(topic.status).toBe(404);
    expect(await topic.json()).toMatchObject({ code: Code.InvalidTopic, module: "abi", topic: "nope" });
    const bad = await call("abi", "ok", "{not json");
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: Code.DeserializationFailed });
  });
});
