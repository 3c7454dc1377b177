import { describe, expect, inject, it } from "vitest";
import { Code } from "../src/abi.js";
import { fetcherCases, helloCases } from "./conformance/cases.js";
import { guestApp, withoutJspi } from "./helpers.js";
import { post, worker } from "./worker.js";

/**
 * The Rust example modules (modules/*-rs, built with the SDK in sdk/rust):
 * the language-neutral conformance cases, relative objects with callbacks,
 * calls between modules of both languages, and a command that blocks in poll.
 */
helloCases("hello-rs");
fetcherCases("fetcher-rs");

describe("greeter-rs: Rust calling other modules by name", () => {
  it("relays to the AssemblyScript hello by default", async () => {
    const res = await post("/call/greeter-rs/relay", { name: "Ada" });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toEqual({ message: "Hello, Ada!", relayed: true, from: "hello" });
  });

  it("relays to hello-rs", async () => {
    const res = await post("/call/greeter-rs/relay", { name: "Grace", to: "hello-rs" });
    expect(await res.json()).toEqual({ message: "Hello, Grace!", relayed: true, from: "hello-rs" });
  });

  it("passes the callee's error code on (a refusal of its own call is a 502 for its caller)", async () => {
    const res = await post("/call/greeter-rs/relay", { name: "x", to: "no-such-module" });
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ code: Code.InvalidWapm, module: "greeter-rs" });
  });

  it("faults its own bad request with BadRequest", async () => {
    const res = await post("/call/greeter-rs/relay", { to: "hello" });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: Code.BadRequest });
  });
});

describe("types-rs: the serde types JSON has no word for, over bincode", () => {
  it("echoes a bool, an optional one, an enum, maps, bytes and 64-bit integers as serde read them", async () => {
    // A string body: JSON.stringify would round the 64-bit integers.
    const request = '{"yes":true,"shape":{"Rect":{"w":1,"h":2}},"tags":{"":0,"a":1},"seen":{"18446744073709551615":true},"data":[0,255],"big":18446744073709551615,"signed":-9223372036854775808}';
    const res = await post("/call/types-rs/echo", request);
    expect(res.status, await res.clone().text()).toBe(200);
    const { kinds, rust } = JSON.parse(await res.text(), (_k, v, context?: { source?: string }) => (typeof v === "number" && !Number.isSafeInteger(v) ? BigInt(context!.source!) : v));
    expect(kinds).toEqual({ yes: true, maybe: null, shape: { Rect: { w: 1, h: 2 } }, tags: { "": 0, a: 1 }, seen: { "18446744073709551615": true }, data: [0, 255], big: 18446744073709551615n, signed: -9223372036854775808n });
    expect(rust).toBe('Kinds { yes: true, maybe: None, shape: Rect { w: 1, h: 2 }, tags: {"": 0, "a": 1}, seen: {18446744073709551615: true}, data: [0, 255], big: 18446744073709551615, signed: -9223372036854775808 }');
  });

  it("refuses a u64 past its range at the edge, naming the field: bincode has no room for it", async () => {
    const res = await post("/call/types-rs/echo", '{"yes":false,"shape":"Dot","tags":{},"seen":{},"data":[],"big":18446744073709551616,"signed":0}');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: Code.BadRequest, error: "request.big: 18446744073709551616 is out of range for u64" });
  });
});

describe("counter-rs: a relative object with a callback", () => {
  it("a Rust client opens a tally, adds through it and hears on_change", async () => {
    const res = await post("/call/greeter-rs/count", { start: 10, add: [1, 2, 3] });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toEqual({ totals: [11, 13, 16], changes: [11, 13, 16], total: 16 });
  });

  it("each open call is its own tally", async () => {
    const [a, b] = await Promise.all([
      post("/call/greeter-rs/count", { start: 0, add: [5] }),
      post("/call/greeter-rs/count", { start: 100, add: [1, 1] }),
    ]);
    expect(await a.json()).toEqual({ totals: [5], changes: [5], total: 5 });
    expect(await b.json()).toEqual({ totals: [101, 102], changes: [101, 102], total: 102 });
  });

  it("answers counter.open with unit at the HTTP edge, and tally.add only under an open call", async () => {
    const open = await post("/call/counter-rs/counter.open", { start: 1 });
    expect(open.status, await open.clone().text()).toBe(200);
    expect(await open.json()).toBeNull();
    // The SDK faults a sub-API's topic called without its parent (tally.add under no tally) with
    // BadRequest: the caller's mistake (400), not the module's InvalidTopic (502) nor the host's
    // "no such topic" (404).
    const stray = await post("/call/counter-rs/tally.add", { n: 1 });
    expect(stray.status).toBe(400);
    // Why, in the module's words: a caller's mistake is the caller's to read, not the module's log.
    expect(await stray.json()).toMatchObject({ code: Code.BadRequest, detail: "no handler for topic tally.add (a sub-API's topic needs its parent call)" });
  });

  it("an overflowing add is BadRequest, from inside the object", async () => {
    // u64::MAX survives JSON both ways (the host keeps big integers' digits)
    const res = await post("/call/greeter-rs/count", '{"start":18446744073709551615,"add":[1]}');
    // A failure greeter-rs heard of and passed on: its status stays the caller's 400, and its reason comes along.
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string };
    expect(body).toMatchObject({ code: Code.BadRequest, module: "greeter-rs" });
    expect(body.error).toMatch(/^module greeter-rs faulted the call with BadRequest \(\d+\): module counter-rs faulted the call with BadRequest/);
  });
});

