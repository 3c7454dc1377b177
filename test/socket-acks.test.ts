// socketBufferBytes over real sockets in workerd, whose WebSocket.bufferedAmount is undefined on
// these sockets (cloudflare/workerd#988): how far behind a client is, is what it has not acknowledged. A client
// that does not acknowledge is held to the bound (the process waits for it, misses lines, its
// callbacks are refused); one that acknowledges what it receives gets everything; a bad ack is an
// error frame and changes nothing.
import { env as testEnv, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { pack } from "msgpackr";
import { describe, expect, it, vi } from "vitest";
import { modules } from "../build/registry.js";
import { modules as testGuests } from "../build/test-registry.js";
import { setProcessModules } from "../durable-objects/bus-process.js";
import { setSessionModules } from "../durable-objects/bus-session.js";
import type { ModuleEntry } from "../src/runtime.js";
import type { Env } from "../src/env.js";
import { open } from "./bus-socket.js";
import { processStub } from "./worker.js";

/** `entry` with a `socketBufferBytes` of `bytes`. */
function tight(entry: ModuleEntry, bytes: number): ModuleEntry {
  const manifest = entry.manifest as { limits?: object };
  return { ...entry, manifest: { ...manifest, limits: { ...manifest.limits, socketBufferBytes: bytes } } };
}

const registry = {
  ...modules,
  ...testGuests,
  "chat-tight": tight(modules.chat!, 512),
  "countdown-tight": tight(modules.countdown!, 100),
  // Past a batch of lines (64 KiB, process-output.ts): a batch goes to the sockets whole.
  "wasi-probe-tight": tight(testGuests["wasi-probe"]!, 256 << 10),
};
setProcessModules(registry);
setSessionModules(registry);
const env = testEnv as unknown as Env;

async function spawn(module: string, args: string[]): Promise<string> {
  const id = env.PROCESSES.newUniqueId().toString();
  const made = await processStub(id).spawn(id, { module, args, stdinOpen: true });
  expect(made.ok, JSON.stringify(made)).toBe(true);
  return id;
}

/** Attaches to a process. `acking.on`: it acknowledges each frame as it comes (all it received so far), but an error frame. */
async function attach(id: string) {
  const res = await processStub(id).fetch(`http://bus.test/processes/${id}/attach`, { headers: { upgrade: "websocket" } });
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  const frames: Record<string, unknown>[] = [];
  const acking = { on: false };
  let received = 0;
  const closed = new Promise<number>((resolve) => ws.addEventListener("close", (e) => resolve(e.code)));
  ws.addEventListener("message", (e) => {
    frames.push(JSON.parse(e.data as string));
    received += new TextEncoder().encode(e.data as string).length;
    // Not an error frame (one that refused an ack would be answered with another, without end).
    if (acking.on && !frames.at(-1)!.error) ws.send(JSON.stringify({ received }));
  });
  ws.accept();
  return { ws, frames, closed, acking, received: () => received };
}

const stdout = (frames: Record<string, unknown>[]) => frames.filter((f) => f.stream === "stdout").map((f) => f.line);
const dropped = (frames: Record<string, unknown>[]) => frames.filter((f) => f.stream === "stderr" && String(f.line).includes("lines dropped"));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("an attached client is as far behind as it has not acknowledged", () => {
  it("a guest that can wait waits for a client that does not ack, and goes on once it acks: every line, none dropped", { timeout: 30_000 }, async () => {
    const N = 20_000;
    const id = await spawn("wasi-probe-tight", ["print", String(N), "wait"]);
    const client = await attach(id);
    client.ws.send(JSON.stringify({ close_stdin: true }));
    await sleep(1500);
    const info = await processStub(id).status();
    const held = stdout(client.frames).length;
    expect(info?.status, `${held} lines reached the client, which acked none`).toBe("running");
    expect(held).toBeLessThan(N);
    // It acks all it has, and each frame from now on.
    client.acking.on = true;
    client.ws.send(JSON.stringify({ received: client.received() }));
    expect(await client.closed).toBe(1000);
    expect(client.frames.at(-1)).toEqual({ exit: 0 });
    expect(dropped(client.frames)).toEqual([]);
    const lines = stdout(client.frames);
    expect(lines.length).toBe(N);
    expect(lines.findIndex((l, i) => l !== `line ${i}`)).toBe(-1);
  });

  it("where the guest cannot wait, a client that does not ack misses lines past socketBufferBytes and is told how many; one that acks gets every line", { timeout: 30_000 }, async () => {
    const N = 30;
    const id = await spawn("countdown-tight", [String(N), "20"]);
    const [silent, acking] = [await attach(id), await attach(id)];
    acking.acking.on = true;
    acking.ws.send(JSON.stringify({ received: acking.received() }));
    expect(await silent.closed).toBe(1000);
    expect(await acking.closed).toBe(1000);
    const counted = dropped(silent.frames);
    expect(counted).toHaveLength(1);
    const missed = Number(/\] (\d+) lines dropped/.exec(String(counted[0]!.line))![1]);
    expect(missed).toBeGreaterThan(0);
    expect(stdout(silent.frames).length + missed).toBe(N);
    expect(silent.frames.at(-1)).toEqual({ exit: 0 });
    expect(stdout(acking.frames)).toEqual(Array.from({ length: N }, (_, i) => String(N - i)));
    expect(dropped(acking.frames)).toEqual([]);
  });

  it.each([
    ["not a number", "10", "is a string, not an integer"],
    ["negative", -1, "is -1, negative"],
    ["more than was sent", 1e9, "more than the"],
    ["fractional", 1.5, "is 1.5, not an integer"],
    ["an integer past 2^53", 2 ** 53 + 2, "is 9007199254740994, more than the"],
    ["an object", { n: 1 }, "is an object, not an integer"],
  ])("a bad ack (%s) gets an error frame, BadRequest, and changes nothing", async (_, received, why) => {
    const id = await spawn("wasi-probe-tight", ["print", "1", "wait"]);
    const client = await attach(id);
    client.ws.send(JSON.stringify({ received }));
    await expect.poll(() => client.frames.find((f) => f.error)).toMatchObject({ codeName: "BadRequest", error: expect.stringContaining(why) });
    // The count stands: an ack of all it received is taken (no error), as is the same ack again.
    const errors = () => client.frames.filter((f) => f.error).length;
    client.ws.send(JSON.stringify({ received: client.received() }));
    client.ws.send(JSON.stringify({ received: client.received() }));
    client.ws.send(JSON.stringify({ close_stdin: true }));
    expect(await client.closed).toBe(1000);
    expect(errors()).toBe(1);
    expect(stdout(client.frames)).toEqual(["line 0"]);
  });

  it("an ack going backwards, or in a frame with stdin, gets an error frame, BadRequest, and changes nothing", async () => {
    const id = await spawn("countdown-tight", ["2", "1000"]);
    const client = await attach(id);
    await expect.poll(() => stdout(client.frames)).toEqual(["2"]);
    const all = client.received();
    client.ws.send(JSON.stringify({ received: all }));
    client.ws.send(JSON.stringify({ received: all - 1 }));
    await expect.poll(() => client.frames.filter((f) => f.error)).toHaveLength(1);
    // That error frame is more than socketBufferBytes (100): the client acks it before it sends
    // the next bad frame, whose error frame would otherwise wait until it did.
    client.ws.send(JSON.stringify({ received: client.received() }));
    client.ws.send(JSON.stringify({ received: client.received(), stdin: "x" }));
    await expect.poll(() => client.frames.filter((f) => f.error)).toHaveLength(2);
    const [backwards, withStdin] = client.frames.filter((f) => f.error);
    expect(backwards).toMatchObject({ codeName: "BadRequest", error: expect.stringContaining(`is ${all - 1}, less than the ${all} acknowledged before`) });
    expect(withStdin).toMatchObject({ codeName: "BadRequest", error: expect.stringContaining("received goes in a frame of its own") });
    // The count stands, and moves on with what came since (the error frames).
    client.ws.send(JSON.stringify({ received: client.received() }));
    expect(await client.closed).toBe(1000);
    expect(client.frames.filter((f) => f.error)).toHaveLength(2);
    expect(stdout(client.frames)).toEqual(["2", "1"]);
  });
});

