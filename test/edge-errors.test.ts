import { pack, unpack } from "msgpackr";
import { describe, expect, it } from "vitest";
import { Code } from "../src/abi.js";
import { guestApp } from "./helpers.js";
import { post, worker } from "./worker.js";

type ErrorBody = { error: string; code: number; codeName: string; module?: string; topic?: string; detail?: string };

const msgpack = (body: Uint8Array) => post("/call/hello/greet", body, "application/msgpack");
/** `depth` arrays, each holding the next, nil (null) at the bottom. */
const nestedMsgpack = (depth: number) => new Uint8Array(depth + 1).fill(0x91).fill(0xc0, depth);
const nestedJson = (depth: number) => `${"[".repeat(depth - 1)}[null]${"]".repeat(depth - 1)}`;

describe("a body that is not valid in its format is 400", () => {
  it("refuses the msgpack byte 0xc1, which msgpack never uses", async () => {
    const res = await msgpack(new Uint8Array([0xc1]));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ codeName: "DeserializationFailed", module: "hello", topic: "greet" });
    // nested inside a map as well
    const nested = pack({ name: "Ada" });
    const withC1 = new Uint8Array([0x81, 0xa4, ...new TextEncoder().encode("name"), 0xc1]);
    expect((await msgpack(nested)).status).toBe(200);
    expect((await msgpack(withC1)).status).toBe(400);
  });

  it("refuses trailing bytes after one value, in msgpack and json", async () => {
    const one = pack({ name: "Ada" });
    const res = await msgpack(new Uint8Array([...one, 0x01]));
    expect(res.status).toBe(400);
    expect((await res.json()) as ErrorBody).toMatchObject({ codeName: "DeserializationFailed" });
    const json = await post("/call/hello/greet", '{"name":"Ada"} {"name":"Bob"}');
    expect(json.status).toBe(400);
  });

  it("refuses a msgpack body of more maps and arrays than JSON at the module's limit could hold, and serves the next call", async () => {
    // 1 MiB, hello's limits.requestBytes: JSON within it holds at most 524,288 containers (`[]` is
    // two bytes, `,{}` three); these are 1,048,571 empty arrays and maps in one array32, refused as read.
    const body = new Uint8Array(1 << 20).fill(0x90);
    body.fill(0x80, 1 << 19);
    body.set([0xdd, 0x00, 0x0f, 0xff, 0xfb]);
    const res = await msgpack(body);
    expect(res.status).toBe(400);
    const json = (await res.json()) as ErrorBody;
    expect(json).toMatchObject({ codeName: "DeserializationFailed", code: Code.DeserializationFailed, module: "hello", topic: "greet" });
    expect(json.error).toMatch("container budget: its maps and bins (3 bytes each) and arrays (2) would take more than the limit of 1048576 bytes as the densest JSON");
    const next = await msgpack(pack({ name: "Ada" }));
    expect(next.status).toBe(200);
  });

  it("refuses maps and arrays nested deeper than 512 levels, in json and msgpack, with the limit in the reason", async () => {
    // msgpackr reads them recursively: 100,000 levels was "Maximum call stack size exceeded".
    for (const depth of [513, 100_000]) {
      for (const res of [await msgpack(nestedMsgpack(depth)), await post("/call/hello/greet", nestedJson(depth))]) {
        expect(res.status).toBe(400);
        expect(await res.json()).toMatchObject({ codeName: "DeserializationFailed", module: "hello", topic: "greet", error: expect.stringMatching(/^(json|msgpack) payload nested deeper than 512 levels of maps and arrays, the bus's limit$/) });
      }
    }
    // Brackets in strings are no levels.
    const text = await post("/call/hello/greet", { name: `${"[{".repeat(600)}\\"` });
    expect(text.status).toBe(200);
  });

  it("passes 512 levels to a module and back in every format, and refuses 3,000 as the caller's, however the reply is asked for", async () => {
    const spawned = await post("/processes", { module: "echo-daemon" });
    const { id } = (await spawned.json()) as { id: string };
    try {
      const echo = (body: BodyInit, type: string, accept: string) => worker(`/processes/${id}/call/echo`, { method: "POST", headers: { "content-type": type, accept }, body });
      for (const accept of ["application/json", "application/x-ndjson"]) {
        for (const [type, body] of [["application/json", nestedJson(511)], ["application/msgpack", nestedMsgpack(511)]] as const) {
          const res = await echo(body, type, accept);
          expect(res.status, `${type}, accept ${accept}`).toBe(200);
          const reply = accept === "application/json" ? (type === "application/json" ? await res.json() : unpack(new Uint8Array(await res.arrayBuffer()))) : undefined;
          if (reply !== undefined) expect(JSON.stringify((reply as { echo: unknown }).echo)).toBe(nestedJson(511));
        }
        // Read, it passed; transcoded back for an ndjson caller, its echo was a 500 blaming the module.
        const deep = await echo(nestedMsgpack(3000), "application/msgpack", accept);
        expect(deep.status, accept).toBe(400);
        expect(await deep.json()).toMatchObject({ codeName: "DeserializationFailed", module: "echo-daemon", topic: "echo" });
      }
    } finally {
      await worker(`/processes/${id}`, { method: "DELETE" });
    }
  });

  it("says an empty body is empty", async () => {
    const res = await post("/call/hello/greet", "");
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error).toMatch(/^empty body/);
    expect((await msgpack(new Uint8Array())).status).toBe(400);
  });
});

