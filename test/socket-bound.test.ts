// socketBufferBytes holds for every frame a client can make the server send, over real sockets in
// workerd (where how far behind a client is, is what it has not acknowledged): error frames wait
// out a client past the bound, its calls are refused there, and past twice the bound it is closed.
import { env as testEnv, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { pack } from "msgpackr";
import { describe, expect, it } from "vitest";
import { modules } from "../build/registry.js";
import { setProcessModules } from "../durable-objects/bus-process.js";
import { setSessionModules } from "../durable-objects/bus-session.js";
import type { ModuleEntry } from "../src/runtime.js";
import type { Env } from "../src/env.js";
import { type Frame, open } from "./bus-socket.js";
import { processStub } from "./worker.js";

const BOUND = 512;

/** `entry` with a `socketBufferBytes` of `bytes`. */
function tight(entry: ModuleEntry, bytes: number): ModuleEntry {
  const manifest = entry.manifest as { limits?: object };
  return { ...entry, manifest: { ...manifest, limits: { ...manifest.limits, socketBufferBytes: bytes } } };
}

// Past the default bound's twice (2 MiB): a session that wakes without its snapshot must hold its clients to this one.
const WIDE = 4 << 20;
const registry = { ...modules, "chat-tight": tight(modules.chat!, BOUND), "chat-wide": tight(modules.chat!, WIDE), "countdown-tight": tight(modules.countdown!, BOUND) };
setProcessModules(registry);
setSessionModules(registry);
const env = testEnv as unknown as Env;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("a session's socket is held to socketBufferBytes for every frame", () => {
  const session = (name: string) => env.SESSIONS.get(env.SESSIONS.idFromName(`chat-tight/${name}`));
  /** A client of session `name` of chat-tight, with the close code it got. */
  const member = async (name: string) => {
    const c = await open(`/bus/chat-tight/${name}`, (path, init) => session(name).fetch(`http://bus.test${path}`, init));
    const closed = new Promise<{ code: number; reason: string }>((resolve) => c.ws.addEventListener("close", (e) => resolve({ code: e.code, reason: e.reason })));
    return { ...c, closed };
  };
  const room = () => `bound-${crypto.randomUUID().slice(0, 8)}`;
  /** Frames on a socket are handled in order: once this drop of no call is answered, every frame before it was. */
  const settle = async (c: Awaited<ReturnType<typeof member>>, id: number) => {
    c.ws.send(pack({ type: "drop", id }));
    expect(await c.next((f) => f.id === id)).toMatchObject({ type: "fault", codeName: "InvalidHandle" });
  };

  it("error frames answering unreadable frames stop at the bound; once the client acks, one error frame says how many were not sent", async () => {
    const c = await member(room());
    const N = 200;
    for (let i = 0; i < N; i++) c.ws.send("not msgpack");
    await settle(c, 9999);
    const errors = c.frames.filter((f) => f.type === "error");
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.length).toBeLessThan(N);
    expect(errors.every((f) => f.codeName === "BadRequest")).toBe(true);
    // The bound, one error frame past it, and the drop's fault.
    expect(c.received()).toBeLessThan(BOUND + 2 * 200);
    c.frames.length = 0;
    c.ack();
    const summary = await c.next((f) => f.type === "error");
    expect(summary).toMatchObject({ codeName: "LimitExceeded", error: expect.stringContaining(`${N - errors.length} error frames were not sent`) });
    // Under the bound again: error frames go as before.
    c.ws.send("not msgpack");
    expect(await c.next((f) => f.type === "error")).toMatchObject({ codeName: "BadRequest" });
    c.ws.close(1000, "done");
  });

  it("the count of error frames not sent outlives an eviction: the client that acks after it is told all of them", async () => {
    const name = room();
    const c = await member(name);
    const N = 100;
    for (let i = 0; i < N; i++) c.ws.send("not msgpack");
    await settle(c, 9999);
    const seen = c.frames.filter((f) => f.type === "error").length;
    expect(seen).toBeLessThan(N);
    c.frames.length = 0;
    // A fresh object: the count it has is the one the socket's attachment kept.
    await evictDurableObject(session(name));
    c.ack();
    expect(await c.next((f) => f.type === "error")).toMatchObject({ codeName: "LimitExceeded", error: expect.stringContaining(`${N - seen} error frames were not sent`) });
    c.ws.close(1000, "done");
  });

  it("a client that never acks has its calls refused past the bound (LimitExceeded), is closed past twice it, and its neighbour is served throughout", { timeout: 30_000 }, async () => {
    const name = room();
    const [flooder, neighbour] = [await member(name), await member(name)];
    neighbour.call(1, "join", { name: "neighbour" }, { keepalive: true });
    expect((await neighbour.next((f) => f.id === 1 && f.type !== "callback")).type).toBe("reply");
    const N = 300;
    for (let i = 0; i < N; i++) flooder.call(10 + i, "join", { name: `flooder ${i}` });
    // The neighbour's calls go on while the flood is handled.
    neighbour.call(2, "post", { text: "during" }, { parent: 1 });
    expect(neighbour.json(await neighbour.next((f) => f.id === 2 && f.type === "reply"))).toEqual({ delivered: 1 });
    neighbour.ack();
    const { code, reason } = await Promise.race([flooder.closed, sleep(5000).then(() => ({ code: 0, reason: "not closed in 5 s" }))]);
    expect(code).toBe(1008);
    expect(reason).toContain("limits.socketBufferBytes");
    await sleep(100);
    const replies = flooder.frames.filter((f) => f.type === "reply");
    const refused = flooder.frames.filter((f) => f.type === "fault");
    expect(replies.length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((f) => f.codeName === "LimitExceeded" && /more than limits\.socketBufferBytes \(512\) behind.*\{type: "ack", bytes\}/.test(f.error!))).toBe(true);
    expect(replies.length + refused.length).toBeLessThan(N);
    // Twice the bound, and the one frame that went past it.
    expect(flooder.received()).toBeLessThan(2 * BOUND + 400);
    neighbour.call(3, "post", { text: "after" }, { parent: 1 });
    expect(neighbour.json(await neighbour.next((f) => f.id === 3 && f.type === "reply"))).toEqual({ delivered: 1 });
    expect(neighbour.frames.filter((f) => f.type === "callback").map((f) => neighbour.json(f).text)).toEqual(["during", "after"]);
    neighbour.ws.close(1000, "done");
  });

  it("a client that acks what it receives makes as many calls, none refused, and stays open", { timeout: 30_000 }, async () => {
    const c = await member(room());
    const N = 300;
    for (let i = 0; i < N; i += 5) {
      for (let j = i; j < i + 5; j++) c.call(10 + j, "join", { name: `acking ${j}` });
      for (let j = i; j < i + 5; j++) expect((await c.next((f) => f.id === 10 + j)).type).toBe("reply");
      c.ack();
    }
    expect(c.received()).toBeGreaterThan(4 * BOUND);
    await settle(c, 9999);
    expect(c.frames).toEqual([]);
    c.ws.close(1000, "done");
    expect((await c.closed).code).toBe(1000);
  });

  it("a client that never acks, under the bound, is served as before", async () => {
    const c = await member(room());
    for (let i = 0; i < 4; i++) c.call(10 + i, "join", { name: `raw ${i}` });
    for (let i = 0; i < 4; i++) expect((await c.next((f) => f.id === 10 + i)).type).toBe("reply");
    c.ws.send("not msgpack");
    expect(await c.next((f) => f.type === "error")).toMatchObject({ codeName: "BadRequest" });
    expect(c.received()).toBeLessThan(BOUND);
    c.ws.close(1000, "done");
    expect((await c.closed).code).toBe(1000);
  });
});

