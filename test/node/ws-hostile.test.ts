/// <reference types="node" />
// Runs in Node (the "node" vitest project): hostile WebSocket clients beside a well-behaved one on
// the SAME session (GET /bus/chat/:session) and the SAME process attachment (GET
// /processes/:id/attach), over real sockets to the Worker started with wrangler on 127.0.0.1.
// Real sockets are the point: a hostile client here stops reading (its TCP socket paused, so the
// server's sends back up), and closes abruptly (a TCP reset, mid-frame), which a WebSocketPair end
// inside workerd cannot do. test/frame-fuzz.test.ts fuzzes the fields of session frames and
// accounts for each answer; this test is about one client not harming another, and about every
// error a hostile client gets being a documented frame or close with a known code name.
//
// Seeded (test/fuzz/rng.ts). Default: seed 20261201, 400 hostile actions per socket kind, about
// 20 s after the Worker starts. More: WSFUZZ_SEED=N WSFUZZ_ACTIONS=M npx vitest run --project node test/node/ws-hostile.test.ts
import { Packr } from "msgpackr";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { Code } from "../../src/abi.js";
import { DEFAULT_LIMITS } from "../../src/manifest.js";
import { owedErrors } from "../fuzz/owed.js";
import { Rng } from "../fuzz/rng.js";
import { startWorker, type StartedWorker } from "./start-worker.js";

const SEED = Number(process.env.WSFUZZ_SEED ?? 20261201);
const ACTIONS = Number(process.env.WSFUZZ_ACTIONS ?? 400);
/** How long a good client's call, or its next line, may take: bounded, whatever the hostile one does. */
const GOOD_MS = Number(process.env.WSFUZZ_GOOD_MS ?? 5000);
const REQUEST_BYTES = DEFAULT_LIMITS.requestBytes;
const STDIN_BYTES = DEFAULT_LIMITS.stdinBytes;
/** Live calls one session socket may hold (docs/host.md): a sixteenth of maxHandles. */
const CALL_CAP = DEFAULT_LIMITS.maxHandles / 16;
/** The most joins a hostile session client keeps: see "flood". */
const MEMBERS = 16;
/** Past this a session frame is not read: close 1009 (docs/host.md, "The bus over a WebSocket"). */
const FRAME_MAX = 2 * REQUEST_BYTES + (64 << 10);

const packr = new Packr({ useRecords: false, mapsAsObjects: true });
const enc = new TextEncoder();
const dec = new TextDecoder();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let worker: StartedWorker | undefined;
let origin = "";

beforeAll(async () => {
  // Quiet: the guests log every line they write, and printing them costs the 2 cores the test times.
  const started = await startWorker({ logLevel: "error" });
  worker = started.worker;
  origin = started.url.origin;
});

afterAll(async () => {
  await worker?.dispose();
});

/** Whatever is wrong with an error (or fault) frame's code: documented frames carry a known code by name. */
function codeProblem(f: { code?: unknown; codeName?: unknown; error?: unknown }): string | undefined {
  if (typeof f.codeName !== "string" || !(f.codeName in Code)) return `unknown codeName ${JSON.stringify(f.codeName)}`;
  if (f.code !== Code[f.codeName as keyof typeof Code]) return `code ${JSON.stringify(f.code)} is not ${f.codeName}'s`;
  if (typeof f.error !== "string" || !f.error) return "no error message";
  return undefined;
}

async function opened(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  return ws;
}

/** Waits until `get` gives a value, or fails saying what it waited for. */
async function until<T>(get: () => T | undefined, ms: number, what: () => string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > end) {
      // Past the deadline, what the sockets hold is read first: a pause of this process (a GC, a
      // loaded machine) would otherwise look like frames that never came.
      await new Promise((resolve) => setImmediate(resolve));
      const late = get();
      if (late !== undefined) return late;
      throw new Error(`no ${what()} in ${ms} ms (seed ${SEED})`);
    }
    await sleep(5);
  }
}

