import { pack, unpack } from "msgpackr";
import { describe, expect, it } from "vitest";
import { worker } from "./worker.js";

type Frame = { type: string; id?: number; topic?: string; payload?: Uint8Array; codeName?: string; error?: string };

/** A bus client inside workerd: the WebSocket of a fetch upgrade, frames buffered as they come. */
async function open(path: string) {
  const res = await worker(path, { headers: { upgrade: "websocket" } });
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  ws.accept();
  const frames: Frame[] = [];
  let wake: (() => void) | undefined;
  // Binary messages arrive as Blobs here: read them in order.
  let order = Promise.resolve();
  ws.addEventListener("message", (e) => {
    const data = e.data as Blob | ArrayBuffer;
    order = order.then(async () => {
      frames.push(unpack(new Uint8Array(data instanceof ArrayBuffer ? data : await data.arrayBuffer())) as Frame);
      wake?.();
    });
  });
  const next = async (match: (f: Frame) => boolean, ms = 5000): Promise<Frame> => {
    const until = Date.now() + ms;
    for (;;) {
      const i = frames.findIndex(match);
      if (i >= 0) return frames.splice(i, 1)[0]!;
      if (Date.now() > until) throw new Error(`no matching frame in ${ms} ms; have ${JSON.stringify(frames)}`);
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 50);
      });
    }
  };
  const call = (id: number, topic: string, body: unknown, extra: Record<string, unknown> = {}) =>
    ws.send(pack({ type: "call", id, topic, format: "json", payload: new TextEncoder().encode(JSON.stringify(body)), ...extra }));
  const json = (f: Frame) => JSON.parse(new TextDecoder().decode(f.payload));
  return { ws, frames, next, call, json };
}

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
