import { describe, expect, it } from "vitest";
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

