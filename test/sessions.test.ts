import { pack } from "msgpackr";
import { describe, expect, it } from "vitest";
import { env } from "cloudflare:test";
import { modules } from "../build/registry.js";
import { modules as testGuests } from "../build/test-registry.js";
import { setSessionModules } from "../durable-objects/bus-session.js";
import { Code } from "../src/abi.js";
import type { Env } from "../src/env.js";
import { sessionServices } from "../src/remote.js";
import { open } from "./bus-socket.js";
import { guestApp } from "./helpers.js";
import { worker } from "./worker.js";

setSessionModules({ ...modules, ...testGuests }); // ticks-shared, a test guest, runs in a session

describe("sessions by name (GET /bus/:module/:session)", () => {
  it("keeps two chat rooms apart, and the default session is a room of its own", async () => {
    const [a1, a2, b1, d1] = await Promise.all([open("/bus/chat/room-a"), open("/bus/chat/room-a"), open("/bus/chat/room-b"), open("/bus/chat")]);
    a1.call(1, "join", { name: "ada" }, { keepalive: true });
    a2.call(1, "join", { name: "alan" }, { keepalive: true });
    b1.call(1, "join", { name: "bob" }, { keepalive: true });
    d1.call(1, "join", { name: "dan" }, { keepalive: true });
    for (const c of [a1, a2, b1, d1]) expect((await c.next((f) => f.type === "reply" && f.id === 1)).type).toBe("reply");

    b1.call(2, "post", { text: "only for room b" }, { parent: 1 });
    expect(b1.json(await b1.next((f) => f.type === "reply" && f.id === 2))).toEqual({ delivered: 1 });
    a1.call(2, "post", { text: "hello room a" }, { parent: 1 });
    expect(a1.json(await a1.next((f) => f.type === "reply" && f.id === 2))).toEqual({ delivered: 2 });
    expect(a2.json(await a2.next((f) => f.type === "callback"))).toEqual({ from: "ada", text: "hello room a" });
    await new Promise((r) => setTimeout(r, 200));
    // Nothing crossed between rooms.
    expect(a2.frames.filter((f) => f.type === "callback")).toEqual([]);
    expect(d1.frames.filter((f) => f.type === "callback")).toEqual([]);
    expect(b1.frames.filter((f) => f.type === "callback").map(b1.json)).toEqual([{ from: "bob", text: "only for room b" }]);
    for (const c of [a1, a2, b1, d1]) c.ws.close(1000, "done");
  });

  it.each(["x".repeat(65), "a b", "caf%C3%A9", "..%2F..%2Fetc", "%2E%2E%2E"])("refuses the session name %s with 400", async (name) => {
    const res = await worker(`/bus/chat/${name}`, { headers: { upgrade: "websocket" } });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ codeName: "BadRequest" });
  });

  it.each(["/bus/chat", "/bus/chat/room-a"])("answers GET %s without an upgrade with 426, naming the route asked", async (path) => {
    const res = await worker(path);
    expect(res.status).toBe(426);
    expect(await res.json()).toMatchObject({ codeName: "BadRequest", error: `GET ${path} is the bus over a WebSocket: it wants an Upgrade: websocket request` });
  });
});

