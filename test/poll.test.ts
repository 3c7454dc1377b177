import { describe, expect, it } from "vitest";
import { Code } from "../src/abi.js";
import { guestApp } from "./helpers.js";

describe("waiting in poll() (test/guests/poller)", () => {
  it("suspends with JSPI until the sleep's result is delivered", async () => {
    const { call, runtime } = guestApp();
    expect(runtime.jspi, "this workerd has JSPI").toBeDefined();
    const started = Date.now();
    const res = await call("poller", "wait", { waited: 1 });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toEqual({ waited: 1 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
    // a second call gets a fresh instance and waits again
    expect((await call("poller", "wait", { waited: 2 })).status).toBe(200);
  });

  it("answers Unsupported, not a hang, where the runtime lacks JSPI", async () => {
    const { call } = guestApp({ jspi: false });
    const res = await call("poller", "wait", {});
    expect(res.status).toBe(501);
    expect(await res.json()).toMatchObject({ code: Code.Unsupported });
  });
});