/** Pauses or resumes reading the TCP socket under `ws`: a client that reads nothing, as the server sees it. */
function reading(ws: WebSocket, on: boolean) {
  const socket = (ws as unknown as { _socket?: { pause(): void; resume(): void } })._socket;
  if (on) socket?.resume();
  else socket?.pause();
}

type BusFrame = { type?: unknown; id?: unknown; topic?: unknown; payload?: unknown; code?: unknown; codeName?: unknown; error?: unknown };

describe("hostile clients beside a good one (real sockets)", () => {
  it(`a session (GET /bus/chat/:session): seed ${SEED}, ${ACTIONS} hostile actions; the good client's calls all answered in time, its callbacks in order`, { timeout: 120_000 }, async () => {
    const r = new Rng(SEED);
    const session = `wsfuzz-${SEED}-${Date.now() % 1e6}`;
    const path = `${origin.replace("http", "ws")}/bus/chat/${session}`;

    // The good client: joins, then posts one message at a time, each answered within GOOD_MS, and
    // hears its own messages back as callbacks of its join, in order.
    const good = await opened(path);
    const goodFrames: BusFrame[] = [];
    const goodProblems: string[] = [];
    let goodClosed: string | undefined;
    good.on("message", (data, binary) => {
      if (!binary) return void goodProblems.push(`a text frame: ${String(data).slice(0, 80)}`);
      goodFrames.push(packr.unpack(data as Buffer) as BusFrame);
    });
    good.on("close", (code, reason) => (goodClosed = `${code} ${reason}`));
    const goodCall = (id: number, topic: string, body: unknown, extra: Record<string, unknown> = {}) =>
      good.send(packr.pack({ type: "call", id, topic, format: "json", payload: enc.encode(JSON.stringify(body)), ...extra }));
    const answerOf = (id: number) => goodFrames.find((f) => f.id === id && (f.type === "reply" || f.type === "fault"));
    goodCall(1, "join", { name: "good" }, { keepalive: true });
    expect((await until(() => answerOf(1), GOOD_MS, () => "answer to the good join")).type).toBe("reply");

    let stop = false;
    const latencies: number[] = [];
    const posted: string[] = [];
    let failed = false;
    // Its own generator: the hostile frames a seed gives do not hang on how the two interleave.
    const goodR = new Rng(SEED + 1);
    const goodLoop = (async () => {
      for (let id = 2; !stop; id++) {
        const before = goodFrames.length;
        const text = `g${id}`;
        const at = Date.now();
        goodCall(id, "post", { text }, { parent: 1 });
        posted.push(text);
        const answer = await until(() => answerOf(id), GOOD_MS, () => `answer to the good client's post ${id} (latencies so far: max ${Math.max(...latencies)} ms); the hostile's last actions: ${timeline.slice(-15).map(([t, k]) => `${t - at}ms ${k}`).join(", ")}; the good client got since: ${JSON.stringify(goodFrames.slice(before).slice(-5)).slice(0, 400)}`);
        if (answer.type !== "reply") throw new Error(`the good client's post ${id} failed: ${JSON.stringify(answer)}`);
        latencies.push(Date.now() - at);
        await sleep(goodR.pick([0, 2, 10]));
      }
    })().then(
      () => undefined,
      // Held until the hostile loop sees `failed` and stops, then thrown (not an unhandled rejection meanwhile).
      (err: Error) => {
        failed = true;
        return err;
      },
    );

    // The hostile clients, one after another on the same session: each sends frames of every kind,
    // floods without reading, and closes (abruptly, mostly) at a random point.
    const hostileProblems: string[] = [];
    const timeline: [number, string][] = [];
    const stats: Record<string, number> = {};
    const count = (k: string) => (stats[k] = (stats[k] ?? 0) + 1);
    let done = 0;
    while (done < ACTIONS && !failed) {
      const ws = await opened(path);
      count("sockets");
      let closed: { code: number; reason: string } | undefined;
      /** Set once a frame over FRAME_MAX went: a 1009 close is its answer. */
      let hugeSent = false;
      const live: number[] = [];
      /** Its joins in this room (not through wapm). */
      const joins = new Set<number>();
      /** LimitExceeded faults naming the socket's live-call share. */
      let capFaults = 0;
      ws.on("message", (data, binary) => {
        if (!binary) return void hostileProblems.push(`a text frame: ${String(data).slice(0, 80)}`);
        let f: BusFrame;
        try {
          f = packr.unpack(data as Buffer) as BusFrame;
        } catch (err) {
          return void hostileProblems.push(`not msgpack: ${(err as Error).message}`);
        }
        if (!f || typeof f !== "object" || !["reply", "fault", "callback", "error"].includes(f.type as string)) return void hostileProblems.push(`an unknown frame: ${JSON.stringify(f).slice(0, 120)}`);
        count(`got ${f.type === "fault" || f.type === "error" ? `${f.type}:${f.codeName}` : f.type}`);
        if (f.type === "fault" && f.codeName === "LimitExceeded" && /live calls already/.test(String(f.error))) capFaults++;
        if (f.type === "fault" || f.type === "error") {
          const problem = codeProblem(f);
          if (problem) hostileProblems.push(`${f.type} frame: ${problem}: ${JSON.stringify(f).slice(0, 160)}`);
        }
      });
      ws.on("close", (code, reason) => (closed = { code, reason: String(reason) }));
      ws.on("error", () => {});
      let next = 1;
      const call = (id: number, topic: string, body: unknown, extra: Record<string, unknown> = {}) =>
        ws.send(packr.pack({ type: "call", id, topic, format: "json", payload: enc.encode(JSON.stringify(body)), ...extra }));
      const life = r.range(5, 80);
      let ending: "terminate" | "close" | "huge" | undefined;
      for (let i = 0; i < life && done < ACTIONS && !closed; i++, done++) {
        const kind = r.weighted({ join: 4, post: 8, wapm: 3, cap: 0.3, garbage: 6, text: 4, dupId: 4, dropUnknown: 4, dropLive: 2, flood: 2, huge: 0.15, wait: 2 });
        count(kind);
        timeline.push([Date.now(), kind]);
        switch (kind) {
          case "join": {
            if (live.length >= MEMBERS) break;
            const id = next++;
            call(id, "join", { name: `h${id}` }, { keepalive: true });
            live.push(id);
            joins.add(id);
            break;
          }
          case "post": {
            // Under a join mostly; else under no call, or a call that may still be in flight (its last post), kept alive or not.
            const parent = r.chance(0.8) && live.length ? r.pick(live) : r.chance(0.5) ? next - 1 : undefined;
            call(r.chance(0.8) ? next++ : r.int(next + 5), "post", { text: "x".repeat(r.int(2000)) }, { ...(parent === undefined ? {} : { parent }), ...(r.chance(0.1) ? { keepalive: true } : {}) });
            break;
          }
          case "garbage":
            ws.send(r.bytes(r.int(r.chance(0.9) ? 64 : 200_000)));
            break;
          case "text":
            ws.send(r.pick(["", "call", '{"type":"call","id":1}', "\u0000".repeat(r.int(100)), "é".repeat(r.int(5000))]));
            break;
          case "dupId":
            // A live call's id again, or the same fresh id twice in a row.
            if (live.length) call(r.pick(live), "join", { name: "dup" }, { keepalive: true });
            else {
              const id = next++;
              call(id, "post", { text: "a" });
              call(id, "post", { text: "b" });
            }
            break;
          case "wapm": {
            // Another module, this very session through its name, another session, names refused.
            const wapm = r.pick(["hello", `chat@${session}`, `chat@${session}-b`, "chat@..", "os", "nope", "chat@"]);
            const id = next++;
            if (wapm.startsWith("chat") && r.chance(0.5)) {
              call(id, "join", { name: "w" }, { keepalive: true, wapm });
              if (live.length < MEMBERS) live.push(id);
            } else call(id, wapm === "hello" ? "greet" : "post", { name: "w", text: "w" }, { wapm });
            break;
          }
          case "cap": {
            // Past the socket's share of live calls (a sixteenth of maxHandles): kept-alive posts, each refused LimitExceeded once it is full.
            // Under one of its own joins in this room (a post under another room's join fails, and is not live).
            const mine = live.filter((id) => joins.has(id));
            if (!mine.length) break;
            const parent = r.pick(mine);
            const before = capFaults;
            for (let k = 0; k <= CALL_CAP; k++) call(next++, "post", { text: "c" }, { parent, keepalive: true });
            reading(ws, true);
            await until(() => (capFaults > before || closed ? true : undefined), GOOD_MS, () => `a LimitExceeded fault past ${CALL_CAP} live calls`);
            break;
          }
          case "dropUnknown":
            ws.send(packr.pack({ type: "drop", id: r.pick([next + 1000, 0, 2 ** 40, r.u32()]) }));
            break;
          case "dropLive":
            if (live.length) ws.send(packr.pack({ type: "drop", id: live.splice(r.int(live.length), 1)[0] }));
            break;
          case "flood": {
            // Calls without reading a reply: the TCP socket paused, so the server's replies back up.
            reading(ws, false);
            // Its joins are held to MEMBERS: each post costs the server a callback per member (chat
            // fans out), so 250 members of its own and 300 posts of 4 KB were 27 s of the object's
            // time, which every other client waits behind (reported, not a fault of the sockets).
            const n = r.range(20, 80);
            for (let k = 0; k < n; k++) {
              if (live.length < MEMBERS && r.chance(0.1)) {
                live.push(next);
                call(next++, "join", { name: "f" }, { keepalive: true });
              } else call(r.chance(0.9) ? next++ : 1, "post", { text: "f".repeat(r.int(1000)) }, live.length ? { parent: r.pick(live) } : {});
            }
            stats.floodCalls = (stats.floodCalls ?? 0) + n;
            await sleep(r.pick([0, 20, 100]));
            if (r.chance(0.5)) reading(ws, true);
            break;
          }
          case "huge":
            ws.send(new Uint8Array(FRAME_MAX + 1 + r.int(1000)));
            hugeSent = true;
            ending = "huge";
            break;
          default:
            await sleep(r.pick([0, 1, 10, 30]));
        }
        if (ending) break;
        if (r.chance(0.1)) await sleep(r.int(5));
      }
      if (ending === "huge") {
        // Reading again (a flood may have paused it): the close is a frame to read.
        reading(ws, true);
        await until(() => closed, GOOD_MS, () => "close after a frame over the limit");
        // The documented close: 1009, the reason naming the limit.
        if (closed!.code !== 1009 || !/over the limit \(requestBytes \d+\)/.test(closed!.reason)) hostileProblems.push(`a frame over the limit closed with ${closed!.code} ${closed!.reason}`);
        else count("closed 1009");
      } else if (closed) {
        hostileProblems.push(`the server closed a hostile socket unasked: ${closed.code} ${closed.reason}${hugeSent ? " (after a huge frame)" : ""}`);
      } else if (r.chance(0.75)) {
        // Abruptly: a TCP reset, with whatever it sent still on its way, replies unread.
        ws.terminate();
        count("terminated");
        timeline.push([Date.now(), "terminated"]);
      } else {
        timeline.push([Date.now(), "closed"]);
        reading(ws, true);
        ws.close(r.pick([1000, 1001, 4000, 4999]), "bye");
        count("closed");
      }
    }
    stop = true;
    const goodFailed = await goodLoop;
    if (goodFailed) throw goodFailed;

    // Its callbacks: its own messages, every one, in order, on its join.
    await until(
      () => {
        const texts = goodFrames.filter((f) => f.type === "callback" && f.id === 1).map((f) => JSON.parse(dec.decode(f.payload as Uint8Array)) as { from: string; text: string });
        return texts.filter((m) => m.from === "good").length >= posted.length ? true : undefined;
      },
      GOOD_MS,
      () => "the good client's last callback",
    );
    const heard = goodFrames
      .filter((f) => f.type === "callback" && f.id === 1)
      .map((f) => JSON.parse(dec.decode(f.payload as Uint8Array)) as { from: string; text: string })
      .filter((m) => m.from === "good")
      .map((m) => m.text);
    expect(heard, `seed ${SEED}`).toEqual(posted);
    const goodFaults = goodFrames.filter((f) => f.type === "fault" || f.type === "error");
    expect(goodFaults, `seed ${SEED}`).toEqual([]);
    expect(goodProblems).toEqual([]);
    expect(goodClosed).toBeUndefined();
    expect(hostileProblems.slice(0, 10), `seed ${SEED}: ${JSON.stringify(stats)}`).toEqual([]);
    // It reached what it is meant to reach.
    for (const k of ["got fault:InvalidHandle", "got error:BadRequest", "got error:InvalidHandle", "got fault:LimitExceeded", "terminated", "flood"]) expect(stats[k] ?? 0, `${k}; ${JSON.stringify(stats)}`).toBeGreaterThan(0);
    console.log(`session: seed ${SEED}, ${ACTIONS} actions, good posts ${posted.length} (max ${Math.max(...latencies)} ms), ${JSON.stringify(stats)}`);
    // Every hostile socket is gone, and so are its joins (through this session's name too): a
    // newcomer finds the good client alone in the room, once the server has seen the last close.
    const probe = async () => {
      const ws = await opened(path);
      const answer = new Promise<BusFrame>((resolve) => ws.once("message", (data) => resolve(packr.unpack(data as Buffer) as BusFrame)));
      ws.send(packr.pack({ type: "call", id: 1, topic: "join", format: "json", payload: enc.encode(JSON.stringify({ name: "probe" })), keepalive: true }));
      const n = (JSON.parse(dec.decode((await answer).payload as Uint8Array)) as { members: number }).members;
      ws.close(1000, "probed");
      await sleep(100); // its own join gone before the next probe
      return n;
    };
    let members = await probe();
    for (const end = Date.now() + GOOD_MS; members !== 2 && Date.now() < end; ) members = await probe();
    expect(members, `seed ${SEED}: members after every hostile socket closed (the good one and the probe)`).toBe(2);
    good.close(1000, "done");
  });

  // One socket's backlog is its own: a client that sends a burst of costly calls (posts to a room
  // it fills with its own joins, each one fanned out to every member) does not put them ahead of
  // another client's call sent just after. Nothing in the session queues frames across sockets:
  // workerd reads each socket's frames in turn, and this holds that nothing comes to.
  it("a session: one socket's burst of costly calls does not hold back another socket's call sent after it", { timeout: 120_000 }, async () => {
    const path = `${origin.replace("http", "ws")}/bus/chat/burst-${Date.now() % 1e6}`;
    const JOINS = CALL_CAP - 1;
    const POSTS = 200;
    const burst = await opened(path);
    const burstFrames: BusFrame[] = [];
    burst.on("message", (data) => burstFrames.push(packr.unpack(data as Buffer) as BusFrame));
    const send = (ws: WebSocket, id: number, topic: string, body: unknown, extra: Record<string, unknown> = {}) =>
      ws.send(packr.pack({ type: "call", id, topic, format: "json", payload: enc.encode(JSON.stringify(body)), ...extra }));
    for (let id = 1; id <= JOINS; id++) send(burst, id, "join", { name: `b${id}` }, { keepalive: true });
    await until(() => (burstFrames.filter((f) => f.type === "reply").length === JOINS ? true : undefined), GOOD_MS * 4, () => `${JOINS} joins answered`);
    const good = await opened(path);
    const goodFrames: BusFrame[] = [];
    good.on("message", (data) => goodFrames.push(packr.unpack(data as Buffer) as BusFrame));
    send(good, 1, "join", { name: "good" }, { keepalive: true });
    await until(() => goodFrames.find((f) => f.id === 1 && f.type === "reply"), GOOD_MS, () => "the good join's reply");

    // Each post reaches JOINS + 1 members: some milliseconds each, seconds for the burst in order.
    for (let i = 0; i < POSTS; i++) send(burst, 1000 + i, "post", { text: "x" }, { parent: 1 });
    send(good, 2, "post", { text: "after the burst" }, { parent: 1 });
    const answer = await until(() => goodFrames.find((f) => f.id === 2 && (f.type === "reply" || f.type === "fault")), GOOD_MS, () => "the good post's answer");
    const ahead = burstFrames.filter((f) => typeof f.id === "number" && f.id >= 1000 && (f.type === "reply" || f.type === "fault")).length;
    expect(answer.type).toBe("reply");
    expect(ahead, `posts of the burst answered before the good client's post`).toBeLessThan(POSTS / 2);
    // The rest of the burst is not read once its socket closes; its joins leave the room with it.
    burst.close(1000, "done");
    good.close(1000, "done");
  });

  it(`a process attachment (upcase): seed ${SEED}, ${ACTIONS} hostile actions; the good client's lines whole and in order, limits refused with LimitExceeded as they are hit`, { timeout: 120_000 }, async () => {
    const r = new Rng(SEED ^ 0x5a5a);
    const res = await fetch(`${origin}/processes`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ module: "upcase" }) });
    expect(res.status, await res.clone().text()).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const url = `${origin.replace("http", "ws")}/processes/${id}/attach`;

    // The good client writes a line at a time and reads it back upper-cased: whole, in order.
    const good = await opened(`${url}?ack=stdin`);
    const goodOut: string[] = [];
    const goodOther: Record<string, unknown>[] = [];
    /** Its writes refused: stdin is shared, and a hostile client may have filled it (LimitExceeded); then it writes again. */
    const goodErrors: Record<string, unknown>[] = [];
    let goodClosed: { code: number; reason: string } | undefined;
    let lastAck = -1;
    good.on("message", (data, binary) => {
      if (binary) return void goodOther.push({ binary: true });
      const f = JSON.parse(String(data)) as Record<string, unknown>;
      if (f.stream === "stdout" && typeof f.line === "string") goodOut.push(f.line);
      else if (typeof f.stdin_taken === "number") {
        if (f.stdin_taken < lastAck) goodOther.push({ ackWentBack: f.stdin_taken, after: lastAck });
        lastAck = f.stdin_taken;
      } else if ("error" in f) goodErrors.push(f);
      else goodOther.push(f);
    });
    good.on("close", (code, reason) => (goodClosed = { code, reason: String(reason) }));

    let stop = false;
    let failed = false;
    const goodR = new Rng(SEED + 2);
    const written: string[] = [];
    const latencies: number[] = [];
    let goodRefused = 0;
    const goodLoop = (async () => {
      for (let n = 0; !stop; n++) {
        const line = `good-${n}-${"z".repeat(goodR.int(300))}`;
        const at = Date.now();
        const end = at + GOOD_MS;
        for (;;) {
          const refusedBefore = goodErrors.length;
          // Binary or text, always the whole line in one frame: a frame is written to stdin whole.
          if (n % 2) good.send(enc.encode(`${line}\n`));
          else good.send(JSON.stringify({ stdin: `${line}\n` }));
          const outcome = await until(() => (goodOut.includes(line.toUpperCase()) ? "back" : goodErrors.length > refusedBefore ? "refused" : undefined), Math.max(0, end - Date.now()), () => `the good client's line ${n} back (max so far ${Math.max(0, ...latencies)} ms); the hostile's last actions: ${timeline.slice(-15).map(([t, k]) => `${t - at}ms ${k}`).join(", ")}; the good client's last lines: ${goodOut.slice(-3).map((l) => l.slice(0, 40)).join(" | ")}`);
          if (outcome === "back") break;
          const refused = goodErrors.at(-1)!;
          if (refused.codeName !== "LimitExceeded") throw new Error(`the good client's line ${n} refused: ${JSON.stringify(refused)}`);
          goodRefused++;
          await sleep(10);
        }
        written.push(line.toUpperCase());
        latencies.push(Date.now() - at);
        await sleep(goodR.pick([0, 5, 20]));
      }
    })().then(
      () => undefined,
      // Held until the hostile loop sees `failed` and stops, then thrown (not an unhandled rejection meanwhile).
      (err: Error) => {
        failed = true;
        return err;
      },
    );

    const problems: string[] = [];
    const timeline: [number, string][] = [];
    const stats: Record<string, number> = {};
    const count = (k: string) => (stats[k] = (stats[k] ?? 0) + 1);
    let done = 0;
    while (done < ACTIONS && !failed) {
      const acks = r.chance(0.5);
      const ws = await opened(acks ? `${url}?ack=stdin` : url);
      count("sockets");
      /** The error each frame owes, in order: B(adRequest), L(imitExceeded), or l: an L where stdin is full (the process reads behind). */
      let owed = "";
      const errors: string[] = [];
      let closed: { code: number; reason: string } | undefined;
      let ack = -1;
      ws.on("message", (data, binary) => {
        if (binary) return void problems.push("a binary frame from an attachment");
        let f: Record<string, unknown>;
        try {
          f = JSON.parse(String(data)) as Record<string, unknown>;
        } catch {
          return void problems.push(`not JSON: ${String(data).slice(0, 80)}`);
        }
        if (typeof f.stream === "string") return;
        if ("stdin_taken" in f) {
          if (!acks) problems.push("an ack to a client that asked for none");
          if (typeof f.stdin_taken !== "number" || f.stdin_taken < ack) problems.push(`ack ${JSON.stringify(f.stdin_taken)} after ${ack}`);
          ack = f.stdin_taken as number;
          return;
        }
        if ("error" in f) {
          const problem = codeProblem(f);
          if (problem) problems.push(`error frame: ${problem}: ${JSON.stringify(f).slice(0, 160)}`);
          errors.push(f.codeName === "BadRequest" ? "B" : f.codeName === "LimitExceeded" ? "L" : `(${String(f.codeName)})`);
          count(`got ${String(f.codeName)}`);
          return;
        }
        problems.push(`an unknown frame: ${JSON.stringify(f).slice(0, 160)}`);
      });
      ws.on("close", (code, reason) => (closed = { code, reason: String(reason) }));
      ws.on("error", () => {});
      const life = r.range(5, 60);
      let aborted = false;
      for (let i = 0; i < life && done < ACTIONS && !closed; i++, done++) {
        const kind = r.weighted({ line: 6, garbage: 5, text: 6, over: 1, flood: 1, midWrite: 0.5, wait: 2 });
        count(kind);
        timeline.push([Date.now(), kind]);
        // Every byte of stdin it writes ends a line, so that the good client's lines start at one.
        switch (kind) {
          case "line":
            ws.send(JSON.stringify({ stdin: `hostile ${r.u32()}\n` }));
            owed += "l";
            break;
          case "garbage": {
            const b = r.bytes(r.int(r.chance(0.9) ? 200 : 100_000) + 1);
            b[b.length - 1] = 10;
            ws.send(b);
            owed += "l";
            break;
          }
          case "text": {
            ws.send(r.pick(["", "stdin", "null", "[]", "5", '"x"', '{"stdin":5}', '{"close_stdin":false}', '{"close_stdin":"yes"}', "{}", '{"stdin":"a\\n","x":1}', '{"__proto__":{"stdin":"p\\n"}}', "{".repeat(r.int(10_000))]));
            owed += "B";
            break;
          }
          case "over":
            // One frame past stdinBytes: refused whole, at once, whatever the process has read.
            ws.send(new Uint8Array(STDIN_BYTES + 1 + r.int(1000)).fill(10));
            owed += "L";
            break;
          case "flood": {
            // Frames faster than upcase reads: those past stdinBytes unread are refused as they come.
            const n = r.range(4, 12);
            for (let k = 0; k < n; k++) {
              const b = new Uint8Array(r.range(64 << 10, 400 << 10)).fill(0x61);
              for (let at = 4095; at < b.length; at += 4096) b[at] = 10;
              b[b.length - 1] = 10;
              ws.send(b);
              owed += "l";
            }
            break;
          }
          case "midWrite": {
            // A large frame, and the connection reset while it is on its way: none of it, or all of it, is stdin.
            const b = new Uint8Array(r.range(100_000, 900_000)).fill(0x62);
            b[b.length - 1] = 10;
            ws.send(b);
            await sleep(r.pick([0, 0, 1]));
            ws.terminate();
            aborted = true;
            break;
          }
          default:
            await sleep(r.pick([0, 1, 10, 30]));
        }
        if (aborted) break;
      }
      if (closed) problems.push(`the server closed a hostile attachment unasked: ${closed.code} ${closed.reason}`);
      else if (!aborted && r.chance(0.4)) {
        ws.terminate();
        count("terminated");
        timeline.push([Date.now(), "terminated"]);
      } else if (!aborted) {
        // Before a clean close, the errors it was owed, in order: one per frame that did nothing.
        await until(() => (owedErrors(owed, errors.join("")) ? true : undefined), GOOD_MS, () => `error frames ${owed} (got ${errors.join("")})`).catch((err: Error) => problems.push(err.message));
        ws.close(1000, "bye");
        count("closed");
      } else count("midWrite aborted");
    }
    stop = true;
    const goodFailed = await goodLoop;
    if (goodFailed) throw goodFailed;

    // Hostile clients writing on as the process ends: their frames cross the end frame.
    const writers = await Promise.all([0, 1].map(() => opened(url)));
    const ends = writers.map((ws) => {
      const end: { frames: Record<string, unknown>[]; closed?: { code: number; reason: string } } = { frames: [] };
      ws.on("message", (data) => end.frames.push(JSON.parse(String(data)) as Record<string, unknown>));
      ws.on("close", (code, reason) => (end.closed = { code, reason: String(reason) }));
      ws.on("error", () => {});
      return end;
    });
    const spam = setInterval(() => {
      for (const ws of writers) {
        if (ws.readyState !== WebSocket.OPEN) continue;
        for (let k = 0; k < 20; k++) ws.send(r.chance(0.5) ? "garbage" : r.chance(0.5) ? JSON.stringify({ stdin: "late\n" }) : Uint8Array.of(0x78, 10));
      }
    }, 1);

    // The end: stdin closed by the good client, the process exits 0, the end frame last, then 1000.
    await sleep(20);
    good.send(JSON.stringify({ close_stdin: true }));
    await until(() => goodClosed, GOOD_MS, () => "the good attachment's close after close_stdin");
    await until(() => (ends.every((e) => e.closed) ? true : undefined), GOOD_MS, () => "the writers' closes");
    clearInterval(spam);
    for (const e of ends) {
      expect(e.closed, "a writer's close").toEqual({ code: 1000, reason: "exited" });
      const last = e.frames.at(-1);
      expect(last, "a writer's last frame").toEqual({ exit: 0 });
      for (const f of e.frames.filter((f) => "error" in f)) expect(codeProblem(f), JSON.stringify(f)).toBeUndefined();
    }
    expect(goodClosed!.code).toBe(1000);
    const mine = goodOut.filter((l) => l.startsWith("GOOD-"));
    expect(mine, `seed ${SEED}: the good client's lines, whole and in order`).toEqual(written);
    expect(goodOther, `seed ${SEED}`).toEqual([{ exit: 0 }]);
    expect(goodOut.some((l) => l.includes("lines dropped"))).toBe(false);
    expect(problems.slice(0, 10), `seed ${SEED}: ${JSON.stringify(stats)}`).toEqual([]);
    for (const k of ["got BadRequest", "got LimitExceeded", "midWrite aborted", "terminated"]) expect(stats[k] ?? 0, `${k}; ${JSON.stringify(stats)}`).toBeGreaterThan(0);
    console.log(`attachment: seed ${SEED}, ${ACTIONS} actions, good lines ${written.length} (max ${Math.max(...latencies)} ms, ${goodRefused} writes refused while stdin was full), ${JSON.stringify(stats)}`);
  });
});
