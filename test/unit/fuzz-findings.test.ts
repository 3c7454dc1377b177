/// <reference types="node" />
import { resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Code, Format } from "../../src/abi.js";
import type { CallSink } from "../../src/call.js";
import type { BusError } from "../../src/errors.js";
import { type Scripted, type ScriptedModule, scriptedRuntime } from "../fuzz/scripted.js";

/**
 * What the ABI fuzzer found (KNOWN_FINDINGS in test/fuzz/abi-fuzzer.ts, fixed since), each replayed
 * step by step with scripted guests (test/fuzz/scripted.ts) on the real runtime, so a regression
 * fails here with a name rather than as a seed.
 */
const root = resolve(__dirname, "../..");
const enc = new TextEncoder();
const raw = (text: string) => ({ format: Format.Raw, data: enc.encode(text) });

let open: Scripted | undefined;
afterEach(() => {
  open?.close();
  open = undefined;
});
async function setup(modules: Record<string, ScriptedModule>): Promise<Scripted> {
  open = await scriptedRuntime(root, modules);
  return open;
}

/** A sink that keeps what reached it. */
function recorder() {
  const got: { replies: number; errors: BusError[] } = { replies: 0, errors: [] };
  const sink: CallSink = { finish: () => void got.replies++, fail: (err) => void got.errors.push(err), callback: () => Code.Success };
  return { got, sink };
}

describe("delivery-after-drop: nothing reaches a handle the guest dropped while the delivery waited in its queue", () => {
  it("a kept-alive call's result (os echo.echo answers inside the import) is not delivered once the guest drops the call", async () => {
    const seen: { call?: number; drop?: number; handle?: number } = {};
    const { runtime, events, settle } = await setup({
      caller: {
        manifest: { topics: { go: "raw" } },
        script: {
          start(g, c) {
            const made = g.call("os", "echo.echo", "ping", { keepalive: true });
            seen.call = made.status;
            seen.handle = made.handle;
            seen.drop = g.drop(made.handle);
            g.reply(c.handle, "done");
          },
        },
      },
    });
    await runtime.request("caller", "go", raw("x"));
    await settle();
    expect(seen).toMatchObject({ call: Code.Success, drop: Code.Success });
    expect(events).toEqual(["caller#1 start(0, 1) go"]);
  });

  it("a result is not delivered when the guest drops the call inside the wasm_bus_malloc for it", async () => {
    let call = 0;
    const { runtime, events, settle } = await setup({
      caller: {
        manifest: { topics: { go: "raw" } },
        script: {
          start(g, c) {
            call = g.call("os", "echo.echo", "ping", { keepalive: true }).handle;
            g.reply(c.handle, "done");
          },
          // Its allocator is guest code: it may do anything, dropping the call included.
          malloc: (g) => void (call && g.drop(call)),
        },
      },
    });
    await runtime.request("caller", "go", raw("x"));
    await settle();
    expect(events).toEqual(["caller#1 start(0, 1) go"]);
  });

  it.each(["the call", "its callback"])("a callback queued during call_now is not delivered once the guest drops %s", async (what) => {
    const seen: { now?: number; ready?: number; drop?: number; pushed?: number; call?: number } = {};
    const { runtime, events, settle } = await setup({
      // Pushes a callback at once, then answers and keeps the call open (kept alive).
      pusher: {
        manifest: { topics: { sub: "raw" } },
        script: {
          start(g, c) {
            seen.pushed = g.replyCallback(c.handle, "message", "tick");
            g.reply(c.handle, "subscribed");
          },
        },
      },
      caller: {
        manifest: { topics: { go: "raw" } },
        script: {
          start(g, c) {
            const h = g.handle();
            const cb = g.callback(h, "message");
            const made = g.callNow("pusher", "sub", "x", { handle: h, keepalive: true });
            Object.assign(seen, { now: made.status, ready: made.ready, call: h });
            seen.drop = g.drop(what === "the call" ? h : cb);
            g.reply(c.handle, "done");
          },
        },
      },
    });
    await runtime.request("caller", "go", raw("x"));
    await settle();
    // The pusher took the call inside call_now; its callback, and so the reply after it, went to the caller's queue.
    expect(seen).toMatchObject({ pushed: Code.Success, now: Code.Success, ready: 0, drop: Code.Success });
    const delivered = events.filter((e) => e.startsWith("caller#1") && !e.includes("start"));
    expect(delivered).toEqual(what === "the call" ? [] : [`caller#1 finish(${seen.call})`]);
  });
});

describe("delivery-after-drop, the other side: what the guest did not drop still arrives", () => {
  it("callbacks queued before a call's result reach the guest, though the result ends them with the call", async () => {
    const seen: { call?: number; cb?: number; dropAfter?: number } = {};
    const { runtime, events, settle } = await setup({
      // Two callbacks, then the answer, all inside the caller's call_now.
      pusher: {
        manifest: { topics: { sub: "raw" } },
        script: {
          start(g, c) {
            g.replyCallback(c.handle, "message", "one");
            g.replyCallback(c.handle, "message", "two");
            g.reply(c.handle, "over");
          },
        },
      },
      caller: {
        manifest: { topics: { go: "raw" } },
        script: {
          start(g, c) {
            seen.call = g.handle();
            seen.cb = g.callback(seen.call, "message");
            g.callNow("pusher", "sub", "x", { handle: seen.call });
            g.reply(c.handle, "done");
          },
          // The result ended the call and its callback: the callback's handle is gone with it.
          finish: (g, h) => void (h === seen.call && (seen.dropAfter = g.drop(seen.cb!))),
        },
      },
    });
    await runtime.request("caller", "go", raw("x"));
    await settle();
    const delivered = events.filter((e) => e.startsWith("caller#1") && !e.includes("start"));
    expect(delivered).toEqual([`caller#1 finish(${seen.cb})`, `caller#1 finish(${seen.cb})`, `caller#1 finish(${seen.call})`]);
    expect(seen.dropAfter).toBe(Code.InvalidHandle);
  });
});

