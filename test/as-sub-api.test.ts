import { describe, expect, it } from "vitest";
import { env } from "cloudflare:test";
import { modules } from "../build/registry.js";
import { modules as testGuests } from "../build/test-registry.js";
import { setSessionModules } from "../durable-objects/bus-session.js";
import { Code } from "../src/abi.js";
import type { Env } from "../src/env.js";
import { open } from "./bus-socket.js";
import { guestApp } from "./helpers.js";

setSessionModules({ ...modules, ...testGuests }); // shelf-as, a test guest, runs in a session

/**
 * A topic the AssemblyScript SDK serves only under a parent (listenUnder: a sub-API's method),
 * called without one, is the caller's mistake: BadRequest (400) with the SDK's words, as the Rust
 * SDK answers for tally.add, not InvalidTopic (502, the module's fault).
 */
describe("shelf-as: a sub-API's topic in the AssemblyScript SDK", () => {
  it("faults shelf.peek without a parent with BadRequest, in the SDK's words", async () => {
    const { call } = guestApp();
    const res = await call("shelf-as", "shelf.peek");
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      code: Code.BadRequest,
      detail: "no handler for topic shelf.peek (a sub-API's topic needs its parent call)",
    });
  });

  it("serves shelf.peek under a kept-alive shelf.open", async () => {
    const name = `shelf-${crypto.randomUUID().slice(0, 8)}`;
    const sessions = (env as unknown as Env).SESSIONS;
    const s = await open(`/bus/shelf-as/${name}`, (path, init) => sessions.get(sessions.idFromName(`shelf-as/${name}`)).fetch(`http://bus.test${path}`, init));
    s.call(1, "shelf.open", {}, { keepalive: true });
    expect((await s.next((f) => f.id === 1)).type).toBe("reply");
    s.call(2, "shelf.peek", {}, { parent: 1 });
    const peek = await s.next((f) => f.id === 2);
    expect(peek.type, JSON.stringify({ ...peek, payload: undefined })).toBe("reply");
    expect(s.json(peek)).toEqual({ underShelf: true });
    s.call(3, "shelf.peek", {});
    expect(await s.next((f) => f.id === 3)).toMatchObject({ type: "fault", codeName: "BadRequest" });
    // A peek the caller keeps alive is live for the host, but the module let its request go when it
    // replied: a peek under it names an object that is gone, the caller's mistake (NotFound, 404),
    // not InvalidTopic, which would be the module's own failure (a 502).
    s.call(4, "shelf.peek", {}, { parent: 1, keepalive: true });
    expect((await s.next((f) => f.id === 4)).type).toBe("reply");
    s.call(5, "shelf.peek", {}, { parent: 4 });
    expect(await s.next((f) => f.id === 5)).toMatchObject({ type: "fault", codeName: "NotFound" });
    s.ws.close(1000, "done");
  });
});
