/// <reference types="node" />
// Runs in Node (the "node" vitest project), not in workerd: the Worker is started with wrangler's
// unstable_startWorker on 127.0.0.1, and sdk/client reaches it over real sockets: sessions on
// GET /bus/chat (Node's own WebSocket), and fetch for POST /call/:module/:topic.
import { Packr } from "msgpackr";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BusError, Client, modules, type Session } from "../../sdk/client/src/index.js";
import { startWorker, type StartedWorker, withTimeout } from "./start-worker.js";

/** How long any one wait may take before the test fails instead of hanging. */
const WAIT_MS = 10_000;

// Frames are msgpack maps, records off (as durable-objects/frames.ts encodes them).
const packr = new Packr({ useRecords: false, mapsAsObjects: true });

let worker: StartedWorker | undefined;
let typed: Client<typeof modules>;
/** Without the generated table: any module, any topic (for the calls a typed client refuses to compile). */
let untyped: Client;
const sessions: Session<any>[] = [];
/** The WebSockets under the sessions, for the tests that look at raw frames or break the connection. */
const sockets: WebSocket[] = [];

const wait = <T>(promise: Promise<T>, what: string) => withTimeout(promise, WAIT_MS, what);
const next = async <T>(iterator: AsyncIterator<T>, what: string): Promise<T> => (await wait(iterator.next(), what)).value as T;

function open<S extends Session<any>>(session: S): S {
  sessions.push(session);
  return session;
}

beforeAll(async () => {
  const started = await startWorker();
  worker = started.worker;
  const webSocket = (url: string, headers: Record<string, string>) => {
    const socket = new WebSocket(url, { headers } as unknown as string[]);
    sockets.push(socket);
    return socket;
  };
  typed = new Client({ url: started.url, modules, webSocket });
  untyped = new Client({ url: started.url, webSocket });
});

afterAll(async () => {
  await Promise.allSettled(sessions.map((s) => s.close()));
  await worker?.dispose();
});