describe("fuel-reset-by-nested-entry: guest code of another instance running inside an import leaves the caller's fuel as it was", () => {
  const ways = [
    { how: "a module's pool grows (a new hello instance starts up)", make: "call", wapm: "hello", topic: "greet", body: '{"name":"fuel"}', keepalive: false },
    { how: "a sub-process starts (os process.spawn runs countdown's _start)", make: "call", wapm: "os", topic: "process.spawn", body: '{"module":"countdown","args":["1","1"],"env":{},"stdin":null}', keepalive: true },
    { how: "an idle instance takes a call_now at once", make: "callNow", wapm: "hello", topic: "greet", body: '{"name":"fuel"}', keepalive: false },
  ] as const;

  it.each(ways)("$how", async ({ make, wapm, topic, body, keepalive }) => {
    const fuel: { before?: bigint; after?: bigint; status?: number } = {};
    const { runtime, settle } = await setup({
      caller: {
        manifest: { topics: { go: "raw" }, limits: { fuel: 2000 } },
        script: {
          start(g, c) {
            for (let i = 0; i < 10; i++) g.tick();
            fuel.before = runtime.meter.fuel.value as bigint;
            fuel.status = g[make](wapm, topic, body, { format: Format.Json, keepalive }).status;
            fuel.after = runtime.meter.fuel.value as bigint;
            g.reply(c.handle, "done");
          },
        },
      },
    });
    await runtime.request("caller", "go", raw("x"));
    await settle();
    expect(fuel.status).toBe(Code.Success);
    expect(fuel.before).toBe(1990n);
    expect(fuel.after).toBe(fuel.before);
  });
});

describe("start-names-ended-parent: a call that ends while its wasm_bus_start waits in the queue is never started", () => {
  const server: ScriptedModule = {
    manifest: { topics: { work: "raw", "sub.op": "raw" } },
    // Answers work at once (keeping a kept-alive one open); sub.op it only takes.
    script: { start: (g, c) => void (c.topic === "work" && g.reply(c.handle, "ok")) },
  };

  it("a call made under a parent whose reply ends it before the child's start is delivered: no start, no drop, its handle released", async () => {
    const seen: { parent?: number; child?: number } = {};
    const { runtime, events, settle } = await setup({
      server,
      caller: {
        manifest: { topics: { go: "raw" } },
        script: {
          start(g, c) {
            // Both starts wait in the server's queue; the parent's reply ends the child with it.
            const parent = g.call("server", "work", "a");
            seen.parent = parent.status;
            seen.child = g.call("server", "sub.op", "b", { parent: parent.handle }).status;
            g.reply(c.handle, "done");
          },
        },
      },
    });
    await runtime.request("caller", "go", raw("x"));
    await settle();
    expect(seen).toEqual({ parent: Code.Success, child: Code.Success });
    expect(events.filter((e) => e.startsWith("server"))).toEqual(["server#1 start(0, 1) work"]);
    // The server holds no handle for it: it went back to the pool idle, and takes the next call.
    await runtime.request("server", "work", raw("again"));
    expect(events.at(-1)).toMatch(/^server#1 start\(0, \d+\) work$/);
  });

  it("a call that ends inside the wasm_bus_malloc for its start (the guest faults its parent there) is not started", async () => {
    let serving = 0;
    const { runtime, events, settle } = await setup({
      server: {
        manifest: server.manifest,
        script: {
          start(g, c) {
            if (c.topic !== "work") return;
            g.reply(c.handle, "ok"); // kept alive: the parent of what follows
            serving = c.handle;
          },
          malloc: (g) => void (serving && g.bus.fault(serving, Code.Aborted)),
        },
      },
    });
    const parent = runtime.start("server", "work", raw("a"), recorder().sink, { keepalive: true });
    await settle();
    const child = recorder();
    runtime.start("server", "sub.op", raw("b"), child.sink, { parent });
    await settle();
    expect(parent.ended).toBe(true);
    expect(child.got.errors.map((e) => e.code)).toEqual([Code.Aborted]);
    expect(events).toEqual([`server#1 start(0, ${serving}) work`]);
  });

  it("a call made under a parent that has ended already is refused, not started as a call of its own", async () => {
    const { runtime, events, settle } = await setup({ server });
    const parent = recorder();
    const call = runtime.start("server", "work", raw("a"), parent.sink, { keepalive: true });
    await settle();
    call.drop("the client went away");
    const child = recorder();
    runtime.start("server", "sub.op", raw("b"), child.sink, { parent: call });
    await settle();
    expect(parent.got.replies).toBe(1);
    expect(child.got.errors.map((e) => e.code)).toEqual([Code.InvalidHandle]);
    expect(events.filter((e) => e.includes("sub.op"))).toEqual([]);
  });
});