describe("a request that does not fit the topic's declared type is 400 naming the field, before any guest runs", () => {
  it.each([
    ['"Ada"', /request: expected an object, got a string/],
    ["{}", /request: missing field name/],
    ['{"name": 5}', /request\.name: expected a string, got a number/],
    ['{"name": null}', /request\.name: expected a string, got null/],
    // serde refuses a field twice ("duplicate field `name`"); JSON.parse kept the last and the guest got it
    ['{"name": "Ada", "name": "Bob"}', /^request: duplicate field name$/],
  ])("%s", async (body, message) => {
    const res = await post("/call/hello/greet", body);
    expect(res.status).toBe(400);
    const json = (await res.json()) as ErrorBody;
    expect(json).toMatchObject({ codeName: "BadRequest", code: Code.BadRequest, module: "hello", topic: "greet" });
    expect(json.error).toMatch(message);
  });

  it("checks nested and numeric types, and msgpack the same way", async () => {
    const count = (body: unknown) => post("/call/greeter-rs/count", body);
    const wrong = await count({ start: 1, add: [1, -2] });
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as ErrorBody).error).toMatch(/request\.add\[1\]: expected an integer \(u64\)|request\.add\[1\]: -2 is out of range for u64/);
    const res = await msgpack(pack({ name: 7 }));
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error).toMatch(/request\.name: expected a string/);
  });

  it("refuses a msgpack map naming a struct's field twice, as rmp-serde does", async () => {
    // {"name": "Ada", "name": "Bob"}: msgpackr kept the last
    const twice = new Uint8Array([0x82, 0xa4, ...new TextEncoder().encode("name"), 0xa3, 65, 100, 97, 0xa4, ...new TextEncoder().encode("name"), 0xa3, 66, 111, 98]);
    const res = await msgpack(twice);
    expect(res.status).toBe(400);
    expect((await res.json()) as ErrorBody).toMatchObject({ codeName: "BadRequest", error: "request: duplicate field name", module: "hello", topic: "greet" });
  });
});

