import { describe, expect, it } from "vitest";
import { BusError, Client, modules } from "../src/index.js";
import { MAX_ERROR_BODY_BYTES } from "../src/errors.js";
import { fakeFetch, pack } from "./fakes.js";

describe("calls over HTTP", () => {
  it("POSTs the request in its format, with the token, and decodes the reply", async () => {
    const { requests, fetch } = fakeFetch(async (req) => Response.json({ message: `Hello, ${((await req.json()) as { name: string }).name}!` }));
    const client = new Client({ url: "http://bus.test/base", token: "s3cret", fetch, modules });
    expect(await client.module("hello").greet({ name: "Ada" })).toEqual({ message: "Hello, Ada!" });
    const [req] = requests;
    expect(req!.method).toBe("POST");
    expect(req!.url).toBe("http://bus.test/base/call/hello/greet");
    expect(req!.headers.get("content-type")).toBe("application/json");
    expect(req!.headers.get("authorization")).toBe("Bearer s3cret");
  });

  it("takes msgpack both ways, and 64-bit integers stay exact", async () => {
    const { requests, fetch } = fakeFetch(() => new Response(pack({ total: 2n ** 60n }), { headers: { "content-type": "application/msgpack" } }));
    const client = new Client({ url: "http://bus.test", fetch });
    expect(await client.call("counter-rs", "tally.add", { n: 2 }, { format: "msgpack" })).toEqual({ total: 2n ** 60n });
    expect(requests[0]!.headers.get("content-type")).toBe("application/msgpack");
    expect(new Uint8Array(await requests[0]!.arrayBuffer())).toEqual(pack({ n: 2 }));
  });

  it("reads msgpack's 64-bit integers as JSON's are read: a number where one holds it exactly, a bigint past 2^53", async () => {
    // {"a": 5000000000, "b": -5000000000, "c": 2^53 + 1} as rmp-serde writes u64 and i64 past 32 bits (cf, d3)
    const int64 = (marker: number, v: bigint) => [marker, ...Array.from({ length: 8 }, (_, i) => Number((BigInt.asUintN(64, v) >> BigInt(56 - 8 * i)) & 0xffn))];
    const body = new Uint8Array([0x83, 0xa1, 0x61, ...int64(0xcf, 5_000_000_000n), 0xa1, 0x62, ...int64(0xd3, -5_000_000_000n), 0xa1, 0x63, ...int64(0xcf, 2n ** 53n + 1n)]);
    const { fetch } = fakeFetch(() => new Response(body, { headers: { "content-type": "application/msgpack" } }));
    const client = new Client({ url: "http://bus.test", fetch });
    expect(await client.call("any-module", "any.topic", {}, { format: "msgpack" })).toStrictEqual({ a: 5_000_000_000, b: -5_000_000_000, c: 2n ** 53n + 1n });
  });

  it("sends integers past 2^53 as their digits in JSON, and reads them back as bigints", async () => {
    const { requests, fetch } = fakeFetch(() => new Response('{"total": 18446744073709551615}', { headers: { "content-type": "application/json" } }));
    const client = new Client({ url: "http://bus.test", fetch });
    expect(await client.call("counter-rs", "tally.add", { n: 2n ** 64n - 1n })).toEqual({ total: 2n ** 64n - 1n });
    expect(await requests[0]!.text()).toBe('{"n":18446744073709551615}');
  });

  it("throws a BusError with the ABI's code name, the module's words and the status", async () => {
    const body = { error: "guest faulted the call", code: 12, codeName: "BadRequest", module: "hello", topic: "greet", detail: "name must be a string" };
    const { fetch } = fakeFetch(() => Response.json(body, { status: 400 }));
    const client = new Client({ url: "http://bus.test", fetch, modules });
    const err = await client.module("hello").greet({ name: "Ada" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BusError);
    expect(err).toMatchObject({ code: 12, codeName: "BadRequest", status: 400, module: "hello", topic: "greet", detail: "name must be a string" });
    expect((err as BusError).is("BadRequest")).toBe(true);
    expect((err as Error).message).toContain("name must be a string");
  });

  it("keeps only the fields of an error body that have their types: a detail or module that is not a string is left out", async () => {
    const { fetch } = fakeFetch(() => Response.json({ error: "bad", code: 12, detail: { a: 1 }, module: 3, topic: ["x"] }, { status: 400 }));
    const err = (await new Client({ url: "http://bus.test", fetch }).call("hello", "greet", {}).catch((e: unknown) => e)) as BusError;
    expect(err).toMatchObject({ name: "BusError", codeName: "BadRequest", message: "bad", status: 400 });
    expect([err.detail, err.module, err.topic]).toEqual([undefined, undefined, undefined]);
  });

  it("fails SerializationFailed where a JSON answer is not of its shape (null, no array, a process without an id), not with a TypeError where it is read", async () => {
    for (const body of ["null", "[]", '{"modules": null, "lines": 5}', '{"id": 5, "status": "running"}']) {
      const client = new Client({ url: "http://bus.test", fetch: fakeFetch(() => new Response(body, { headers: { "content-type": "application/json" } })).fetch });
      const process = client.process("abc");
      for (const op of [() => client.modules(), () => client.spawn("counter"), () => process.status(), () => process.logs(), () => process.kill()]) {
        await expect(op()).rejects.toMatchObject({ name: "BusError", codeName: "SerializationFailed", message: expect.stringMatching(/cannot be read: (not an object|"(modules|lines)" is not an array|not a process's state)/) });
      }
    }
  });

  it("reads an error body with an empty error or the code Success as another server's: the status decides, and the body is said", async () => {
    for (const [status, body, codeName] of [[500, { error: "", code: 12 }, "Unknown"], [404, { error: "fine", code: 0 }, "NotFound"]] as const) {
      const { fetch } = fakeFetch(() => Response.json(body, { status }));
      const err = await new Client({ url: "http://bus.test", fetch }).call("hello", "greet", {}).catch((e: unknown) => e);
      expect(err).toMatchObject({ name: "BusError", codeName, status, message: `HTTP ${status}: ${JSON.stringify(body)}` });
    }
  });

  it("reads at most MAX_ERROR_BODY_BYTES of an error body: the rest of a long one (a hostile proxy's, which need never end) is not read", async () => {
    // 12 MB here, so that reading it whole fails the count rather than hang the test.
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (++pulled > 2000) controller.close();
        else controller.enqueue(new TextEncoder().encode("<html>".repeat(1000)));
      },
    });
    const { fetch } = fakeFetch(() => new Response(endless, { status: 502 }));
    const err = await new Client({ url: "http://bus.test", fetch }).call("hello", "greet", {}).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: "BusError", codeName: "Unknown", status: 502, message: expect.stringMatching(/^HTTP 502: (<html>)+/) });
    expect(pulled * 6000).toBeLessThan(MAX_ERROR_BODY_BYTES + 2 * 6000);
  });

  it("says the module's words once where the runtime's error ends with them, and adds them where it only names them", async () => {
    const words = "no note 5";
    const ending = new BusError({ error: `module notes faulted the call with NotFound (25): ${words}`, code: 25, detail: words });
    expect(ending.message).toBe(`module notes faulted the call with NotFound (25): ${words}`);
    // Words the error holds elsewhere are not the detail said: they are added at its end.
    const inside = new BusError({ error: `${words} was asked for`, code: 25, detail: words });
    expect(inside.message).toBe(`${words} was asked for: ${words}`);
  });

  it("turns an answer that is not the runtime's (a proxy's page) into a BusError too", async () => {
    const { fetch } = fakeFetch(() => new Response("<html>bad gateway</html>", { status: 502 }));
    const err = await new Client({ url: "http://bus.test", fetch }).call("hello", "greet", {}).catch((e: unknown) => e);
    expect(err).toMatchObject({ codeName: "Unknown", status: 502 });
  });

  it("a network failure is a BusError, not a TypeError", async () => {
    const client = new Client({ url: "http://bus.test", fetch: () => Promise.reject(new TypeError("fetch failed")) });
    await expect(client.call("hello", "greet", {})).rejects.toMatchObject({ name: "BusError", codeName: "InternalFailure" });
  });

  it("a 2xx answer it cannot read is a BusError too: a proxy's page, a JSON cut off, a body that breaks off", async () => {
    const html = () => new Response("<html>sign in</html>", { headers: { "content-type": "text/html" } });
    const cut = () => new Response('{"message": "Hel', { headers: { "content-type": "application/json" } });
    const broken = () =>
      new Response(
        new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('{"lines": ['));
            controller.error(new TypeError("terminated"));
          },
        }),
        { headers: { "content-type": "application/json" } },
      );
    await expect(new Client({ url: "http://bus.test", fetch: fakeFetch(html).fetch }).modules()).rejects.toMatchObject({ name: "BusError", codeName: "SerializationFailed", message: expect.stringContaining("HTTP 200, text/html") });
    await expect(new Client({ url: "http://bus.test", fetch: fakeFetch(cut).fetch }).call("hello", "greet", {})).rejects.toMatchObject({ name: "BusError", codeName: "SerializationFailed", module: "hello", topic: "greet" });
    await expect(new Client({ url: "http://bus.test", fetch: fakeFetch(broken).fetch }).process("abc").logs()).rejects.toMatchObject({ name: "BusError", codeName: "InternalFailure", message: expect.stringContaining("broke off") });
  });

  it("an aborted call is Aborted whatever the signal's reason, and a timed-out one Timeout", async () => {
    // A fetch that never answers, and rejects as fetch does: with the signal's reason. It holds
    // its requests, as a real fetch in flight does: a request's signal follows the caller's only
    // while something holds the request.
    const inFlight: Request[] = [];
    const hang = (req: Request) => {
      inFlight.push(req);
      return new Promise<Response>((_, reject) => req.signal.addEventListener("abort", () => reject(req.signal.reason)));
    };
    const client = new Client({ url: "http://bus.test", fetch: hang });
    const reason = new AbortController();
    const call = client.call("hello", "greet", {}, { signal: reason.signal });
    reason.abort(new Error("the user left"));
    await expect(call).rejects.toMatchObject({ name: "BusError", codeName: "Aborted", message: expect.stringContaining("the user left") });
    // Held here: Node lets a timeout signal nothing holds be collected before it fires.
    const timeout = AbortSignal.timeout(10);
    await expect(client.call("hello", "greet", {}, { signal: timeout })).rejects.toMatchObject({ name: "BusError", codeName: "Timeout" });
    expect(timeout.aborted).toBe(true);
    expect(inFlight).toHaveLength(2);
  });

  it("an error answer whose body the caller's abort cuts off is Aborted, not Unknown", async () => {
    const inFlight: Request[] = [];
    // A 500 whose body never ends, and ends with the request's signal, as a real one would.
    const stalled = (req: Request) => {
      inFlight.push(req);
      const body = new ReadableStream({ start: (c) => req.signal.addEventListener("abort", () => c.error(req.signal.reason)) });
      return Promise.resolve(new Response(body, { status: 500 }));
    };
    const client = new Client({ url: "http://bus.test", fetch: stalled });
    const reason = new AbortController();
    const call = client.call("hello", "greet", {}, { signal: reason.signal });
    await new Promise((r) => setTimeout(r, 5));
    reason.abort(new Error("the user left"));
    await expect(call).rejects.toMatchObject({ name: "BusError", codeName: "Aborted", message: expect.stringContaining("the user left") });
    expect(inFlight).toHaveLength(1);
  });

  it("a token a header cannot carry (past ASCII, a newline inside) is BadRequest, for calls and sockets alike, not a TypeError", async () => {
    const { requests, fetch } = fakeFetch(() => Response.json({ modules: [] }));
    for (const token of ["令牌", "one\ntwo"]) {
      const client = new Client({ url: "http://bus.test", fetch, token, webSocket: () => { throw new Error("no socket expected"); } });
      await expect(client.call("hello", "greet", {})).rejects.toMatchObject({ name: "BusError", codeName: "BadRequest", message: expect.stringContaining("bearer token") });
      await expect(client.modules()).rejects.toMatchObject({ name: "BusError", codeName: "BadRequest" });
      await expect(client.session("chat").opened()).rejects.toMatchObject({ name: "BusError", codeName: "BadRequest" });
      await expect(client.process("abc").attach()).rejects.toMatchObject({ name: "BusError", codeName: "BadRequest" });
    }
    expect(requests).toEqual([]);
  });

  it("refuses a name with a lone surrogate (BadRequest, as a rejection: encodeURIComponent threw a bare URIError at once)", async () => {
    const { requests, fetch } = fakeFetch(() => Response.json({}));
    const client = new Client({ url: "http://bus.test", fetch, webSocket: () => { throw new Error("no socket expected"); } });
    const lone = "a\ud800";
    const refused = { name: "BusError", codeName: "BadRequest", message: expect.stringContaining("lone surrogate") };
    await expect(client.call(lone, "greet", {})).rejects.toMatchObject(refused);
    await expect(client.call("hello", lone, {})).rejects.toMatchObject(refused);
    await expect(client.process(lone).status()).rejects.toMatchObject(refused);
    await expect(client.process(lone).kill()).rejects.toMatchObject(refused);
    await expect(client.process("p").call(lone, {})).rejects.toMatchObject(refused);
    await expect(client.session("chat", lone).opened()).rejects.toMatchObject(refused);
    expect(requests).toEqual([]);
  });

  it("refuses a name that is \".\" or \"..\" (BadRequest): a URL resolves it away, and the request would reach another route", async () => {
    const { requests, fetch } = fakeFetch(() => Response.json({ name: "wasm-bus", routes: [], modules: [] }));
    const client = new Client({ url: "http://bus.test/base", fetch, webSocket: () => { throw new Error("no socket expected"); } });
    await expect(client.process("..").status()).rejects.toMatchObject({ name: "BusError", codeName: "BadRequest" });
    await expect(client.process(".").logs()).rejects.toMatchObject({ codeName: "BadRequest" });
    await expect(client.process("..").attach()).rejects.toMatchObject({ codeName: "BadRequest" });
    await expect(client.call("..", "greet", {})).rejects.toMatchObject({ codeName: "BadRequest" });
    await expect(client.call("hello", "..", {})).rejects.toMatchObject({ codeName: "BadRequest" });
    await expect(client.session("chat", "..").opened()).rejects.toMatchObject({ codeName: "BadRequest" });
    expect(requests).toEqual([]);
    // Dots within a name are names like any other.
    await client.call("hello", "a..b", {});
    expect(requests.map((r) => r.url)).toEqual(["http://bus.test/base/call/hello/a..b"]);
  });

  it("asks a token function before every request", async () => {
    let token = "one";
    const { requests, fetch } = fakeFetch(() => Response.json({ modules: [] }));
    const client = new Client({ url: "http://bus.test", fetch, token: () => token });
    await client.modules();
    token = "";
    await client.modules();
    expect(requests.map((r) => r.headers.get("authorization"))).toEqual(["Bearer one", null]);
  });

  it("spawns, reads and kills processes", async () => {
    const info = { id: "abc", module: "countdown", args: ["3"], status: "running", startedAt: 1 };
    const { requests, fetch } = fakeFetch((req) => {
      const path = new URL(req.url).pathname;
      if (path === "/processes/abc/logs") return Response.json({ lines: [{ module: "countdown", level: "info", msg: "3", stream: "stdout" }] });
      if (path === "/processes/abc/call/echo") return Response.json({ echo: 1 });
      return Response.json(info, { status: req.method === "POST" ? 201 : 200 });
    });
    const client = new Client({ url: "http://bus.test", fetch });
    const process = await client.spawn("countdown", { args: ["3"], stdin: "x" });
    expect(process.info).toEqual(info);
    expect(await requests[0]!.json()).toEqual({ module: "countdown", args: ["3"], stdin: "x" });
    expect(await process.status()).toEqual(info);
    expect(await process.logs()).toEqual([{ module: "countdown", level: "info", msg: "3", stream: "stdout" }]);
    expect(await process.call("echo", 1)).toEqual({ echo: 1 });
    await process.kill();
    expect(requests.map((r) => `${r.method} ${new URL(r.url).pathname}`)).toEqual([
      "POST /processes",
      "GET /processes/abc",
      "GET /processes/abc/logs",
      "POST /processes/abc/call/echo",
      "DELETE /processes/abc",
    ]);
  });

  it("refuses module() for a module the table lacks", () => {
    const client = new Client({ url: "http://bus.test", modules });
    expect(() => client.module("nope" as "hello")).toThrow(BusError);
    expect(Object.keys(client.module("counter-rs"))).toEqual(["counter.open", "tally.add", "tally.get"]);
  });
});
