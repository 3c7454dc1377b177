import { describe, expect, it, vi } from "vitest";
import { BusError, Client, modules, type SessionCall } from "../src/index.js";
import { STABLE_MS, backoffDelay } from "../src/backoff.js";
import { WHY_NO_SOCKET_MS } from "../src/http.js";
import { fakeFetch, fakeSockets, json, tick } from "./fakes.js";

const text = (b: unknown) => JSON.parse(new TextDecoder().decode(b as Uint8Array)) as unknown;

function setup(options: { fetch?: (req: Request) => Response; token?: string } = {}) {
  const { sockets, factory } = fakeSockets();
  const { requests, fetch } = fakeFetch(options.fetch ?? (() => Response.json({ error: "wants a WebSocket", code: 12, codeName: "BadRequest" }, { status: 426 })));
  const client = new Client({ url: "http://bus.test", webSocket: factory, fetch, modules, ...(options.token ? { token: options.token } : {}) });
  return { client, sockets, requests };
}

describe("a bus session over a WebSocket", () => {
  it("opens /bus/:module/:session, sends queued calls once open, and routes replies and callbacks", async () => {
    const { client, sockets } = setup();
    const chat = client.session("chat", "room-1");
    const join = chat.call("join", { name: "ada" }, { keepalive: true });
    const seen: string[] = [];
    join.on("message", (m) => seen.push(m.text));
    expect(join.state).toBe("queued");
    const socket = sockets[0]!;
    expect(socket.url).toBe("ws://bus.test/bus/chat/room-1");
    expect(socket.sent).toEqual([]);
    socket.open();
    await chat.opened();
    expect(socket.binaryType).toBe("arraybuffer");
    const [frame] = socket.frames();
    expect(frame).toMatchObject({ type: "call", id: join.id, topic: "join", format: "json", keepalive: true });
    expect(text(frame!.payload)).toEqual({ name: "ada" });
    expect(join.state).toBe("pending");

    socket.receive({ type: "reply", id: join.id, format: "json", payload: json({ joined: "ada", members: 1 }) });
    expect(await join.reply).toEqual({ joined: "ada", members: 1 });
    expect(join.state).toBe("live");

    // A sub-call names its parent; callbacks reach handlers and iterators.
    const iterator = join.callbacks("message");
    const post = join.call("post", { text: "hi" });
    expect(socket.frames()[1]).toMatchObject({ type: "call", id: post.id, topic: "post", parent: join.id });
    socket.receive({ type: "callback", id: join.id, topic: "message", format: "json", payload: json({ from: "ada", text: "hi" }) });
    socket.receive({ type: "reply", id: post.id, format: "json", payload: json({ delivered: 1 }) });
    expect(await post.reply).toEqual({ delivered: 1 });
    expect(post.state).toBe("done");
    expect(seen).toEqual(["hi"]);
    expect((await iterator.next()).value).toEqual({ from: "ada", text: "hi" });

    // Dropping sends a drop frame and ends the iterators.
    join.drop();
    expect(socket.frames()[2]).toEqual({ type: "drop", id: join.id });
    expect(join.state).toBe("dropped");
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
    // A stray frame for the dropped call is ignored.
    socket.receive({ type: "fault", id: join.id, code: 8, codeName: "InvalidHandle", error: "no live call" });
    expect(join.state).toBe("dropped");
  });

  it("opens /bus/:module for the default session and decodes msgpack payloads", async () => {
    const { client, sockets } = setup();
    const session = client.session("counter-rs", undefined, { format: "msgpack" });
    expect(session.name).toBe("default");
    expect(sockets[0]!.url).toBe("ws://bus.test/bus/counter-rs");
    sockets[0]!.open();
    const open = session.call("counter.open", { start: 5 }, { keepalive: true });
    const changes = open.callbacks();
    const { Packr } = await import("msgpackr");
    const packr = new Packr({ useRecords: false });
    expect(packr.unpack(sockets[0]!.frames()[0]!.payload as Uint8Array)).toEqual({ start: 5 });
    sockets[0]!.receive({ type: "callback", id: open.id, topic: "on_change", format: "msgpack", payload: packr.pack(7) });
    expect((await changes.next()).value).toEqual({ topic: "on_change", value: 7 });
  });

  it("faults a call with the ABI's code name and the module's words; the iterator throws", async () => {
    const { client, sockets } = setup();
    const chat = client.session("chat");
    sockets[0]!.open();
    const post = chat.call("post", { text: "no parent" });
    const callbacks = post.callbacks();
    sockets[0]!.receive({ type: "fault", id: post.id, code: 12, codeName: "BadRequest", error: "the guest faulted the call", detail: "post needs a live join" });
    const err = await post.reply.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BusError);
    expect(err).toMatchObject({ code: 12, codeName: "BadRequest", module: "chat", topic: "post", detail: "post needs a live join" });
    expect(post.state).toBe("failed");
    await expect(callbacks.next()).rejects.toBe(err);
  });

  it("fails a call with a fault frame whose fields have the wrong types (a proxy's, a newer runtime's), instead of throwing and leaving it pending", async () => {
    const { client, sockets } = setup();
    const chat = client.session("chat");
    const socket = sockets[0]!;
    socket.open();
    const post = chat.call("post", { text: "hi" });
    socket.receive({ type: "fault", id: post.id, code: "12", error: { why: "no" }, detail: "d" });
    await expect(post.reply).rejects.toMatchObject({ name: "BusError", codeName: "Unknown", module: "chat", topic: "post", message: expect.stringContaining('error {"why":"no"}, code "12"') });
    expect(post.state).toBe("failed");
    const get = chat.call("post", { text: "again" });
    socket.receive({ type: "fault", id: get.id, code: 8, error: "no live call", detail: 5, module: 3 });
    await expect(get.reply).rejects.toMatchObject({ codeName: "InvalidHandle", message: "no live call", module: "chat" });
    expect((await get.reply.catch((e: BusError) => e)).detail).toBeUndefined();
    expect(chat.calls).toEqual([]);
  });

  it("fails a call with a fault frame whose error is empty or whose code is Success as Unknown, saying what the frame held", async () => {
    const { client, sockets } = setup();
    const chat = client.session("chat");
    const socket = sockets[0]!;
    socket.open();
    const empty = chat.call("post", { text: "empty" });
    socket.receive({ type: "fault", id: empty.id, code: 12, error: "" });
    await expect(empty.reply).rejects.toMatchObject({ codeName: "Unknown", message: `call ${empty.id} (post) failed with a fault frame that cannot be read: error "", code 12` });
    const success = chat.call("post", { text: "success" });
    socket.receive({ type: "fault", id: success.id, code: 0, error: "ok?" });
    await expect(success.reply).rejects.toMatchObject({ codeName: "Unknown", message: expect.stringContaining('error "ok?", code 0') });
  });

  it("fails a call whose reply payload is not bytes (a str, a number) with SerializationFailed, in raw and msgpack alike", async () => {
    const { client, sockets } = setup();
    const chat = client.session("chat");
    const socket = sockets[0]!;
    socket.open();
    const raw = chat.call("post", "hi", { format: "raw" });
    socket.receive({ type: "reply", id: raw.id, format: "raw", payload: "not bytes" });
    await expect(raw.reply).rejects.toMatchObject({ codeName: "SerializationFailed", message: expect.stringContaining("its payload is not bytes but string") });
    const packed = chat.call("post", { text: "hi" }, { format: "msgpack" });
    socket.receive({ type: "reply", id: packed.id, format: "msgpack", payload: 5 });
    await expect(packed.reply).rejects.toMatchObject({ codeName: "SerializationFailed", message: expect.stringContaining("its payload is not bytes but number") });
  });

  it("fails a call that gets a callback without a string topic with SerializationFailed and drops it on the server", async () => {
    const { client, sockets } = setup();
    const chat = client.session("chat");
    const socket = sockets[0]!;
    socket.open();
    const join = chat.call("join", { name: "ada" }, { keepalive: true });
    const events = join.callbacks();
    socket.receive({ type: "callback", id: join.id, topic: 5, format: "json", payload: json({ text: "hi" }) });
    await expect(join.reply).rejects.toMatchObject({ codeName: "SerializationFailed", message: expect.stringContaining("its topic is not a string but 5") });
    await expect(events.next()).rejects.toMatchObject({ codeName: "SerializationFailed" });
    expect(socket.frames().at(-1)).toEqual({ type: "drop", id: join.id });
  });

  it("says an error frame's message as a string, whatever type the server gave it", () => {
    const { client, sockets } = setup();
    const chat = client.session("chat");
    const errors: unknown[] = [];
    chat.on("error", (e) => errors.push(e));
    sockets[0]!.open();
    sockets[0]!.receive({ type: "error", error: { nested: 1 } });
    sockets[0]!.receive({ type: "error", error: 5 });
    sockets[0]!.receive({ type: "error", error: "bad frame" });
    expect(errors).toEqual(["the server could not read a frame (its error frame said no more)", "the server could not read a frame (its error frame said no more)", "bad frame"]);
  });

  it("fails a call whose reply or callback payload it cannot read with SerializationFailed, dropping it on the server; a frame that is no map is an error event", async () => {
    const { client, sockets } = setup();
    const chat = client.session("chat");
    const errors: string[] = [];
    chat.on("error", (e) => errors.push(e));
    const socket = sockets[0]!;
    socket.open();
    const post = chat.call("post", { text: "hi" });
    socket.receive({ type: "reply", id: post.id, format: "json", payload: new TextEncoder().encode('{"delivered": ') });
    await expect(post.reply).rejects.toMatchObject({ name: "BusError", codeName: "SerializationFailed", module: "chat", topic: "post" });
    expect(post.state).toBe("failed");
    const join = chat.call("join", { name: "ada" }, { keepalive: true });
    const callbacks = join.callbacks();
    socket.receive({ type: "callback", id: join.id, topic: "message", format: "msgpack", payload: new Uint8Array([0x92, 0x01]) });
    await expect(callbacks.next()).rejects.toMatchObject({ codeName: "SerializationFailed" });
    expect(join.state).toBe("failed");
    expect(socket.frames().at(-1)).toEqual({ type: "drop", id: join.id });
    socket.receive(null as never); // msgpack nil
    await tick();
    expect(errors).toEqual([expect.stringContaining("unreadable frame")]);
    expect(chat.state).toBe("open");
  });

  it("reports error frames without failing any call", async () => {
    const { client, sockets } = setup();
    const chat = client.session("chat");
    const errors: string[] = [];
    chat.on("error", (e) => errors.push(e));
    sockets[0]!.open();
    sockets[0]!.receive({ type: "error", error: "bad frame: not msgpack" });
    expect(errors).toEqual(["bad frame: not msgpack"]);
    expect(chat.state).toBe("open");
  });

  it("handles a Blob frame (a browser socket's binaryType left \"blob\") in its place: before the frames and the close that came after it", async () => {
    const { client, sockets } = setup();
    const chat = client.session("chat", "room", { reconnect: false });
    const socket = sockets[0]!;
    socket.open();
    const join = chat.call("join", { name: "ada" }, { keepalive: true });
    const heard: string[] = [];
    join.on("message", (m) => heard.push(m.text));
    socket.receiveBlob({ type: "callback", id: join.id, topic: "message", format: "json", payload: json({ from: "bo", text: "first" }) });
    socket.receive({ type: "callback", id: join.id, topic: "message", format: "json", payload: json({ from: "bo", text: "second" }) });
    socket.receiveBlob({ type: "callback", id: join.id, topic: "message", format: "json", payload: json({ from: "bo", text: "third" }) });
    socket.receive({ type: "callback", id: join.id, topic: "message", format: "json", payload: json({ from: "bo", text: "fourth" }) });
    await vi.waitFor(() => expect(heard).toHaveLength(4));
    expect(heard).toEqual(["first", "second", "third", "fourth"]);
    // A reply read from a Blob, then the close: the reply came first, so the call is not lost.
    const post = join.call("post", { text: "hi" });
    socket.receiveBlob({ type: "reply", id: post.id, format: "json", payload: json({ delivered: 1 }) });
    socket.closeBy(1000, "bye");
    await expect(post.reply).resolves.toEqual({ delivered: 1 });
    await expect(join.ended).resolves.toBe("lost");
  });

  it("tells the lost calls the server's close code and reason (1009: a frame too large to read)", async () => {
    const { client, sockets } = setup();
    const chat = client.session("chat", "room", { reconnect: false });
    sockets[0]!.open();
    const join = chat.call("join", { name: "ada" }, { keepalive: true });
    const reasons: string[] = [];
    chat.on("lost", (_calls, reason) => reasons.push(reason.message));
    sockets[0]!.closeBy(1009, "a frame of 3000000 bytes is over the limit (requestBytes 1048576)");
    await expect(join.reply).rejects.toMatchObject({
      codeName: "Aborted",
      message: "lost: the connection to session chat/room closed (1009: a frame of 3000000 bytes is over the limit (requestBytes 1048576)) before the call ended",
    });
    expect(reasons).toEqual([join.error!.message]);
    expect(chat.state).toBe("closed");
  });

  it("when the connection drops: says which calls were lost, fails them, reconnects with back-off, and sends new calls on the new socket", async () => {
    vi.useFakeTimers();
    try {
      const { client, sockets } = setup();
      const chat = client.session("chat", "room", { reconnect: { initialDelayMs: 100, maxDelayMs: 1000 } });
      const lostReports: SessionCall<any, any>[][] = [];
      const retries: number[] = [];
      const opens: boolean[] = [];
      chat.on("lost", (calls) => lostReports.push(calls));
      chat.on("retry", ({ delayMs }) => retries.push(delayMs));
      chat.on("open", ({ reconnected }) => opens.push(reconnected));
      sockets[0]!.open();
      const join = chat.call("join", { name: "ada" }, { keepalive: true });
      const pending = chat.call("post", { text: "in flight" }, { parent: join });
      sockets[0]!.receive({ type: "reply", id: join.id, format: "json", payload: json({ joined: "ada", members: 1 }) });
      await join.reply;
      const iterator = join.callbacks("message");

      sockets[0]!.drop();
      await vi.advanceTimersByTimeAsync(0);
      expect(lostReports).toHaveLength(1);
      expect(lostReports[0]!.map((c) => c.topic)).toEqual(["join", "post"]);
      expect(join.state).toBe("lost");
      expect(pending.state).toBe("lost");
      await expect(pending.reply).rejects.toMatchObject({ codeName: "Aborted", message: expect.stringMatching(/^lost/) });
      await expect(iterator.next()).rejects.toMatchObject({ codeName: "Aborted" });
      expect(chat.state).toBe("reconnecting");

      // Made while reconnecting: it waits for the new socket. A sub-call of a lost call cannot be made.
      const again = chat.call("join", { name: "ada" }, { keepalive: true });
      const orphan = join.call("post", { text: "orphan" });
      expect(sockets).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(retries[0]!);
      expect(sockets).toHaveLength(2);
      // The first retry fails too: the back-off grows.
      sockets[1]!.drop();
      await vi.advanceTimersByTimeAsync(0);
      expect(retries).toHaveLength(2);
      expect(retries[0]!).toBeGreaterThanOrEqual(50);
      expect(retries[0]!).toBeLessThanOrEqual(100);
      expect(retries[1]!).toBeGreaterThanOrEqual(100);
      expect(retries[1]!).toBeLessThanOrEqual(200);
      await vi.advanceTimersByTimeAsync(retries[1]!);
      sockets[2]!.open();
      expect(opens).toEqual([false, true]);
      expect(sockets[2]!.frames().map((f) => f.id)).toEqual([again.id]);
      expect(orphan.state).toBe("failed");
      await expect(orphan.reply).rejects.toMatchObject({ codeName: "InvalidHandle" });
      expect(chat.state).toBe("open");
    } finally {
      vi.useRealTimers();
    }
  });

  it("a server that closes every socket as it opens: the back-off grows and maxAttempts ends it; a socket open STABLE_MS starts the count again", async () => {
    vi.useFakeTimers();
    try {
      const { client, sockets } = setup();
      const chat = client.session("chat", "room", { reconnect: { initialDelayMs: 100, maxDelayMs: 100_000, maxAttempts: 3 } });
      const retries: { attempt: number; delayMs: number }[] = [];
      chat.on("retry", (info) => retries.push(info));
      const closed = new Promise((resolve) => chat.on("close", resolve));
      const next = async () => {
        await vi.advanceTimersByTimeAsync(retries.at(-1)!.delayMs);
        const socket = sockets.at(-1)!;
        socket.open();
        return socket;
      };
      sockets[0]!.open();
      sockets[0]!.closeBy(1011, "going away");
      (await next()).closeBy(1011, "going away");
      // One that stays open long enough is progress: the drop after it retries from the first wait.
      const stable = await next();
      await vi.advanceTimersByTimeAsync(STABLE_MS);
      stable.closeBy(1011, "going away");
      (await next()).closeBy(1011, "going away");
      (await next()).closeBy(1011, "going away");
      expect(retries.map((r) => r.attempt)).toEqual([1, 2, 1, 2, 3]);
      [1, 2, 1, 2, 3].forEach((attempt, n) => expect(retries[n]!.delayMs).toBeGreaterThanOrEqual(50 * 2 ** (attempt - 1)));
      expect(sockets).toHaveLength(5);
      (await next()).closeBy(1011, "going away");
      expect(await closed).toMatchObject({ codeName: "Aborted", message: expect.stringContaining("(1011: going away)") });
      await vi.advanceTimersByTimeAsync(60_000);
      expect(sockets).toHaveLength(6);
    } finally {
      vi.useRealTimers();
    }
  });

  it("a reconnect refused for good (401) closes the session with that error; one refused for now (429) is tried again", async () => {
    let answer = () => Response.json({ error: "slow down", code: 28, codeName: "Busy" }, { status: 429 });
    const { client, sockets } = setup({ fetch: () => answer() });
    const chat = client.session("chat", "room", { reconnect: { initialDelayMs: 1, maxDelayMs: 1 } });
    const closed = new Promise((resolve) => chat.on("close", resolve));
    sockets[0]!.open();
    sockets[0]!.drop();
    await new Promise((r) => setTimeout(r, 20));
    sockets.at(-1)!.drop(); // refused with 429: tried again
    await new Promise((r) => setTimeout(r, 20));
    expect(sockets.length).toBeGreaterThanOrEqual(3);
    expect(chat.state).toBe("reconnecting");
    answer = () => Response.json({ error: "the bearer token is wrong", code: 27, codeName: "Unauthorized" }, { status: 401 });
    sockets.at(-1)!.drop();
    expect(await closed).toMatchObject({ codeName: "Unauthorized", status: 401 });
    expect(chat.state).toBe("closed");
  });

  it("with reconnect off, a drop closes the session and later calls fail at once", async () => {
    const { client, sockets } = setup();
    const chat = client.session("chat", undefined, { reconnect: false });
    const closes: unknown[] = [];
    chat.on("close", (reason) => closes.push(reason));
    sockets[0]!.open();
    sockets[0]!.drop();
    await tick();
    expect(chat.state).toBe("closed");
    expect(closes).toHaveLength(1);
    const late = chat.call("join", { name: "x" });
    await expect(late.reply).rejects.toMatchObject({ codeName: "Aborted" });
  });

  it("a socket that never opens: opened() and the queued calls fail with the route's own error (asked over HTTP)", async () => {
    const { client, sockets, requests } = setup({ fetch: () => Response.json({ error: "no module named nope", code: 3, codeName: "InvalidWapm" }, { status: 404 }) });
    const session = client.session("nope", "x");
    const call = session.call("anything", {});
    sockets[0]!.drop();
    const err = await session.opened().catch((e: unknown) => e);
    expect(err).toMatchObject({ codeName: "InvalidWapm", status: 404 });
    await expect(call.reply).rejects.toBe(err);
    expect(session.state).toBe("closed");
    expect(new URL(requests[0]!.url).pathname).toBe("/bus/nope/x");
    expect(sockets).toHaveLength(1); // no retry: it never worked
  });

  it("fails a refused handshake with Timeout where the question of why gets no answer (a proxy that holds it), and the calls waiting with it", async () => {
    vi.useFakeTimers();
    try {
      const { sockets, factory } = fakeSockets();
      // A fetch that never answers, and rejects as fetch does when its signal aborts.
      const { fetch } = fakeFetch((req) => new Promise<Response>((_, reject) => req.signal.addEventListener("abort", () => reject(req.signal.reason))));
      const session = new Client({ url: "http://bus.test", webSocket: factory, fetch }).session("chat");
      const call = session.call("join", { name: "ada" });
      sockets[0]!.refuse();
      await vi.advanceTimersByTimeAsync(WHY_NO_SOCKET_MS);
      expect(call.state).toBe("failed");
      await expect(call.reply).rejects.toMatchObject({ codeName: "Timeout", message: expect.stringContaining(`no answer in ${WHY_NO_SOCKET_MS} ms`) });
      await expect(session.opened()).rejects.toMatchObject({ codeName: "Timeout" });
      expect(session.state).toBe("closed");
    } finally {
      vi.useRealTimers();
    }
  });

  it("takes a refused handshake reported only as an error (Node's WebSocket) as a refusal too", async () => {
    const { client, sockets } = setup({ fetch: () => Response.json({ error: "the bearer token is wrong", code: 27, codeName: "Unauthorized" }, { status: 401 }) });
    const session = client.session("chat");
    sockets[0]!.refuse();
    await expect(session.opened()).rejects.toMatchObject({ codeName: "Unauthorized", status: 401 });
    expect(session.state).toBe("closed");
  });

  it("sends the bearer token: as a header where the WebSocket takes one", async () => {
    const { client, sockets } = setup({ token: "s3cret" });
    client.session("chat");
    expect(sockets[0]!.headers).toEqual({ authorization: "Bearer s3cret" });
  });

  it("close() closes the socket and ends the calls still going", async () => {
    const { client, sockets } = setup();
    const chat = client.session("chat");
    sockets[0]!.open();
    const join = chat.call("join", { name: "ada" }, { keepalive: true });
    await chat.close();
    expect(sockets[0]!.readyState).toBe(3);
    expect(chat.state).toBe("closed");
    expect(join.state).toBe("dropped");
    await expect(join.reply).rejects.toBeInstanceOf(BusError);
  });

  it("backs off exponentially, capped, with jitter between half and all", () => {
    expect([0, 1, 2, 3, 10].map((a) => backoffDelay(a, { initialDelayMs: 100, maxDelayMs: 1000 }, () => 1))).toEqual([100, 200, 400, 800, 1000]);
    expect(backoffDelay(2, { initialDelayMs: 100 }, () => 0)).toBe(200);
  });
});