describe("a module's own reason reaches its caller", () => {
  it("passes serde's words from a Rust guest in detail", async () => {
    const { call } = guestApp();
    const res = await call("divider-rs", "divide", { a: 7 });
    expect(res.status).toBe(400);
    const json = (await res.json()) as ErrorBody;
    expect(json).toMatchObject({ codeName: "BadRequest", module: "divider-rs", topic: "divide" });
    expect(json.detail).toMatch(/missing field `b`/);
    expect(json.error).toContain("missing field `b`");
    const ok = await call("divider-rs", "divide", { a: 7, b: 2 });
    expect(await ok.json()).toBe(3);
  });

  it("answers a guest's own InvalidTopic or InvalidWapm on a topic it declares 502, with its words: only the host's routing says 404", async () => {
    const { call } = guestApp();
    for (const code of [Code.InvalidTopic, Code.InvalidWapm]) {
      const res = await call("faults", "fault", code);
      expect(res.status).toBe(502);
      const json = (await res.json()) as ErrorBody;
      expect(json).toMatchObject({ code, module: "faults", topic: "fault", detail: "the guest's own reason" });
      expect(json.error).toBe(`module faults faulted the call with ${json.codeName} (${code}): the guest's own reason`);
    }
    // a topic the module does not declare is the host's refusal
    const missing = await call("faults", "nope", 0);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ codeName: "InvalidTopic", error: "module faults has no topic nope" });
    // other codes of the guest's keep their status: its BadRequest says the caller's request was bad
    expect((await call("faults", "fault", Code.BadRequest)).status).toBe(400);
  });

  it("answers a guest's fault with Success or a number the ABI does not name as Unknown (500), the number in its words", async () => {
    const { call } = guestApp();
    for (const code of [Code.Success, 13, 4149070517]) {
      const res = await call("faults", "fault", code);
      expect(res.status).toBe(500);
      expect(await res.json()).toMatchObject({
        code: Code.Unknown,
        codeName: "Unknown",
        error: `module faults faulted the call with ${code}, a code the ABI does not name (Unknown): the guest's own reason`,
      });
    }
    // Unknown itself is a code the ABI names
    expect(await (await call("faults", "fault", Code.Unknown)).json()).toMatchObject({
      codeName: "Unknown",
      error: `module faults faulted the call with Unknown (${Code.Unknown}): the guest's own reason`,
    });
  });

  it("passes a Rust panic's message, and the next call is served", async () => {
    const { call } = guestApp();
    const res = await call("divider-rs", "divide", { a: 1, b: 0 });
    expect(res.status).toBe(500);
    const json = (await res.json()) as ErrorBody;
    expect(json.codeName).toBe("GuestTrapped");
    expect(json.detail).toMatch(/attempt to divide by zero/);
    expect(json.error).toMatch(/unreachable.*attempt to divide by zero/s);
    expect(await (await call("divider-rs", "divide", { a: 9, b: 3 })).json()).toBe(3);
  });

  it("passes the words a Rust trait method gives with wasm_bus::explain", async () => {
    const { call } = guestApp();
    const res = await call("divider-rs", "remainder", { a: 7, b: 0 });
    expect(res.status).toBe(400);
    const json = (await res.json()) as ErrorBody;
    expect(json).toMatchObject({ codeName: "BadRequest", module: "divider-rs", topic: "remainder", detail: "no remainder of 7 by 0" });
    expect(await (await call("divider-rs", "remainder", { a: 7, b: 4 })).json()).toBe(3);
  });

  it("keeps a reason to its own call: the next call on a pooled instance does not carry it", async () => {
    const { call } = guestApp();
    const bad = (await (await call("divider-rs", "divide", { a: 7 })).json()) as ErrorBody;
    expect(bad.detail).toMatch(/missing field `b`/);
    const next = (await (await call("divider-rs", "divide", { b: 7 })).json()) as ErrorBody;
    expect(next.detail).toMatch(/missing field `a`/);
    expect(next.error).not.toMatch(/`b`/);
  });
});

