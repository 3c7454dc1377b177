/// <reference types="node" />
// sdk/client against the real Worker (wrangler's unstable_startWorker on 127.0.0.1): named
// sessions, relative objects with callbacks, losing a connection and getting it back,
// processes with an attached terminal, errors by code name, and bearer tokens.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BusError, Client, modules, type ProcessEvent, type Session, type SessionCall } from "../../sdk/client/src/index.js";
import { KEPT_UNREAD } from "../../sdk/client/src/attach.js";
import { MAX_UNREAD_CALLBACKS } from "../../sdk/client/src/session-call.js";
import { startWorker, type StartedWorker, withTimeout } from "./start-worker.js";

const WAIT_MS = 10_000;
const wait = <T>(promise: Promise<T>, what: string) => withTimeout(promise, WAIT_MS, what);
const next = async <T>(iterator: AsyncIterator<T>, what: string): Promise<T> => (await wait(iterator.next(), what)).value as T;

let worker: StartedWorker | undefined;
let url: URL;
let client: Client<typeof modules>;
let untyped: Client;
const sessions: Session<any>[] = [];
const sockets: WebSocket[] = [];
const open = <S extends Session<any>>(s: S): S => (sessions.push(s), s);

beforeAll(async () => {
  ({ worker, url } = await startWorker());
  const webSocket = (u: string, headers: Record<string, string>) => {
    const socket = new WebSocket(u, { headers } as unknown as string[]);
    sockets.push(socket);
    return socket;
  };
  client = new Client({ url, modules, webSocket });
  untyped = new Client({ url, webSocket });
});

afterAll(async () => {
  await Promise.allSettled(sessions.map((s) => s.close()));
  await worker?.dispose();
});

describe("sessions by name", () => {
  it("keeps rooms apart: a post in one session reaches only its members", async () => {
    const a = open(client.session("chat", "room-a"));
    const b = open(client.session("chat", "room-b"));
    const inA = a.call("join", { name: "ada" }, { keepalive: true });
    const inB = b.call("join", { name: "bob" }, { keepalive: true });
    expect(await wait(inA.reply, "join a")).toEqual({ joined: "ada", members: 1 });
    expect(await wait(inB.reply, "join b")).toEqual({ joined: "bob", members: 1 });
    const heardInB: unknown[] = [];
    inB.on("message", (m) => heardInB.push(m));
    expect(await wait(inA.call("post", { text: "only a" }).reply, "post")).toEqual({ delivered: 1 });
    await new Promise((r) => setTimeout(r, 200));
    expect(heardInB).toEqual([]);
  });

  it("refuses a bad session name (400 BadRequest) and an unknown module (404 InvalidWapm), before any call", async () => {
    const bad = open(client.session("chat", "no spaces/here"));
    const call = bad.call("join", { name: "x" });
    await expect(wait(bad.opened(), "the refusal")).rejects.toMatchObject({ codeName: "BadRequest", status: 400 });
    await expect(call.reply).rejects.toMatchObject({ codeName: "BadRequest" });
    const missing = open(untyped.session("no-such-module"));
    await expect(wait(missing.opened(), "the refusal")).rejects.toMatchObject({ codeName: "InvalidWapm", status: 404 });
  });
});

describe("relative objects and callbacks", () => {
  it("counter-rs: a kept-alive tally, sub-calls under it, on_change callbacks as an async iterator", async () => {
    const session = open(client.session("counter-rs", "tally-1"));
    const tally = session.call("counter.open", { start: 5 }, { keepalive: true });
    const changes = tally.callbacks("on_change");
    expect(await wait(tally.reply, "counter.open")).toBeNull();
    expect(await wait(tally.call("tally.add", { n: 2 }).reply, "tally.add")).toBe(7);
    expect(await wait(tally.call("tally.add", { n: 3 }).reply, "tally.add")).toBe(10);
    expect(await next(changes, "on_change")).toBe(7);
    expect(await next(changes, "on_change")).toBe(10);
    expect(await wait(tally.call("tally.get", {}).reply, "tally.get")).toBe(10);
    tally.drop();
    expect(await wait(changes.next(), "the end")).toEqual({ value: undefined, done: true });
    // 64-bit integers past 2^53 keep every digit both ways.
    const big = session.call("counter.open", { start: 2n ** 60n }, { keepalive: true });
    await wait(big.reply, "counter.open");
    expect(await wait(big.call("tally.add", { n: 1 }).reply, "tally.add")).toBe(2n ** 60n + 1n);
  });
});

