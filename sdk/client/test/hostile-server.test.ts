import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MAX_UNREAD_CALLBACKS } from "../src/session-call.js";
import { KEPT_UNREAD } from "../src/attach.js";
import { BusError, Client, type ProcessEvent, type SessionCall } from "../src/index.js";
import { Code } from "../src/codes.js";
import { type FakeSocket, fakeFetch, fakeSockets, json, pack, tick } from "./fakes.js";

// A hostile or broken server (a proxy, a newer or buggy runtime, an attacker's endpoint) drives
// the client with random and adversarial frames and bodies. Seeded, so a failure replays: the
// seed is in the test's name.
const SEEDS = Array.from({ length: Number(process.env.HOSTILE_SEEDS ?? 40) }, (_, i) => 0x9e3779b9 ^ (i * 7919));

/** mulberry32: small, seeded, good enough to pick cases. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
  return { next, int, pick, bytes };
}
type Rng = ReturnType<typeof rng>;

/** Values of every wrong type a field could get. */
const WEIRD: readonly unknown[] = [undefined, null, 0, -1, 1.5, 2 ** 40, "7", "", "Aborted", true, [], [1, 2], {}, { error: 1 }, new Uint8Array([0xff, 0xfe])];

function weird(r: Rng): unknown {
  return r.pick(WEIRD);
}

/** A server frame of the session protocol, mostly wrong somewhere. */
function sessionFrame(r: Rng, ids: number[]): object | string | Uint8Array {
  const id = r.next() < 0.7 && ids.length ? r.pick(ids) : r.pick([0, -1, 1e9, 2 ** 53, "1", null, undefined, 1.5]);
  const payload = r.pick<unknown>([json({ ok: 1 }), json("hi"), pack({ ok: 1 }), r.bytes(r.int(12)), new Uint8Array(), "text", 5, null, undefined]);
  const format = r.pick<unknown>(["json", "msgpack", "raw", "bincode", 0, 1, 2, 3, 9, -1, "xml", null, undefined, {}]);
  switch (r.int(12)) {
    case 0:
      return r.bytes(r.int(40)); // garbage
    case 1: {
      const good = pack({ type: "reply", id, format: "json", payload: json(1) });
      return good.slice(0, r.int(good.length)); // truncated
    }
    case 2:
      return r.pick(["reply", "{}", "", "\u0000", JSON.stringify({ type: "reply", id })]); // text on a binary socket
    case 3:
      return { type: r.pick(["ping", "REPLY", "", 7, null, "call", "drop"]), id, payload, format };
    case 4:
      return { type: "reply", id, format, payload };
    case 5:
      return { type: "fault", id, code: r.next() < 0.5 ? weird(r) : r.int(40), codeName: weird(r), error: r.next() < 0.5 ? weird(r) : "bad", detail: weird(r) };
    case 6:
      return { type: "callback", id, topic: r.next() < 0.7 ? r.pick(["message", "left", "tick"]) : weird(r), format, payload };
    case 7:
      return { type: "error", error: weird(r) };
    case 8:
      return r.pick<unknown>([null, 5, "str", [], [1, 2, 3], true]) as object; // not a map
    case 9:
      return { type: "reply", id, format: "json", payload: json({ ok: 1 }), extra: r.bytes(8) };
    case 10:
      return { type: "callback", id, topic: "message", format: "json", payload: json({ from: "x", text: "spam" }) };
    default:
      return { type: "reply", id, format: "json", payload: json({ joined: "x", members: 1 }) };
  }
}

function deliver(socket: FakeSocket, frame: object | string | Uint8Array) {
  if (typeof frame === "string") socket.receive(frame);
  else socket.receiveBytes(frame instanceof Uint8Array ? frame : pack(frame));
}

/** HTTP answers a hostile server or proxy gives. */
function hostileResponse(r: Rng): Response {
  const status = r.pick([200, 400, 401, 404, 426, 500, 502, 503]);
  const body = r.pick<string>([
    "",
    "<html>bad gateway</html>",
    "null",
    "5",
    '"str"',
    "[]",
    "{",
    JSON.stringify({ error: 5, code: "7" }),
    JSON.stringify({ error: "x" }),
    JSON.stringify({ code: 7 }),
    JSON.stringify({ error: "x", code: 7, detail: 5 }),
    JSON.stringify({ error: "x", code: 0 }),
    JSON.stringify({ error: "x", code: -3 }),
    JSON.stringify({ error: "x", code: 1.5 }),
    JSON.stringify({ error: "x", code: 7, detail: { a: 1 }, module: 3, topic: [] }),
    JSON.stringify({ error: { a: 1 }, code: 7, detail: "d" }),
  ]);
  return new Response(body || null, { status, headers: { "content-type": r.pick(["application/json", "text/html", "application/msgpack"]) } });
}