describe("route misses and auth are JSON errors with their own codes", () => {
  it("an unknown route is 404 NotFound, never code 0", async () => {
    const res = await worker("/nowhere");
    expect(res.status).toBe(404);
    const json = (await res.json()) as ErrorBody;
    expect(json).toMatchObject({ codeName: "NotFound", code: Code.NotFound });
    expect(json.code).not.toBe(Code.Success);
  });

  it("repeats a long path, process id, Content-Type, Host or Origin cut to 256 characters, not whole", async () => {
    const long = "a".repeat(20_000);
    const cases: [Response | Promise<Response>, number, string][] = [
      [worker(`/nowhere/${long}`), 404, `no route GET /nowhere/${"a".repeat(247)}… (20009 characters); GET / lists the routes`],
      [worker(`/call/${long}/greet`, { method: "OPTIONS" }), 405, `OPTIONS is not allowed on /call/${"a".repeat(250)}… (20012 characters); use POST`],
      [post("/call/hello/greet", "{}", long), 415, `Content-Type ${long.slice(0, 256)}… (20000 characters) is not a bus format (application/json, application/msgpack, application/x-msgpack, application/vnd.msgpack, application/octet-stream, application/x-bincode)`],
      [worker(`/processes/${long}/logs`), 404, `no process ${long.slice(0, 256)}… (20000 characters)`],
      [post("/processes", "{}", long), 415, `Content-Type ${long.slice(0, 256)}… (20000 characters) is not application/json, the one type POST /processes takes`],
    ];
    const { app } = guestApp();
    cases.push([app.request("/modules", { headers: { host: long } }, { ALLOWED_HOSTS: "localhost" }), 403, `this server does not answer to the host "${long.slice(0, 256)}… (20000 characters)": ALLOWED_HOSTS lists the hostnames it does (comma-separated, *.name for the names under one, * for any)`]);
    cases.push([app.request("/modules", { headers: { origin: `https://${long}` } }), 403, `a page of https://${long.slice(0, 248)}… (20008 characters) may not call here: ALLOWED_ORIGINS lists the origins whose pages may (this Worker's own always may)`]);
    for (const [answer, status, error] of cases) {
      const res = await answer;
      expect(res.status).toBe(status);
      expect(((await res.json()) as ErrorBody).error).toBe(error);
    }
  });

  it("a wrong method on a known route is 405 with Allow", async () => {
    const get = await worker("/call/hello/greet");
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
    expect(await get.json()).toMatchObject({ codeName: "MethodNotAllowed", code: Code.MethodNotAllowed });
    const put = await worker("/processes/abc", { method: "PUT" });
    expect(put.status).toBe(405);
    expect(put.headers.get("allow")).toBe("GET, DELETE");
    // The route that lists the others is one of them.
    const post = await worker("/", { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET");
  });

  it("a missing or wrong bearer token is 401 as JSON", async () => {
    const { app } = guestApp();
    const env = { BUS_TOKEN: "s3cret" };
    for (const authorization of [undefined, "Bearer nope", "Basic s3cret"]) {
      const res = await app.request("/modules", { headers: authorization ? { authorization } : {} }, env);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
      expect(await res.json()).toMatchObject({ codeName: "Unauthorized", code: Code.Unauthorized });
    }
    expect((await app.request("/modules", { headers: { authorization: "Bearer s3cret" } }, env)).status).toBe(200);
  });

  it("takes the token of a WebSocket upgrade from ?access_token= (browsers cannot set its headers), and only there", async () => {
    const upgrade = { headers: { upgrade: "websocket" } };
    const { app } = guestApp();
    const env = { BUS_TOKEN: "s3cret" };
    expect((await app.request("/bus/chat?access_token=nope", upgrade, env)).status).toBe(401);
    expect((await app.request("/bus/chat?access_token=s3cret", upgrade, env)).status).not.toBe(401);
    expect((await app.request("/modules?access_token=s3cret", {}, env)).status).toBe(401);
  });

  it("takes the token of a WebSocket upgrade from its subprotocols (wasm-bus.bearer.<hex>), kept out of the URL and its logs", async () => {
    const { app } = guestApp();
    const env = { BUS_TOKEN: "s3cret" };
    const hex = (t: string) => Array.from(t, (c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("");
    const offering = (protocols: string) => ({ headers: { upgrade: "websocket", "sec-websocket-protocol": protocols } });
    expect((await app.request("/bus/chat", offering(`wasm-bus, wasm-bus.bearer.${hex("nope")}`), env)).status).toBe(401);
    expect((await app.request("/bus/chat", offering("wasm-bus, wasm-bus.bearer.zz"), env)).status).toBe(401);
    expect((await app.request("/bus/chat", offering(`wasm-bus, wasm-bus.bearer.${hex("s3cret")}`), env)).status).not.toBe(401);
    // Only on an upgrade, as ?access_token= is.
    expect((await app.request("/modules", { headers: { "sec-websocket-protocol": `wasm-bus.bearer.${hex("s3cret")}` } }, env)).status).toBe(401);
  });

  it("POST /call/os/time.now is a JSON error, not a TypeError", async () => {
    const res = await post("/call/os/time.now", {});
    expect(res.status).toBe(404);
    const json = (await res.json()) as ErrorBody;
    expect(json).toMatchObject({ codeName: "InvalidWapm", module: "os", topic: "time.now" });
    expect(json.error).not.toMatch(/TypeError|undefined/);
  });
});

describe("pages of other origins (src/http/origins.ts)", () => {
  const page = "https://app.example";
  const json = { "content-type": "application/json" };

  it("refuses a page of another origin with 403 AccessDenied before anything runs: a WebSocket, a simple POST, a preflight", async () => {
    const { app, logs } = guestApp();
    const socket = await app.request("/bus/chat/x", { headers: { upgrade: "websocket", origin: page } });
    expect(socket.status).toBe(403);
    expect(await socket.json()).toMatchObject({ codeName: "AccessDenied", error: `a page of ${page} may not open a WebSocket here: ALLOWED_ORIGINS lists the origins whose pages may (this Worker's own always may)` });
    // A body with no Content-Type is read as JSON: a browser sends it from any page without asking first.
    const simple = await app.request("/call/hello/greet", { method: "POST", headers: { origin: page }, body: '{"name":"Ada"}' });
    expect(simple.status).toBe(403);
    expect(simple.headers.get("access-control-allow-origin")).toBeNull();
    expect(logs.filter((l) => l.module === "hello")).toEqual([]);
    const preflight = await app.request("/call/hello/greet", { method: "OPTIONS", headers: { origin: page, "access-control-request-method": "POST" } });
    expect(preflight.status).toBe(403);
    // ALLOWED_ORIGINS that lists another origin changes nothing for this one.
    expect((await app.request("/modules", { headers: { origin: page } }, { ALLOWED_ORIGINS: "https://other.example" })).status).toBe(403);
  });

  it("lets in a page of the Worker's own origin, and any client that is no browser (no Origin)", async () => {
    const { app } = guestApp();
    expect((await app.request("http://bus.example/call/hello/greet", { method: "POST", headers: { ...json, origin: "http://bus.example" }, body: '{"name":"Ada"}' })).status).toBe(200);
    expect((await app.request("http://127.0.0.1:8787/modules", { headers: { origin: "http://localhost:8787", host: "localhost:8787" } })).status).toBe(200);
    expect((await app.request("/call/hello/greet", { method: "POST", headers: json, body: '{"name":"Ada"}' })).status).toBe(200);
  });

  it("answers a page of an origin ALLOWED_ORIGINS lists with CORS: its preflight, then the call with Access-Control-Allow-Origin", async () => {
    const { app } = guestApp();
    for (const ALLOWED_ORIGINS of [`https://other.example, ${page}/`, "*"]) {
      const env = { ALLOWED_ORIGINS };
      const preflight = await app.request("/call/hello/greet", { method: "OPTIONS", headers: { origin: page, "access-control-request-method": "POST", "access-control-request-headers": "content-type" } }, env);
      expect(preflight.status).toBe(204);
      expect(Object.fromEntries(preflight.headers)).toMatchObject({
        "access-control-allow-origin": page,
        "access-control-allow-methods": "GET, POST, DELETE",
        "access-control-allow-headers": "authorization, content-type, accept",
        vary: "Origin",
      });
      const res = await app.request("/call/hello/greet", { method: "POST", headers: { ...json, origin: page }, body: '{"name":"Ada"}' }, env);
      expect(res.status).toBe(200);
      expect(res.headers.get("access-control-allow-origin")).toBe(page);
      expect(await res.json()).toEqual({ message: "Hello, Ada!" });
      // Errors too: a page reads why.
      const missing = await app.request("/call/nobody/x", { method: "POST", headers: { ...json, origin: page }, body: "{}" }, env);
      expect(missing.status).toBe(404);
      expect(missing.headers.get("access-control-allow-origin")).toBe(page);
      // And its WebSockets are not refused for their origin.
      expect((await app.request("/bus/chat/x", { headers: { upgrade: "websocket", origin: page } }, env)).status).not.toBe(403);
    }
    // The shared answer headers of a format are not changed for the next caller.
    const plain = await app.request("/call/hello/greet", { method: "POST", headers: json, body: '{"name":"Ada"}' });
    expect(plain.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("names the Worker does not answer to (src/http/hosts.ts)", () => {
  const ALLOWED_HOSTS = "localhost, *.localhost";
  const json = { "content-type": "application/json" };

  it("with ALLOWED_HOSTS set, refuses a Host it does not list with 403 AccessDenied before anything runs, whatever the Origin", async () => {
    const { app, logs } = guestApp();
    // A page of a name its owner pointed at 127.0.0.1 (DNS rebinding): same origin by URL and Host.
    const rebound = "http://evil.example:8787";
    for (const init of [
      { method: "POST", headers: { host: "evil.example:8787", origin: rebound } as Record<string, string>, body: '{"name":"Ada"}' },
      { method: "POST", headers: { ...json, host: "evil.example:8787" }, body: '{"name":"Ada"}' },
    ]) {
      const res = await app.request(`${rebound}/call/hello/greet`, init, { ALLOWED_HOSTS });
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({
        codeName: "AccessDenied",
        error: 'this server does not answer to the host "evil.example:8787": ALLOWED_HOSTS lists the hostnames it does (comma-separated, *.name for the names under one, * for any)',
      });
    }
    expect(logs.filter((l) => l.module === "hello")).toEqual([]);
    const socket = await app.request(`${rebound}/bus/chat/x`, { headers: { host: "evil.example:8787", upgrade: "websocket", origin: rebound } }, { ALLOWED_HOSTS });
    expect(socket.status).toBe(403);
    // A name under a listed one is not that name; nor is a listed one under another.
    for (const host of ["localhost.evil.example", "evillocalhost", "EVIL.example"]) {
      expect((await app.request(`http://${host}/modules`, { headers: { host } }, { ALLOWED_HOSTS })).status).toBe(403);
    }
  });

  it("with ALLOWED_HOSTS set, lets in a Host it lists (any case, any port), a name under a *.name, and any IP address", async () => {
    const { app } = guestApp();
    for (const host of ["localhost:8787", "LocalHost", "app.localhost:8787", "127.0.0.1", "127.0.0.1:8787", "[::1]:8787", "10.0.0.7"]) {
      const res = await app.request(`http://${host}/call/hello/greet`, { method: "POST", headers: { ...json, host }, body: '{"name":"Ada"}' }, { ALLOWED_HOSTS });
      expect(res.status, host).toBe(200);
    }
    expect((await app.request("http://evil.example/modules", { headers: { host: "evil.example" } }, { ALLOWED_HOSTS: "*" })).status).toBe(200);
    expect((await app.request("http://evil.example/modules", { headers: { host: "evil.example" } }, { ALLOWED_HOSTS: "bus.example, Evil.Example" })).status).toBe(200);
  });

  it("unset (a deployed Worker), answers to any name", async () => {
    const { app } = guestApp();
    expect((await app.request("http://evil.example/modules", { headers: { host: "evil.example" } })).status).toBe(200);
    expect((await worker("/modules", { headers: { host: "evil.example" } })).status).toBe(200);
  });
});
