import { describe, expect, it, vi } from "vitest";
import { KEPT_UNREAD } from "../src/attach.js";
import { Client, type ProcessEvent, type SocketFactory, STABLE_MS, WAIT_REATTACHES } from "../src/index.js";
import { type FakeSocket, fakeFetch, fakeSockets, tick } from "./fakes.js";

/** An attachment to process abc over a fake socket, opened. */
async function attached(options?: { ackStdin?: boolean }) {
  const { sockets, factory } = fakeSockets();
  const { fetch } = fakeFetch(() => Response.json({}));
  const attaching = new Client({ url: "https://bus.test", webSocket: factory, fetch }).process("abc").attach(options);
  const socket = sockets[0]!;
  socket.open();
  return { socket, attachment: await attaching };
}

describe("attaching to a process", () => {
  it("turns frames into events, writes stdin, and resolves ended with the exit code", async () => {
    const { sockets, factory } = fakeSockets();
    const { fetch } = fakeFetch(() => Response.json({}));
    const client = new Client({ url: "https://bus.test", webSocket: factory, fetch });
    const attaching = client.process("abc").attach();
    const socket = sockets[0]!;
    expect(socket.url).toBe("wss://bus.test/processes/abc/attach");
    socket.open();
    const attachment = await attaching;
    const outputs: string[] = [];
    attachment.on("output", (e) => outputs.push(`${e.stream}:${e.line}`));
    socket.receive(JSON.stringify({ stream: "stdout", line: "3" }));
    socket.receive(JSON.stringify({ stream: "stderr", line: "oops" }));
    attachment.write("hello\n");
    attachment.write(new Uint8Array([1, 2]));
    attachment.closeStdin();
    expect(socket.sent).toEqual(['{"stdin":"hello\\n"}', new Uint8Array([1, 2]), '{"close_stdin":true}']);
    socket.receive(JSON.stringify({ exit: 0 }));
    expect(await attachment.ended).toEqual({ code: 0 });
    socket.close();
    const events: ProcessEvent[] = [];
    for await (const e of attachment) events.push(e);
    expect(events).toEqual([
      { type: "output", stream: "stdout", line: "3" },
      { type: "output", stream: "stderr", line: "oops" },
      { type: "exit", code: 0 },
    ]);
    expect(outputs).toEqual(["stdout:3", "stderr:oops"]);
  });

  it("with ackStdin, asks for ?ack=stdin and counts the acks in stdinTaken (an event, not one of the iterator's)", async () => {
    const { socket, attachment } = await attached({ ackStdin: true });
    expect(socket.url).toBe("wss://bus.test/processes/abc/attach?ack=stdin");
    expect(attachment.stdinTaken).toBeUndefined();
    const heard: number[] = [];
    attachment.on("stdinTaken", (n) => heard.push(n));
    socket.receive(JSON.stringify({ stdin_taken: 4 }));
    expect(attachment.stdinTaken).toBe(4);
    attachment.write("hello\n");
    socket.receive(JSON.stringify({ stream: "stdout", line: "HELLO" }));
    socket.receive(JSON.stringify({ stdin_taken: 10 }));
    expect(attachment.stdinTaken).toBe(10);
    expect(heard).toEqual([4, 10]);
    // A count that is no count of bytes is left out.
    socket.receive(JSON.stringify({ stdin_taken: -1 }));
    socket.receive(JSON.stringify({ stdin_taken: 2.5 }));
    expect(attachment.stdinTaken).toBe(10);
    expect(heard).toEqual([4, 10]);
    socket.receive(JSON.stringify({ exit: 0 }));
    socket.close();
    const events: ProcessEvent[] = [];
    for await (const e of attachment) events.push(e);
    expect(events).toEqual([{ type: "output", stream: "stdout", line: "HELLO" }, { type: "exit", code: 0 }]);
  });

  it("leaves out frames that are not objects or whose fields are not of their types, without throwing, and goes on", async () => {
    const { socket, attachment } = await attached();
    const seen: ProcessEvent[] = [];
    for (const type of ["output", "exit", "failed", "error"] as const) attachment.on(type, (e) => seen.push(e));
    for (const frame of ["null", "5", '"text"', "[]", '{"stream":"stdin","line":"x"}', '{"stream":"stdout","line":7}', '{"exit":"0"}', '{"exit":null}', '{"failed":{}}', '{"error":5}']) {
      expect(() => socket.receive(frame)).not.toThrow();
    }
    socket.receive(JSON.stringify({ stream: "stdout", line: "ok" }));
    socket.receive(JSON.stringify({ exit: 0 }));
    expect(seen).toEqual([
      { type: "output", stream: "stdout", line: "ok" },
      { type: "exit", code: 0 },
    ]);
    expect(await attachment.ended).toEqual({ code: 0 });
  });

  it("says a binary frame (which the server never sends an attachment) as an error event in its place, not left out unsaid, and goes on", async () => {
    const { socket, attachment } = await attached();
    const seen: ProcessEvent[] = [];
    for (const type of ["output", "exit", "error"] as const) attachment.on(type, (e) => seen.push(e));
    socket.receive(JSON.stringify({ stream: "stdout", line: "before" }));
    socket.receiveBytes(new TextEncoder().encode("after\n"));
    socket.receiveBlob({ stream: "stdout" });
    socket.receive(JSON.stringify({ stream: "stdout", line: "after" }));
    socket.receive(JSON.stringify({ exit: 0 }));
    socket.close();
    const iterated: ProcessEvent[] = [];
    for await (const e of attachment) iterated.push(e);
    const binary = (bytes: number) => ({ type: "error", error: `process abc: the server sent a binary frame of ${bytes} bytes, which an attachment does not have (its frames are JSON text), so this client cannot read it` });
    const expected = [{ type: "output", stream: "stdout", line: "before" }, binary(6), binary(17), { type: "output", stream: "stdout", line: "after" }, { type: "exit", code: 0 }];
    expect(seen).toEqual(expected);
    expect(iterated).toEqual(expected);
  });

  it("an attach that is refused rejects with the route's error", async () => {
    const { sockets, factory } = fakeSockets();
    const { fetch } = fakeFetch(() => Response.json({ error: "no process abc", code: 8, codeName: "InvalidHandle" }, { status: 404 }));
    const attaching = new Client({ url: "http://bus.test", webSocket: factory, fetch }).process("abc").attach();
    sockets[0]!.drop();
    await expect(attaching).rejects.toMatchObject({ codeName: "InvalidHandle", status: 404 });
  });

  it("an iterator taken and not read ends with LimitExceeded past KEPT_UNREAD, after the events it holds; the handlers and the end go on", async () => {
    const { socket, attachment } = await attached();
    let heard = 0;
    attachment.on("output", () => heard++);
    const iterator = attachment[Symbol.asyncIterator]();
    const total = KEPT_UNREAD + 5;
    for (let n = 0; n < total; n++) {
      socket.receive(JSON.stringify({ stream: "stdout", line: `l${n}` }));
      await tick();
    }
    socket.receive(JSON.stringify({ exit: 0 }));
    expect(await attachment.ended).toEqual({ code: 0 });
    expect(heard).toBe(total);
    const got: ProcessEvent[] = [];
    const err = await (async () => {
      for await (const event of { [Symbol.asyncIterator]: () => iterator }) got.push(event);
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(got).toEqual(Array.from({ length: KEPT_UNREAD }, (_, n) => ({ type: "output", stream: "stdout", line: `l${n}` })));
    expect(err).toMatchObject({ name: "BusError", codeName: "LimitExceeded" });
    expect((err as Error).message).toContain(`fell ${KEPT_UNREAD} events behind`);
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
  });
});

describe("waiting for a process", () => {
  it("attaches again where the socket closes while the process runs on (an eviction, a restart), and answers only its end", async () => {
    const { sockets, factory } = fakeSockets();
    let status = "running";
    const { fetch, requests } = fakeFetch(() => Response.json({ id: "abc", module: "countdown", args: [], status, startedAt: 1, ...(status === "exited" ? { code: 0 } : {}) }));
    const waiting = new Client({ url: "https://bus.test", webSocket: factory, fetch }).process("abc").wait();
    let settled = false;
    void waiting.then(
      () => (settled = true),
      () => (settled = true),
    );
    await tick();
    sockets[0]!.open();
    await tick();
    // The object goes away under the socket: no end frame, and the process still runs.
    sockets[0]!.drop();
    for (let i = 0; i < 50 && sockets.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect(settled, "wait() answered a running process as its end").toBe(false);
    expect(sockets).toHaveLength(2);
    sockets[1]!.open();
    await tick();
    status = "exited";
    sockets[1]!.receive(JSON.stringify({ exit: 0 }));
    expect(await waiting).toMatchObject({ status: "exited", code: 0 });
    expect(requests.map((r) => new URL(r.url).pathname)).toEqual(["/processes/abc", "/processes/abc"]);
  });

  it("against a server that closes every attachment as it opens, attaches again WAIT_REATTACHES times, backing off, then fails Aborted", async () => {
    vi.useFakeTimers();
    try {
      const { sockets, factory } = fakeSockets();
      const made: number[] = [];
      const closing: SocketFactory = (url, headers) => {
        const socket = factory(url, headers) as FakeSocket;
        made.push(Date.now());
        queueMicrotask(() => {
          socket.open();
          socket.closeBy(1011, "going away");
        });
        return socket;
      };
      const { fetch } = fakeFetch(() => Response.json({ id: "abc", module: "countdown", args: [], status: "running", startedAt: 1 }));
      const waiting = new Client({ url: "https://bus.test", webSocket: closing, fetch }).process("abc").wait();
      let result: unknown;
      waiting.then(
        (info) => (result = info),
        (err: unknown) => (result = err),
      );
      for (let ms = 0; ms < 120_000 && result === undefined; ms += 100) await vi.advanceTimersByTimeAsync(100);
      expect(result).toMatchObject({ name: "BusError", codeName: "Aborted" });
      expect((result as Error).message).toContain(`closed within ${STABLE_MS} ms of opening ${WAIT_REATTACHES + 1} times in a row`);
      expect(sockets).toHaveLength(WAIT_REATTACHES + 1);
      // Backing off, not a busy loop: each wait at least half of 250 ms * 2^n (backoffDelay).
      made.slice(1).forEach((at, n) => expect(at - made[n]!).toBeGreaterThanOrEqual(125 * 2 ** (n + 1)));
      await vi.advanceTimersByTimeAsync(60_000);
      expect(sockets).toHaveLength(WAIT_REATTACHES + 1);
    } finally {
      vi.useRealTimers();
    }
  });

  it("an attachment open STABLE_MS before it closed starts the count again: wait() goes on past WAIT_REATTACHES closes in all", async () => {
    vi.useFakeTimers();
    try {
      const { sockets, factory } = fakeSockets();
      let status = "running";
      const { fetch } = fakeFetch(() => Response.json({ id: "abc", module: "countdown", args: [], status, startedAt: 1, ...(status === "exited" ? { code: 0 } : {}) }));
      const waiting = new Client({ url: "https://bus.test", webSocket: factory, fetch }).process("abc").wait();
      const next = async () => {
        const count = sockets.length;
        for (let ms = 0; ms < 60_000 && sockets.length === count; ms += 50) await vi.advanceTimersByTimeAsync(50);
        const socket = sockets.at(-1)!;
        socket.open();
        await vi.advanceTimersByTimeAsync(0);
        return socket;
      };
      // WAIT_REATTACHES quick closes, one that stayed open, WAIT_REATTACHES quick closes again: never WAIT_REATTACHES + 1 in a row.
      for (const stays of [...Array(WAIT_REATTACHES).fill(0), STABLE_MS, ...Array(WAIT_REATTACHES).fill(0)]) {
        const socket = await next();
        await vi.advanceTimersByTimeAsync(stays);
        socket.closeBy(1011, "going away");
      }
      const last = await next();
      status = "exited";
      last.receive(JSON.stringify({ exit: 0 }));
      expect(await waiting).toMatchObject({ status: "exited", code: 0 });
      expect(sockets).toHaveLength(2 * WAIT_REATTACHES + 2);
    } finally {
      vi.useRealTimers();
    }
  });

  it("fails with the error of the status request where the Worker cannot be reached after the socket closed", async () => {
    const { sockets, factory } = fakeSockets();
    const fetch = async () => {
      throw new TypeError("fetch failed");
    };
    const waiting = new Client({ url: "https://bus.test", webSocket: factory, fetch }).process("abc").wait();
    await tick();
    sockets[0]!.open();
    await tick();
    sockets[0]!.drop();
    await expect(waiting).rejects.toMatchObject({ codeName: "InternalFailure" });
  });
});
