import { env, evictDurableObject } from "cloudflare:test";
import { pack, unpack } from "msgpackr";
import { describe, expect, it } from "vitest";
import { BadFrame, decodeFrame } from "../durable-objects/frames.js";
import type { Env } from "../src/env.js";
import { Rng } from "./fuzz/rng.js";
import { worker } from "./worker.js";

/**
 * The frame fuzzer for GET /bus/:module (issue 13): seeded random frames from one client of a chat
 * room — random bytes, msgpack that is not a map, maps with hostile fields (ids that are floats,
 * negative, past 2^53 or strings; topics "constructor", "__proto__", very long or not UTF-8;
 * formats out of range; payloads of the wrong type or just over requestBytes; parents that do
 * not exist or are another socket's; wapm unknown, "os", "hello"), valid calls with hostile fields,
 * drops of live and unknown ids — in bursts of up to 300 frames sent without waiting, while a
 * member of the room reads nothing. Between about one burst in four the room's Durable Object is
 * evicted, its sockets hibernated, and woken by the next frame (from a second generator seeded
 * from the seed, so the frames are those of the seed without evictions): straight after a burst
 * whose frames are still arriving, while the next burst is sent (in both, calls are unanswered
 * when it is asked for: at least once a run), or once every frame was answered. The harness's
 * eviction lets the object handle the frames that reached it and finish what it was doing
 * first (it refuses, after 30 s, one that holds a call open to another object), so no eviction
 * cuts a call off midway: what crosses one is the calls kept alive (joins, restored from the
 * snapshot) and the frames sent while it happens, answered by the object going or the one restored.
 * After the run: every frame the server could not read got an error frame, or a fault for its
 * call where its id could be read, and every call frame it could read got an answer with its id
 * (never silence; calls naming wapm "os" are refused), or, where the id was a live call's, an
 * error frame naming it (a fault would end that call); no call frame got two replies, none got
 * Aborted (a call the restored instance lost), and once dropped, every id an eviction could
 * have caught takes a new call (none is stuck "in use"); the fuzzed socket still answers, and a
 * well-behaved member and a newcomer still join, post and get their callbacks. After each
 * eviction the well-behaved member posts and hears it; after one with every frame answered, its
 * post reaches the fuzzed socket's joins the post before the eviction reached, no fewer, no more.
 * CI: seed 20261124, 2,000 frames, 8 evictions, seconds. Another seed:
 * `npm run fuzz -- --frames --seed N --actions M` (M frames).
 */
declare global {
  interface ImportMeta {
    glob<T>(pattern: string, options: { eager: true; import: "default" }): Record<string, T>;
  }
}
// `npm run fuzz -- --frames --seed N --actions M` writes build/frame-fuzz.json for one run (workerd
// sees no environment variables; Vite reads the file when it bundles this test).
const adHoc = Object.values(import.meta.glob<{ seed: number; frames: number }>("../build/frame-fuzz.json", { eager: true, import: "default" }))[0];
const SEED = adHoc?.seed ?? 20261124;
const FRAMES = adHoc?.frames ?? 2000;
/** chat's limits.requestBytes (the default). */
const REQUEST_BYTES = 1 << 20;
/** A call id this client never uses: fresh() starts above it. */
const NEVER_ISSUED = 999;
/** Ids of the fuzzed socket's calls to an unknown topic that mark where its frames have got to: above any the fuzzer uses. */
const MARKS = 2_000_000;

type Frame = { type: string; id?: number; topic?: string; payload?: Uint8Array; code?: number; codeName?: string; error?: string; format?: string };

const enc = new TextEncoder();
const json = (v: unknown) => enc.encode(JSON.stringify(v));
/** A frame's payload: each call's answers and callbacks come in its own format (a join may be msgpack). */
const parse = (f: Frame) => (f.format === "msgpack" ? unpack(f.payload!) : JSON.parse(new TextDecoder().decode(f.payload))) as Record<string, unknown>;

