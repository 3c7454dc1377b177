import { describe, expect, it } from "vitest";
import { Code, Format } from "../src/abi.js";
import { guestApp, withoutJspi } from "./helpers.js";

describe("waiting in poll() (test/guests/poller)", () => {
  it("suspends until the sleep's result is delivered (the build asyncified it)", async () => {
    const { call, runtime } = guestApp();
    expect(runtime.modules.get("poller")).toMatchObject({ blocking: true, asyncify: true });
    const started = Date.now();
    const res = await call("poller", "wait", { waited: 1 });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toEqual({ waited: 1 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
    // a second call gets a fresh instance and waits again
    expect((await call("poller", "wait", { waited: 2 })).status).toBe(200);
  });

  it("the same with JSPI hidden: nothing of it is JSPI's", async () => {
    const { call } = guestApp();
    const res = await withoutJspi(() => call("poller", "wait", { waited: 3 }));
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toEqual({ waited: 3 });
  });

  it("a poll from a call delivered while the instance waits in poll answers Unsupported (one stack is suspended at a time)", async () => {
    const { runtime } = guestApp();
    // One instance for both calls: the second is delivered from inside the first one's poll.
    const guest = runtime.instances.create(runtime.modules.get("poller")!, { ephemeral: false });
    const unpin = runtime.instances.pin(guest);
    try {
      const first = runtime.request("poller", "wait", { format: Format.Json, data: new TextEncoder().encode("{}") });
      await new Promise((r) => setTimeout(r, 5));
      expect(guest.asyncify?.suspended()).toMatchObject({ export: "wasm_bus_start" });
      await expect(runtime.request("poller", "wait", { format: Format.Json, data: new TextEncoder().encode("{}") })).rejects.toMatchObject({ code: Code.Unsupported });
      expect((await first).format).toBe(Format.Json);
    } finally {
      unpin();
    }
  });
});
