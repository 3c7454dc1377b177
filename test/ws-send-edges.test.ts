import { describe, expect, inject, it } from "vitest";
import { Code, Format, OS_WAPM } from "../src/abi.js";
import { BusCall } from "../src/call.js";
import type { BusError } from "../src/errors.js";
import { guestApp } from "./helpers.js";

const enc = new TextEncoder();
const dec = new TextDecoder();
const json = (v: unknown) => ({ format: Format.Json, data: enc.encode(JSON.stringify(v)) }) as const;

/**
 * web_socket.send where the ABI fuzzer cannot reach (it has no socket): on a socket the remote
 * closed, on one the caller dropped, under a parent that is no socket. Each is answered (Failed,
 * or a coded refusal), never a host exception or a call that hangs.
 */
describe("web_socket.send on sockets that are gone (a real server on 127.0.0.1)", () => {
  const origin = inject("wsOrigin");
  const { runtime } = guestApp();

  /** socket_builder.connect as module wsclient, kept alive: the call and the states it reported. */
  function connect(path: string) {
    const states: string[] = [];
    let failed: BusError | undefined;
    const call = new BusCall(OS_WAPM, "socket_builder.connect", json({ url: `${origin}${path}` }), {
      finish: () => {},
      fail: (err) => (failed = err),
      callback: (topic, payload) => {
        if (topic === "state_change") states.push(JSON.parse(dec.decode(payload.data)) as string);
        return Code.Success;
      },
    }, { caller: "wsclient", keepalive: true });
    runtime.dispatch(call);
    return { call, states, failed: () => failed };
  }

  /** web_socket.send under `parent`: "Success", "Failed", or the code it was refused with. */
  function send(parent: BusCall): Promise<string> {
    return new Promise((resolve) => {
      const call = new BusCall(OS_WAPM, "web_socket.send", json({ data: [104, 105] }), {
        finish: (reply) => resolve(JSON.parse(dec.decode(reply.data)) as string),
        fail: (err) => resolve(err.codeName),
        callback: () => Code.MissingCallbacks,
      }, { caller: "wsclient", parent });
      const refused = runtime.dispatch(call);
      if (refused) resolve(refused.codeName);
    });
  }

  const until = async (ok: () => boolean) => {
    for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(ok()).toBe(true);
  };

  it("answers Failed on a socket the remote closed, and on one its caller dropped", async () => {
    const closed = connect("/close");
    await until(() => closed.states.includes("Closed"));
    expect(await send(closed.call)).toBe("Failed");
    closed.call.drop("the test is done");

    const open = connect("/echo");
    await until(() => open.states.includes("Opened"));
    expect(await send(open.call)).toBe("Success");
    open.call.drop("the test drops it");
    // Under a parent that has ended: refused as the call is made, or Failed on the closed socket.
    expect(["InvalidHandle", "Failed"]).toContain(await send(open.call));
    expect(open.failed()).toBeUndefined();
  });

  it("refuses a send under a parent that is no socket with InvalidHandle", async () => {
    const sleep = new BusCall(OS_WAPM, "time.sleep", json({ duration_ms: 60_000 }), { finish: () => {}, fail: () => {}, callback: () => Code.MissingCallbacks }, { caller: "wsclient", keepalive: true });
    runtime.dispatch(sleep);
    expect(await send(sleep)).toBe("InvalidHandle");
    sleep.drop("the test is done");
  });
});