/** A client inside workerd: its frames in order, counted as they come. */
async function client(path: string, read = true) {
  const res = await worker(path, { headers: { upgrade: "websocket" } });
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  ws.accept();
  const frames: Frame[] = [];
  const bad: string[] = [];
  let bytes = 0;
  let acked = 0;
  // A client that reads acknowledges what it received (every 64 KiB), as the typed client does:
  // one that does not is held to the module's socketBufferBytes in all (docs/host.md).
  const ack = () => {
    acked = bytes;
    ws.send(pack({ type: "ack", bytes }));
  };
  let closed: { code: number; reason: string } | undefined;
  let order = Promise.resolve();
  let reading = read;
  ws.addEventListener("message", (e) => {
    const data = e.data as Blob | ArrayBuffer | string;
    order = order.then(async () => {
      if (typeof data === "string") return void bad.push(`a text frame: ${data.slice(0, 80)}`);
      const buf = new Uint8Array(data instanceof ArrayBuffer ? data : await data.arrayBuffer());
      bytes += buf.length;
      if (!reading) return;
      if (bytes - acked >= 64 << 10) ack();
      let frame: Frame;
      try {
        frame = unpack(buf) as Frame;
      } catch (err) {
        return void bad.push(`a frame that is not msgpack: ${(err as Error).message}`);
      }
      if (!frame || typeof frame !== "object" || !["reply", "fault", "callback", "error"].includes(frame.type)) return void bad.push(`an unknown frame: ${JSON.stringify(frame).slice(0, 120)}`);
      if ((frame.type === "fault" || frame.type === "error") && (typeof frame.code !== "number" || typeof frame.codeName !== "string" || typeof frame.error !== "string")) bad.push(`a ${frame.type} frame without code, codeName and error: ${JSON.stringify(frame).slice(0, 120)}`);
      frames.push(frame);
    });
  });
  ws.addEventListener("close", (e) => {
    closed = { code: e.code, reason: e.reason };
  });
  const until = async <T>(get: () => T | undefined, ms = 10_000, what = "a frame"): Promise<T> => {
    const end = Date.now() + ms;
    for (;;) {
      await order;
      const v = get();
      if (v !== undefined) return v;
      if (Date.now() > end) throw new Error(`${path}: no ${what} in ${ms} ms; last frames: ${JSON.stringify(frames.slice(-5)).slice(0, 600)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return {
    ws,
    frames,
    bad,
    until,
    closed: () => closed,
    bytes: () => bytes,
    read() {
      reading = true;
      ack();
    },
    send(bytes: Uint8Array) {
      ws.send(bytes);
    },
    call(id: number, topic: string, body: unknown, extra: Record<string, unknown> = {}) {
      ws.send(pack({ type: "call", id, topic, format: "json", payload: json(body), ...extra }));
    },
    answer(id: number) {
      return until(() => frames.find((f) => f.id === id && (f.type === "reply" || f.type === "fault")), 10_000, `answer to call ${id}`);
    },
  };
}

/** A msgpack map written by hand, so a value can be anything: a str that is not UTF-8, say. */
function rawMap(entries: [string, Uint8Array][]): Uint8Array {
  const parts: Uint8Array[] = [entries.length < 16 ? Uint8Array.of(0x80 | entries.length) : Uint8Array.of(0xde, entries.length >> 8, entries.length & 0xff)];
  for (const [k, v] of entries) parts.push(pack(k), v);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
/** A msgpack str header and bytes that need not be UTF-8. */
function rawStr(bytes: Uint8Array): Uint8Array {
  const head = bytes.length < 32 ? Uint8Array.of(0xa0 | bytes.length) : Uint8Array.of(0xd9, bytes.length);
  const out = new Uint8Array(head.length + bytes.length);
  out.set(head);
  out.set(bytes, head.length);
  return out;
}

/** The generator: what one client of the room throws at the server. */
class FrameFuzzer {
  readonly r: Rng;
  /** Ids this client used for calls it can name again (live or not): parents, drops, duplicates. */
  readonly ids: number[] = [];
  /** Its join calls that were answered: parents for posts. */
  joins: number[] = [];
  /** Calls whose parent is the other socket's join id (which this socket never uses): each must fail InvalidHandle. */
  readonly foreign = new Set<number>();
  next = 1000;

  constructor(
    seed: number,
    /** Another socket's live join id: a parent this socket does not own. */
    readonly foreignId: number,
  ) {
    this.r = new Rng(seed);
  }

  /** An id for a call: a new one mostly, one used before, or not an id at all. */
  id(): { id: unknown; fresh: boolean } {
    const r = this.r;
    if (r.chance(0.85)) {
      if (r.chance(0.9) || !this.ids.length) return { id: this.fresh(), fresh: true };
      return { id: this.newId(), fresh: false };
    }
    return { id: r.pick<unknown>([-1, 1.5, 2 ** 53, 2 ** 53 + 2, "7", null, true, [], {}, Infinity, -0, 2 ** 32, Number.MAX_SAFE_INTEGER, ...this.ids.slice(-3)]), fresh: false };
  }

  /** A number this client has not used yet. */
  fresh(): number {
    const id = this.next++;
    this.ids.push(id);
    return id;
  }

  newId(): number {
    if (this.r.chance(0.1) && this.ids.length) {
      const id = this.r.pick(this.ids);
      this.ids.push(id);
      return id;
    }
    return this.fresh();
  }

  /** One frame's bytes, and what it is, for the failure message. */
  frame(): { bytes: Uint8Array; what: string } {
    const r = this.r;
    const kind = r.weighted({ bytes: 6, scalar: 4, map: 14, proto: 2, hostile: 30, valid: 36, drop: 8, big: 0.4 });
    switch (kind) {
      case "bytes": {
        const b = r.bytes(r.int(64));
        return { bytes: b, what: `${b.length} random bytes` };
      }
      case "scalar": {
        const v = r.pick<unknown>([5, "call", null, true, 1.5, [1, 2], new Uint8Array([1, 2]), [{ type: "call" }], -1, "x".repeat(300)]);
        return { bytes: pack(v), what: `msgpack ${JSON.stringify(v)?.slice(0, 40)}` };
      }
      case "map": {
        const keys = ["type", "id", "topic", "format", "payload", "keepalive", "parent", "wapm", "__proto__", "constructor", "extra"];
        const obj: Record<string, unknown> = {};
        const entries: [string, Uint8Array][] = [];
        for (const k of keys) {
          if (!r.chance(0.5)) continue;
          const v = r.pick<unknown>([r.u32(), -r.int(9), r.float(), "call", "drop", "", "x".repeat(r.int(200)), null, true, [], { a: 1 }, new Uint8Array(r.int(9)), 2 ** 60]);
          obj[k] = v;
          entries.push([k, pack(v)]);
        }
        return { bytes: rawMap(entries), what: `a map of ${entries.map(([k]) => k).join(", ")}` };
      }
      case "proto": {
        // A call's fields under __proto__ only: they must not be read through the prototype.
        const inner = { type: "call", id: this.next + 500, topic: "join", format: "json", payload: json({ name: "proto" }), keepalive: true };
        return { bytes: rawMap([["__proto__", pack(inner)]]), what: "a map whose only key is __proto__, holding a call" };
      }
      case "hostile":
        return this.hostile();
      case "valid":
        return this.valid();
      case "drop": {
        // An id it never used is one below the first fresh() issues: its InvalidHandle fault must
        // not be taken for the answer to a later call of that id (next + 50 was, seeds 2 and 3).
        const id = r.chance(0.7) && this.ids.length ? r.pick(this.ids) : r.pick<unknown>([NEVER_ISSUED, -1, "3", 1.5, 2 ** 53]);
        return { bytes: pack({ type: "drop", id }), what: `drop ${JSON.stringify(id)}` };
      }
      default: {
        // Just over requestBytes: refused for this call alone (LimitExceeded), the socket stays.
        const id = this.newId();
        return { bytes: pack({ type: "call", id, topic: "join", format: "json", payload: new Uint8Array(REQUEST_BYTES + 1 + r.int(100)) }), what: `call ${id} join with ${REQUEST_BYTES + 1}+ bytes` };
      }
    }
  }

  /** A call with one or more hostile fields. */
  hostile(): { bytes: Uint8Array; what: string } {
    const r = this.r;
    const { id, fresh } = this.id();
    const fields: [string, Uint8Array][] = [
      ["type", pack("call")],
      ["id", pack(id)],
    ];
    const what: string[] = [`id ${JSON.stringify(id)}`];
    const topic = r.weighted({ ok: 3, proto: 3, long: 1, utf8: 1, type: 1, empty: 1 });
    if (topic === "ok") fields.push(["topic", pack(r.pick(["join", "post"]))]);
    else if (topic === "proto") fields.push(["topic", pack(r.pick(["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"]))]);
    else if (topic === "long") fields.push(["topic", pack("t".repeat(r.pick([300, 10_000, 100_000])))]);
    else if (topic === "utf8") fields.push(["topic", rawStr(Uint8Array.of(0xff, 0xfe, 0x6a, 0xc3))]);
    else if (topic === "type") fields.push(["topic", pack(r.pick<unknown>([5, null, new Uint8Array([106]), ["join"]]))]);
    else fields.push(["topic", pack("")]);
    what.push(`topic ${topic}`);
    const format = r.chance(0.5) ? "json" : r.pick<unknown>(["json", 1, 0, 2, 3, 4, -1, 1.5, "yaml", "constructor", "__proto__", null, 2 ** 32]);
    fields.push(["format", pack(format)]);
    what.push(`format ${JSON.stringify(format)}`);
    const payload = r.weighted({ ok: 4, garbage: 2, type: 2, none: 1, near: 0.3 });
    if (payload === "ok") fields.push(["payload", pack(json(r.chance(0.5) ? { name: "h" } : { text: "h" }))]);
    else if (payload === "garbage") fields.push(["payload", pack(r.bytes(r.int(40)))]);
    else if (payload === "type") fields.push(["payload", pack(r.pick<unknown>(['{"name":"x"}', 5, [1], { name: "x" }, true]))]);
    else if (payload === "near") fields.push(["payload", pack(json({ name: "n".repeat(REQUEST_BYTES - 20 - r.int(50)) }))]);
    what.push(`payload ${payload}`);
    if (r.chance(0.4)) {
      const parent = r.pick<unknown>([this.foreignId, this.foreignId, this.next + 99, -1, 1.5, "1", null, ...this.joins.slice(-2)]);
      fields.push(["parent", pack(parent)]);
      what.push(`parent ${JSON.stringify(parent)}`);
      // Another socket's call is no parent here, whatever else the frame says.
      if (parent === this.foreignId && fresh) {
        // Used once only: no other frame answers with this id.
        this.foreign.add(id as number);
        this.ids.pop();
      }
    }
    if (r.chance(0.3)) {
      const wapm = r.pick<unknown>(["os", "hello", "nope", "__proto__", "constructor", "", "chat", 7, "x".repeat(500)]);
      fields.push(["wapm", pack(wapm)]);
      what.push(`wapm ${JSON.stringify(wapm).slice(0, 20)}`);
    }
    if (r.chance(0.3)) fields.push(["keepalive", pack(r.pick<unknown>([true, false, "yes", 1, null]))]);
    if (r.chance(0.1)) fields.push(["__proto__", pack({ polluted: true })]);
    return { bytes: rawMap(fields), what: `call ${what.join(", ")}` };
  }

  /** A call a chat client makes, or one to the host's services and another module through this socket. */
  valid(): { bytes: Uint8Array; what: string } {
    const r = this.r;
    // A client keeps a few joins: the oldest is dropped (leaves the room) before a new one.
    if (this.joins.length >= 4 && r.chance(0.5)) {
      const id = this.joins.shift()!;
      return { bytes: pack({ type: "drop", id }), what: `drop join ${id}` };
    }
    const id = this.newId();
    const kind = r.weighted({ join: 3, post: 8, echo: 2, sleep: 2, hello: 2, bigPost: 0.3 });
    let frame: Record<string, unknown>;
    switch (kind) {
      case "join":
        frame = { type: "call", id, topic: "join", format: r.pick(["json", "msgpack", 1]), payload: json({ name: `fz${id}` }), keepalive: r.chance(0.85) };
        // msgpack payload for a msgpack call
        if (frame.format === "msgpack") frame.payload = pack({ name: `fz${id}` });
        this.joins.push(id);
        break;
      case "post":
      case "bigPost": {
        const text = kind === "bigPost" ? "p".repeat(100_000) : `m${id}`;
        frame = { type: "call", id, topic: "post", format: "json", payload: json({ text }), parent: this.joins.length ? r.pick(this.joins) : undefined };
        break;
      }
      case "echo":
        frame = { type: "call", id, topic: "echo.echo", format: "raw", payload: r.bytes(r.int(100)), wapm: "os" };
        break;
      case "sleep":
        frame = { type: "call", id, topic: "time.sleep", format: "json", payload: json({ duration_ms: r.int(5) }), wapm: "os" };
        break;
      default:
        frame = { type: "call", id, topic: "greet", format: "json", payload: json({ name: "fz" }), wapm: "hello" };
    }
    if (frame.parent === undefined) delete frame.parent;
    return { bytes: pack(frame), what: `${kind} ${id}` };
  }
}

describe("the frame fuzzer (GET /bus/chat)", () => {
  it(`holds for seed ${SEED}, ${FRAMES} frames in bursts: every frame answered, the room goes on`, { timeout: 60_000 }, async () => {
    const started = Date.now();
    const room = `fuzz-${SEED}-${crypto.randomUUID().slice(0, 8)}`;
    const path = `/bus/chat/${room}`;
    // A member that behaves, one that reads nothing while the fuzzer runs, and the fuzzed client.
    const good = await client(path);
    good.call(1, "join", { name: "good" }, { keepalive: true });
    expect((await good.answer(1)).type).toBe("reply");
    const slow = await client(path, false);
    slow.call(1, "join", { name: "slow" }, { keepalive: true });
    const fuzzed = await client(path);
    const gen = new FrameFuzzer(SEED, 1);

    // What the server owes the fuzzed socket: an error frame per frame it cannot read, an answer
    // (reply or fault) with its id per call frame it can.
    let errorsOwed = 0;
    const answersOwed = new Map<number, number>();
    const sent: string[] = [];
    /** The frames (index and what) of each call id, for the failure message. */
    const byId = new Map<number, string[]>();
    /**
     * Call ids refused before their parent is looked at: BadRequest for a frame the server cannot
     * read past its id, InvalidWapm for one naming the host's services (`os`).
     */
    const refusedFirst = new Map<number, string>();
    // Evictions between bursts come from their own generator, so the frames for a seed are those
    // it sent before evictions were fuzzed too.
    const evictions = new Rng(SEED ^ 0x5eed);
    const object = (env as unknown as Env).SESSIONS.get((env as unknown as Env).SESSIONS.idFromName(`chat/${room}`));
    const evicted = { idle: 0, busy: 0, racing: 0 };
    /** Evictions that came with calls of the fuzzed socket still unanswered. */
    let caught = 0;
    const owed = () => {
      const answered = new Map<number, number>();
      const answer = (id: number) => answered.set(id, (answered.get(id) ?? 0) + 1);
      let errors = 0;
      for (const f of fuzzed.frames) {
        if ((f.type === "reply" || f.type === "fault") && typeof f.id === "number") answer(f.id);
        else if (f.type === "error") {
          // A call frame reusing a live call's id gets an error frame naming the id (a fault with it would end that call).
          const reused = /^call id (\d+) is in use|\(its id (\d+) is a live call's/.exec(f.error ?? "");
          // Error frames not sent while the socket was past socketBufferBytes behind: one frame counts them.
          const unsent = /^(\d+) error frames? (?:was|were) not sent/.exec(f.error ?? "");
          if (reused) answer(Number(reused[1] ?? reused[2]));
          else if (unsent) errors += Number(unsent[1]);
          else errors++;
        }
      }
      const missing = [...answersOwed].filter(([id, n]) => (answered.get(id) ?? 0) < n).map(([id]) => id);
      return { missing, errors };
    };
    const context = () => `seed ${SEED}, evictions ${JSON.stringify(evicted)}; the frames sent last:\n  ${sent.slice(-12).join("\n  ")}`;
    /** Until the server has answered every frame sent so far. */
    const settled = async () => {
      try {
        await fuzzed.until(() => {
          const o = owed();
          return o.missing.length === 0 && o.errors >= errorsOwed ? true : undefined;
        }, 15_000, "answer for every frame");
      } catch (err) {
        const o = owed();
        const unanswered = o.missing.slice(0, 5).map((id) => `${id}: ${byId.get(id)?.join("; ")}`);
        throw new Error(`${(err as Error).message}\nseed ${SEED}: ${o.missing.length} calls unanswered, first:\n  ${unanswered.join("\n  ")}\n${o.errors} error frames of ${errorsOwed} owed\n${context()}`);
      }
    };
    let marks = MARKS;
    let probes = 10;
    /** A frame of the fuzzed socket's own after every frame the server sent it before `mark` was read. */
    const mark = async () => {
      const id = marks++;
      fuzzed.call(id, "mark", {});
      await fuzzed.until(() => fuzzed.frames.find((f) => f.id === id), 10_000, `the mark ${id}`);
    };
    /** The well-behaved member posts `text` and hears it; the fuzzed socket's joins it reached, by their ids. */
    const probe = async (text: string) => {
      const id = probes++;
      good.call(id, "post", { text }, { parent: 1 });
      const posted = await good.answer(id);
      expect(posted.type, `good's post "${text}": ${JSON.stringify(posted)}; ${context()}`).toBe("reply");
      await good.until(() => good.frames.find((f) => f.type === "callback" && f.id === 1 && parse(f).text === text), 10_000, `its own "${text}" back`);
      await mark();
      return fuzzed.frames.filter((f) => f.type === "callback" && parse(f).text === text).map((f) => f.id!).sort((a, b) => a - b);
    };
    /** Ids of the calls an eviction could have caught: kept alive before it, or sent just before or while it came. */
    const crossed = new Set<number>();
    /** Ids of kept-alive call frames sent so far. */
    const kept = new Set<number>();
    /** An eviction started before the burst being sent, which that burst races. */
    let evicting: Promise<void> | undefined;
    let count = 0;
    while (count < FRAMES) {
      const burst = Math.min(FRAMES - count, gen.r.pick([1, 1, 3, 10, 40, 100, 300]));
      /** This burst's call ids. */
      const ids: number[] = [];
      for (let i = 0; i < burst; i++, count++) {
        const { bytes, what } = gen.frame();
        sent.push(`#${count} ${what}`);
        const owe = (id: number) => {
          answersOwed.set(id, (answersOwed.get(id) ?? 0) + 1);
          byId.set(id, [...(byId.get(id) ?? []), `#${count} ${what}`]);
          ids.push(id);
        };
        try {
          // A copy of exactly the frame's bytes, as the socket hands them over (pack may return a view of a larger buffer).
          const frame = decodeFrame(Uint8Array.from(bytes).buffer);
          if (frame.type === "call") owe(frame.id);
          if (frame.type === "call" && frame.keepalive) kept.add(frame.id);
          if (frame.type === "call" && frame.wapm === "os") refusedFirst.set(frame.id, "InvalidWapm");
        } catch (err) {
          // A call frame whose id could be read is faulted (BadRequest); any other gets an error frame.
          if (err instanceof BadFrame && err.call !== undefined) {
            owe(err.call);
            refusedFirst.set(err.call, "BadRequest");
          } else errorsOwed++;
        }
        fuzzed.send(bytes);
      }
      if (evicting) {
        for (const id of ids) crossed.add(id);
        if (owed().missing.length) caught++;
        await evicting;
        evicting = undefined;
        evicted.racing++;
        await probe(`after racing eviction ${evicted.racing}`);
      }
      // Between some bursts the room's object is evicted, its sockets hibernated (the harness lets
      // the frames that reached it be handled first): busy, straight after a burst whose frames are
      // still arriving; racing, while the next burst is sent; or idle, once every frame was
      // answered, when the fuzzed socket's joins the room reached before must be the ones it
      // reaches after. The well-behaved member posts after each, and hears it.
      if (count < FRAMES && evictions.chance(1 / 4)) {
        for (const id of kept) crossed.add(id);
        const how = evictions.pick(["busy", "racing", "idle"] as const);
        if (how === "racing") evicting = evictDurableObject(object);
        else if (how === "busy") {
          for (const id of ids) crossed.add(id);
          if (owed().missing.length) caught++;
          await evictDurableObject(object);
          evicted.busy++;
          await probe(`after busy eviction ${evicted.busy}`);
        } else {
          await settled();
          const before = await probe(`before idle eviction ${evicted.idle + 1}`);
          await evictDurableObject(object);
          evicted.idle++;
          expect(await probe(`after idle eviction ${evicted.idle}`), `the fuzzed socket's joins the room reached before and after idle eviction ${evicted.idle}; ${context()}`).toEqual(before);
        }
      }
      // Let the burst land before the next one, as a client that waits a moment would.
      await new Promise((r) => setTimeout(r, gen.r.pick([0, 1, 5, 20])));
    }
    expect(evicted.idle + evicted.busy + evicted.racing, "evictions").toBeGreaterThanOrEqual(3);
    expect(caught, `evictions with calls unanswered; ${context()}`).toBeGreaterThan(0);

    // Every frame answered: wait for the last answers (sleeps, posts behind the queue).
    await settled();
    expect(owed().errors, `error frames (one per frame the server cannot read); ${context()}`).toBe(errorsOwed);
    expect(fuzzed.bad, context()).toEqual([]);
    expect(fuzzed.closed(), `the fuzzed socket closed; ${context()}`).toBeUndefined();
    // Another socket's call id was never a parent here (a frame refused for something else first says that).
    for (const id of gen.foreign) {
      const answers = fuzzed.frames.filter((f) => f.id === id && (f.type === "reply" || f.type === "fault"));
      const why = refusedFirst.get(id) ?? "InvalidHandle";
      // A call frame that came while the socket was past socketBufferBytes behind was refused for that, before its parent was looked at.
      const behind = (f: Frame) => f.codeName === "LimitExceeded" && /socketBufferBytes \(\d+\) behind/.test(f.error ?? "");
      expect(answers.map((f) => (behind(f) ? why : (f.codeName ?? f.type))), `call ${id} (${byId.get(id)?.join("; ")}) named another socket's call as parent; seed ${SEED}`).toEqual(answers.map(() => why));
    }
    expect(gen.foreign.size, "calls naming another socket's call as parent").toBeGreaterThan(10);
    // It reached what it is meant to reach.
    const kinds: Record<string, number> = {};
    for (const f of fuzzed.frames.filter((f) => (f.id ?? 0) < MARKS)) kinds[f.type === "fault" ? `fault:${f.codeName}` : f.type] = (kinds[f.type === "fault" ? `fault:${f.codeName}` : f.type] ?? 0) + 1;
    expect(errorsOwed, "frames the server cannot read").toBeGreaterThan(FRAMES / 5);
    expect(answersOwed.size, "call ids").toBeGreaterThan(FRAMES / 5);
    for (const kind of ["reply", "callback", "fault:InvalidHandle", "fault:InvalidTopic", "fault:InvalidWapm", "fault:BadRequest", "fault:LimitExceeded"]) {
      expect(kinds[kind] ?? 0, `${kind} frames; all: ${JSON.stringify(kinds)}`).toBeGreaterThan(0);
    }

    // The fuzzed socket still answers a plain call.
    fuzzed.call(1_000_000, "join", { name: "after" }, { keepalive: true });
    expect((await fuzzed.answer(1_000_000)).type, context()).toBe("reply");

    // The well-behaved member posts and hears it; so does a newcomer.
    good.call(2, "post", { text: "still here" }, { parent: 1 });
    const posted = await good.answer(2);
    expect(posted.type, `${JSON.stringify(posted)}; ${context()}`).toBe("reply");
    expect(parse(posted).delivered as number).toBeGreaterThanOrEqual(3);
    await good.until(() => good.frames.find((f) => f.type === "callback" && f.id === 1 && parse(f).text === "still here"), 10_000, "its own message back");
    const newcomer = await client(path);
    newcomer.call(1, "join", { name: "new" }, { keepalive: true });
    expect((await newcomer.answer(1)).type).toBe("reply");
    newcomer.call(2, "post", { text: "hello room" }, { parent: 1 });
    expect((await newcomer.answer(2)).type).toBe("reply");
    await newcomer.until(() => newcomer.frames.find((f) => f.type === "callback" && parse(f).text === "hello room"), 10_000, "its message back");
    await good.until(() => good.frames.find((f) => f.type === "callback" && parse(f).text === "hello room"), 10_000, "the newcomer's message");

    // The member that read nothing got its frames (up to socketBufferBytes it had not acknowledged), and reads on.
    slow.read();
    expect(slow.bytes()).toBeGreaterThan(0);
    slow.call(2, "post", { text: "slow but here" }, { parent: 1 });
    expect((await slow.answer(2)).type).toBe("reply");
    expect(slow.closed()).toBeUndefined();

    // No call frame was answered twice (a call run again after a wake would reply again).
    const replies = new Map<number, number>();
    for (const f of fuzzed.frames) if (f.type === "reply" && f.id! < MARKS) replies.set(f.id!, (replies.get(f.id!) ?? 0) + 1);
    const twice = [...replies].filter(([id, n]) => n > (answersOwed.get(id) ?? 0) + (id === 1_000_000 ? 1 : 0));
    expect(twice.map(([id, n]) => `${id} (${n} replies): ${byId.get(id)?.join("; ")}`), context()).toEqual([]);
    // Of the calls an eviction could have caught, the server holds live exactly the joins a post
    // reaches (chat keeps no other call past its reply): a drop ends each of those, and answers
    // every other "no live call"; then each id takes a new call, none is stuck "in use".
    const members = new Set(await probe("who is here"));
    const ids = [...crossed];
    const from = fuzzed.frames.length;
    for (const id of ids) fuzzed.send(pack({ type: "drop", id }));
    for (const id of ids) fuzzed.call(id, "mark", {});
    await mark();
    const answers = fuzzed.frames.slice(from).filter((f) => f.type === "fault");
    const ended = new Set(answers.filter((f) => f.codeName === "InvalidHandle").map((f) => f.id));
    expect(ids.filter((id) => members.has(id) === ended.has(id)).map((id) => `${id} (${members.has(id) ? "a member" : "no member"}): ${byId.get(id)?.join("; ")}`), `calls live that are no member, or members not live; ${context()}`).toEqual([]);
    const taken = new Set(answers.filter((f) => f.codeName === "InvalidTopic").map((f) => f.id));
    expect(ids.filter((id) => !taken.has(id)).map((id) => `${id}: ${byId.get(id)?.join("; ")}`), `ids still in use after every call was dropped; ${context()}`).toEqual([]);
    // The harness lets an object finish what it was doing before it is evicted, and each rest is
    // saved: no call is ever one its restored instance does not hold.
    expect(fuzzed.frames.filter((f) => f.codeName === "Aborted").map((f) => `${f.id}: ${f.error}`), context()).toEqual([]);

    for (const c of [good, slow, fuzzed, newcomer]) c.ws.close(1000, "done");
    expect(Date.now() - started).toBeLessThan(30_000 * Math.max(1, FRAMES / 2000));
  });
});
