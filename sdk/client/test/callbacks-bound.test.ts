// A callbacks() iterator holds at most MAX_UNREAD_CALLBACKS unread: one opened and never read
// would otherwise keep every callback a chatty server sends until its call ends. Past the bound
// it ends with LimitExceeded after what it holds (nothing let go unsaid); the call, its
// handlers and the iterators that are read get everything.
import { describe, expect, it } from "vitest";
import { BusError, type SessionCall } from "../src/index.js";
import { MAX_UNREAD_CALLBACKS } from "../src/session-call.js";
import { type FakeSocket, joinedChat, json, tick } from "./fakes.js";

/** One callback frame per socket message, each its own task as a real socket delivers them. */
const message = async (socket: FakeSocket, call: SessionCall<any, any>, n: number) => {
  socket.receive({ type: "callback", id: call.id, topic: "message", format: "json", payload: json({ from: "bob", text: `m${n}` }) });
  await tick();
};

describe("a callbacks() iterator nobody reads", () => {
  it("ends with LimitExceeded past MAX_UNREAD_CALLBACKS, after the ones it holds; the call, handlers and a read iterator get every callback", async () => {
    const { socket, join } = await joinedChat();

    let heard = 0;
    join.on("message", () => heard++);
    const unread = join.callbacks("message");
    const unreadAll = join.callbacks();
    const read: unknown[] = [];
    const reading = (async () => {
      for await (const event of join.callbacks()) read.push(event);
    })();

    const total = MAX_UNREAD_CALLBACKS + 5;
    for (let n = 0; n < total; n++) await message(socket, join, n);

    // The call goes on: a sub-call is answered, a callback still comes to the rest.
    expect(join.state).toBe("live");
    const post = join.call("post", { text: "still here" });
    socket.receive({ type: "reply", id: post.id, format: "json", payload: json({ delivered: 1 }) });
    expect(await post.reply).toEqual({ delivered: 1 });
    await message(socket, join, total);
    join.drop();
    await reading;
    expect(heard).toBe(total + 1);
    expect(read).toHaveLength(total + 1);
    expect(read.at(-1)).toEqual({ topic: "message", value: { from: "bob", text: `m${total}` } });

    // Each unread iterator: the ones it held, in order, then the error, then done.
    for (const [iterator, wrap] of [
      [unread, (v: unknown) => v],
      [unreadAll, (v: unknown) => ({ topic: "message", value: v })],
    ] as const) {
      for (let n = 0; n < MAX_UNREAD_CALLBACKS; n++) expect((await iterator.next()).value).toEqual(wrap({ from: "bob", text: `m${n}` }));
      const err = await iterator.next().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(BusError);
      expect(err).toMatchObject({ codeName: "LimitExceeded", topic: "join" });
      expect((err as BusError).message).toContain(`fell ${MAX_UNREAD_CALLBACKS} callbacks behind`);
      expect((err as BusError).message).toContain("`on` handlers");
      expect(await iterator.next()).toEqual({ value: undefined, done: true });
    }
  });

  it("a for-await loop that falls behind throws LimitExceeded out of the loop after the ones it held", async () => {
    const { socket, join } = await joinedChat();
    const iterator = join.callbacks("message");
    for (let n = 0; n <= MAX_UNREAD_CALLBACKS; n++) await message(socket, join, n);
    const got: string[] = [];
    await expect(
      (async () => {
        for await (const m of iterator) got.push(m.text);
      })(),
    ).rejects.toMatchObject({ codeName: "LimitExceeded" });
    expect(got).toEqual(Array.from({ length: MAX_UNREAD_CALLBACKS }, (_, n) => `m${n}`));
    expect(join.state).toBe("live");
    // A new iterator from here gets what comes next.
    const again = join.callbacks("message");
    await message(socket, join, 9999);
    expect((await again.next()).value).toEqual({ from: "bob", text: "m9999" });
  });
});
