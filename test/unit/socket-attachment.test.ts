// A session socket's counts (durable-objects/socket-attachment.ts): read from memory, written to
// the socket's attachment at every change, and read back from it by a socket woken from hibernation.
import { describe, expect, it } from "vitest";
import { newState, saveState, stateOf } from "../../durable-objects/socket-attachment.js";
import { sendCounted } from "../../durable-objects/unacked.js";

/** A server socket whose attachment is cloned in and out, as workerd's is, counting both. */
function socket(attachment?: unknown) {
  const calls = { reads: 0, writes: 0 };
  let stored = structuredClone(attachment);
  const ws = {
    send: () => {},
    serializeAttachment: (value: unknown) => {
      calls.writes++;
      stored = structuredClone(value);
    },
    deserializeAttachment: () => {
      calls.reads++;
      return structuredClone(stored);
    },
  };
  return { ws: ws as unknown as WebSocket, calls, attachment: () => stored };
}

describe("a session socket's counts", () => {
  it("are read from memory, and written to the attachment once per frame sent", () => {
    const s = socket();
    newState(s.ws, "sid-1");
    for (let i = 0; i < 5; i++) {
      const state = stateOf(s.ws);
      sendCounted(s.ws, state, new Uint8Array(10));
      saveState(s.ws, state);
    }
    expect(s.calls).toEqual({ reads: 0, writes: 6 });
    expect(s.attachment()).toEqual({ sid: "sid-1", sent: 50, acked: 0, unsent: 0 });
  });

  it("after a wake (the same attachment on a new socket object), are what was last written", () => {
    const before = socket();
    newState(before.ws, "sid-2");
    const state = stateOf(before.ws);
    sendCounted(before.ws, state, "€");
    state.acked = 2;
    saveState(before.ws, state);
    const woken = socket(before.attachment());
    expect(stateOf(woken.ws)).toEqual({ sid: "sid-2", sent: 3, acked: 2, unsent: 0 });
    expect(stateOf(woken.ws)).toBe(stateOf(woken.ws));
    expect(woken.calls.reads).toBe(1);
  });

  it("of a socket accepted before they were counted (an attachment with its key alone) start at none", () => {
    expect(stateOf(socket({ sid: "old" }).ws)).toEqual({ sid: "old", sent: 0, acked: 0, unsent: 0 });
  });

  it("are each socket's own", () => {
    const [a, b] = [socket({ sid: "a" }), socket({ sid: "b" })];
    sendCounted(a.ws, stateOf(a.ws), new Uint8Array(7));
    expect(stateOf(a.ws).sent).toBe(7);
    expect(stateOf(b.ws)).toEqual({ sid: "b", sent: 0, acked: 0, unsent: 0 });
  });
});
