import { describe, expect, it } from "vitest";
import { SOCKET_SHARE, shareCap } from "../src/call-shares.js";
import { Format } from "../src/abi.js";
import type { CallSink } from "../src/call.js";
import type { BusError } from "../src/errors.js";
import { DEFAULT_LIMITS } from "../src/manifest.js";
import type { Runtime } from "../src/runtime.js";
import { createRuntime } from "../src/worker-runtime.js";
import { guestApp } from "./helpers.js";

// A live call (a kept-alive join, a request answered later) must not keep its request's bytes in
// the host once they are where the call is served (a guest's memory, another object): a session's
// client holds its share of live calls (256 by default), each up to requestBytes (1 MiB), which
// kept came to 256 MiB in the object every member shares, twice an isolate's 128 MB.

/** A join {name: "ada"} padded with whitespace to requestBytes: valid JSON, which the guest reads past. */
function paddedJoin(): Uint8Array {
  const head = '{"name":"ada"';
  const padded = new TextEncoder().encode(`${head}${" ".repeat(DEFAULT_LIMITS.requestBytes - head.length - 1)}}`);
  expect(padded.length).toBe(DEFAULT_LIMITS.requestBytes);
  return padded;
}

/** A kept-alive join of `wapm` through `runtime`, as a session's socket makes it, and its reply. */
async function join(runtime: Runtime, wapm: string) {
  let reply!: (v: unknown) => void;
  const replied = new Promise((resolve) => (reply = resolve));
  const sink: CallSink = {
    finish: (payload) => reply(JSON.parse(new TextDecoder().decode(payload.data))),
    fail: (err: BusError) => reply(err.message),
    callback: () => 0,
  };
  const call = runtime.start(wapm, "join", { format: Format.Json, data: paddedJoin() }, sink, { keepalive: true, caller: "ws" });
  return { call, reply: await replied };
}

describe("a call whose request has gone where it is served keeps no copy of it in the host", () => {
  it(`a kept-alive chat join padded to requestBytes (a socket may hold ${shareCap(SOCKET_SHARE, DEFAULT_LIMITS)} of them) holds none of its bytes once joined`, async () => {
    const { call, reply } = await join(guestApp().runtime, "chat");
    expect(reply).toEqual({ joined: "ada", members: 1 });
    expect(call.ended).toBe(false);
    expect(call.request.format).toBe(Format.Json);
    expect(call.request.data.byteLength).toBe(0);
    call.drop("the test is over");
  });

  it("nor one to another object's instance (chat@room, as a session's client bridges to another room): its bytes crossed RPC", async () => {
    const { call, reply } = await join(createRuntime(), `chat@held-${Date.now()}`);
    expect(reply).toEqual({ joined: "ada", members: 1 });
    expect(call.ended).toBe(false);
    expect(call.request.data.byteLength).toBe(0);
    call.drop("the test is over");
  });
});
