import { describe, expect, it } from "vitest";
import { modules } from "../build/registry.js";
import { DEFAULT_LIMITS } from "../src/manifest.js";
import { guestApp } from "./helpers.js";
import { post } from "./worker.js";

/** test/guests/ticks counts the calls its instance served: the count tells which instance answered. */
describe("how plain calls find an instance (module.json instances)", () => {
  const count = async (call: ReturnType<typeof guestApp>["call"], module: string, topic = "count") =>
    (await (await call(module, topic, {})).json()) as number;

  it("pooled (the default): sequential calls reuse the idle instance", async () => {
    const { call } = guestApp();
    expect([await count(call, "ticks"), await count(call, "ticks"), await count(call, "ticks")]).toEqual([1, 2, 3]);
  });

  it("pooled: concurrent calls get instances of their own", async () => {
    const { call } = guestApp();
    const counts = await Promise.all([1, 2, 3].map(() => count(call, "ticks", "wait")));
    expect(counts).toEqual([1, 1, 1]);
  });

  it("fresh: every call gets a new instance", async () => {
    const { call } = guestApp();
    expect([await count(call, "ticks-fresh"), await count(call, "ticks-fresh")]).toEqual([1, 1]);
  });

  it("shared: one instance takes concurrent calls", async () => {
    const { call } = guestApp();
    const counts = await Promise.all([1, 2, 3, 4].map(() => count(call, "ticks-shared", "wait")));
    expect(counts.sort()).toEqual([1, 2, 3, 4]);
  });

  it("a trapping call does not poison the pool: its instance is dropped, the next call gets a new one", async () => {
    const { call } = guestApp();
    expect(await count(call, "ticks")).toBe(1);
    expect((await call("ticks", "trap", {})).status).toBe(500);
    expect(await count(call, "ticks")).toBe(1);
    expect(await count(call, "ticks")).toBe(2);
  });

  it("pooled, over HTTP: calls past limits.maxInstances, each awaiting RPC I/O, are each answered in their own request", async () => {
    // tally (pooled, the default) awaits its store object (kv.* over Workers RPC) in every incr. Each
    // POST is a request of its own: a call that waits for an instance is woken by another request,
    // and must go on in its own (its kv calls, its reply), or its response never comes.
    expect((modules.tally!.manifest as { instances?: string }).instances ?? "pooled").toBe("pooled");
    const calls = DEFAULT_LIMITS.maxInstances * 3;
    const incr = async () => {
      const res = await post("/call/tally/incr", { by: 1 });
      return res.status === 200 ? ((await res.json()) as { count: number }).count : `${res.status} ${await res.text()}`;
    };
    let timer!: ReturnType<typeof setTimeout>;
    const late = new Promise<"no answer">((resolve) => (timer = setTimeout(() => resolve("no answer"), 10_000)));
    const counts = await Promise.all(Array.from({ length: calls }, () => Promise.race([incr(), late])));
    clearTimeout(timer);
    expect(counts.filter((c) => typeof c !== "number")).toEqual([]);
    // Each incr wrote a count of its own.
    expect(new Set(counts).size).toBe(calls);
  });

  it("pooled: calls refused before the guest runs (a declared topic it never listens on), past limits.maxInstances of them, give their instance back: the next call is served at once", async () => {
    // test/guests/limits-unheard: 2 instances at most, each refuses unheard (InvalidTopic, as a
    // plain call to echo-daemon's echo is); a call left waiting times out after 1 s.
    const { call, logs } = guestApp();
    const maxInstances = 2;
    const refused = async () => {
      const res = await call("limits-unheard", "unheard", {});
      return `${res.status} ${((await res.json()) as { codeName: string }).codeName}`;
    };
    const bad = maxInstances * 4;
    const sequential: string[] = [];
    for (let i = 0; i < bad; i++) sequential.push(await refused());
    const concurrent = await Promise.all(Array.from({ length: bad }, refused));
    expect([...sequential, ...concurrent]).toEqual(new Array(bad * 2).fill("404 InvalidTopic"));
    const started = Date.now();
    const good = await call("limits-unheard", "slow", {});
    expect(`${good.status} ${await good.text()}`).toBe("200 {}");
    expect(Date.now() - started).toBeLessThan(500);
    // One instance took every call: none was kept out of the pool by a refusal.
    expect(logs.filter((l) => l.module === "limits-unheard" && l.msg === "started").length).toBe(1);
  });

  it("pooled, over HTTP: echo-daemon's echo, which a plain call's instance never listens on, is refused past limits.maxInstances calls", async () => {
    // The fuzz's finding: each refusal kept its instance, and from call maxInstances + 1 on every call waited for one until its 10 s timeout.
    for (let i = 0; i <= DEFAULT_LIMITS.maxInstances; i++) {
      const res = await post("/call/echo-daemon/echo", { i });
      expect(`${res.status} ${((await res.json()) as { codeName: string }).codeName}`).toBe("404 InvalidTopic");
    }
  });

  it("pooled: a waiting call whose caller goes away does not hold up the calls behind it", async () => {
    // test/guests/limits: 4 instances; slow sleeps 50 ms. Four calls take them all, two more wait.
    const { call } = guestApp();
    const busy = Array.from({ length: 4 }, () => call("limits", "slow", {}));
    const gone = new AbortController();
    const first = call("limits", "slow", {}, { signal: gone.signal });
    const second = call("limits", "slow", {});
    await new Promise((r) => setTimeout(r, 10));
    gone.abort(); // the first waiting call leaves the queue before an instance comes free
    expect((await Promise.all(busy)).map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect((await second).status).toBe(200);
    expect(await (await first).json()).toMatchObject({ codeName: "Aborted" });
  });
});
