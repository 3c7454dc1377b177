// What all of one object's clients are behind together is held to a budget (16 x
// socketBufferBytes: durable-objects/socket-total.ts), over real sockets in workerd, where how far
// behind a client is, is what it has not acknowledged: many clients, each within its own bound,
// cannot together pile up more than that in the object they share.
import { env as testEnv, evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { modules } from "../build/registry.js";
import { modules as testGuests } from "../build/test-registry.js";
import { setProcessModules } from "../durable-objects/bus-process.js";
import { setSessionModules } from "../durable-objects/bus-session.js";
import { socketBudget } from "../durable-objects/socket-total.js";
import type { Env } from "../src/env.js";
import type { ModuleEntry } from "../src/runtime.js";
import { open } from "./bus-socket.js";
import { processStub } from "./worker.js";

const BOUND = 4096;
/** The budget of a session of the few clients here (25): sixteen bounds. */
const BUDGET = socketBudget(BOUND, 25);

/** `entry` with a `socketBufferBytes` of `bytes`. */
function tight(entry: ModuleEntry, bytes: number): ModuleEntry {
  const manifest = entry.manifest as { limits?: object };
  return { ...entry, manifest: { ...manifest, limits: { ...manifest.limits, socketBufferBytes: bytes } } };
}

const registry = { ...modules, "chat-total": tight(modules.chat!, BOUND), "countdown-total": tight(modules.countdown!, 512), "slow-total": tight(testGuests.slow!, 512) };
setSessionModules(registry);
setProcessModules(registry);
const env = testEnv as unknown as Env;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("the clients of a session together are held to the object's budget", () => {
  const name = `chat-total/total-${crypto.randomUUID().slice(0, 8)}`;
  const session = env.SESSIONS.get(env.SESSIONS.idFromName(name));
  const member = async () => {
    const c = await open(`/bus/${name}`, (path, init) => session.fetch(`http://bus.test${path}`, init));
    let closed: { code: number; reason: string } | undefined;
    const closing = new Promise<void>((resolve) =>
      c.ws.addEventListener("close", (e) => {
        closed = { code: e.code, reason: e.reason };
        resolve();
      }),
    );
    return { ...c, closing, closed: () => closed };
  };

  it("past the budget the clients furthest behind are closed, the rest stay under it, and a client that acks is served throughout", { timeout: 60_000 }, async () => {
    const reader = await member();
    reader.call(1, "join", { name: "reader" }, { keepalive: true });
    expect((await reader.next((f) => f.id === 1)).type).toBe("reply");
    reader.ack();
    /** A post by the reader, answered (not refused) and acked once its callback came. */
    let post = 2;
    const served = async () => {
      const id = post++;
      reader.call(id, "post", { text: `post ${id}` }, { parent: 1 });
      const answer = await reader.next((f) => f.id === id && f.type !== "callback");
      expect(answer.type, JSON.stringify(answer)).toBe("reply");
      await reader.next((f) => f.id === 1 && f.type === "callback");
      reader.ack();
    };
    // Clients that never ack, each kept under its own bound's twice (where it would be closed on
    // its own): 18 answers of some 380 bytes. Together they are far past the budget.
    const HOGS = 24;
    const CALLS = 18;
    const hogs = [];
    for (let h = 0; h < HOGS; h++) {
      const hog = await member();
      hogs.push(hog);
      for (let i = 0; i < CALLS; i++) hog.call(10 + i, "join", { name: `${h}:${"h".repeat(300)}` });
      await Promise.race([hog.next((f) => f.id === 10 + CALLS - 1, 10_000), hog.closing]);
      if (h % 4 === 3) await served();
    }
    await served();
    // A close comes after the frames before it: once the reader is answered again, every close sent has come.
    await sleep(200);
    const closed = hogs.filter((h) => h.closed());
    const open = hogs.filter((h) => !h.closed());
    expect(closed.length).toBeGreaterThan(0);
    expect(open.length).toBeGreaterThan(0);
    for (const h of closed) expect(h.closed()).toEqual({ code: 1008, reason: expect.stringContaining(`clients together more than ${BUDGET} behind (16 x limits.socketBufferBytes`) });
    // Each within its own twice the bound: none was closed on its own.
    for (const h of hogs) expect(h.received()).toBeLessThan(2 * BOUND);
    // Those closed were the furthest behind: past their bound each.
    for (const h of closed) expect(h.received()).toBeGreaterThan(BOUND);
    // What the rest are behind together: under the budget, but for the one frame that took it past.
    const behind = open.reduce((sum, h) => sum + h.received(), 0);
    expect(behind).toBeLessThan(BUDGET + 400);
    // A hog left open is past its share of half the budget: its calls are refused, and say why.
    const left = open.reduce((a, b) => (b.received() < a.received() ? b : a));
    expect(left.received()).toBeGreaterThan(BUDGET / 2 / (open.length + 1));
    left.call(99, "join", { name: "again" });
    expect(await Promise.race([left.next((f) => f.id === 99), left.closing])).toMatchObject({ type: "fault", codeName: "LimitExceeded", error: expect.stringContaining("its share") });
    // A fresh object counts the total again from its sockets' attachments: the share holds after the wake.
    await evictDurableObject(session);
    left.call(100, "join", { name: "again" });
    expect(await Promise.race([left.next((f) => f.id === 100), left.closing])).toMatchObject({ type: "fault", codeName: "LimitExceeded", error: expect.stringContaining("its share") });
    await served();
    expect(reader.closed()).toBeUndefined();
    for (const c of [reader, ...open]) c.ws.close(1000, "done");
  });
});

describe("the clients attached to a process together are held to the object's budget", () => {
  const bound = 512;
  /** The budget of a process of the few clients here (13): sixteen bounds. */
  const budget = socketBudget(bound, 13);
  async function attach(id: string) {
    const res = await processStub(id).fetch(`http://bus.test/processes/${id}/attach`, { headers: { upgrade: "websocket" } });
    expect(res.status).toBe(101);
    const ws = res.webSocket!;
    const lines: string[] = [];
    let received = 0;
    ws.addEventListener("message", (e) => {
      received += new TextEncoder().encode(e.data as string).length;
      const frame = JSON.parse(e.data as string) as { line?: string };
      if (frame.line !== undefined) lines.push(frame.line);
    });
    ws.accept();
    return { ws, lines, received: () => received };
  }

  it("clients that never ack miss lines past their share of half the budget, together staying near it; one that acks gets every line", { timeout: 30_000 }, async () => {
    const id = env.PROCESSES.newUniqueId().toString();
    const made = await processStub(id).spawn(id, { module: "countdown-total", args: ["100000", "2"], stdinOpen: true });
    expect(made.ok, JSON.stringify(made)).toBe(true);
    try {
      await heldTogether(id);
    } finally {
      await processStub(id).kill();
    }
  });

  async function heldTogether(id: string) {
    const reader = await attach(id);
    reader.ws.addEventListener("message", () => reader.ws.send(JSON.stringify({ received: reader.received() })));
    const N = 12;
    const hogs: Awaited<ReturnType<typeof attach>>[] = [];
    for (let i = 0; i < N; i++) hogs.push(await attach(id));
    // Each alone would get its bound (512) and a line past it: together more than half the budget.
    expect(N * bound).toBeGreaterThan(budget / 2);
    const together = () => hogs.reduce((sum, h) => sum + h.received(), 0);
    await expect.poll(together, { timeout: 10_000 }).toBeGreaterThan(budget / 2 - N * 40);
    await expect.poll(() => reader.lines.length, { timeout: 10_000 }).toBeGreaterThan(100);
    // Half the budget, and a line (some 35 bytes) past its share for each.
    expect(together()).toBeLessThan(budget / 2 + (N + 1) * 40);
    expect(hogs.every((h) => h.received() < bound)).toBe(true);
    // The reader missed none: its lines count down one by one.
    const got = reader.lines.map(Number);
    expect(got.length).toBeGreaterThan(100);
    expect(got.every((n, i) => i === 0 || n === got[i - 1]! - 1)).toBe(true);
  }
});

describe("a client that closes with a call pending", () => {
  // `slow` nap waits 10 s: a call of it is pending when its client closes. socketBufferBytes 512:
  // a budget of 8 KiB, past whose half (4 KiB) each client is held to its share.
  const bound = 512;
  const name = `slow-total/ghosts-${crypto.randomUUID().slice(0, 8)}`;
  const session = env.SESSIONS.get(env.SESSIONS.idFromName(name));
  const client = () => open(`/bus/${name}`, (path, init) => session.fetch(`http://bus.test${path}`, init));
  /** An error frame for a text frame (BadRequest): some 100 bytes the client does not ack. */
  const behindBy = async (c: Awaited<ReturnType<typeof client>>, frames: number) => {
    for (let i = 0; i < frames; i++) c.ws.send("not msgpack");
    for (let i = 0; i < frames; i++) await c.next((f) => f.type === "error");
  };

  it("counts no more in what the clients are behind together once it closed, though its call's fault goes after its close", { timeout: 30_000 }, async () => {
    // Each leaves some 400 bytes unacked and its nap's fault (Aborted) sent at its close: ten of
    // them would be past half the budget, were they still counted.
    for (let g = 0; g < 10; g++) {
      const ghost = await client();
      await behindBy(ghost, 4);
      ghost.call(1, "nap", {});
      await sleep(50);
      ghost.ws.close(1000, "gone");
      await sleep(50);
    }
    // A client 4 error frames behind is under its own bound (512), where the closed ones count no more.
    const live = await client();
    await behindBy(live, 4);
    expect(live.received()).toBeLessThan(bound);
    live.call(2, "nap", {});
    live.call(3, "nap", {});
    // Refused at once (its share, 4 KiB over 11), were the closed clients still counted.
    await sleep(300);
    expect(live.frames.filter((f) => f.codeName === "LimitExceeded")).toEqual([]);
    live.ws.close(1000, "done");
  });
});