describe("a callbacks() iterator nobody reads", () => {
  it("ends with LimitExceeded past MAX_UNREAD_CALLBACKS, after the ones it holds; the join, its handlers and a read iterator get every message", async () => {
    const session = open(client.session("chat", `chatty-${Date.now()}`));
    const join = session.call("join", { name: "ada" }, { keepalive: true });
    await wait(join.reply, "join");
    let heard = 0;
    join.on("message", () => heard++);
    const unread = join.callbacks("message");
    const read: string[] = [];
    const reading = (async () => {
      for await (const m of join.callbacks("message")) read.push(m.text);
    })();
    const total = MAX_UNREAD_CALLBACKS + 5;
    // Posts 32 at a time (the messages may come in any order among them); each post's message
    // comes before its reply, on the one socket.
    for (let n = 0; n < total; n += 32) {
      const posts = Array.from({ length: Math.min(32, total - n) }, (_, i) => join.call("post", { text: `m${n + i}` }).reply);
      expect(await wait(Promise.all(posts), "posts")).toEqual(posts.map(() => ({ delivered: 1 })));
    }
    expect(join.state).toBe("live");
    expect(heard).toBe(total);
    expect([...read].sort()).toEqual(Array.from({ length: total }, (_, n) => `m${n}`).sort());
    // The unread iterator holds the first of them, as they came.
    for (let n = 0; n < MAX_UNREAD_CALLBACKS; n++) expect(await next(unread, "a held message")).toEqual({ from: "ada", text: read[n] });
    await expect(unread.next()).rejects.toMatchObject({ codeName: "LimitExceeded", message: expect.stringContaining(`fell ${MAX_UNREAD_CALLBACKS} callbacks behind`) });
    join.drop();
    await wait(reading, "the read loop's end");
  });
});

describe("a connection that drops", () => {
  it("says which calls were lost, reconnects with back-off, and the room has forgotten them", async () => {
    const session = open(client.session("chat", "flaky", { reconnect: { initialDelayMs: 50, maxDelayMs: 200 } }));
    const join = session.call("join", { name: "ada" }, { keepalive: true });
    await wait(join.reply, "join");
    const lost = new Promise<SessionCall<any, any>[]>((resolve) => session.on("lost", (calls) => resolve(calls)));
    const reopened = new Promise<boolean>((resolve) => session.on("open", ({ reconnected }) => resolve(reconnected)));

    // The network goes: the socket closes under the session.
    sockets.at(-1)!.close(4000, "simulated drop");
    expect((await wait(lost, "the lost calls")).map((c) => c.id)).toEqual([join.id]);
    expect(join.state).toBe("lost");
    await expect(join.reply).resolves.toEqual({ joined: "ada", members: 1 }); // its reply had come; only what followed is lost
    expect(await wait(reopened, "the reconnect")).toBe(true);

    // The server dropped the lost join with the socket: a new join finds an empty room.
    const again = session.call("join", { name: "ada" }, { keepalive: true });
    expect(await wait(again.reply, "the new join")).toEqual({ joined: "ada", members: 1 });
  });
});

describe("frames the server cannot take", () => {
  it("fails a call whose frame it cannot read (an empty topic) with BadRequest: the call settles", async () => {
    const session = open(untyped.session("chat", `unreadable-${Date.now()}`));
    await expect(wait(session.call("", {}).reply, "the fault")).rejects.toMatchObject({ codeName: "BadRequest", message: "bad frame: call.topic must be a string" });
    expect(session.state).toBe("open");
  });

  it("tells the calls lost to a frame too large to read why: 1009 and the server's reason", async () => {
    const session = open(client.session("chat", `oversized-${Date.now()}`, { reconnect: false }));
    const join = session.call("join", { name: "ada" }, { keepalive: true });
    await wait(join.reply, "join");
    // Past 2 x requestBytes + 64 KiB: the server cannot read it, and closes the socket.
    const big = join.call("post", { text: "x".repeat(2_200_000) });
    await expect(wait(big.reply, "the lost call")).rejects.toMatchObject({ codeName: "Aborted", message: expect.stringMatching(/closed \(1009: a frame of \d+ bytes is over the limit \(requestBytes 1048576\)\)/) });
    expect(join.state).toBe("lost");
    expect(join.error?.message).toContain("(1009: a frame of");
  });
});

