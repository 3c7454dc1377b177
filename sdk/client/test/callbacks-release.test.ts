/// <reference types="node" />
// An iterator of a call's callbacks that its reader leaves (break, return) is let go of at once,
// not when the call ends: a long kept-alive call whose caller opens and leaves iterators must
// not keep each one (and what it buffered). Whether it is kept is asked of the garbage collector.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import type { SessionCall } from "../src/index.js";
import { MAX_UNREAD_CALLBACKS } from "../src/session-call.js";
import { type FakeSocket, joinedChat, pack } from "./fakes.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** Collects what nothing holds: WeakRefs keep their targets until the current job ends, so wait one out first. */
async function collect(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 0));
    gc();
  }
}

const message = (socket: FakeSocket, call: SessionCall<any, any>, text: string) =>
  socket.receive({ type: "callback", id: call.id, topic: "message", format: "msgpack", payload: pack({ from: "bob", text }) });

describe("callbacks() iterators a reader leaves", () => {
  it("are let go of while the call lives on: a for-await left by break, one returned unread with callbacks buffered", async () => {
    const { socket, join } = await joinedChat();
    const kept = join.callbacks("message");

    // Left by break after one callback.
    const broken = await (async () => {
      const iterator = join.callbacks("message");
      const seen: unknown[] = [];
      const loop = (async () => {
        for await (const m of iterator) {
          seen.push(m);
          break;
        }
      })();
      message(socket, join, "one");
      await loop;
      expect(seen).toEqual([{ from: "bob", text: "one" }]);
      return new WeakRef(iterator);
    })();
    // Returned without being read, with callbacks waiting in it.
    const returned = await (async () => {
      const iterator = join.callbacks();
      message(socket, join, "two");
      message(socket, join, "three");
      await iterator.return!();
      return new WeakRef(iterator);
    })();

    await collect();
    expect(join.state).toBe("live");
    expect(broken.deref()).toBeUndefined();
    expect(returned.deref()).toBeUndefined();
    // The iterator still read gets every callback, before and after.
    message(socket, join, "four");
    expect((await kept.next()).value).toEqual({ from: "bob", text: "one" });
    expect((await kept.next()).value).toEqual({ from: "bob", text: "two" });
    expect((await kept.next()).value).toEqual({ from: "bob", text: "three" });
    expect((await kept.next()).value).toEqual({ from: "bob", text: "four" });
    // A second return does nothing more.
    await kept.return!();
    await kept.return!();
    join.drop();
    expect(await kept.next()).toEqual({ value: undefined, done: true });
  });
});

describe("a callbacks() iterator that falls past its bound", () => {
  it("is let go of then, while the call lives on, though its reader never returned it", async () => {
    const { socket, join } = await joinedChat();
    const behind = (() => {
      const iterator = join.callbacks("message");
      for (let n = 0; n <= MAX_UNREAD_CALLBACKS; n++) message(socket, join, `m${n}`);
      return new WeakRef(iterator);
    })();
    await collect();
    expect(join.state).toBe("live");
    expect(behind.deref()).toBeUndefined();
  });
});
