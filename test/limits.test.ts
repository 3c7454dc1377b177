import { pack, unpack } from "msgpackr";
import { describe, expect, it } from "vitest";
import { Code } from "../src/abi.js";
import { guestApp } from "./helpers.js";
import { worker } from "./worker.js";

type ErrorBody = { error: string; code: number; codeName: string };
const started = (logs: { module: string; msg: string }[], module: string) => logs.filter((l) => l.module === module && l.msg === "started").length;

describe("limits hold where the growth happens (test/guests/limits)", () => {
  it("handle() answers 0 past limits.maxHandles instead of growing the table", async () => {
    const { call } = guestApp();
    // asks for 40,000 handles: 4,096 given, the rest refused (each refusal takes fuel: below)
    const res = await call("limits", "hoard", 4);
    expect(res.status).toBe(200);
    const got = (await res.json()) as number;
    expect(got).toBeLessThanOrEqual(4096);
    expect(got).toBeGreaterThan(4000);
  });

  it("ends a guest looping on refused imports as Timeout, on its fuel, instead of holding the isolate", async () => {
    const { call, logs } = guestApp();
    // ' ' - '0' asks for a negative count: the loop never ends, and past maxHandles every handle()
    // is refused (an error and a log line each). Each call takes IMPORT_FUEL and each refusal
    // more, so 50,000,000 units end it after some 45,000 turns, not 50,000,000.
    const res = await call("limits", "hoard", " 1");
    expect(res.status).toBe(504);
    expect(await res.json()).toMatchObject({ codeName: "Timeout" });
    expect(logs.filter((l) => l.module === "limits" && l.msg.startsWith("handle: ")).length).toBeGreaterThan(100);
    // the next call finds the module as before
    expect((await call("limits", "refuse", {})).status).toBe(200);
  });

  it("a module whose start-up calls itself starts once, not without end", async () => {
    const { call, logs } = guestApp();
    const res = await call("selfstart", "ping", {});
    expect(res.status).toBe(200);
    // its own call from _initialize failed with CallCycle (wasm_bus_error) instead of starting another
    expect(started(logs, "selfstart")).toBe(1);
  });

  it("keeps a refusal's reason to its own call: a later call on the same pooled instance does not carry it", async () => {
    const { call } = guestApp();
    expect((await call("limits", "refuse", {})).status).toBe(200);
    const res = await call("limits", "fail", {});
    const body = (await res.json()) as ErrorBody;
    expect(body.code).toBe(Code.InvalidWapm);
    expect(body.error).not.toContain("secret-module-xyz");
  });

  it.each(["constructor", "__proto__", "toString", "hasOwnProperty"])("answers the topic %s 404 InvalidTopic, and a guest cannot listen on it", async (topic) => {
    const { call, logs } = guestApp();
    expect((await call("limits", "refuse", {})).status).toBe(200); // an instance, started
    const res = await call("limits", topic, {});
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ codeName: "InvalidTopic" });
    if (topic === "constructor") expect(logs.map((l) => l.msg)).toContainEqual("listen: topic constructor is not declared in module.json");
  });

  it("serves a burst with at most limits.maxInstances instances, reused, and every call answered", async () => {
    const { call, logs } = guestApp();
    const results = await Promise.all(Array.from({ length: 20 }, () => call("limits", "slow", {})));
    expect(results.map((r) => r.status)).toEqual(new Array(20).fill(200));
    expect(started(logs, "limits")).toBe(4);
  });

  it("answers Busy (503) past limits.maxWaiting calls waiting for an instance", async () => {
    const { call } = guestApp();
    const results = await Promise.all([1, 2, 3].map(() => call("limits-busy", "slow", {})));
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 503]);
    const busy = results.find((r) => r.status === 503)!;
    expect(await busy.json()).toMatchObject({ codeName: "Busy", code: Code.Busy });
  });
});

async function socket(path: string) {
  const res = await worker(path, { headers: { upgrade: "websocket" } });
  const ws = res.webSocket!;
  ws.accept();
  const frames: Record<string, unknown>[] = [];
  let closed: { code: number; reason: string } | undefined;
  let order = Promise.resolve();
  ws.addEventListener("message", (e) => {
    const data = e.data as Blob | ArrayBuffer;
    order = order.then(async () => {
      frames.push(unpack(new Uint8Array(data instanceof ArrayBuffer ? data : await data.arrayBuffer())) as Record<string, unknown>);
    });
  });
  ws.addEventListener("close", (e) => {
    closed = { code: e.code, reason: e.reason };
  });
  const until = async <T>(get: () => T | undefined, ms = 5000): Promise<T> => {
    const end = Date.now() + ms;
    for (;;) {
      const v = get();
      if (v !== undefined) return v;
      if (Date.now() > end) throw new Error(`timed out; frames: ${JSON.stringify(frames).slice(0, 300)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const send = (frame: object) => ws.send(pack(frame));
  return { ws, frames, send, until, closed: () => closed };
}

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

describe("a shared session instance holds against one member's oversized frames", () => {
  it("faults a call over requestBytes for its sender alone; the room goes on", async () => {
    const room = `limits-${crypto.randomUUID().slice(0, 8)}`;
    const [ada, bob] = await Promise.all([socket(`/bus/chat/${room}`), socket(`/bus/chat/${room}`)]);
    ada.send({ type: "call", id: 1, topic: "join", format: "json", payload: json({ name: "ada" }), keepalive: true });
    await ada.until(() => ada.frames.find((f) => f.id === 1));
    // 2 MiB of name: over chat's requestBytes (1 MiB by default)
    bob.send({ type: "call", id: 1, topic: "join", format: "json", payload: json({ name: "x".repeat(2 << 20) }), keepalive: true });
    expect(await bob.until(() => bob.frames.find((f) => f.id === 1))).toMatchObject({ type: "fault", codeName: "LimitExceeded" });
    bob.send({ type: "call", id: 2, topic: "join", format: "json", payload: json({ name: "bob" }), keepalive: true });
    expect(await bob.until(() => bob.frames.find((f) => f.id === 2))).toMatchObject({ type: "reply" });
    ada.ws.close(1000, "done");
    bob.ws.close(1000, "done");
  });

  it("closes the socket of a frame far past the limit at once, with the reason", async () => {
    const c = await socket("/bus/chat");
    const started = Date.now();
    c.ws.send(new Uint8Array(5 << 20));
    const closed = await c.until(() => c.closed());
    expect(closed.code).toBe(1009);
    expect(closed.reason).toMatch(/over the limit/);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
