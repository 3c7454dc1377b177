import { env as testEnv } from "cloudflare:test";
import { pack, unpack } from "msgpackr";
import { describe, expect, it } from "vitest";
import { modules } from "../build/registry.js";
import { modules as testGuests } from "../build/test-registry.js";
import { setProcessModules } from "../durable-objects/bus-process.js";
import { setSessionModules } from "../durable-objects/bus-session.js";
import { Code, Format } from "../src/abi.js";
import { MAX_QUEUED_BYTES } from "../src/call.js";
import type { Env } from "../src/env.js";
import type { ProcessInfo } from "../src/process.js";
import { guestApp } from "./helpers.js";
import { worker } from "./worker.js";

// Issue 9, section 4: calls across objects keep their callbacks.

// The test guests run as processes too (daemon-rs); the edge over them, with this Worker's bindings.
setProcessModules({ ...modules, ...testGuests });
const env = testEnv as unknown as Env;
const { app } = guestApp();
const edge = (path: string, init?: RequestInit) => app.request(path, init, env);

type Line = { type: string; topic?: string; format?: string; value?: unknown; data?: string; codeName?: string; status?: number };

async function lines(res: Response): Promise<Line[]> {
  return (await res.text())
    .split("\n")
    .filter((l) => l)
    .map((l) => JSON.parse(l) as Line);
}

async function spawnDaemon(): Promise<string> {
  const res = await edge("/processes", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ module: "daemon-rs" }) });
  expect(res.status, await res.clone().text()).toBe(201);
  const { id } = (await res.json()) as ProcessInfo;
  // _start listens, forks and prints "serving".
  for (let i = 0; i < 100 && !(await stdout(id)).includes("serving"); i++) await new Promise((r) => setTimeout(r, 20));
  expect(await stdout(id)).toContain("serving");
  return id;
}

async function stdout(id: string): Promise<string[]> {
  const { lines } = (await (await edge(`/processes/${id}/logs`)).json()) as { lines: { stream?: string; msg: string }[] };
  return lines.filter((l) => l.stream === "stdout").map((l) => l.msg);
}

const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});
const NDJSON = { accept: "application/x-ndjson" };