describe("sleeper-rs: a command in block_on", () => {
  it("prints, sleeps 50 ms through the bus in poll, prints, exits 0", async () => {
    const { runtime, logs } = guestApp();
    const started = Date.now();
    expect(await runtime.spawn("sleeper-rs").run()).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    const out = logs.filter((l) => l.module === "sleeper-rs" && l.stream === "stdout").map((l) => l.msg);
    expect(out).toEqual(["sleeping 50 ms through the bus", "awake"]);
  });

  it("runs the same with JSPI hidden: the build asyncified it, so it waits with its stack in its own memory", async () => {
    const { runtime, logs } = guestApp();
    expect(runtime.modules.get("sleeper-rs")).toMatchObject({ blocking: true, asyncify: true });
    const started = Date.now();
    expect(await withoutJspi(() => runtime.spawn("sleeper-rs").run())).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    const out = logs.filter((l) => l.module === "sleeper-rs").map((l) => [l.stream, l.msg]);
    expect(out).toEqual([
      ["stdout", "sleeping 50 ms through the bus"],
      ["stdout", "awake"],
    ]);
  });
});

describe("bridge-rs: Rust clients of the host's ws and process services", () => {
  const ws = inject("wsOrigin");

  it("opens a WebSocket, sends under the connect call, hears the echo through the receive callback", async () => {
    const res = await post("/call/bridge-rs/ws_echo", { url: `${ws}/echo`, text: "hi from rust" });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toEqual({ states: ["Opening", "Opened"], sent: "Success", echoed: "hi from rust" });
  });

  it("turns an unreachable socket into FetchFailed", async () => {
    const res = await post("/call/bridge-rs/ws_echo", { url: "ws://127.0.0.1:1/", text: "x" });
    expect(await res.json()).toMatchObject({ code: Code.FetchFailed, module: "bridge-rs" });
  });

  it("runs sleeper-rs as a sub-process and collects its output and exit code", async () => {
    const res = await post("/call/bridge-rs/run", { module: "sleeper-rs", args: [] });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toEqual({ code: 0, stdout: "sleeping 50 ms through the bus\nawake\n", stderr: "" });
  });

  it("feeds stdin and hears a failing exit code", async () => {
    const up = await post("/call/bridge-rs/run", { module: "upcase", args: [], stdin: "shout\n" });
    expect(await up.json()).toMatchObject({ code: 0, stdout: "SHOUT\n" });
    const bad = await post("/call/bridge-rs/run", { module: "countdown", args: ["nope"] });
    expect(await bad.json()).toMatchObject({ code: 2, stderr: expect.stringMatching(/^usage: countdown N/) });
  });

  it("refuses an unknown module with InvalidWapm", async () => {
    const res = await post("/call/bridge-rs/run", { module: "nope", args: [] });
    expect(await res.json()).toMatchObject({ code: Code.InvalidWapm });
  });

  it("fails a sub-process of a module that is not a command with IncorrectAbi, not exit -1", async () => {
    const res = await post("/call/bridge-rs/run", { module: "hello", args: [] });
    expect(await res.json()).toMatchObject({ code: Code.IncorrectAbi, codeName: "IncorrectAbi", module: "bridge-rs" });
  });
});

describe("sleeper-rs as a process (Durable Object)", () => {
  it("runs to exit 0 with its two lines in the process log", async () => {
    const res = await post("/processes", { module: "sleeper-rs", args: [] });
    expect(res.status, await res.clone().text()).toBe(201);
    const { id } = (await res.json()) as { id: string };
    let info: { status: string; code?: number } = { status: "running" };
    for (let i = 0; i < 200 && info.status === "running"; i++) {
      await new Promise((r) => setTimeout(r, 20));
      info = (await (await worker(`/processes/${id}`)).json()) as typeof info;
    }
    expect(info).toMatchObject({ status: "exited", code: 0 });
    const { lines } = (await (await worker(`/processes/${id}/logs`)).json()) as { lines: { stream?: string; msg: string }[] };
    expect(lines.filter((l) => l.stream === "stdout").map((l) => l.msg)).toEqual(["sleeping 50 ms through the bus", "awake"]);
  });
});