describe("what one socket may do to a session it shares", () => {
  /** chat's limits.maxHandles is the default 4,096: a socket holds at most a sixteenth of it. */
  const CAP = 256;

  it(`holds one socket to ${CAP} live calls: past it a call fails LimitExceeded naming the cap, the socket stays, and the others go on`, { timeout: 30_000 }, async () => {
    const room = `/bus/chat/cap-${crypto.randomUUID().slice(0, 8)}`;
    const [good, bad] = await Promise.all([open(room), open(room)]);
    good.call(1, "join", { name: "good" }, { keepalive: true });
    expect((await good.next((f) => f.id === 1)).type).toBe("reply");
    const joins = CAP + 20;
    for (let id = 1; id <= joins; id++) bad.call(id, "join", { name: `b${id}` }, { keepalive: true });
    const answers = await Promise.all(Array.from({ length: joins }, (_, i) => bad.next((f) => f.id === i + 1 && (f.type === "reply" || f.type === "fault"), 15_000)));
    expect(answers.filter((f) => f.type === "reply")).toHaveLength(CAP);
    const refused = answers.filter((f) => f.type === "fault");
    expect(refused).toHaveLength(20);
    expect(refused[0]).toMatchObject({ codeName: "LimitExceeded", error: expect.stringContaining(`${CAP} live calls`) });

    // The good member is untouched: it posts and hears its post.
    good.call(2, "post", { text: "still mine" }, { parent: 1 });
    expect(good.json(await good.next((f) => f.id === 2 && f.type === "reply"))).toEqual({ delivered: CAP + 1 });
    // The full socket is open, and a call fits again once one of its calls ends.
    bad.ws.send(pack({ type: "drop", id: 1 }));
    bad.call(9999, "join", { name: "again" }, { keepalive: true });
    expect((await bad.next((f) => f.id === 9999 && f.type !== "callback")).type).toBe("reply");
    for (const c of [good, bad]) c.ws.close(1000, "done");
  });

  it.each([
    ["time.sleep", { duration_ms: 1 }],
    ["log.write", { level: 1, message: "from a client" }],
    ["process.spawn", { module: "hello", args: [], env: {}, stdin: null }],
    ["echo.echo", { any: "thing" }],
  ])("refuses a call frame naming wapm os (%s) as HTTP does: InvalidWapm", async (topic, body) => {
    const c = await open(`/bus/chat/os-${crypto.randomUUID().slice(0, 8)}`);
    c.call(1, topic, body, { wapm: "os" });
    expect(await c.next((f) => f.id === 1)).toMatchObject({ type: "fault", codeName: "InvalidWapm", error: expect.stringContaining("not served over a WebSocket") });
    // The socket goes on.
    c.call(2, "join", { name: "x" }, { keepalive: true });
    expect((await c.next((f) => f.id === 2)).type).toBe("reply");
    c.ws.close(1000, "done");
  });

  it("faults a call frame it cannot read but whose id it can (BadRequest), and answers an error frame with a code where it cannot read the id", async () => {
    const c = await open(`/bus/chat/bad-${crypto.randomUUID().slice(0, 8)}`);
    c.ws.send(pack({ type: "call", id: 5, topic: 42, format: "json" }));
    expect(await c.next((f) => f.id === 5)).toEqual({ type: "fault", id: 5, code: Code.BadRequest, codeName: "BadRequest", error: "bad frame: call.topic must be a string" });
    c.ws.send(pack({ type: "call", id: "5", topic: "join", format: "json" }));
    expect(await c.next((f) => f.type === "error")).toEqual({ type: "error", code: Code.BadRequest, codeName: "BadRequest", error: "bad frame: id must be a non-negative integer below 2^53" });
    c.ws.close(1000, "done");
  });

  it("refuses a call's payload as the HTTP edge refuses a body, before any guest runs: malformed, or not of the topic's request type (naming the field)", async () => {
    const c = await open(`/bus/chat/typed-${crypto.randomUUID().slice(0, 8)}`);
    c.call(1, "join", { name: 5 }, { keepalive: true });
    expect(await c.next((f) => f.id === 1)).toEqual({ type: "fault", id: 1, code: Code.BadRequest, codeName: "BadRequest", error: "request.name: expected a string, got a number (5)" });
    c.ws.send(pack({ type: "call", id: 2, topic: "join", format: "json", payload: new TextEncoder().encode("{nonsense") }));
    expect(await c.next((f) => f.id === 2)).toMatchObject({ type: "fault", id: 2, code: Code.DeserializationFailed });
    // msgpack for the json topic: held to the same type.
    c.ws.send(pack({ type: "call", id: 3, topic: "join", format: "msgpack", payload: pack({ nom: "x" }) }));
    expect(await c.next((f) => f.id === 3)).toMatchObject({ type: "fault", id: 3, code: Code.BadRequest, error: "request: missing field name" });
    // What fits goes on, and a topic nobody serves is still the routing's InvalidTopic.
    c.call(4, "join", { name: "ada" }, { keepalive: true });
    expect((await c.next((f) => f.id === 4)).type).toBe("reply");
    c.call(5, "no-such-topic", {});
    expect(await c.next((f) => f.id === 5)).toMatchObject({ type: "fault", id: 5, code: Code.InvalidTopic });
    c.ws.close(1000, "done");
  });

  it("refuses a call to another module over that module's requestBytes as LimitExceeded, as the runtime and the HTTP edge do, not by what its bytes say", async () => {
    // abi takes 8 MiB requests, hello the default 1 MiB: a frame the session's limit lets through
    // is over hello's, and its type is not judged (a BadRequest would say the caller sent a wrong
    // name, where the routing says it sent too much).
    const name = `over-${crypto.randomUUID().slice(0, 8)}`;
    const sessions = (env as unknown as Env).SESSIONS;
    const c = await open(`/bus/abi/${name}`, (path, init) => sessions.get(sessions.idFromName(`abi/${name}`)).fetch(`http://bus.test${path}`, init));
    const big = "x".repeat((1 << 20) + 10);
    c.call(1, "greet", { name: 5, pad: big }, { wapm: "hello" });
    expect(await c.next((f) => f.id === 1)).toMatchObject({ type: "fault", codeName: "LimitExceeded", error: expect.stringContaining("over module hello's limit of 1048576 (limits.requestBytes)") });
    // msgpack, whose container budget is taken from hello's limit: still LimitExceeded, not the budget's DeserializationFailed
    const arrays = new Uint8Array((1 << 20) + 10).fill(0x90);
    arrays.set([0xdd, 0x00, 0x10, 0x00, 0x05]);
    c.ws.send(pack({ type: "call", id: 2, topic: "greet", format: "msgpack", payload: arrays, wapm: "hello" }));
    expect(await c.next((f) => f.id === 2)).toMatchObject({ type: "fault", codeName: "LimitExceeded" });
    // within hello's limit the type is judged, as before
    c.call(3, "greet", { name: 5 }, { wapm: "hello" });
    expect(await c.next((f) => f.id === 3)).toMatchObject({ type: "fault", codeName: "BadRequest" });
    c.ws.close(1000, "done");
  });

  it("refuses a call frame reusing a live call's id with an error frame (InvalidHandle, or BadRequest unread) that ends no call: the live call's reply and callbacks still come under that id", async () => {
    // A call in flight: ticks-shared's wait sleeps 50 ms, then answers. A session of a test guest: straight to its object.
    const name = `dup-${crypto.randomUUID().slice(0, 8)}`;
    const sessions = (env as unknown as Env).SESSIONS;
    const t = await open(`/bus/ticks-shared/${name}`, (path, init) => sessions.get(sessions.idFromName(`ticks-shared/${name}`)).fetch(`http://bus.test${path}`, init));
    t.call(1, "wait", {});
    t.call(1, "count", {});
    t.ws.send(pack({ type: "call", id: 1, topic: 42, format: "json" }));
    expect(await t.next((f) => f.type === "error")).toEqual({
      type: "error",
      code: Code.InvalidHandle,
      codeName: "InvalidHandle",
      error: "call id 1 is in use by a live call of this socket, which goes on: this call frame is refused (an id is free again once its call ends)",
    });
    expect(await t.next((f) => f.type === "error")).toEqual({
      type: "error",
      code: Code.BadRequest,
      codeName: "BadRequest",
      error: "bad frame: call.topic must be a string (its id 1 is a live call's, which goes on)",
    });
    // The waiting call answers the n it got on arrival: the first call; no frame of the refused ones had id 1.
    const reply = await t.next((f) => f.id === 1, 3000);
    expect(reply.type).toBe("reply");
    expect(t.json(reply)).toBe(1);
    expect(t.frames).toEqual([]);
    // Ended, its id is free again.
    t.call(1, "count", {});
    expect(await t.next((f) => f.id === 1)).toMatchObject({ type: "reply" });

    // A kept-alive call is live after its reply: a frame reusing its id leaves it in the room.
    const [ada, bob] = await Promise.all([open(`/bus/chat/${name}`), open(`/bus/chat/${name}`)]);
    ada.call(1, "join", { name: "ada" }, { keepalive: true });
    expect((await ada.next((f) => f.id === 1)).type).toBe("reply");
    ada.call(1, "join", { name: "ada again" }, { keepalive: true });
    expect(await ada.next((f) => f.type === "error")).toMatchObject({ codeName: "InvalidHandle", error: expect.stringContaining("call id 1 is in use") });
    bob.call(1, "join", { name: "bob" }, { keepalive: true });
    expect(bob.json(await bob.next((f) => f.id === 1))).toEqual({ joined: "bob", members: 2 });
    bob.call(2, "post", { text: "ada?" }, { parent: 1 });
    expect(bob.json(await bob.next((f) => f.id === 2 && f.type === "reply"))).toEqual({ delivered: 2 });
    expect(ada.json(await ada.next((f) => f.id === 1 && f.type === "callback"))).toEqual({ from: "bob", text: "ada?" });
    expect(ada.frames).toEqual([]);
    for (const c of [t, ada, bob]) c.ws.close(1000, "done");
  });

  it("ends the kept-alive calls under a kept-alive call with it: each gets a fault frame (Aborted), and its id and place under the cap are free", async () => {
    const c = await open(`/bus/chat/nest-${crypto.randomUUID().slice(0, 8)}`);
    c.call(1, "join", { name: "ada" }, { keepalive: true });
    expect((await c.next((f) => f.id === 1)).type).toBe("reply");
    c.call(2, "post", { text: "kept" }, { parent: 1, keepalive: true });
    expect((await c.next((f) => f.id === 2 && f.type === "reply")).type).toBe("reply");
    c.ws.send(pack({ type: "drop", id: 1 }));
    // Its child went with it, and the client hears so (it was answered: nothing else would say it).
    expect(await c.next((f) => f.id === 2)).toMatchObject({ type: "fault", codeName: "Aborted" });
    // Its id is free, and a drop of it finds no live call.
    c.call(2, "join", { name: "ada again" }, { keepalive: true });
    const again = await c.next((f) => (f.id === 2 && f.type !== "callback") || f.type === "error");
    expect(again).toMatchObject({ type: "reply" });
    expect(c.json(again)).toEqual({ joined: "ada again", members: 1 });
    c.call(3, "post", { text: "kept" }, { parent: 2, keepalive: true });
    expect((await c.next((f) => f.id === 3 && f.type === "reply")).type).toBe("reply");
    c.ws.send(pack({ type: "drop", id: 2 }));
    c.ws.send(pack({ type: "drop", id: 3 }));
    expect(await c.next((f) => f.id === 3)).toMatchObject({ type: "fault", codeName: "Aborted" });
    expect(await c.next((f) => f.id === 3)).toMatchObject({ type: "fault", codeName: "InvalidHandle", error: "no live call 3 to drop" });
    c.ws.close(1000, "done");
  });

  it("closes the socket with 1009 on a frame too large to read at all, saying why", async () => {
    const c = await open(`/bus/chat/big-${crypto.randomUUID().slice(0, 8)}`);
    const closed = new Promise<{ code: number; reason: string }>((resolve) => c.ws.addEventListener("close", (e) => resolve({ code: e.code, reason: e.reason })));
    c.ws.send(pack({ type: "call", id: 1, topic: "join", format: "json", payload: new Uint8Array(2 * (1 << 20) + (64 << 10) + 1) }));
    expect(await closed).toMatchObject({ code: 1009, reason: expect.stringContaining("over the limit (requestBytes 1048576)") });
  });
});

