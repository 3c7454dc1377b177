import { describe, expect, it } from "vitest";
import { guestApp } from "./helpers.js";

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
});