const CODE_NAMES = new Set(Object.keys(Code));

/** Watches a call: how often its reply and its end settled, and how. */
function watch(call: SessionCall<any, any>) {
  const seen = { outcomes: 0, error: undefined as unknown, ended: false };
  call.reply.then(
    () => seen.outcomes++,
    (err) => {
      seen.outcomes++;
      seen.error = err;
    },
  );
  void call.ended.then(() => (seen.ended = true));
  return seen;
}

function expectBusError(err: unknown) {
  expect(err).toBeInstanceOf(BusError);
  const e = err as BusError;
  expect(CODE_NAMES.has(e.codeName)).toBe(true);
  expect(typeof e.message).toBe("string");
  expect(e.message.length).toBeGreaterThan(0);
}

let escaped: unknown[] = [];
const onError = (err: unknown) => escaped.push(err);
beforeEach(() => {
  escaped = [];
  process.on("uncaughtException", onError);
  process.on("unhandledRejection", onError);
});
afterEach(() => {
  process.off("uncaughtException", onError);
  process.off("unhandledRejection", onError);
});

/** Lets timers and microtasks run, so escaped errors and late settles show. */
const settle = async (ms = 5) => {
  await new Promise((resolve) => setTimeout(resolve, ms));
  await tick();
};

describe("a hostile server", () => {
  for (const seed of SEEDS) {
    it(`session, seed ${seed}`, async () => {
      const r = rng(seed);
      const { sockets, factory } = fakeSockets();
      const { fetch } = fakeFetch(() => hostileResponse(r));
      const client = new Client({ url: "http://bus.test", webSocket: factory, fetch });
      const reconnect = r.next() < 0.5;
      const session = client.session("chat", "room", { reconnect: reconnect && { initialDelayMs: 1, maxDelayMs: 2, maxAttempts: 3 } });
      session.on("error", (message) => expect(typeof message).toBe("string"));
      const calls: { call: SessionCall<any, any>; seen: ReturnType<typeof watch>; iterator?: AsyncIterableIterator<unknown> }[] = [];
      const ids = () => calls.map((c) => c.call.id);
      const makeCall = () => {
        const live = calls.filter((c) => c.call.state === "live");
        const parent = live.length && r.next() < 0.3 ? r.pick(live).call : undefined;
        const options = { keepalive: r.next() < 0.4, format: r.pick(["json", "msgpack"] as const) };
        const call = parent ? parent.call("post", { text: "hi" }, options) : session.call("join", { name: "ada" }, options);
        const entry: (typeof calls)[number] = { call, seen: watch(call) };
        // An iterator nobody reads: it must stay bounded.
        if (r.next() < 0.5) entry.iterator = call.callbacks(r.next() < 0.5 ? "message" : (undefined as never));
        calls.push(entry);
      };
      for (let i = 0; i < 3; i++) makeCall();
      let steps = 0;
      while (steps++ < 200 && session.state !== "closed") {
        const socket = sockets[sockets.length - 1]!;
        const roll = r.next();
        if (socket.readyState === 0) {
          if (roll < 0.8) socket.open();
          else if (roll < 0.9) socket.refuse();
          else socket.drop();
          await settle(r.int(3));
          continue;
        }
        if (socket.readyState >= 2) {
          await settle(3);
          continue;
        }
        if (roll < 0.1) makeCall();
        else if (roll < 0.13) {
          // An endless stream of callbacks nobody reads.
          const target = r.next() < 0.8 && calls.length ? r.pick(ids()) : 424242;
          for (let n = 0; n < MAX_UNREAD_CALLBACKS + 50; n++) socket.receive({ type: "callback", id: target, topic: "message", format: "json", payload: json({ from: "x", text: `${n}` }) });
        } else if (roll < 0.16) {
          const c = calls.length ? r.pick(calls) : undefined;
          c?.call.drop();
        } else if (roll < 0.2) {
          r.pick([() => socket.drop(), () => socket.closeBy(1009, "too big"), () => socket.close()])();
          await settle(r.int(4));
        } else {
          deliver(socket, sessionFrame(r, ids()));
        }
        if (r.next() < 0.1) await settle(0);
      }
      // The end: the socket closes; without reconnects that alone settles everything, else the
      // caller closes the session (calls made while it reconnects wait for the next socket).
      const last = sockets[sockets.length - 1]!;
      if (!reconnect || r.next() < 0.5) last.drop();
      await settle(10);
      if (!reconnect) expect(session.state).toBe("closed");
      else {
        await session.close();
        await settle(1);
      }
      for (const { call, seen, iterator } of calls) {
        expect(seen.outcomes, `call ${call.id} settles once`).toBe(1);
        expect(seen.ended, `call ${call.id} ended`).toBe(true);
        expect(call.active).toBe(false);
        if (seen.error !== undefined) expectBusError(seen.error);
        if (call.error) expectBusError(call.error);
        if (iterator) {
          let held = 0;
          try {
            for await (const item of iterator) {
              held++;
              // Without a topic the iterator gives events: each names its topic as a string.
              if (item && typeof item === "object" && "topic" in item) expect(typeof item.topic).toBe("string");
            }
          } catch (err) {
            expectBusError(err);
          }
          expect(held).toBeLessThanOrEqual(MAX_UNREAD_CALLBACKS);
        }
      }
      expect(session.calls).toEqual([]);
      expect(escaped).toEqual([]);
    });
  }
});

