import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { Code } from "../src/abi.js";
import { callAddress } from "../src/http/call-route.js";
import { guestApp } from "./helpers.js";
import { worker } from "./worker.js";

/**
 * POST /call/:module/:topic is answered before hono's router (src/http/call-route.ts), except
 * for paths with percent-escapes, which the router decodes. Both ways must answer alike.
 */
type ErrorBody = { error: string; code: number; codeName: string; module?: string; topic?: string };

const call = (path: string, body: BodyInit | null, type = "application/json", headers: Record<string, string> = {}) =>
  worker(path, { method: "POST", headers: { "content-type": type, ...headers }, body });

/** Status, content type and body text: what a client sees of an answer. */
async function seen(res: Response) {
  return { status: res.status, type: res.headers.get("content-type"), body: await res.text() };
}

describe("callAddress reads the URL as the router would", () => {
  it.each([
    ["http://bus.test/call/hello/greet", ["hello", "greet"]],
    ["http://bus.test/call/hello/greet?x=1&y=/a/b", ["hello", "greet"]],
    ["http://bus.test/call/chat@room-a/say", ["chat@room-a", "say"]],
    ["https://bus.test:8443/call/a/b", ["a", "b"]],
  ])("%s", (url, address) => expect(callAddress(url)).toEqual(address));

  it.each([
    "http://bus.test/call/hello",
    "http://bus.test/call/hello/",
    "http://bus.test/call//greet",
    "http://bus.test/call/hello/greet/",
    "http://bus.test/call/hello/greet/more",
    "http://bus.test/call/hell%6F/greet",
    "http://bus.test/calls/hello/greet",
    "http://bus.test/x/call/hello/greet",
    "http://bus.test/?/call/hello/greet",
  ])("leaves %s to the router", (url) => expect(callAddress(url)).toBeUndefined());
});

describe("the call route and the router answer alike", () => {
  // hell%6F is "hello" once decoded: the router serves it.
  const both = ["/call/hello/greet", "/call/hell%6F/greet"];

  it("a call: the same status, content type and bytes", async () => {
    const [fast, routed] = await Promise.all(both.map(async (path) => seen(await call(path, '{"name":"Ada"}'))));
    expect(fast).toEqual({ status: 200, type: "application/json", body: '{"message":"Hello, Ada!"}' });
    expect(routed).toEqual(fast);
  });

  it("a reply's headers are its own (the headers they start from are made once)", async () => {
    const { call } = guestApp();
    const first = await call("hello", "greet", { name: "Ada" });
    first.headers.set("content-type", "text/plain");
    first.headers.set("x-mine", "1");
    const second = await call("hello", "greet", { name: "Bob" });
    expect(second.headers.get("content-type")).toBe("application/json");
    expect(second.headers.get("x-mine")).toBeNull();
    expect(await second.text()).toBe('{"message":"Hello, Bob!"}');
  });

  it.each([
    ["malformed JSON", "{", "application/json", 400, "DeserializationFailed"],
    ["an empty body", "", "application/json", 400, "DeserializationFailed"],
    ["a field of the wrong type", '{"name":5}', "application/json", 400, "BadRequest"],
    ["a content type that is no bus format", "hi", "text/plain", 415, "Unsupported"],
    ["raw bytes to a json topic", "hi", "application/octet-stream", 415, "Unsupported"],
  ])("%s: the same JSON error with module and topic", async (_, body, type, status, codeName) => {
    const [fast, routed] = (await Promise.all(both.map(async (path) => call(path, body, type)))) as [Response, Response];
    expect(fast.status).toBe(status);
    const json = (await fast.json()) as ErrorBody;
    expect(json).toMatchObject({ codeName, code: Code[codeName as keyof typeof Code], module: "hello", topic: "greet" });
    expect(routed.status).toBe(status);
    expect(await routed.json()).toEqual(json);
  });

  it("a body over the module's limit is 413, declared or streamed", async () => {
    const big = JSON.stringify({ name: "x".repeat(1 << 20) });
    for (const path of both) {
      const res = await call(path, big);
      expect(res.status).toBe(413);
      expect(await res.json()).toMatchObject({ codeName: "LimitExceeded", module: "hello", topic: "greet" });
    }
    // No Content-Length: the body is read as a stream and cut at the limit.
    const bytes = new TextEncoder().encode(big);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 64 << 10) controller.enqueue(bytes.subarray(i, i + (64 << 10)));
        controller.close();
      },
    });
    const { app } = guestApp();
    const res = await app.request("/call/hello/greet", { method: "POST", headers: { "content-type": "application/json" }, body: stream, duplex: "half" } as RequestInit);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ codeName: "LimitExceeded", module: "hello", topic: "greet" });
  });

  it("a body past the limit under a Content-Length within it is 413, and never reaches the guest", async () => {
    // A Request made by another Worker (a service binding, as here) keeps the header it was given
    // whatever its body: workerd does not hold such a body to it, as its HTTP server does.
    const big = JSON.stringify({ name: "x".repeat(2 << 20) });
    for (const path of both) {
      const res = await worker(path, { method: "POST", headers: { "content-type": "application/json", "content-length": "16" }, body: big });
      expect(res.status, path).toBe(413);
      const json = (await res.json()) as ErrorBody;
      expect(json).toMatchObject({ codeName: "LimitExceeded", module: "hello", topic: "greet" });
      expect(json.error).toBe(`request body of ${big.length} bytes (declared 16) is over the limit of 1048576`);
    }
    expect((await call("/call/hello/greet", '{"name":"Ada"}')).status).toBe(200);
  });

  it("an unknown module or topic is 404 with the call's scope", async () => {
    for (const [path, codeName] of [["/call/nobody/greet", "InvalidWapm"], ["/call/hello/nothing", "InvalidTopic"]] as const) {
      const res = await call(path, "{}");
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ codeName });
    }
  });

  it("what is not a call address is the router's: 404 or 405 as before", async () => {
    for (const path of ["/call/hello/greet/", "/call/hello/greet/more", "/call//greet"]) {
      const res = await call(path, "{}");
      expect(res.status, path).toBe(404);
      expect(await res.json()).toMatchObject({ codeName: "NotFound" });
    }
    const get = await worker("/call/hello/greet");
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
  });
});

