import { describe, expect, it } from "vitest";
import { guestApp } from "./helpers.js";

/**
 * Both SDKs take ABI v2's fast path: a call whose service answers at once (time.now, echo.echo,
 * a module that replies before it returns) has its result inside `call_now`, and one that cannot
 * (time.sleep, a module that answers later) still works through wasm_bus_finish.
 */
for (const module of ["now-as"]) {
  describe(`${module}: results at once, and later`, () => {
    const ask = async (topic: string, body: unknown = {}) => {
      const res = await guestApp().call(module, topic, body);
      expect(res.status, await res.clone().text()).toBe(200);
      return (await res.json()) as Record<string, unknown>;
    };

    it("time.now answers inside the import; onResult still runs after send returns", async () => {
      expect(await ask("now")).toEqual({ immediate: true, beforeReturn: false, ok: true });
    });

    it("a call made at start-up, outside any event, goes through wasm_bus_finish", async () => {
      expect(await ask("startup")).toEqual({ immediate: false, done: true });
    });

    it("time.sleep cannot: its result comes later, through wasm_bus_finish", async () => {
      expect(await ask("sleep")).toEqual({ immediate: false, beforeReturn: false, ok: true });
    });

    it("echo.echo answers at once, small or larger than the SDK's result buffer", async () => {
      for (const n of [0, 16, 1024, 3000]) expect(await ask("echo", { n })).toEqual({ immediate: true, same: true, len: n });
    });

    it("a chain of calls answered at once is delivered in a loop, not nested", async () => {
      expect(await ask("chain", { n: 5000 })).toEqual({ done: 5000, maxDepth: 1 });
    });

    it("a module that replies before it returns answers at once; one that replies later, through finish", async () => {
      expect(await ask("module")).toMatchObject({ immediate: true, reply: expect.stringMatching(/^[1-9]$/) });
      expect(await ask("module-later")).toMatchObject({ immediate: false, reply: expect.stringMatching(/^[1-9]$/) });
    });
  });
}

describe("now-rs (Rust SDK): results at once, and later", () => {
  const ask = async (topic: string, body: unknown = {}) => {
    const res = await guestApp().call("now-rs", topic, body);
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as Record<string, unknown>;
  };

  it("time.now answers inside the import: the Call is ready at its first poll", async () => {
    const before = Date.now();
    const seen = await ask("now");
    expect(seen.immediate).toBe(true);
    expect(seen.value).toBeGreaterThanOrEqual(before);
  });

  it("time.sleep cannot: its result comes later, through wasm_bus_finish", async () => {
    expect(await ask("sleep")).toEqual({ immediate: false });
  });

  it("echo.echo answers at once, small or larger than the SDK's result buffer", async () => {
    for (const n of [0, 16, 1024, 3000]) expect(await ask("echo", n)).toEqual({ immediate: true, same: true, len: n });
  });

  it("a loop of calls answered at once", async () => {
    expect(await ask("chain", 2000)).toEqual({ immediate: true, done: 2000 });
  });

  it("a module that replies before it returns answers at once; one that replies later, through finish", async () => {
    expect(await ask("module")).toMatchObject({ immediate: true, reply: expect.stringMatching(/^[1-9]$/) });
    expect(await ask("module-later")).toMatchObject({ immediate: false, reply: expect.stringMatching(/^[1-9]$/) });
  });
});