/** An attach frame, mostly of the wrong shape. */
function attachFrame(r: Rng): string | Uint8Array {
  return r.pick<() => string | Uint8Array>([
    () => "null",
    () => "5",
    () => '"str"',
    () => "[]",
    () => "{",
    () => "",
    () => r.bytes(r.int(10)),
    () => JSON.stringify({ stream: weird(r) ?? "stdout", line: weird(r) }),
    () => JSON.stringify({ stream: "stdout", line: "ok" }),
    () => JSON.stringify({ exit: weird(r) }),
    () => JSON.stringify({ failed: weird(r) }),
    () => JSON.stringify({ error: weird(r) }),
    () => JSON.stringify({ stdin_taken: weird(r) }),
    () => JSON.stringify({ stdin_taken: r.int(100) }),
    () => JSON.stringify({ unknown: 1 }),
  ])();
}

describe("a hostile process attachment", () => {
  for (const seed of SEEDS.slice(0, 20)) {
    it(`attach, seed ${seed}`, async () => {
      const r = rng(seed);
      const { sockets, factory } = fakeSockets();
      const { fetch } = fakeFetch(() => hostileResponse(r));
      const client = new Client({ url: "http://bus.test", webSocket: factory, fetch });
      const attaching = client.process("abc").attach();
      const socket = sockets[0]!;
      if (r.next() < 0.15) {
        r.pick([() => socket.refuse(), () => socket.drop()])();
        const err = await attaching.catch((e: unknown) => e);
        expectBusError(err);
        await settle();
        expect(escaped).toEqual([]);
        return;
      }
      socket.open();
      const attachment = await attaching;
      const events: ProcessEvent[] = [];
      attachment.on("output", (e) => events.push(e));
      const iterator = r.next() < 0.5 ? attachment[Symbol.asyncIterator]() : undefined;
      for (let i = 0; i < 300 && socket.readyState === 1; i++) {
        const frame = attachFrame(r);
        if (typeof frame === "string") socket.receive(frame);
        else socket.receiveBytes(frame);
        if (r.next() < 0.005) for (let n = 0; n < KEPT_UNREAD + 10; n++) socket.receive(JSON.stringify({ stream: "stdout", line: `${n}` }));
        if (r.next() < 0.01) r.pick([() => socket.drop(), () => socket.close()])();
      }
      socket.close();
      const end = await Promise.race([attachment.ended, settle(50).then(() => "late")]);
      expect(end).not.toBe("late");
      for (const e of events) {
        expect(["stdout", "stderr"]).toContain(e.type === "output" ? e.stream : "stdout");
      }
      if (iterator) {
        let held = 0;
        try {
          for (;;) {
            const next = await iterator.next();
            if (next.done) break;
            held++;
            const event = next.value;
            if (event.type === "output") expect(typeof event.line).toBe("string");
            if (event.type === "exit") expect(typeof event.code).toBe("number");
            if (event.type === "failed") expect(typeof event.reason).toBe("string");
            if (event.type === "error") expect(typeof event.error).toBe("string");
          }
        } catch (err) {
          expectBusError(err);
        }
        expect(held).toBeLessThanOrEqual(KEPT_UNREAD);
      }
      await settle();
      expect(escaped).toEqual([]);
    });
  }
});

describe("hostile HTTP answers", () => {
  for (const seed of SEEDS.slice(0, 20)) {
    it(`http, seed ${seed}`, async () => {
      const r = rng(seed);
      const { fetch } = fakeFetch(() => hostileResponse(r));
      const client = new Client({ url: "http://bus.test", fetch });
      const handle = client.process("abc");
      const ops: (() => Promise<unknown>)[] = [
        () => client.call("hello", "greet", { name: "ada" }),
        () => client.call("hello", "greet", { name: "ada" }, { format: "msgpack" }),
        () => client.modules(),
        () => client.spawn("counter"),
        () => handle.status(),
        () => handle.logs(),
        () => handle.kill(),
        () => handle.call("get", {}),
      ];
      for (let i = 0; i < 30; i++) {
        try {
          await r.pick(ops)();
        } catch (err) {
          expectBusError(err);
        }
      }
      await settle();
      expect(escaped).toEqual([]);
    });
  }
});
