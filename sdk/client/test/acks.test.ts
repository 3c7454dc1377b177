// Acks of what a socket received (docs/host.md, "How far behind a client is"): the server holds a
// client to socketBufferBytes of frames it has not acknowledged, so the typed client acks every
// frame, one ack per burst, within ACK_DELAY_MS.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ACK_BYTES, ACK_DELAY_MS, utf8Bytes } from "../src/acks.js";
import { Client, modules } from "../src/index.js";
import { fakeFetch, fakeSockets, json, pack } from "./fakes.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("acks of what the socket received", () => {
  it("a session acks the bytes of every frame, one ack a burst, each socket counting from its own start", async () => {
    const { sockets, factory } = fakeSockets();
    const { fetch } = fakeFetch(() => Response.json({}));
    const chat = new Client({ url: "http://bus.test", webSocket: factory, fetch, modules }).session("chat", "room");
    const join = chat.call("join", { name: "ada" }, { keepalive: true });
    const socket = sockets[0]!;
    socket.open();
    await chat.opened();
    const acks = () => socket.frames().filter((f) => f.type === "ack");
    const reply = { type: "reply", id: join.id, format: "json", payload: json({ joined: "ada", members: 1 }) };
    const callback = { type: "callback", id: join.id, topic: "message", format: "json", payload: json({ from: "bob", text: "hé" }) };
    socket.receive(reply);
    socket.receive(callback);
    expect(acks(), "not yet: a burst shares one").toEqual([]);
    await vi.advanceTimersByTimeAsync(ACK_DELAY_MS);
    const first = pack(reply).length + pack(callback).length;
    expect(acks()).toEqual([{ type: "ack", bytes: first }]);
    // Even a frame the client cannot read was received: it counts.
    socket.receiveBytes(Uint8Array.of(0xc1));
    await vi.advanceTimersByTimeAsync(ACK_DELAY_MS);
    expect(acks()).toEqual([{ type: "ack", bytes: first }, { type: "ack", bytes: first + 1 }]);
    await vi.advanceTimersByTimeAsync(10 * ACK_DELAY_MS);
    expect(acks(), "nothing new, no ack").toHaveLength(2);
    // ACK_BYTES come: acked at once, not after the delay.
    const big = { ...callback, payload: json({ from: "bob", text: "x".repeat(ACK_BYTES) }) };
    socket.receive(big);
    expect(acks().at(-1)).toEqual({ type: "ack", bytes: first + 1 + pack(big).length });

    // A new socket is a new count: its server has sent it nothing yet.
    socket.drop();
    await vi.advanceTimersByTimeAsync(60_000);
    const again = sockets[1]!;
    again.open();
    again.receive(callback);
    await vi.advanceTimersByTimeAsync(ACK_DELAY_MS);
    expect(again.frames().filter((f) => f.type === "ack")).toEqual([{ type: "ack", bytes: pack(callback).length }]);
    await chat.close();
  });

  it("an attachment acks the UTF-8 bytes of its text frames with {\"received\": n}", async () => {
    const { sockets, factory } = fakeSockets();
    const { fetch } = fakeFetch(() => Response.json({}));
    const attaching = new Client({ url: "https://bus.test", webSocket: factory, fetch }).process("abc").attach();
    const socket = sockets[0]!;
    socket.open();
    const attachment = await attaching;
    const frames = [JSON.stringify({ stream: "stdout", line: "€ and 😀" }), JSON.stringify({ stream: "stderr", line: "plain" })];
    for (const f of frames) socket.receive(f);
    await vi.advanceTimersByTimeAsync(ACK_DELAY_MS);
    const total = frames.reduce((n, f) => n + new TextEncoder().encode(f).length, 0);
    expect(socket.sent).toEqual([JSON.stringify({ received: total })]);
    // None goes after the close.
    socket.receive(JSON.stringify({ exit: 0 }));
    attachment.close();
    await vi.advanceTimersByTimeAsync(ACK_DELAY_MS);
    expect(socket.sent).toHaveLength(1);
  });

  it("counts UTF-8 as TextEncoder does, lone surrogates as U+FFFD", () => {
    for (const text of ["", "ascii", "é", "€", "😀", "\ud800", "x\udc00y", "\ud800\ud800\udc00"]) {
      expect(utf8Bytes(text), JSON.stringify(text)).toBe(new TextEncoder().encode(text).length);
    }
  });
});