describe("processes", () => {
  it("spawns countdown, streams its output through an attachment, and sees it exit 0", async () => {
    const process = await wait(client.spawn("countdown", { args: ["3", "20"] }), "spawn");
    expect(process.info).toMatchObject({ module: "countdown", args: ["3", "20"], status: "running" });
    const attachment = await wait(process.attach(), "attach");
    const events: ProcessEvent[] = [];
    for await (const event of attachment) {
      events.push(event);
      if (event.type === "exit" || event.type === "failed") break;
    }
    expect(events).toEqual([
      { type: "output", stream: "stdout", line: "3" },
      { type: "output", stream: "stdout", line: "2" },
      { type: "output", stream: "stdout", line: "1" },
      { type: "exit", code: 0 },
    ]);
    expect(await wait(attachment.ended, "the end")).toEqual({ code: 0 });
    expect(await process.status()).toMatchObject({ status: "exited", code: 0 });
    const logs = await process.logs();
    expect(logs.filter((l) => l.stream === "stdout").map((l) => l.msg)).toEqual(["3", "2", "1"]);
    // Paged on from the first line: the one after it, with its seq.
    expect(await process.logs({ after: logs[0]!.seq, limit: 1 })).toEqual([logs[1]]);
    await expect(process.logs({ limit: 0 })).rejects.toMatchObject({ name: "BusError", codeName: "BadRequest" });
  });

  it("writes stdin through the attachment: upcase answers each line and exits when stdin closes", async () => {
    const process = await client.spawn("upcase");
    const attachment = await wait(process.attach(), "attach");
    const lines: string[] = [];
    attachment.on("output", (e) => lines.push(e.line));
    attachment.write("hello, process\n");
    attachment.write(new TextEncoder().encode("bytes too\n"));
    attachment.closeStdin();
    expect(await wait(attachment.ended, "the exit")).toEqual({ code: 0 });
    expect(lines).toEqual(["HELLO, PROCESS", "BYTES TOO"]);
  });

  it("acks stdin when asked: stdinTaken counts the bytes stored, the spawn's stdin first", async () => {
    const process = await client.spawn("upcase", { stdin: "spawned\n", stdinOpen: true });
    const attachment = await wait(process.attach({ ackStdin: true }), "attach");
    const until = (n: number) => wait(new Promise<void>((resolve) => (attachment.stdinTaken === n ? resolve() : attachment.on("stdinTaken", (t) => t === n && resolve()))), `stdin_taken ${n}`);
    await until(8);
    attachment.write("hello\n");
    await until(14);
    attachment.write(new TextEncoder().encode("bytes\n"));
    await until(20);
    attachment.closeStdin();
    expect(await wait(attachment.ended, "the exit")).toEqual({ code: 0 });
    expect(attachment.stdinTaken).toBe(20);
  });

  it("read by handlers alone, an attachment keeps no more than the last 1,024 events for an iterator nobody took", async () => {
    const process = await client.spawn("upcase");
    const attachment = await wait(process.attach(), "attach");
    let heard = 0;
    attachment.on("output", () => heard++);
    attachment.write("line\n".repeat(5000));
    attachment.closeStdin();
    expect(await wait(attachment.ended, "the exit")).toEqual({ code: 0 });
    expect(heard).toBe(5000);
    const kept: ProcessEvent[] = [];
    for await (const event of attachment) kept.push(event);
    expect(kept.length).toBe(1024);
    expect(kept.at(-1)).toEqual({ type: "exit", code: 0 });
  });

  it("an iterator taken and not read ends with LimitExceeded past KEPT_UNREAD, after the events it holds; the handlers hear every line", async () => {
    const process = await client.spawn("upcase");
    const attachment = await wait(process.attach(), "attach");
    let heard = 0;
    attachment.on("output", () => heard++);
    const iterator = attachment[Symbol.asyncIterator]();
    attachment.write(Array.from({ length: 2000 }, (_, n) => `l${n}\n`).join(""));
    attachment.closeStdin();
    expect(await wait(attachment.ended, "the exit")).toEqual({ code: 0 });
    expect(heard).toBe(2000);
    for (let n = 0; n < KEPT_UNREAD; n++) expect(await next(iterator, "a held line")).toEqual({ type: "output", stream: "stdout", line: `L${n}` });
    await expect(iterator.next()).rejects.toMatchObject({ codeName: "LimitExceeded", message: expect.stringContaining(`fell ${KEPT_UNREAD} events behind`) });
  });

  it("calls a topic a serving process listens on, then kills it", async () => {
    const process = await client.spawn("echo-daemon");
    expect(await wait(process.call("echo", { n: 1 }), "echo")).toEqual({ echo: { n: 1 }, served: 1 });
    expect(await wait(process.call("echo", "two", { format: "msgpack" }), "echo")).toEqual({ echo: "two", served: 2 });
    // DELETE answers at once, the process may not have ended by then; wait() sees the end.
    await process.kill();
    expect(await wait(process.wait(), "wait")).toMatchObject({ status: "exited", code: 137 });
    await expect(process.call("echo", {})).rejects.toMatchObject({ status: 409 });
  });

  it("names what is wrong: an unknown process, an unknown module", async () => {
    await expect(client.process("nope").status()).rejects.toMatchObject({ codeName: "InvalidHandle", status: 404 });
    await expect(client.process("nope").attach()).rejects.toMatchObject({ codeName: "InvalidHandle", status: 404 });
    await expect(client.spawn("no-such-module")).rejects.toMatchObject({ codeName: "InvalidWapm", status: 404 });
  });
});

