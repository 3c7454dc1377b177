import { describe, expect, it } from "vitest";
import { Code } from "../src/abi.js";
import { MAX_QUEUED_BYTES } from "../src/call.js";
import { guestApp } from "./helpers.js";

describe("calls between modules", () => {
  it("a module calls another by name and answers with its reply", async () => {
    const { call } = guestApp();
    const res = await call("loopy", "greet", { name: "Ada" });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toEqual({ message: "Hello, Ada!" });
  });

  it("refuses a cycle of calls with CallCycle (508) instead of hanging", async () => {
    const { call } = guestApp();
    const res = await call("loopy", "self", {});
    expect(res.status).toBe(508);
    const body = (await res.json()) as { code: number; error: string };
    expect(body.code).toBe(Code.CallCycle);
    expect(body.error).toContain("loopy → loopy");
  });

  it("refuses callbacks past a guest's queue limit instead of growing it without bound", async () => {
    const { call, logs } = guestApp();
    const res = await call("flood-client", "watch", {});
    expect(res.status, await res.clone().text()).toBe(200);
    // 20,000 ticks in one entry of the server: 4,096 queued for the client, the rest refused
    expect(await res.json()).toBe(20_000 - 4096);
    // with the reason, which the server's reply_callback keeps (for a fault that passes it on)
    expect(logs).toContainEqual(
      expect.objectContaining({ module: "flood", level: "warn", msg: expect.stringMatching(/^callback tick: module flood-client's queue is full \(4096 deliveries, \d+ bytes waiting; its bounds are 4096 and 16777216\)$/) }),
    );
    // and the client still serves
    expect((await call("flood-client", "watch", {})).status).toBe(200);
  });

  it("a Rust server hears of the callbacks the host refused, and logs the refusal once per call, not once per tick", async () => {
    const { call, logs } = guestApp();
    // flood-rs's generated `tick` (an `impl Fn(u32)`, which returns nothing) 6,000 times in one
    // entry: 4,096 queued for flood-rs-watch, the rest refused; wasm_bus::last_callback_error() says which.
    const res = await call("flood-rs-watch", "watch", { n: 6000 });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toEqual({ delivered: 4096, refused: 6000 - 4096, last_error: "LimitExceeded" });
    const sdkLines = logs.filter((l) => l.module === "flood-rs" && l.msg.startsWith("wasm-bus: callback tick"));
    expect(sdkLines).toEqual([expect.objectContaining({ level: "warn", msg: expect.stringMatching(/^wasm-bus: callback tick of call \d+ refused \(LimitExceeded\); it is lost\./) })]);
  });

  it("passes a failure's reason on only to the call it is certainly of: with two served at once, b never gets a's", async () => {
    const { call } = guestApp();
    // a calls divider-rs with its own request (a string where a number goes) from the delivery
    // of its sleep's reply, when the last call started is b; divide fails, and mixup faults both.
    const a = call("mixup", "a", { a: "alice-secret", b: 1 });
    await new Promise((r) => setTimeout(r, 10));
    const b = call("mixup", "b", {});
    const [ra, rb] = await Promise.all([a, b]);
    for (const res of [ra, rb]) expect(res.status).toBe(400);
    const [ea, eb] = [((await ra.json()) as { error: string }).error, ((await rb.json()) as { error: string }).error];
    expect(eb).toBe("module mixup faulted the call with BadRequest (12)");
    expect(ea).not.toContain("alice-secret"); // uncertain whose: neither gets it
  });

  it("puts a call made in a delivery on the chain of the call it goes on with, not of the last one started", async () => {
    const { call, logs } = guestApp();
    // a sleeps; meanwhile interleave-relay go calls b (its chain: interleave-relay → interleave),
    // the last call the instance starts. a goes on in its sleep's delivery and calls
    // interleave-relay ping: on b's chain that reads as a cycle (508), on a's it is none.
    let settled = false;
    const a = Promise.resolve(call("interleave", "a", {})).finally(() => (settled = true));
    // b starts after a has (a says so as it sleeps) and before a goes on: else there is nothing to tell apart.
    for (const deadline = Date.now() + 2000; !logs.some((l) => l.msg === "a sleeps") && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 5));
    expect(logs).toContainEqual(expect.objectContaining({ module: "interleave", msg: "a sleeps" }));
    const go = await call("interleave-relay", "go", {});
    expect(go.status, await go.clone().text()).toBe(200);
    expect(settled).toBe(false);
    const res = await a;
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toBe("pong");
  });

  it("holds a guest's queue to MAX_QUEUED_BYTES as well: callbacks of 1 MiB are refused past 16 MiB waiting", async () => {
    const { call, logs } = guestApp();
    // flood.big sends 1 MiB ticks until one is refused and faults with its code; the client fails
    // its own call with the code it heard of (wasm_bus_error), and so passes the reason on: a
    // module's failure (502) that says why, not a bare 413.
    const res = await call("flood-client", "watchbig", {});
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({
      codeName: "LimitExceeded",
      error: expect.stringMatching(/^module flood-client faulted the call with LimitExceeded \(\d+\): module flood faulted the call with LimitExceeded \(\d+\): callback tick: module flood-client's queue is full/),
    });
    expect(logs).toContainEqual(
      expect.objectContaining({ module: "flood", level: "warn", msg: `callback tick: module flood-client's queue is full (16 deliveries, ${MAX_QUEUED_BYTES} bytes waiting; its bounds are 4096 and ${MAX_QUEUED_BYTES})` }),
    );
    expect((await call("flood-client", "watch", {})).status).toBe(200);
  });

  it("refuses a chain deeper than the limit as a cycle (CallCycle, 508)", async () => {
    const { call } = guestApp({ maxDepth: 0 });
    const res = await call("loopy", "greet", { name: "Ada" });
    expect(res.status).toBe(508);
    expect(await res.json()).toMatchObject({ code: Code.CallCycle });
  });
});
