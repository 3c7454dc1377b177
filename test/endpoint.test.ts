import { pack, unpack } from "msgpackr";
import { describe, expect, it } from "vitest";
import { Code } from "../src/abi.js";
import { guestApp } from "./helpers.js";

describe("HTTP edge over a test guest", () => {
  it("answers msgpack with msgpack, transcoding for a json topic", async () => {
    const { app } = guestApp();
    const res = await app.request("/call/abi/ok", {
      method: "POST",
      headers: { "content-type": "application/msgpack" },
      body: pack({ n: 1, s: "two", list: [true, null] }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/msgpack");
    expect(unpack(new Uint8Array(await res.arrayBuffer()))).toEqual({ n: 1, s: "two", list: [true, null] });
  });

  it("answers 415 for a content type that is no bus format, and for raw bytes to a json topic", async () => {
    const { app } = guestApp();
    const text = await app.request("/call/abi/ok", { method: "POST", headers: { "content-type": "text/plain" }, body: "hi" });
    expect(text.status).toBe(415);
    // it names every type a body may have, bincode's too
    expect(((await text.json()) as { error: string }).error).toBe(
      "Content-Type text/plain is not a bus format (application/json, application/msgpack, application/x-msgpack, application/vnd.msgpack, application/octet-stream, application/x-bincode)",
    );
    const raw = await app.request("/call/abi/ok", { method: "POST", headers: { "content-type": "application/octet-stream" }, body: "hi" });
    expect(raw.status).toBe(415);
    expect(await raw.json()).toMatchObject({ code: Code.Unsupported, module: "abi", topic: "ok" });
  });

  it("rejects a malformed msgpack body with 400 before the guest runs", async () => {
    const { app } = guestApp();
    const res = await app.request("/call/abi/ok", { method: "POST", headers: { "content-type": "application/msgpack" }, body: new Uint8Array([0x92, 0x01]) });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: Code.DeserializationFailed });
  });

  it("lists modules with their topics, formats and limits", async () => {
    const { app } = guestApp();
    const res = await app.request("/modules");
    const { modules } = (await res.json()) as { modules: { name: string; topics: Record<string, { format: string }>; limits: { fuel: number }; command: boolean }[] };
    const abi = modules.find((m) => m.name === "abi");
    expect(abi?.topics.ok).toEqual({ format: "json" });
    expect(abi?.limits.fuel).toBe(1_000_000);
    // Whether it runs as a process: it exports _start.
    expect(abi?.command).toBe(false);
    expect(modules.find((m) => m.name === "cmd")?.command).toBe(true);
  });

  it("guards the endpoints with a bearer token when BUS_TOKEN is set", async () => {
    const { app } = guestApp();
    const env = { BUS_TOKEN: "s3cret" };
    const body = JSON.stringify({ a: 1 });
    const init = { method: "POST", headers: { "content-type": "application/json" }, body };
    expect((await app.request("/call/abi/ok", init, env)).status).toBe(401);
    expect((await app.request("/modules", {}, env)).status).toBe(401);
    const wrong = await app.request("/call/abi/ok", { ...init, headers: { ...init.headers, authorization: "Bearer nope" } }, env);
    expect(wrong.status).toBe(401);
    const ok = await app.request("/call/abi/ok", { ...init, headers: { ...init.headers, authorization: "Bearer s3cret" } }, env);
    expect(ok.status).toBe(200);
    // and without the secret the endpoints are open
    expect((await app.request("/call/abi/ok", init, {})).status).toBe(200);
  });

  it("keeps calls apart: a trapping call next to healthy ones in flight", async () => {
    const { call } = guestApp();
    const results = await Promise.all([call("abi", "sleep", { i: 1 }), call("abi", "trap"), call("abi", "loop"), call("abi", "sleep", { i: 2 })]);
    expect(results.map((r) => r.status)).toEqual([200, 500, 504, 200]);
    expect(await results[0]!.json()).toEqual({ i: 1 });
    expect(await results[3]!.json()).toEqual({ i: 2 });
  });

  it("times a call out with 504 and tells the guest, which drops what it was waiting on", async () => {
    const { call, logs } = guestApp();
    const started = Date.now();
    const res = await call("slow", "nap", {});
    expect(res.status, await res.clone().text()).toBe(504);
    expect(await res.json()).toMatchObject({ code: Code.Timeout, module: "slow", topic: "nap" });
    expect(Date.now() - started).toBeLessThan(5000);
    await new Promise((r) => setTimeout(r, 10));
    expect(logs.map((l) => l.msg)).toContain("inbound call dropped");
  });
});
