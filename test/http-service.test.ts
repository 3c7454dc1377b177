import { describe, expect, inject, it } from "vitest";
import { Code, Format, OS_WAPM } from "../src/abi.js";
import { BusCall } from "../src/call.js";
import type { Payload } from "../src/codec/index.js";
import type { BusError } from "../src/errors.js";
import { guestApp } from "./helpers.js";

/** http.fetch as a module calls it: the caller's manifest decides what it may reach and read. */
function fetchAs(caller: string, request: object): Promise<{ reply?: Payload; error?: BusError }> {
  const { runtime } = guestApp();
  return new Promise((resolve) => {
    const data = new TextEncoder().encode(JSON.stringify(request));
    const call = new BusCall(OS_WAPM, "http.fetch", { format: Format.Json, data }, {
      finish: (reply) => resolve({ reply }),
      fail: (error) => resolve({ error }),
      callback: () => Code.MissingCallbacks,
    }, { caller });
    runtime.dispatch(call);
  });
}

describe("http.fetch and the caller's manifest", () => {
  const origin = inject("httpOrigin");

  it("fetches for a module whose fetch.allow names the host, with method, headers and body", async () => {
    const { reply } = await fetchAs("wsclient", { method: "POST", url: `${origin}/echo`, headers: [["x-a", "b"]], body: [104, 105] });
    const res = JSON.parse(new TextDecoder().decode(reply!.data)) as { status: number; body: number[] };
    expect(res.status).toBe(200);
    expect(JSON.parse(String.fromCharCode(...res.body))).toEqual({ method: "POST", path: "/echo", body: "hi" });
  });

  it("refuses a host outside fetch.allow with AccessDenied (default: none)", async () => {
    const { error } = await fetchAs("abi", { method: "GET", url: `${origin}/bytes?n=1`, headers: [], body: null });
    expect(error?.code).toBe(Code.AccessDenied);
    expect(error?.message).toMatch(/may not reach 127\.0\.0\.1/);
  });

  it("refuses a request fetch cannot make (a header with CR/LF, a bad method, a body on GET) with BadRequest, not FetchFailed", async () => {
    const url = `${origin}/echo`;
    for (const request of [
      { method: "GET", url, headers: [["x-a", "b\r\nx-injected: 1"]], body: null },
      { method: "GET", url, headers: [["x a", "b"]], body: null },
      { method: "G\r\nET", url, headers: [], body: null },
      { method: "CONNECT", url, headers: [], body: null },
      { method: "GET", url, headers: [], body: [1] },
    ]) {
      const { error } = await fetchAs("wsclient", request);
      expect(error?.codeName, JSON.stringify(request)).toBe("BadRequest");
      expect(error?.message).toMatch(/^http\.fetch: /);
    }
  });

  it("fails a response whose host drops it before the body's end with FetchFailed, not InternalFailure or a reply of what came", async () => {
    for (const length of ["short", "cut"]) {
      const { reply, error } = await fetchAs("wsclient", { method: "GET", url: `${origin}/hostile/body?n=1000&length=${length}`, headers: [], body: null });
      expect(reply, length).toBeUndefined();
      expect(error?.codeName, length).toBe("FetchFailed");
      expect(error?.message).toMatch(/^http\.fetch http:\/\/127\.0\.0\.1:\d+\/hostile\/body.*: the response's body broke off/);
    }
  });

  it("reads a gzipped response only until its decoded bytes pass limits.responseBytes: its Content-Length counts the gzip, not the body", async () => {
    // 512 KiB that gzip makes some 2 KiB, sent 128 bytes at a time: fetch-probe's limit is 4,096.
    const token = `gzip-${Date.now()}`;
    const url = `${origin}/hostile/body?n=${1 << 19}&length=exact&gzip=1&chunk=128&delay=50&token=${token}`;
    const { reply, error } = await fetchAs("fetch-probe", { method: "GET", url, headers: [], body: null });
    expect(reply).toBeUndefined();
    expect(error?.codeName).toBe("LimitExceeded");
    // The read stopped at the limit: the rest was never fetched, let alone decoded and held.
    expect(await (await fetch(`${origin}/hostile/sent?token=${token}`)).json()).toEqual({ whole: false });
  });

  it("answers a HEAD, a 204 and a 304 whose Content-Length is past limits.responseBytes: no body comes with them to be over it", async () => {
    // fetch-probe's limit is 4,096; each response declares 1 MiB and carries nothing.
    for (const [method, code] of [["HEAD", 200], ["GET", 204], ["GET", 304]] as const) {
      const { reply, error } = await fetchAs("fetch-probe", { method, url: `${origin}/hostile/declared?code=${code}&length=${1 << 20}`, headers: [], body: null });
      expect(error, `${method} ${code}`).toBeUndefined();
      const res = JSON.parse(new TextDecoder().decode(reply!.data)) as { status: number; body: number[] };
      expect(res.status).toBe(code);
      expect(res.body).toEqual([]);
    }
  });

  it("holds a response's headers to limits.responseBytes too, as the reply carries them", async () => {
    // fetch-probe's limit is 4,096: 3 headers of 1,000 bytes fit, 5 do not.
    const within = await fetchAs("fetch-probe", { method: "GET", url: `${origin}/hostile/headers?count=3&size=1000`, headers: [], body: null });
    expect(within.error).toBeUndefined();
    const over = await fetchAs("fetch-probe", { method: "GET", url: `${origin}/hostile/headers?count=5&size=1000`, headers: [], body: null });
    expect(over.reply).toBeUndefined();
    expect(over.error?.codeName).toBe("LimitExceeded");
    expect(over.error?.message).toMatch(/^http\.fetch response headers of \d+ bytes are over the limit of 4096 \(limits\.responseBytes\)$/);
  });

  it("counts a response's header bytes past ASCII as the reply carries them, more than one byte each", async () => {
    // 3 headers of 1,000 bytes 0xFF: 3,000 characters, within fetch-probe's 4,096, but each is
    // two or three bytes in the reply's UTF-8.
    const { reply, error } = await fetchAs("fetch-probe", { method: "GET", url: `${origin}/hostile/headers?count=3&size=1000&char=ff`, headers: [], body: null });
    expect(reply?.data.length, "the reply's bytes").toBeUndefined();
    expect(error?.codeName).toBe("LimitExceeded");
  });

  it("fails a response over limits.responseBytes with LimitExceeded", async () => {
    const { error } = await fetchAs("wsclient", { method: "GET", url: `${origin}/bytes?n=${5 << 20}`, headers: [], body: null });
    expect(error?.code).toBe(Code.LimitExceeded);
  });
});