describe("names a client sends", () => {
  it("cuts a huge topic or wapm to 256 characters in its fault", async () => {
    const c = await open(`/bus/chat/long-${crypto.randomUUID().slice(0, 8)}`);
    c.call(1, "t".repeat(1 << 20), {});
    c.call(2, "greet", {}, { wapm: "w".repeat(1 << 20) });
    const [topic, wapm] = [await c.next((f) => f.id === 1), await c.next((f) => f.id === 2)];
    expect(topic).toMatchObject({ codeName: "InvalidTopic", error: `module chat has no topic ${"t".repeat(256)}… (1048576 characters)` });
    expect(wapm).toMatchObject({ codeName: "InvalidWapm", error: `no module named ${"w".repeat(256)}… (1048576 characters)` });
    c.ws.close(1000, "done");
  });

  it.each(["chat@.", "chat@..", "chat@..."])("refuses %s, a session name of dots only that no URL can open", async (wapm) => {
    const c = await open(`/bus/chat/dots-${crypto.randomUUID().slice(0, 8)}`);
    c.call(1, "join", { name: "x" }, { wapm, keepalive: true });
    expect(await c.next((f) => f.id === 1)).toMatchObject({ type: "fault", codeName: "InvalidWapm" });
    c.ws.close(1000, "done");
  });
});

describe("a session whose instance cannot be made (init-trap: its _initialize traps)", () => {
  it("answers a call to <module>@<session> with the module's failure, as a plain call to the module gets it, not the object's", async () => {
    const { call } = guestApp({ remote: sessionServices(() => (env as unknown as Env).SESSIONS) });
    const plain = await call("init-trap", "hi");
    const viaSession = await call(`init-trap@s-${crypto.randomUUID().slice(0, 8)}`, "hi");
    // All but the name it was called by (`module`).
    const body = async (res: Response) => {
      const { code, codeName, error } = (await res.json()) as { code: number; codeName: string; error: string };
      return { status: res.status, code, codeName, error };
    };
    const expected = await body(plain);
    expect(expected).toMatchObject({ status: 500, codeName: "GuestTrapped" });
    expect(await body(viaSession)).toEqual(expected);
  });
});
