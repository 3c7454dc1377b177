import { describe, expect, inject, it } from "vitest";
import { Code } from "../src/abi.js";
import { guestApp } from "./helpers.js";

describe("outbound WebSockets (ws service) against a real server on 127.0.0.1", () => {
  const origin = inject("wsOrigin");
  const { call } = guestApp();

  it("connects, sends a binary frame under the connect call, receives the echo", async () => {
    const res = await call("wsclient", "roundtrip", { url: `${origin}/echo` });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toEqual([104, 105]); // "hi", as serde writes Vec<u8>
  });

  it("delivers text frames as their UTF-8 bytes", async () => {
    const res = await call("wsclient", "roundtrip", { url: `${origin}/text` });
    expect(await res.json()).toEqual([104, 101, 121]); // "hey"
  });

  it("reports a remote that goes away as Closed", async () => {
    const res = await call("wsclient", "watch", { url: `${origin}/close` });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toBe("Closed");
  });

  it("fails a connection nobody answers with FetchFailed", async () => {
    const res = await call("wsclient", "roundtrip", { url: "ws://127.0.0.1:1/" });
    expect(await res.json()).toMatchObject({ code: Code.FetchFailed });
  });

  it("refuses hosts outside fetch.allow with AccessDenied", async () => {
    const res = await call("wsclient", "roundtrip", { url: "ws://example.com/" });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ code: Code.AccessDenied });
  });
});
