import { describe, expect, it } from "vitest";
import { socketCallCap } from "../durable-objects/bus-session.js";
import { Format } from "../src/abi.js";
import type { BusError } from "../src/errors.js";
import { DEFAULT_LIMITS } from "../src/manifest.js";
import { guestApp } from "./helpers.js";

// A call a guest holds (a kept-alive join, a request it answers later) must not keep its request's
// bytes in the host once the guest has them: a session's client holds socketCallCap live calls
// (256 by default), each up to requestBytes (1 MiB), which kept in the host came to 256 MiB in
// the object every member shares, twice an isolate's 128 MB.

describe("a call the guest has taken keeps no copy of its request in the host", () => {
  it(`a kept-alive chat join padded to requestBytes (a socket may hold ${socketCallCap(DEFAULT_LIMITS)} of them) holds none of its bytes once joined`, async () => {
    const { runtime } = guestApp();
    // Valid JSON for join {name}: the padding is whitespace the guest reads past.
    const head = '{"name":"ada"';
    const padded = new TextEncoder().encode(`${head}${" ".repeat(DEFAULT_LIMITS.requestBytes - head.length - 1)}}`);
    expect(padded.length).toBe(DEFAULT_LIMITS.requestBytes);
    let reply: ((v: unknown) => void) | undefined;
    const replied = new Promise((resolve) => (reply = resolve));
    const call = runtime.start(
      "chat",
      "join",
      { format: Format.Json, data: padded },
      {
        finish: (payload) => reply!(JSON.parse(new TextDecoder().decode(payload.data))),
        fail: (err: BusError) => reply!(err.message),
        callback: () => 0,
      },
      { keepalive: true, caller: "ws" },
    );
    expect(await replied).toEqual({ joined: "ada", members: 1 });
    expect(call.ended).toBe(false);
    expect(call.request.format).toBe(Format.Json);
    expect(call.request.data.byteLength).toBe(0);
    call.drop("the test is over");
  });
});
