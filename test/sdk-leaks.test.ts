import { describe, expect, it } from "vitest";
import { open } from "./bus-socket.js";
import { guestApp } from "./helpers.js";

/**
 * A long-running server must hold nothing per call: leak-rs (one shared instance) takes each path
 * of the Rust SDK thousands of times (replies, faults, serde errors, calls answered at once or
 * later, relative objects served and used, detached calls), and its `stats` topic says what the
 * SDK holds afterwards (wasm_bus::rt::stats) and how many pages its memory has.
 */
describe("leak-rs: the Rust SDK holds nothing per call", () => {
  const { call } = guestApp();
  const ok = async (topic: string, body: unknown = {}) => {
    const res = await call("leak-rs", topic, body);
    expect(res.status, `${topic}: ${await res.clone().text()}`).toBe(200);
    return res.json();
  };
  const failing = async (topic: string, body: unknown, codeName: string) => {
    const res = await call("leak-rs", topic, body);
    expect(((await res.json()) as { codeName: string }).codeName, topic).toBe(codeName);
  };
  const round = async (i: number) => {
    await ok("echo", { i });
    expect(await ok("relay", i % 2 ? 16 : 3000)).toBe(i % 2 ? 16 : 3000);
    await ok("nap");
    await failing("strict", { b: i }, "BadRequest");
    await failing("strict", "{not json", "DeserializationFailed");
    await failing("fail", {}, "BadRequest");
    await ok("detach");
    expect(await ok("use", 2)).toBe(2);
    await ok("counter.open", { start: i });
  };
  const stats = () => ok("stats") as Promise<Record<string, number>>;

  it("5,000 calls later: no task, call, callback, handler or explanation left, and no page more", async () => {
    for (let i = 0; i < 20; i++) await round(i);
    await new Promise((r) => setTimeout(r, 20)); // the detached sleeps end
    const before = await stats();
    for (let i = 0; i < 560; i++) await round(i); // 9 calls a round
    await new Promise((r) => setTimeout(r, 20));
    const after = await stats();
    expect(after).toEqual({ ...before, tasks: 1 }); // the stats call's own task
    expect(before).toMatchObject({ calls: 0, callbacks: 0, handlers: 0, inbound: 1, explanations: 0 });
  }, 300_000);
});

/**
 * No wasm_bus_drop comes for a call its own reply ended, so a server that keeps a request for a
 * sub-API must learn at once whether its caller kept the call alive (the `kept` import): else
 * every join of a caller that did not would stay a member of the room forever.
 */
describe("chat (AssemblyScript SDK): a join not kept alive holds nothing after its reply", () => {
  it("200 joins without keepalive, then one with: the room has one member", async () => {
    const c = await open(`/bus/chat/not-kept-${Date.now()}`);
    for (let id = 1; id <= 200; id++) {
      c.call(id, "join", { name: `n${id}` });
      expect(c.json(await c.next((f) => f.id === id && f.type === "reply"))).toEqual({ joined: `n${id}`, members: 1 });
    }
    c.call(201, "join", { name: "kept" }, { keepalive: true });
    expect(c.json(await c.next((f) => f.id === 201 && f.type === "reply"))).toEqual({ joined: "kept", members: 1 });
    c.call(202, "post", { text: "hi" }, { parent: 201 });
    expect(c.json(await c.next((f) => f.id === 202 && f.type === "reply"))).toEqual({ delivered: 1 });
    c.ws.close(1000, "done");
  });
});

/**
 * A Step's calls go with its request: when the caller drops the request, the SDK drops them.
 * keeper-as opens a tally at leak-rs (a kept-alive call that leak-rs answers at once, inside
 * call_now) for a request it never answers; the request times out, and leak-rs must hear the
 * drop of its counter.open and let the tally (its handlers) go.
 */
describe("keeper-as (AssemblyScript SDK): a kept-alive call answered at once goes with its Step's request", () => {
  it("the request times out; leak-rs holds no tally after", async () => {
    const { call } = guestApp();
    for (let i = 0; i < 3; i++) {
      const res = await call("keeper-as", "hold");
      expect(((await res.json()) as { codeName: string }).codeName).toBe("Timeout");
    }
    await new Promise((r) => setTimeout(r, 20));
    const stats = (await (await call("leak-rs", "stats")).json()) as Record<string, number>;
    expect(stats).toMatchObject({ handlers: 0, callbacks: 0, calls: 0 });
  });
});

/** leak-as, as leak-rs above: every path of the AssemblyScript SDK, thousands of times, on one instance. */
describe("leak-as: the AssemblyScript SDK holds nothing per call", () => {
  const { call } = guestApp();
  const ok = async (topic: string, body: unknown = {}) => {
    const res = await call("leak-as", topic, body);
    expect(res.status, `${topic}: ${await res.clone().text()}`).toBe(200);
    return res.json();
  };
  const round = async (i: number) => {
    await ok("echo", { i });
    await ok("now");
    await ok("nap");
    expect(await ok("big")).toBe(3000);
    expect(((await (await call("leak-as", "strict", [i])).json()) as { codeName: string }).codeName).toBe("BadRequest");
    expect(await ok("keep")).toEqual({ kept: false });
    await ok("use");
  };
  const stats = () => ok("stats") as Promise<{ handles: number; pages: number }>;

  it("5,000 calls later: no handle left, and no page more", async () => {
    for (let i = 0; i < 20; i++) await round(i);
    const before = await stats();
    for (let i = 0; i < 720; i++) await round(i); // 7 calls a round
    const after = await stats();
    expect(after).toEqual(before);
    expect(before.handles).toBe(1); // the stats call's own request
  }, 300_000);
});

/**
 * A call the host fails because its module returned without answering and with nothing in
 * flight (BusInvocationFailed, in a pooled instance) is over for the guest too: it hears
 * wasm_bus_drop, so what it held for the call goes, and the pooled instance serves on clean.
 */
describe("keeper-as: a request failed with BusInvocationFailed is dropped in the guest too", () => {
  it("20 waits fail, and the instance holds none of them", async () => {
    const { call } = guestApp();
    for (let i = 0; i < 20; i++) {
      const res = await call("keeper-as", "wait");
      expect(((await res.json()) as { codeName: string }).codeName).toBe("BusInvocationFailed");
    }
    expect(await (await call("keeper-as", "waiting")).json()).toEqual({ waiting: 0, handles: 1 });
  });
});
