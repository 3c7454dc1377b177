import { pack, unpack } from "msgpackr";
import { describe, expect, inject, it } from "vitest";
import { Code } from "../../src/abi.js";
import { post } from "../worker.js";

/**
 * Scenarios every implementation of the example modules must pass, whatever
 * language it is written in. Each language's test file runs them on its modules.
 */
export function helloCases(module: string) {
  describe(`${module}: greet`, () => {
    it("greets in json", async () => {
      const res = await post(`/call/${module}/greet`, { name: "Ada" });
      expect(res.status, await res.clone().text()).toBe(200);
      expect(res.headers.get("content-type")).toBe("application/json");
      expect(await res.json()).toEqual({ message: "Hello, Ada!" });
    });

    it("greets in msgpack, transcoded both ways", async () => {
      const res = await post(`/call/${module}/greet`, pack({ name: "Grace" }), "application/msgpack");
      expect(res.status, await res.clone().text()).toBe(200);
      expect(res.headers.get("content-type")).toBe("application/msgpack");
      expect(unpack(new Uint8Array(await res.arrayBuffer()))).toEqual({ message: "Hello, Grace!" });
    });

    it("keeps non-ASCII names intact", async () => {
      const res = await post(`/call/${module}/greet`, { name: "Łukasz 🌍 \"q\"" });
      expect(await res.json()).toEqual({ message: "Hello, Łukasz 🌍 \"q\"!" });
    });

    it("faults a missing or non-string name with BadRequest (400), then serves the next call", async () => {
      for (const body of [{}, { name: 42 }, [1]]) {
        const res = await post(`/call/${module}/greet`, body);
        expect(res.status).toBe(400);
        expect(await res.json()).toMatchObject({ code: Code.BadRequest, module, topic: "greet" });
      }
      expect((await post(`/call/${module}/greet`, { name: "again" })).status).toBe(200);
    });

    it("answers a malformed body with 400 and an unknown topic with 404", async () => {
      expect((await post(`/call/${module}/greet`, "{nope")).status).toBe(400);
      expect((await post(`/call/${module}/nope`, {})).status).toBe(404);
    });
  });
}

export function fetcherCases(module: string) {
  describe(`${module}: fetch against a real server on 127.0.0.1`, () => {
    const origin = inject("httpOrigin");

    it("sleeps through the bus, then fetches through the bus", async () => {
      const res = await post(`/call/${module}/fetch`, { url: `${origin}/bytes?n=4321`, delayMs: 120 });
      expect(res.status, await res.clone().text()).toBe(200);
      const body = (await res.json()) as { status: number; bytes: number; sleptMs: number };
      expect(body.status).toBe(200);
      expect(body.bytes).toBe(4321);
      expect(body.sleptMs).toBeGreaterThanOrEqual(110);
    });

    it("answers in msgpack too", async () => {
      const res = await post(`/call/${module}/fetch`, pack({ url: `${origin}/bytes?n=7`, delayMs: 0 }), "application/msgpack");
      expect(res.status).toBe(200);
      expect(unpack(new Uint8Array(await res.arrayBuffer()))).toMatchObject({ status: 200, bytes: 7 });
    });

    it("passes the server's status through", async () => {
      const res = await post(`/call/${module}/fetch`, { url: `${origin}/status?code=404`, delayMs: 0 });
      expect(await res.json()).toMatchObject({ status: 404, bytes: 0 });
    });

    it("turns an unreachable host into FetchFailed (502)", async () => {
      const res = await post(`/call/${module}/fetch`, { url: "http://127.0.0.1:1/", delayMs: 0 });
      expect(res.status).toBe(502);
      expect(await res.json()).toMatchObject({ code: Code.FetchFailed, module });
    });

    it("rejects a URL that is not http(s) with BadRequest", async () => {
      const res = await post(`/call/${module}/fetch`, { url: "ftp://example.com/", delayMs: 0 });
      expect(res.status).toBe(400);
    });
  });
}