describe("a session that wakes without its snapshot holds its clients to their module's bound", () => {
  it("a client within its module's bound, but past twice the default one, gets the faults of its lost calls and stays open", { timeout: 60_000 }, async () => {
    const name = `chat-wide/wake-${crypto.randomUUID().slice(0, 8)}`;
    const stub = env.SESSIONS.get(env.SESSIONS.idFromName(name));
    const c = await open(`/bus/${name}`, (path, init) => stub.fetch(`http://bus.test${path}`, init));
    const closed = new Promise<Frame>((resolve) => c.ws.addEventListener("close", (e) => resolve({ type: `closed ${e.code}` })));
    c.call(1, "join", { name: "c" }, { keepalive: true });
    expect((await c.next((f) => f.id === 1 && f.type !== "callback")).type).toBe("reply");
    // Its own posts come back to it as callbacks, which it never acks: 2.4 MiB behind, under WIDE.
    const text = "x".repeat(800 << 10);
    for (let i = 0; i < 3; i++) {
      c.call(2 + i, "post", { text }, { parent: 1 });
      expect(c.json(await c.next((f) => f.id === 2 + i && f.type === "reply"))).toEqual({ delivered: 1 });
    }
    expect(c.received()).toBeGreaterThan(2 * (1 << 20));
    expect(c.received()).toBeLessThan(WIDE);
    c.frames.length = 0;
    // Its snapshot lost: the join the object held is gone with the instance when it wakes.
    await runInDurableObject(stub, (_o, state) => {
      for (const table of ["snapshot", "snapshot_pages", "snapshot_stream", "snapshot_bytes"]) state.storage.sql.exec(`DELETE FROM ${table}`);
    });
    await evictDurableObject(stub);
    // The drop wakes it; its answer comes after the fault of the lost join.
    c.ws.send(pack({ type: "drop", id: 99 }));
    expect(await Promise.race([c.next((f) => f.id === 99, 10_000).catch((e: Error) => ({ type: e.message })), closed])).toMatchObject({ type: "fault", codeName: "InvalidHandle" });
    expect(c.frames).toEqual([expect.objectContaining({ type: "fault", id: 1, codeName: "Aborted", error: expect.stringContaining("no snapshot to restore") })]);
    c.ws.close(1000, "done");
  });
});

