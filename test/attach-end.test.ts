import { describe, expect, it } from "vitest";
import { attachClient, Clients } from "../durable-objects/process-sockets.js";
import type { Process } from "../src/process.js";

/**
 * A frame that crosses the end frame: the process ended and closed the attached socket (1000)
 * while the client's frame was on its way. workerd still delivers it to the server end, where a
 * send throws ("Can't call WebSocket send() after close()"): the frame's error frame must not
 * become an uncaught exception in the object (found by test/node/ws-hostile.test.ts, whose
 * hostile clients wrote on as the process ended). A real WebSocketPair; the message listener
 * attachClient adds is called directly, so that what it throws reaches the test.
 */
describe("an attached client's frame after the process ended and closed its socket", () => {
  it("gets nothing more (the end frame and the close said it), and throws nothing", () => {
    const { 1: server } = new WebSocketPair();
    server.accept();
    const listeners: ((e: { data: string | ArrayBuffer }) => void)[] = [];
    const add = server.addEventListener.bind(server);
    server.addEventListener = ((type: string, listener: (e: { data: string | ArrayBuffer }) => void) => {
      if (type === "message") listeners.push(listener);
      return add(type as "message", listener as never);
    }) as typeof server.addEventListener;
    const ended = { info: { id: "p", status: "exited" } } as unknown as Process;
    attachClient(new Clients(() => 1 << 20), server, () => ended, () => {});
    expect(listeners).toHaveLength(1);
    server.close(1000, "exited");
    expect(() => server.send("x"), "workerd refuses a send after close").toThrow(/after close/);
    for (const data of ["garbage", JSON.stringify({ stdin: "late\n" }), new TextEncoder().encode("late\n").buffer as ArrayBuffer]) {
      expect(() => listeners[0]!({ data })).not.toThrow();
    }
  });
});