describe("the bus over a real WebSocket (GET /bus/chat), through sdk/client", () => {
  it("delivers every post to every joined member, and a dropped join leaves the room", async () => {
    // The default session: GET /bus/chat.
    const ada = open(typed.session("chat"));
    const bob = open(typed.session("chat"));
    expect(ada.name).toBe("default");

    const adaJoin = ada.call("join", { name: "ada" }, { keepalive: true });
    const adaMessages = adaJoin.callbacks("message");
    expect(await wait(adaJoin.reply, "ada's join")).toEqual({ joined: "ada", members: 1 });
    expect(adaJoin.state).toBe("live");

    const bobJoin = bob.call("join", { name: "bob" }, { keepalive: true });
    const bobMessages = bobJoin.callbacks("message");
    expect(await wait(bobJoin.reply, "bob's join")).toEqual({ joined: "bob", members: 2 });

    // ada posts under her join: both members get it, ada included, on their join calls.
    const posted = adaJoin.call("post", { text: "hello, room" });
    expect(await wait(posted.reply, "the post")).toEqual({ delivered: 2 });
    expect(await next(adaMessages, "ada's message")).toEqual({ from: "ada", text: "hello, room" });
    expect(await next(bobMessages, "bob's message")).toEqual({ from: "ada", text: "hello, room" });

    // bob posts too: the message names him.
    expect(await wait(bobJoin.call("post", { text: "hi ada" }).reply, "bob's post")).toEqual({ delivered: 2 });
    expect(await next(adaMessages, "ada's message")).toEqual({ from: "bob", text: "hi ada" });
    expect(await next(bobMessages, "bob's message")).toEqual({ from: "bob", text: "hi ada" });

    // bob leaves by dropping his join: his iterator ends, and the room has one member left.
    bobJoin.drop();
    expect(await wait(bobMessages.next(), "bob's iterator to end")).toEqual({ value: undefined, done: true });
    // A sub-call under a dropped call is refused before it leaves the client.
    await expect(bobJoin.call("post", { text: "still here?" }).reply).rejects.toMatchObject({ codeName: "InvalidHandle" });
    // bob's socket is not ada's: her post could reach the room before his drop. The module answers
    // his frames in order, so once it has answered one sent after the drop, it has taken the drop.
    await expect(bob.call("post", { text: "no parent" }).reply).rejects.toMatchObject({ codeName: "BadRequest" });
    expect(await wait(adaJoin.call("post", { text: "anyone?" }).reply, "the post after bob left")).toEqual({ delivered: 1 });
    expect(await next(adaMessages, "ada's message")).toEqual({ from: "ada", text: "anyone?" });

    // A post without a parent is the module's BadRequest (12), in its SDK's words (listenUnder).
    const err = await ada.call("post", { text: "no parent" }).reply.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BusError);
    expect(err).toMatchObject({ code: 12, codeName: "BadRequest", module: "chat", topic: "post", detail: "no handler for topic post (a sub-API's topic needs its parent call)" });

    // Closing the session leaves the room too: a new member finds only itself.
    await ada.close();
    expect(adaJoin.state).toBe("dropped");
    const cy = open(typed.session("chat"));
    const cyJoin = cy.call("join", { name: "cy" }, { keepalive: true });
    expect(await wait(cyJoin.reply, "cy's join")).toEqual({ joined: "cy", members: 1 });
    const cyMessages = cyJoin.callbacks("message");
    expect(await wait(cyJoin.call("post", { text: "alone" }).reply, "cy's post")).toEqual({ delivered: 1 });
    expect(await next(cyMessages, "cy's message")).toEqual({ from: "cy", text: "alone" });
    cyJoin.drop();
    await cy.close();
    await bob.close();
  });

  it("answers a malformed frame with an error frame and keeps the connection", async () => {
    const session = open(typed.session("chat", "malformed"));
    const errors: string[] = [];
    session.on("error", (e) => errors.push(e));
    await wait(session.opened(), "the session to open");
    const socket = sockets.at(-1)!;
    // Frames the client never writes, sent on its socket.
    socket.send(new Uint8Array([0xc1])); // 0xc1 is never used in msgpack
    socket.send(packr.pack({ type: "call", topic: "join" })); // no id
    socket.send("a text frame");
    await wait(
      (async () => {
        while (errors.length < 3) await new Promise((r) => setTimeout(r, 20));
      })(),
      "three error frames",
    );
    expect(errors[0]).toMatch(/bad frame/);
    expect(errors[1]).toMatch(/id/);
    expect(errors[2]).toMatch(/binary/);

    // Still works: a join gets its reply on the same socket.
    const join = session.call("join", { name: "dee" }, { keepalive: true });
    expect(await wait(join.reply, "the join")).toMatchObject({ joined: "dee" });
    expect(session.state).toBe("open");
    expect(socket.readyState).toBe(WebSocket.OPEN);
    await session.close();
  });

  it("faults a call to an unknown topic with InvalidTopic (9), and a bad request with the module's BadRequest (12)", async () => {
    const session = open(untyped.session("chat", "faults"));
    await expect(session.call("no-such-topic", {}).reply).rejects.toMatchObject({ code: 9, codeName: "InvalidTopic" });
    await expect(session.call("join", { nom: "x" }, { keepalive: true }).reply).rejects.toMatchObject({ code: 12, codeName: "BadRequest" });
    await session.close();
  });

  it("takes msgpack requests on a json topic and answers in msgpack, callbacks too", async () => {
    const session = open(typed.session("chat", "packed", { format: "msgpack" }));
    await wait(session.opened(), "the session to open");
    const formats: string[] = [];
    sockets.at(-1)!.addEventListener("message", (event) => formats.push((packr.unpack(new Uint8Array(event.data as ArrayBuffer)) as { type: string; format: string }).format));
    const join = session.call("join", { name: "eve" }, { keepalive: true });
    const messages = join.callbacks("message");
    expect(await wait(join.reply, "the join")).toMatchObject({ joined: "eve" });
    expect(await wait(join.call("post", { text: "packed" }).reply, "the post")).toEqual({ delivered: 1 });
    expect(await next(messages, "the message")).toEqual({ from: "eve", text: "packed" });
    // reply, reply, callback: every frame in the caller's format.
    expect(formats).toEqual(["msgpack", "msgpack", "msgpack"]);
    await session.close();
  });
});

describe("POST /call over a real HTTP socket, through sdk/client", () => {
  it("calls hello greet", async () => {
    expect(await wait(typed.module("hello").greet({ name: "Ada" }), "POST /call/hello/greet")).toEqual({ message: "Hello, Ada!" });
  });

  it("relays to hello-rs (AssemblyScript -> Rust), or says it is missing", async () => {
    const served = (await typed.modules()).map((m) => m.name);
    const relayed = typed.module("relay").relay({ name: "Ada" });
    if (!served.includes("hello-rs")) {
      // Not built (no Rust toolchain): the relay faults with the code its call got, InvalidWapm.
      await expect(relayed).rejects.toMatchObject({ status: 404, code: 3, codeName: "InvalidWapm", module: "relay" });
      return;
    }
    const direct = await typed.module("hello-rs").greet({ name: "Ada" });
    expect(await wait(relayed, "the relay")).toEqual({ relayed: direct });
    // hello-rs's fault comes back through the relay with the same code and status.
    const [badRelay, badDirect] = await Promise.all([
      untyped.call("relay", "relay", {}).catch((e: BusError) => e),
      untyped.call("hello-rs", "greet", {}).catch((e: BusError) => e),
    ]);
    expect(badDirect).toBeInstanceOf(BusError);
    expect((badDirect as BusError).status).toBeGreaterThanOrEqual(400);
    expect(badRelay).toMatchObject({ status: (badDirect as BusError).status, code: (badDirect as BusError).code });
  });
});