describe("POST /processes/:id/call/:topic with Accept: application/x-ndjson", () => {
  it("streams the callbacks of a process's call to the HTTP caller, then the reply", async () => {
    const id = await spawnDaemon();
    const res = await edge(`/processes/${id}/call/ticks`, json({ n: 3 }, NDJSON));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-ndjson");
    expect(await lines(res)).toEqual([
      { type: "callback", topic: "tick", format: "json", value: 1 },
      { type: "callback", topic: "tick", format: "json", value: 2 },
      { type: "callback", topic: "tick", format: "json", value: 3 },
      { type: "reply", format: "json", value: { ticks: 3 } },
    ]);
    // Many, in order, every one before the reply.
    const many = await lines(await edge(`/processes/${id}/call/ticks`, json({ n: 500 }, NDJSON)));
    expect(many.map((l) => l.value)).toEqual([...Array.from({ length: 500 }, (_, i) => i + 1), { ticks: 500 }]);
    await edge(`/processes/${id}`, { method: "DELETE" });
  });

  it("answers callbacks in the caller's format: msgpack lines carry base64", async () => {
    const id = await spawnDaemon();
    const res = await edge(`/processes/${id}/call/ticks`, { method: "POST", headers: { "content-type": "application/msgpack", ...NDJSON }, body: pack({ n: 2 }) });
    const got = await lines(res);
    expect(got.map((l) => [l.type, l.format])).toEqual([
      ["callback", "msgpack"],
      ["callback", "msgpack"],
      ["reply", "msgpack"],
    ]);
    expect(got.map((l) => unpack(Uint8Array.from(atob(l.data!), (c) => c.charCodeAt(0))))).toEqual([1, 2, { ticks: 2 }]);
    await edge(`/processes/${id}`, { method: "DELETE" });
  });

  it("without the header a call whose server invokes callbacks fails with MissingCallbacks, as before", async () => {
    const id = await spawnDaemon();
    const res = await edge(`/processes/${id}/call/ticks`, json({ n: 2 }));
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ codeName: "MissingCallbacks" });
    const none = await edge(`/processes/${id}/call/ticks`, json({ n: 0 }));
    expect(await none.json()).toEqual({ ticks: 0 });
    // A refusal before any callback keeps its status, header or not.
    expect((await edge(`/processes/${id}/call/ticks`, json({ n: "x" }, NDJSON))).status).toBe(400);
    expect((await edge(`/processes/${id}/call/nope`, json({}, NDJSON))).status).toBe(404);
    await edge(`/processes/${id}`, { method: "DELETE" });
  });

  it("POST /call/:module/:topic takes the header too; a reader that lags past 4,096 lines refuses the rest (LimitExceeded)", async () => {
    const res = await edge("/call/flood/go", json({}, NDJSON));
    expect(res.status).toBe(200);
    const got = await lines(res);
    const ticks = got.filter((l) => l.type === "callback");
    const reply = got.at(-1)!;
    expect(reply.type).toBe("reply");
    // flood.go invokes tick 20,000 times in one entry and answers how many were refused.
    expect(ticks.length).toBeGreaterThanOrEqual(4096);
    expect(ticks.length + Number(reply.value)).toBe(20_000);
  });

  it("a module that passes on the refusal of a full stream says why, and the caller sees 502, not 413 (the module failed, not its body)", async () => {
    // flood.stop invokes tick until the host refuses one, then faults the call with that code.
    const got = await lines(await edge("/call/flood/stop", json({}, NDJSON)));
    const fault = got.at(-1)!;
    expect(got.filter((l) => l.type === "callback").length).toBeGreaterThanOrEqual(4096);
    expect(fault).toMatchObject({ type: "fault", status: 502, codeName: "LimitExceeded", module: "flood", topic: "stop" });
    expect((fault as { error?: string }).error).toBe(
      "module flood faulted the call with LimitExceeded (20): callback tick: the HTTP stream's callback queue is full (4096 lines its reader has not taken); a module sends at most that many in one entry, and returns to the host between batches",
    );
  });

  it("holds the stream's queue to MAX_QUEUED_BYTES as well: callbacks of 1 MiB stop at 16, long before 4,096 lines", async () => {
    // flood.big invokes tick with 1 MiB at a time until one is refused, then faults with its code.
    const got = await lines(await edge("/call/flood/big", json({}, NDJSON)));
    const fault = got.at(-1)!;
    expect(got.filter((l) => l.type === "callback").length).toBeLessThanOrEqual(16);
    expect(fault).toMatchObject({ type: "fault", status: 502, codeName: "LimitExceeded", module: "flood", topic: "big" });
    expect((fault as { error?: string }).error).toContain(`callback tick: the HTTP stream's callback queue is full (${MAX_QUEUED_BYTES} bytes its reader has not taken)`);
  });

  it("a module that returns to the host between batches gets every callback through, more than 4,096 in all", async () => {
    // flood.batches: 3 batches of 3,000 ticks, a 1 ms sleep between them; answers how many were refused.
    const got = await lines(await edge("/call/flood/batches", json({}, NDJSON)));
    expect(got.filter((l) => l.type === "callback").length).toBe(9000);
    expect(got.at(-1)).toEqual({ type: "reply", format: "json", value: 0 });
  });

  it("a process that sends more callbacks in one entry than can be on their way across objects: the fault says why, 502", async () => {
    const id = await spawnDaemon();
    // daemon-rs's ticks sends every tick in one entry and faults with the first refusal (`?`).
    const got = await lines(await edge(`/processes/${id}/call/ticks`, json({ n: 5000 }, NDJSON)));
    const fault = got.at(-1)! as Line & { error?: string };
    expect(got.filter((l) => l.type === "callback").length).toBe(4096);
    expect(fault).toMatchObject({ type: "fault", status: 502, codeName: "LimitExceeded" });
    expect(fault.error).toContain("callback tick: 4096 callbacks (or 16777216 bytes) are on their way to the caller in another object, undelivered");
    await edge(`/processes/${id}`, { method: "DELETE" });
  });
});

describe("callbacks on their way to another object", () => {
  it(`are held to MAX_QUEUED_BYTES as well as their count: 1 MiB ticks stop at 16 while the caller takes its time`, async () => {
    // flood as a session's instance, called by RPC as another object calls it; the caller's side
    // answers each callback 20 ms later, so the ticks of flood.big's one entry are all on their way.
    setSessionModules({ ...modules, ...testGuests });
    const stub = env.SESSIONS.get(env.SESSIONS.idFromName(`flood/bytes-${Date.now()}`));
    let ticks = 0;
    const events = {
      callback: async () => {
        ticks++;
        await new Promise((r) => setTimeout(r, 20));
        return Code.Success;
      },
    };
    const out = await stub.call("big", { format: Format.Json, data: new TextEncoder().encode("{}") }, { module: "flood" }, events);
    expect(out.ok).toBe(false);
    const error = (out as { error: { code: number; message: string } }).error;
    expect(error.code).toBe(Code.LimitExceeded);
    expect(error.message).toContain(`callback tick: 4096 callbacks (or ${MAX_QUEUED_BYTES} bytes) are on their way to the caller in another object, undelivered`);
    expect(ticks).toBe(16);
  });
});