describe("a body that breaks off as it is read is the caller's 400, not a 500", () => {
  /** Some bytes, then the client's upload fails. */
  const breaking = (declared?: number) => {
    let sent = false;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent) return controller.error(new Error("the upload broke off"));
        sent = true;
        controller.enqueue(new TextEncoder().encode('{"name":'));
      },
    });
    const headers: Record<string, string> = { "content-type": "application/json", ...(declared === undefined ? {} : { "content-length": String(declared) }) };
    return { method: "POST", headers, body, duplex: "half" } as RequestInit;
  };

  it.each([
    ["/call/hello/greet", undefined, "request body"],
    ["/call/hello/greet", 14, "request body"],
    ["/call/hell%6F/greet", undefined, "request body"],
    ["/processes", undefined, "a POST /processes body"],
    ["/processes", 14, "a POST /processes body"],
  ])("%s, Content-Length %s", async (path, declared, what) => {
    const { app, logs } = guestApp();
    const res = await app.request(path, breaking(declared), env);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ codeName: "BadRequest", code: Code.BadRequest, error: `${what} could not be read: the upload broke off` });
    expect(logs.filter((l) => l.module === "hello")).toEqual([]);
    expect((await app.request("/call/hello/greet", { method: "POST", headers: { "content-type": "application/json" }, body: '{"name":"Ada"}' })).status).toBe(200);
  });
});

describe("the call route reads the caller's signal only for a call that is still running", () => {
  /** A call's request whose `signal` counts its reads (making one is a native object a request). */
  const counted = (path: string, body: string) => {
    const request = new Request(`http://bus.test${path}`, { method: "POST", headers: { "content-type": "application/json" }, body });
    const signal = request.signal;
    let reads = 0;
    Object.defineProperty(request, "signal", { get: () => (reads++, signal) });
    return { request, reads: () => reads };
  };

  it("not for one answered at once; once for one that waits (instances.test.ts: such a call is dropped when its caller goes away)", async () => {
    const { app } = guestApp();
    const greet = counted("/call/hello/greet", '{"name":"Ada"}');
    const res = await app.fetch(greet.request, env);
    expect(await res.json()).toEqual({ message: "Hello, Ada!" });
    expect(greet.reads()).toBe(0);

    // test/guests/limits: slow sleeps 50 ms, so its call is still running when the route asks for the signal.
    const slow = counted("/call/limits/slow", "{}");
    expect((await app.fetch(slow.request, env)).status).toBe(200);
    expect(slow.reads()).toBe(1);
  });
});

describe("the call route keeps the bearer token", () => {
  const env = { BUS_TOKEN: "s3cret" };
  const init = (headers: Record<string, string> = {}) => ({
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: '{"name":"Ada"}',
  });

  it("401 without it or with a wrong one, on both ways, with no call scope (nothing was called)", async () => {
    const { app } = guestApp();
    for (const path of ["/call/hello/greet", "/call/hell%6F/greet"]) {
      for (const headers of [{}, { authorization: "Bearer nope" }, { upgrade: "websocket" }] as Record<string, string>[]) {
        const res = await app.request(path, init(headers), env);
        expect(res.status, `${path} ${JSON.stringify(headers)}`).toBe(401);
        expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
        const json = (await res.json()) as ErrorBody;
        expect(json).toMatchObject({ codeName: "Unauthorized", code: Code.Unauthorized });
        expect(json.module).toBeUndefined();
      }
      expect((await app.request(path, init({ authorization: "Bearer s3cret" }), env)).status).toBe(200);
    }
    // A wrong method is still refused by the token before the router says 405.
    expect((await app.request("/call/hello/greet", {}, env)).status).toBe(401);
  });

  it("takes ?access_token= only from a WebSocket upgrade, as the router's guard does", async () => {
    const { app } = guestApp();
    expect((await app.request("/call/hello/greet?access_token=s3cret", init(), env)).status).toBe(401);
    const upgrade = await app.request("/call/hello/greet?access_token=s3cret", init({ upgrade: "websocket" }), env);
    expect(upgrade.status).toBe(200);
  });
});