describe("a process attachment is held to socketBufferBytes for every frame", () => {
  async function spawn(args: string[]): Promise<string> {
    const id = env.PROCESSES.newUniqueId().toString();
    const made = await processStub(id).spawn(id, { module: "countdown-tight", args, stdinOpen: true });
    expect(made.ok, JSON.stringify(made)).toBe(true);
    return id;
  }
  async function attach(id: string, query = "") {
    const res = await processStub(id).fetch(`http://bus.test/processes/${id}/attach${query}`, { headers: { upgrade: "websocket" } });
    expect(res.status).toBe(101);
    const ws = res.webSocket!;
    const frames: Record<string, unknown>[] = [];
    let received = 0;
    const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.addEventListener("close", (e) => resolve({ code: e.code, reason: e.reason })));
    ws.addEventListener("message", (e) => {
      frames.push(JSON.parse(e.data as string));
      received += new TextEncoder().encode(e.data as string).length;
    });
    ws.accept();
    return { ws, frames, closed, received: () => received };
  }

  it("error frames answering bad frames stop at the bound; once the client acks, one error frame says how many were not sent", async () => {
    const id = await spawn(["2", "60000"]);
    const c = await attach(id);
    const N = 100;
    for (let i = 0; i < N; i++) c.ws.send("not json");
    await sleep(500);
    const errors = () => c.frames.filter((f) => f.error);
    const seen = errors().length;
    expect(seen).toBeGreaterThan(0);
    expect(seen).toBeLessThan(N);
    // The bound, and one error frame past it (each about 300 bytes).
    expect(c.received()).toBeLessThan(BOUND + 400);
    c.ws.send(JSON.stringify({ received: c.received() }));
    await expect.poll(() => errors().length).toBe(seen + 1);
    expect(errors().at(-1)).toMatchObject({ codeName: "LimitExceeded", error: expect.stringContaining(`${N - seen} error frames were not sent`) });
    await processStub(id).kill();
  });

  it("a client attaching to more output than the bound is replayed lines up to the bound, and told how many it missed once it acks", { timeout: 30_000 }, async () => {
    const id = await spawn(["200", "20"]);
    await expect.poll(async () => (await processStub(id).logs(100)).length, { timeout: 10_000 }).toBeGreaterThan(60);
    const c = await attach(id);
    await sleep(200);
    const stdout = () => c.frames.filter((f) => f.stream === "stdout");
    const replayed = stdout().length;
    expect(replayed).toBeGreaterThan(0);
    expect(c.received()).toBeLessThan(BOUND + 100);
    expect(c.frames.find((f) => String(f.line).includes("lines dropped"))).toBeUndefined();
    c.ws.send(JSON.stringify({ received: c.received() }));
    await expect.poll(() => c.frames.find((f) => String(f.line).includes("lines dropped"))).toMatchObject({ stream: "stderr", line: expect.stringMatching(/\] \d+ lines dropped/) });
    expect(c.frames.filter((f) => f.error)).toEqual([]);
    await processStub(id).kill();
  });

  it("a client past twice the bound (acks of stdin it never reads) is closed, and the process goes on", { timeout: 30_000 }, async () => {
    const id = await spawn(["2", "60000"]);
    const c = await attach(id, "?ack=stdin");
    let closed: { code: number; reason: string } | undefined;
    void c.closed.then((e) => (closed = e));
    // Each stdin frame is acked once stored ({"stdin_taken": n}): the client's own frames grow what it is sent.
    for (let i = 0; i < 200 && !closed; i++) {
      c.ws.send(JSON.stringify({ stdin: "x".repeat(20) }));
      await sleep(10);
    }
    expect(closed?.code).toBe(1008);
    expect(closed?.reason).toContain("limits.socketBufferBytes");
    expect(c.received()).toBeLessThan(2 * BOUND + 100);
    expect((await processStub(id).status())?.status).toBe("running");
    await processStub(id).kill();
  });
});
