import { describe, expect, it } from "vitest";
import { open } from "./bus-socket.js";
import { worker } from "./worker.js";

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