describe("calls between objects keep their callbacks", () => {
  it("a process joins a chat session (another object): messages reach it, its posts reach the room, its end leaves", async () => {
    const room = `daemon-${Date.now()}`;
    const id = await spawnDaemon();
    // daemon-rs calls chat@<room> join, kept alive, with the callback message: the session's object serves it.
    const joined = await edge(`/processes/${id}/call/join`, json({ room, name: "daemon" }));
    expect(joined.status, await joined.clone().text()).toBe(200);
    expect(await joined.json()).toEqual({ members: 1 });

    const ada = await open(`/bus/chat/${room}`);
    ada.call(1, "join", { name: "ada" }, { keepalive: true });
    expect(await ada.reply(1)).toMatchObject({ members: 2 });
    ada.call(2, "post", { text: "hello daemon" }, { parent: 1 });
    expect(await ada.reply(2)).toEqual({ delivered: 2 });
    expect(await ada.callback()).toEqual({ from: "ada", text: "hello daemon" }); // every member hears a post, its poster too
    // The callback crossed from the session's object into the process's, which printed it.
    await until(async () => (await stdout(id)).includes("ada: hello daemon"));

    // The process posts under its kept-alive join: a call whose parent lives in the other object.
    const posted = await edge(`/processes/${id}/call/post`, json({ text: "hello ada" }));
    expect(await posted.json()).toEqual({ delivered: 2 });
    expect(await ada.callback()).toEqual({ from: "daemon", text: "hello ada" });

    // Killing the process drops its calls: the session's member leaves.
    await edge(`/processes/${id}`, { method: "DELETE" });
    expect(await members(ada)).toBe(1);
    ada.ws.close(1000);
  });

  it("a WebSocket client of one session joins a room of another (wapm chat@room): session to session, callbacks and drop", async () => {
    const room = `bridge-${Date.now()}`;
    const far = await open(`/bus/hello/${room}`); // a session of hello, calling into chat's session
    far.call(1, "join", { name: "far" }, { keepalive: true, wapm: `chat@${room}` });
    expect(await far.reply(1)).toEqual({ joined: "far", members: 1 });
    const near = await open(`/bus/chat/${room}`);
    near.call(1, "join", { name: "near" }, { keepalive: true });
    expect(await near.reply(1)).toMatchObject({ members: 2 });
    near.call(2, "post", { text: "over there?" }, { parent: 1 });
    expect(await near.reply(2)).toEqual({ delivered: 2 });
    expect(await near.callback()).toEqual({ from: "near", text: "over there?" });
    expect(await far.callback()).toEqual({ from: "near", text: "over there?" });
    // A post under the remote join goes to the same object, naming the join as parent.
    far.call(2, "post", { text: "here" }, { parent: 1, wapm: `chat@${room}` });
    expect(await far.reply(2)).toEqual({ delivered: 2 });
    expect(await far.callback()).toEqual({ from: "far", text: "here" });
    expect(await near.callback()).toEqual({ from: "far", text: "here" });
    // Dropping the remote join leaves the room.
    far.drop(1);
    expect(await members(near)).toBe(1);
    far.ws.close(1000);
    near.ws.close(1000);
  });

  it("refuses a session name that is not one, and a module that is not there", async () => {
    const c = await open(`/bus/hello/x-${Date.now()}`);
    c.call(1, "join", { name: "a" }, { wapm: "chat@bad name" });
    await expect(c.reply(1)).rejects.toThrow(/InvalidWapm/);
    c.call(2, "join", { name: "a" }, { wapm: "nope@room" });
    await expect(c.reply(2)).rejects.toThrow(/InvalidWapm/);
    c.ws.close(1000);
  });
});

let posts = 100;
/** How many members a post reaches, once the count has settled (a drop reaches the room soon after it is made). */
async function members(client: Awaited<ReturnType<typeof open>>): Promise<number> {
  let delivered = 0;
  for (let i = 0; i < 50; i++) {
    const id = ++posts;
    client.call(id, "post", { text: "who is here?" }, { parent: 1 });
    delivered = ((await client.reply(id)) as { delivered: number }).delivered;
    if (delivered === 1) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return delivered;
}

async function until(check: () => Promise<boolean>, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

type Frame = { type: string; id: number; payload?: Uint8Array; error?: string; codeName?: string };

/** A bus client of GET /bus/:module/:session: json calls; replies by id, callbacks in order. */
async function open(path: string) {
  const res = await worker(path, { headers: { upgrade: "websocket" } });
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  ws.accept();
  const frames: Frame[] = [];
  let order = Promise.resolve();
  ws.addEventListener("message", (e) => {
    const data = e.data as Blob | ArrayBuffer;
    order = order.then(async () => {
      frames.push(unpack(new Uint8Array(data instanceof ArrayBuffer ? data : await data.arrayBuffer())) as Frame);
    });
  });
  const decode = (f: Frame) => JSON.parse(new TextDecoder().decode(f.payload));
  const take = async (match: (f: Frame) => boolean, what: string) => {
    for (let i = 0; i < 250; i++) {
      const at = frames.findIndex(match);
      if (at >= 0) return frames.splice(at, 1)[0]!;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no ${what}; have ${JSON.stringify(frames)}`);
  };
  return {
    ws,
    call: (id: number, topic: string, body: unknown, extra: Record<string, unknown> = {}) =>
      ws.send(pack({ type: "call", id, topic, format: "json", payload: new TextEncoder().encode(JSON.stringify(body)), ...extra })),
    drop: (id: number) => ws.send(pack({ type: "drop", id })),
    reply: async (id: number) => {
      const f = await take((f) => f.id === id && (f.type === "reply" || f.type === "fault"), `reply to ${id}`);
      if (f.type === "fault") throw new Error(`${f.codeName}: ${f.error}`);
      return decode(f);
    },
    callback: async () => decode(await take((f) => f.type === "callback", "callback")),
  };
}
