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

  it.each(["x".repeat(65), "a b", "caf%C3%A9", "..%2F..%2Fetc"])("refuses the session name %s with 400", async (name) => {
    const res = await worker(`/bus/chat/${name}`, { headers: { upgrade: "websocket" } });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ codeName: "BadRequest" });
  });
});
