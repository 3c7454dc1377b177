// Acks of stdin (?ack=stdin) wait for the store: a frame taken is acked only by the save that
// stores it, never at once, whatever the process has taken (a guest not at rest is not saved, so
// its stdin is not stored). The crash test (test/node/crash.test.ts) kills workerd at an ack; this
// holds the order where no save follows at once.
import { describe, expect, it } from "vitest";
import { attachClient, Clients } from "../../durable-objects/process-sockets.js";
import { Pipe } from "../../src/pipe.js";
import type { Process } from "../../src/process.js";

/** A server end of an attach socket: what it sent, and a frame from the client. */
function socket() {
  const sent: unknown[] = [];
  const listeners: Record<string, ((e: { data?: unknown }) => void)[]> = {};
  const ws = {
    bufferedAmount: 0,
    readyState: 1,
    send: (frame: string) => sent.push(JSON.parse(frame)),
    addEventListener: (type: string, listener: (e: { data?: unknown }) => void) => (listeners[type] ??= []).push(listener),
  };
  const frame = (data: string | ArrayBuffer) => listeners.message!.forEach((l) => l({ data }));
  return { ws: ws as unknown as WebSocket, sent, frame };
}

describe("acks of stdin on the attach socket", () => {
  it("acks a frame with the save that stores it, not when it is taken; a client that did not ask gets none", () => {
    const stdin = new Pipe(new TextEncoder().encode("spawn\n"));
    const process = { info: { id: "p", status: "running" }, stdin } as unknown as Process;
    let stored: number | undefined = 6;
    const clients = new Clients(() => 1 << 20);
    const acking = socket();
    const plain = socket();
    const count = { taken: () => stdin.written, stored: () => stored };
    attachClient(clients, acking.ws, () => process, () => {}, count);
    attachClient(clients, plain.ws, () => process, () => {});
    expect(acking.sent, "the first ack: all taken so far is stored").toEqual([{ stdin_taken: 6 }]);

    acking.frame(JSON.stringify({ stdin: "one\n" }));
    plain.frame(new TextEncoder().encode("two\n").buffer as ArrayBuffer);
    expect(stdin.written).toBe(14);
    expect(acking.sent, "taken, not stored yet").toEqual([{ stdin_taken: 6 }]);
    clients.stored((stored = 10)); // a save that stored the first frame only (the second came after it)
    expect(acking.sent).toEqual([{ stdin_taken: 6 }, { stdin_taken: 10 }]);
    clients.stored((stored = 14));
    expect(acking.sent, "no frame of its own since its last ack").toHaveLength(2);

    acking.frame(JSON.stringify({ close_stdin: true }));
    expect(acking.sent, "a close is stored with the save after it").toHaveLength(2);
    clients.stored(14);
    expect(acking.sent.at(-1)).toEqual({ stdin_taken: 14 });
    acking.frame(JSON.stringify({ stdin: "late\n" })); // refused: an error frame, no ack to wait for
    clients.stored(14);
    expect(acking.sent.at(-1)).toMatchObject({ codeName: "InvalidHandle" });
    expect(plain.sent).toEqual([]);
  });

  it("a client attached before all stdin taken is stored gets its first ack with the save that stores it", () => {
    const stdin = new Pipe(new TextEncoder().encode("spawn\n"));
    const process = { info: { id: "p", status: "running" }, stdin } as unknown as Process;
    const clients = new Clients(() => 1 << 20);
    const acking = socket();
    attachClient(clients, acking.ws, () => process, () => {}, { taken: () => stdin.written, stored: () => undefined });
    expect(acking.sent).toEqual([]);
    clients.stored(6);
    expect(acking.sent).toEqual([{ stdin_taken: 6 }]);
  });
});