describe("errors over HTTP, typed", () => {
  it("gives the ABI's code name, the status, the call's module and topic, and the module's own words", async () => {
    const err = await untyped.call("hello-rs", "greet", { name: 5 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BusError);
    expect(err).toMatchObject({ codeName: "BadRequest", code: 12, status: 400, module: "hello-rs", topic: "greet" });
    await expect(untyped.call("hello", "nope", {})).rejects.toMatchObject({ codeName: "InvalidTopic", status: 404 });
    await expect(untyped.call("nope", "greet", {})).rejects.toMatchObject({ codeName: "InvalidWapm", status: 404 });
  });
});

describe("a module's own words", () => {
  it("are the error's detail, and its message says them once, over HTTP and over a session", async () => {
    // The AssemblyScript SDK faults chat's post under no join with these words (listenUnder).
    const words = "no handler for topic post (a sub-API's topic needs its parent call)";
    const overHttp = (await client.call("chat", "post", { text: "hi" }).catch((e: unknown) => e)) as BusError;
    const session = open(client.session("chat", "words"));
    const overSession = (await wait(session.call("post", { text: "hi" }).reply, "the fault").catch((e: unknown) => e)) as BusError;
    for (const err of [overHttp, overSession]) {
      expect(err).toBeInstanceOf(BusError);
      expect(err).toMatchObject({ codeName: "BadRequest", detail: words });
      expect(err.message.split(words).length - 1, err.message).toBe(1);
    }
  });
});

describe("a call the caller gives up on", () => {
  it("is Timeout under AbortSignal.timeout and Aborted under an abort with a reason, not InternalFailure", async () => {
    // fetcher sleeps delayMs before its fetch: the answer comes long after the signal.
    const slow = { url: "https://example.com/", delayMs: 3000 };
    await expect(client.module("fetcher").fetch(slow, { signal: AbortSignal.timeout(200) })).rejects.toMatchObject({ name: "BusError", codeName: "Timeout", module: "fetcher", topic: "fetch" });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("the page was closed")), 200);
    await expect(client.module("fetcher").fetch(slow, { signal: controller.signal })).rejects.toMatchObject({ name: "BusError", codeName: "Aborted", message: expect.stringContaining("the page was closed") });
  });
});

describe("with a BUS_TOKEN", () => {
  let locked: StartedWorker | undefined;
  let lockedUrl: URL;
  beforeAll(async () => {
    ({ worker: locked, url: lockedUrl } = await startWorker({ token: "s3cret-token" }));
  });
  afterAll(async () => {
    await locked?.dispose();
  });

  it("a caller without the token gets Unauthorized; with it, calls, sessions and processes work", async () => {
    const anonymous = new Client({ url: lockedUrl, modules });
    await expect(anonymous.module("hello").greet({ name: "Ada" })).rejects.toMatchObject({ codeName: "Unauthorized", status: 401 });
    const refused = anonymous.session("chat");
    await expect(wait(refused.opened(), "the refusal")).rejects.toMatchObject({ codeName: "Unauthorized", status: 401 });

    const authorized = new Client({ url: lockedUrl, modules, token: "s3cret-token" });
    expect(await authorized.module("hello").greet({ name: "Ada" })).toEqual({ message: "Hello, Ada!" });
    const session = open(authorized.session("chat", "locked"));
    expect(await wait(session.call("join", { name: "ada" }, { keepalive: true }).reply, "join")).toEqual({ joined: "ada", members: 1 });
    const process = await authorized.spawn("countdown", { args: ["1", "10"] });
    expect(await wait(process.wait(), "the process")).toMatchObject({ status: "exited", code: 0 });
  });

  it("a session whose reconnect is refused for good (the token is wrong now) closes with Unauthorized instead of retrying without end", async () => {
    let token = "s3cret-token";
    const webSocket = (u: string, headers: Record<string, string>) => {
      const socket = new WebSocket(u, { headers } as unknown as string[]);
      sockets.push(socket);
      return socket;
    };
    const session = open(new Client({ url: lockedUrl, token: () => token, webSocket }).session("chat", "rotated", { reconnect: { initialDelayMs: 20, maxDelayMs: 50 } }));
    await wait(session.opened(), "the first socket");
    let retries = 0;
    session.on("retry", () => retries++);
    const closed = new Promise<unknown>((resolve) => session.on("close", resolve));
    token = "rotated-away";
    sockets.at(-1)!.close(4000, "simulated drop");
    expect(await wait(closed, "the session to give up")).toMatchObject({ codeName: "Unauthorized", status: 401 });
    expect(retries).toBe(1);
    expect(session.state).toBe("closed");
  });
});