describe("a session's callbacks to a client are held to what it has not acknowledged", () => {
  const session = (name: string) => env.SESSIONS.get(env.SESSIONS.idFromName(`chat-tight/${name}`));
  /** A client of session `name` of chat-tight (socketBufferBytes 512), which the Worker does not serve. */
  const member = (name: string) => open(`/bus/chat-tight/${name}`, (path, init) => session(name).fetch(`http://bus.test${path}`, init));

  it("one that never acks has callbacks refused past socketBufferBytes (the module hears LimitExceeded); one that acks gets every one", { timeout: 30_000 }, async () => {
    const room = `room-${crypto.randomUUID().slice(0, 8)}`;
    const [silent, acking] = [await member(room), await member(room)];
    silent.call(1, "join", { name: "silent" }, { keepalive: true });
    expect((await silent.next((f) => f.id === 1 && f.type !== "callback")).type).toBe("reply");
    acking.call(1, "join", { name: "acking" }, { keepalive: true });
    expect((await acking.next((f) => f.id === 1 && f.type !== "callback")).type).toBe("reply");
    const N = 40;
    const delivered: number[] = [];
    for (let i = 0; i < N; i++) {
      acking.call(2 + i, "post", { text: `message ${i}` }, { parent: 1 });
      delivered.push(acking.json(await acking.next((f) => f.id === 2 + i && f.type === "reply")).delivered);
      acking.ack();
    }
    await sleep(200);
    const heard = (c: typeof silent) => c.frames.filter((f) => f.type === "callback").map((f) => c.json(f).text);
    const all = Array.from({ length: N }, (_, i) => `message ${i}`);
    expect(heard(acking)).toEqual(all);
    const got = heard(silent);
    expect(got.length, `the silent member got ${got.length}`).toBeGreaterThan(0);
    expect(got.length).toBeLessThan(N);
    expect(got).toEqual(all.slice(0, got.length));
    expect(delivered).toEqual([...Array(got.length).fill(2), ...Array(N - got.length).fill(1)]);
    // Once it acks, it gets callbacks again. Its socket's frames are handled in order: once this
    // drop is answered, the ack is counted, and the post on the other socket cannot overtake it.
    silent.ack();
    silent.ws.send(pack({ type: "drop", id: 99 }));
    expect(await silent.next((f) => f.id === 99)).toMatchObject({ type: "fault", codeName: "InvalidHandle" });
    acking.call(100, "post", { text: "again" }, { parent: 1 });
    expect(acking.json(await acking.next((f) => f.id === 100 && f.type === "reply"))).toEqual({ delivered: 2 });
    for (const c of [silent, acking]) c.ws.close(1000, "done");
  });

  it("a post whose callbacks are refused to several members logs one line saying how many, not one per member", { timeout: 30_000 }, async () => {
    const room = `quiet-${crypto.randomUUID().slice(0, 8)}`;
    const silent = [await member(room), await member(room), await member(room)];
    const acking = await member(room);
    for (const [i, c] of [...silent, acking].entries()) {
      c.call(1, "join", { name: `m${i}` }, { keepalive: true });
      expect((await c.next((f) => f.id === 1 && f.type !== "callback")).type).toBe("reply");
    }
    const warned: string[] = [];
    const spy = vi.spyOn(console, "warn").mockImplementation((...args: unknown[]) => void warned.push(args.map(String).join(" ")));
    let refused = 0;
    const N = 30;
    try {
      for (let i = 0; i < N; i++) {
        acking.call(2 + i, "post", { text: `message ${i}` }, { parent: 1 });
        refused += 4 - acking.json(await acking.next((f) => f.id === 2 + i && f.type === "reply")).delivered;
        acking.ack();
      }
    } finally {
      spy.mockRestore();
    }
    const lines = warned.map((w) => (JSON.parse(w) as { msg: string }).msg).filter((m) => m.includes("not delivered"));
    expect(refused, "callbacks refused to the three silent members").toBeGreaterThan(N);
    const counts = lines.map((m) => Number(/not delivered to (\d+) member\(s\), m[0-2] the first: code 20$/.exec(m)?.[1]));
    expect(counts.every((n) => n >= 1 && n <= 3), lines.join("\n")).toBe(true);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(refused);
    expect(lines.length).toBeLessThanOrEqual(N);
    for (const c of [...silent, acking]) c.ws.close(1000, "done");
  });

  it("the counts outlive an eviction: a member held before it is held after it, and one that acked before it is not", { timeout: 30_000 }, async () => {
    const room = `evicted-${crypto.randomUUID().slice(0, 8)}`;
    const [silent, acking] = [await member(room), await member(room)];
    silent.call(1, "join", { name: "silent" }, { keepalive: true });
    expect((await silent.next((f) => f.id === 1 && f.type !== "callback")).type).toBe("reply");
    acking.call(1, "join", { name: "acking" }, { keepalive: true });
    expect((await acking.next((f) => f.id === 1 && f.type !== "callback")).type).toBe("reply");
    /** acking posts `text`, acks all it has, and answers how many members the post reached. */
    let id = 2;
    const post = async (text: string) => {
      acking.call(id, "post", { text }, { parent: 1 });
      const { delivered } = acking.json(await acking.next((f) => f.id === id && f.type === "reply"));
      id++;
      acking.ack();
      return delivered as number;
    };
    // Posts until the silent member is past the bound: it is held from then on.
    let posts = 0;
    while ((await post(`before ${posts}`)) === 2) expect(++posts).toBeLessThan(40);
    const heard = (c: typeof silent) => c.frames.filter((f) => f.type === "callback").map((f) => c.json(f).text);
    const held = heard(silent);
    expect(held).toHaveLength(posts);
    // The acking member has had more than the bound sent to it: only its acks keep it under.
    expect(acking.received()).toBeGreaterThan(512);
    await evictDurableObject(session(room));
    // A fresh object: the counts it reads are those its sockets' attachments kept. Counted from
    // nothing, the silent member would get this post; without the acks, the acking member would not.
    expect(await post("after the eviction")).toBe(1);
    expect(heard(acking).at(-1)).toBe("after the eviction");
    // The post's callbacks went out before its reply; this drop is handled after, so its answer
    // comes after any callback the silent member was sent.
    silent.ws.send(pack({ type: "drop", id: 98 }));
    expect(await silent.next((f) => f.id === 98)).toMatchObject({ type: "fault", codeName: "InvalidHandle" });
    expect(heard(silent)).toEqual(held);
    // It acks (its count, kept through the eviction, takes the ack as the next after its last): callbacks flow again.
    silent.ack();
    // Its socket's frames are handled in order: once this drop is answered, the ack is counted.
    silent.ws.send(pack({ type: "drop", id: 99 }));
    expect(await silent.next((f) => f.id === 99)).toMatchObject({ type: "fault", codeName: "InvalidHandle" });
    expect(await post("acked")).toBe(2);
    expect(silent.json(await silent.next((f) => f.type === "callback" && silent.json(f).text === "acked"))).toEqual({ from: "acking", text: "acked" });
    expect(silent.frames.filter((f) => f.type === "error")).toEqual([]);
    for (const c of [silent, acking]) c.ws.close(1000, "done");
  });

  it("an ack whose bytes are a 64-bit msgpack integer (as encoders that write every u64 so send it) is taken", async () => {
    const c = await member(`u64-${crypto.randomUUID().slice(0, 8)}`);
    c.call(1, "join", { name: "c" }, { keepalive: true });
    expect((await c.next((f) => f.id === 1)).type).toBe("reply");
    const all = c.received();
    const u64 = [0xcf, ...Array.from({ length: 8 }, (_, i) => Number((BigInt(all) >> BigInt(56 - 8 * i)) & 0xffn))];
    c.ws.send(Uint8Array.of(0x82, ...pack("type"), ...pack("ack"), ...pack("bytes"), ...u64));
    // Taken: an ack of one byte less now goes back.
    c.ack(all - 1);
    expect(await c.next((f) => f.type === "error")).toMatchObject({ codeName: "BadRequest", error: expect.stringContaining(`is ${all - 1}, less than the ${all} acknowledged before`) });
    await sleep(100);
    expect(c.frames.filter((f) => f.type === "error")).toEqual([]);
    c.ws.close(1000, "done");
  });

  // Hibernation may follow any idle moment, with no hook before it, and keeps of a socket only its
  // attachment: the counts are there as soon as the event that changed them ends, not only in memory.
  it("each socket's attachment holds its own counts once the frame or ack that changed them is done", async () => {
    // chat, not chat-tight: the poster gets every callback it does not ack.
    const room = `counts-${crypto.randomUUID().slice(0, 8)}`;
    const stub = env.SESSIONS.get(env.SESSIONS.idFromName(`chat/${room}`));
    const client = () => open(`/bus/chat/${room}`, (path, init) => stub.fetch(`http://bus.test${path}`, init));
    const [poster, reader] = [await client(), await client()];
    poster.call(1, "join", { name: "poster" }, { keepalive: true });
    expect((await poster.next((f) => f.id === 1 && f.type !== "callback")).type).toBe("reply");
    reader.call(1, "join", { name: "reader" }, { keepalive: true });
    expect((await reader.next((f) => f.id === 1 && f.type !== "callback")).type).toBe("reply");
    for (let i = 0; i < 3; i++) {
      poster.call(2 + i, "post", { text: `message ${i}` }, { parent: 1 });
      await poster.next((f) => f.id === 2 + i && f.type === "reply");
    }
    await reader.next((f) => f.type === "callback" && reader.json(f).text === "message 2");
    // The ack is the reader's last frame, and nothing is sent to it after: its attachment must
    // have it from the ack itself.
    reader.ack();
    const acked = reader.received();
    const counts = async () => {
      const attachments = await runInDurableObject(stub, (_o, state) => state.getWebSockets().map((ws) => ws.deserializeAttachment() as { sent: number; acked: number }));
      return attachments.map(({ sent, acked }) => ({ sent, acked })).sort((x, y) => x.acked - y.acked);
    };
    // The object reads the ack in its own time: up to 2 s for its count to show.
    for (let until = Date.now() + 2000; (await counts())[1]?.acked !== acked && Date.now() < until; ) await sleep(20);
    expect(await counts()).toEqual([
      { sent: poster.received(), acked: 0 },
      { sent: reader.received(), acked },
    ]);
    expect(acked).toBeGreaterThan(0);
    for (const c of [poster, reader]) c.ws.close(1000, "done");
  });

  it.each([
    ["not a number", "10", "is a string, not an integer"],
    ["negative", -1, "is -1, negative"],
    ["fractional", 0.5, "is 0.5, not an integer"],
    ["more than was sent", 1e9, "more than the"],
    ["a uint64 past 2^53", 2n ** 64n - 1n, "is 18446744073709551615, more than the"],
    ["bytes", new Uint8Array(4), "is bytes, not an integer"],
  ])("a bad ack (%s) gets an error frame, BadRequest, and changes nothing", async (_, bytes, why) => {
    const c = await member(`bad-${crypto.randomUUID().slice(0, 8)}`);
    c.call(1, "join", { name: "c" }, { keepalive: true });
    expect((await c.next((f) => f.id === 1)).type).toBe("reply");
    c.ack(bytes);
    expect(await c.next((f) => f.type === "error")).toMatchObject({ codeName: "BadRequest", error: expect.stringContaining(why) });
    // Acks of what it received are taken, the same one twice too, and one going back is refused.
    c.ack();
    c.ack();
    const all = c.received();
    c.ack(all - 1);
    expect(await c.next((f) => f.type === "error")).toMatchObject({ codeName: "BadRequest", error: expect.stringContaining(`is ${all - 1}, less than the ${all} acknowledged before`) });
    await sleep(100);
    expect(c.frames.filter((f) => f.type === "error")).toEqual([]);
    c.ws.close(1000, "done");
  });
});
