/// <reference types="node" />
// "Loses nothing", against a crash: the real workerd (wrangler's unstable_startWorker, state
// persisted in a temporary directory) is killed with SIGKILL, twice, while clients are busy, and
// started again on the same directory. Busy with:
// (a) a `wasi-probe number` process (it numbers the lines it reads, in its memory) fed on stdin
//     in many small frames (one line each) by an attached client,
//     which reads each line back numbered and upper-cased: a line back is the ack of its frame;
// (b) `tally` incr over HTTP (plain calls: the module's keys in its BusStore object), a few at once;
// (c) a session's clients over the bus WebSocket: a `chat` room (join, then posts, each heard
//     back as a message) and `tally` in a session of its own (its keys in the session's object);
// (e) calls to a daemon process (`echo-daemon`: each answer counts the calls its instance served,
//     in its memory), over HTTP through the process's object, a few at once;
// (d) a `countdown` process asleep on its alarm; and a `sleepcat-rs` asleep in a blocking wait,
//     fed stdin while it sleeps, in frames acked by the error frame of a bad frame behind them
//     (frames are taken in order: its answer comes after theirs was saved).
// The kills come at fixed points of observed progress (so many acks of each), never on a timer.
// After each: every write acknowledged before the kill is there, once and in order; nothing
// is applied twice (a count never passes what was acked plus what was in flight); every request
// in flight at the kill fails with a BusError named by its code, within seconds, never hangs or
// succeeds in silence (a client's process.wait() too: never a running process as its end); and
// the sleeping process wakes and finishes by itself.
// Then stdin acked over `?ack=stdin` ({"stdin_taken": n}), killed at an ack: every acked byte
// is there after the start, and the first ack of a new attach says where to resend exactly the rest.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BusError, Client, modules } from "../../sdk/client/src/index.js";
import type { LogLine } from "../../src/log.js";
import type { ProcessInfo } from "../../src/process.js";
import { reap, sigkill } from "./kill-worker.js";
import { type StartedWorker, startWorker, withTimeout } from "./start-worker.js";

/** Lines fed to wasi-probe in all, and how many may be unacked at once (frames in flight at a kill). */
const LINES = 360;
const STDIN_WINDOW = 16;
/** Lines fed with acks (?ack=stdin), and the one whose ack is the kill point. */
const ACK_LINES = 200;
const ACK_KILL_AT = 120;
/** HTTP incrs at once. */
const INCR_AT_ONCE = 3;
/** Chat posts and session incrs unacked at once. */
const SESSION_WINDOW = 4;
/** Each of countdown's sleeps: the kill lands inside one (it wakes from its alarm after the start). */
const SLEEP_MS = 8000;
/** sleepcat-rs's sleep: it wakes after the last kill, and reads what it was fed meanwhile. */
const NAP_MS = 24_000;
/** The sleeps of the second test: long enough for its kills and starts on a busy machine. */
const RESTORE_SLEEP_MS = 15_000;
/** Frames fed to it in each phase. */
const NAP_FRAMES = 25;
/** Time for what was in flight at a kill to fail at its client. */
const FAIL_MS = 10_000;

let dir = "";
let worker: StartedWorker | undefined;
let origin = "";

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "wasm-bus-crash-"));
});

afterEach(async () => {
  await withTimeout(worker?.dispose() ?? Promise.resolve(), 20_000, "the Worker to stop").catch((err) => console.warn(String(err)));
  worker = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
}, 30_000);

async function start() {
  const started = await startWorker({ persist: dir, entrypoint: "test/node/process-worker.ts", logLevel: "none" });
  worker = started.worker;
  origin = started.url.origin;
}

/** The kill: synchronous, at the point the caller saw. `reaped` once the runtime is gone for good. */
function crash(): { reaped: Promise<void> } {
  const w = worker!;
  worker = undefined;
  const pids = sigkill();
  return { reaped: reap(w, pids) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** Polls `ready` every 20 ms, failing with `what` after `ms`. */
async function until(ready: () => boolean | Promise<boolean>, what: string, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

async function json<T>(path: string, init?: RequestInit): Promise<T> {
  const res = await fetch(`${origin}${path}`, init);
  const text = await res.text();
  if (!res.ok) throw new Error(`${init?.method ?? "GET"} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

async function spawn(body: object): Promise<string> {
  return (await json<ProcessInfo>("/processes", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })).id;
}

async function stdout(id: string): Promise<string[]> {
  const { lines } = await json<{ lines: LogLine[] }>(`/processes/${id}/logs`);
  return lines.filter((l) => l.stream === "stdout").map((l) => l.msg);
}

/**
 * A request that was in flight at the kill: how it ended, within FAIL_MS. A BusError by its code
 * name; or a success, with its value: its answer was on the wire before the kill, so it was
 * acked, and what it wrote must be there as any ack's.
 */
async function settled<T>(promise: Promise<T>): Promise<{ code: string } | { value: T }> {
  try {
    return { value: await withTimeout(promise, FAIL_MS, "a request in flight at the kill to end") };
  } catch (err) {
    return { code: err instanceof BusError ? err.codeName : `not a BusError: ${String(err)}` };
  }
}

/** The values of the successes among `outcomes`; throws unless every other failed with `code`. */
function lateAcks<T>(outcomes: ({ code: string } | { value: T })[], code: string): T[] {
  const other = outcomes.filter((o) => "code" in o && o.code !== code);
  expect(other, `in flight at the kill, and ended other than as ${code} or a success`).toEqual([]);
  return outcomes.flatMap((o) => ("value" in o ? [o.value] : []));
}

const line = (i: number) => `line-${String(i).padStart(4, "0")}`;
const LINE = (i: number) => line(i).toUpperCase();

/**
 * The stdout of `wasi-probe number`, checked: each line is `n TEXT`, n counting from 1 (the
 * guest's own count, in its memory: a restore from a stale snapshot numbers wrong), TEXT what was
 * fed, upper-cased. Answers the texts.
 */
function numbered(lines: string[]): string[] {
  const texts = lines.map((l, k) => {
    const space = l.indexOf(" ");
    expect(l.slice(0, space), `line ${k + 1} of the process's stdout is numbered wrong: ${JSON.stringify(lines.slice(Math.max(0, k - 3), k + 3))}`).toBe(String(k + 1));
    return l.slice(space + 1);
  });
  return texts;
}

/**
 * (a) The client of a `wasi-probe number` process: frames `line-i\n`, each acked by `n LINE-I`
 * coming back, at most STDIN_WINDOW unacked. After a restart it attaches again and syncs: a
 * marker line written behind whatever stdin the snapshot kept comes back after all of it, so once
 * it is back the log table says how far the process got.
 */
class StdinFeeder {
  /** Lines acked (seen back, in order). */
  acked = 0;
  sent = 0;
  /** Lines the process wrote (markers too): the next one's number is one more. */
  written = 0;
  /** What came back that was not the next line due (a duplicate, a gap): must stay empty. */
  wrong: string[] = [];
  exit?: number;
  closed?: Promise<number>;
  /** Lines from here on wait (the other clients catch up before the kill). */
  hold = LINES;
  /** Heard with each ack, in the handler that saw it (the kill point). */
  onAck?: (acked: number) => void;
  /** After a restart, what the attach got up to the marker: the replay, then what came live. */
  replayed: string[] = [];
  #ws?: WebSocket;
  #syncs = 0;

  constructor(readonly id: string) {}

  /** Attaches; lines count as acks once `sync` (if any) has come back (the replay comes before it). */
  async attach(sync?: string) {
    const ws = new WebSocket(`${origin.replace("http", "ws")}/processes/${this.id}/attach`);
    this.#ws = ws;
    let live = sync === undefined;
    this.replayed = [];
    ws.addEventListener("message", (e) => {
      const frame = JSON.parse(String(e.data)) as { stream?: string; line?: string; exit?: number };
      if (frame.exit !== undefined) this.exit = frame.exit;
      if (frame.stream !== "stdout") return;
      if (!live) {
        this.replayed.push(frame.line!);
        live = frame.line!.endsWith(` ${sync!.toUpperCase()}`);
        return;
      }
      if (frame.line === `${this.written + 1} ${LINE(this.acked)}`) {
        this.written++;
        this.acked++;
        this.onAck?.(this.acked);
      } else this.wrong.push(frame.line!);
      if (ws.readyState === WebSocket.OPEN) this.pump();
    });
    this.closed = new Promise((resolve) => ws.addEventListener("close", (e) => resolve(e.code)));
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener("open", () => resolve());
      ws.addEventListener("error", () => reject(new Error("attach failed")));
    });
    if (sync !== undefined) ws.send(JSON.stringify({ stdin: `${sync}\n` }));
  }

  /**
   * After a restart: attach, sync, and answer the lines the log table holds before the marker
   * (the markers apart); feeding goes on after them.
   */
  async resync(): Promise<{ kept: string[] }> {
    const sync = `sync-${++this.#syncs}`;
    const marker = (l: string) => l.endsWith(` ${sync.toUpperCase()}`);
    await this.attach(sync);
    await until(() => this.replayed.some(marker), `${sync} back from the restored process, on the socket`);
    const lines = await stdout(this.id);
    const upTo = lines.slice(0, lines.findIndex(marker) + 1);
    const kept = numbered(upTo).filter((t) => t.startsWith("LINE-"));
    // The client saw the replay (the last 100 lines), then each line once: the log table's tail.
    expect(this.replayed, "the replay after the restart and the lines after it").toEqual(upTo.slice(-this.replayed.length));
    expect(this.replayed.length).toBeGreaterThanOrEqual(Math.min(100, upTo.length));
    this.written = upTo.length;
    this.acked = this.sent = kept.length;
    return { kept };
  }

  pump() {
    while (this.sent < Math.min(LINES, this.hold) && this.sent < this.acked + STDIN_WINDOW) this.#ws!.send(JSON.stringify({ stdin: `${line(this.sent++)}\n` }));
    if (this.acked === LINES && this.sent === LINES) {
      this.sent++;
      this.#ws!.send(JSON.stringify({ close_stdin: true }));
    }
  }
}

/**
 * Attaches with ?ack=stdin: `taken`, the count of the first ack (the replay comes before it);
 * `onAck` hears each ack after it; `exit`, the exit code.
 */
async function ackedAttach(id: string) {
  const ws = new WebSocket(`${origin.replace("http", "ws")}/processes/${id}/attach?ack=stdin`);
  ws.binaryType = "arraybuffer";
  let first!: (n: number) => void;
  let ended!: (code: number) => void;
  const attached = {
    ws,
    taken: new Promise<number>((resolve) => (first = resolve)),
    exit: new Promise<number>((resolve) => (ended = resolve)),
    onAck: undefined as ((n: number) => void) | undefined,
  };
  let acks = 0;
  ws.addEventListener("message", (e) => {
    const frame = JSON.parse(String(e.data)) as { stdin_taken?: number; exit?: number; error?: string };
    expect(frame.error, "an error frame").toBeUndefined();
    if (frame.exit !== undefined) ended(frame.exit);
    if (frame.stdin_taken === undefined) return;
    if (acks++ === 0) first(frame.stdin_taken);
    else attached.onAck?.(frame.stdin_taken);
  });
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve());
    ws.addEventListener("error", () => reject(new Error("attach failed")));
  });
  return attached;
}

/**
 * (d) Feeds a sleeping process `count` lines, as binary and text frames in turn, then a frame it
 * refuses: its error frame comes once the frames before it were taken (and saved: the process
 * rests). Resolves then; the socket stays open (the kill closes it).
 */
async function feedAsleep(id: string, lines: string[]): Promise<WebSocket> {
  const ws = new WebSocket(`${origin.replace("http", "ws")}/processes/${id}/attach`);
  const refused = new Promise<{ codeName?: string }>((resolve) =>
    ws.addEventListener("message", (e) => {
      const frame = JSON.parse(String(e.data)) as { codeName?: string; stream?: string };
      if (frame.stream === undefined) resolve(frame);
    }),
  );
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve());
    ws.addEventListener("error", () => reject(new Error("attach failed")));
  });
  lines.forEach((l, i) => ws.send(i % 2 ? JSON.stringify({ stdin: `${l}\n` }) : new TextEncoder().encode(`${l}\n`)));
  ws.send(JSON.stringify({ ack: "please" }));
  expect(await withTimeout(refused, 10_000, "the refusal behind the stdin frames")).toMatchObject({ codeName: "BadRequest" });
  return ws;
}

/**
 * Calls `make(i)` for i from `from` on, at most `atOnce` unsettled, until `stop()`: each one's
 * result in `acks` (by i), each pending one in `inFlight` (by i) until it settles.
 */
function driver<T>(make: (i: number) => Promise<T>, atOnce: number) {
  const acks = new Map<number, T>();
  const inFlight = new Map<number, Promise<T>>();
  const failures = new Map<number, unknown>();
  let next = 0;
  let stopped = false;
  const go = () => {
    while (!stopped && inFlight.size < atOnce) {
      const i = next++;
      const p = make(i);
      inFlight.set(i, p);
      p.then(
        (value) => {
          inFlight.delete(i);
          acks.set(i, value);
          go();
        },
        (err) => {
          inFlight.delete(i);
          failures.set(i, err);
        },
      );
    }
  };
  return {
    acks,
    inFlight,
    failures,
    start() {
      stopped = false;
      go();
    },
    stop() {
      stopped = true;
    },
  };
}

describe("SIGKILL of the runtime while clients are busy, and a start again on its state", () => {
  it("loses no acknowledged write, applies none twice, fails what was in flight by its code, and wakes the sleeper", { timeout: 120_000 }, async () => {
    const t0 = Date.now();
    const timeline: string[] = [];
    const mark = (what: string) => timeline.push(`${((Date.now() - t0) / 1000).toFixed(1)} s ${what}`);
    try {
      await start();
      mark(`started on ${origin}`);
      const client = () => new Client({ url: origin, modules });

      // (e)
      const daemon = await spawn({ module: "echo-daemon" });
      let daemonCount = 0;
      // (d) asleep on its alarm at the first kill: 3 at once, then a line every SLEEP_MS.
      const countdown = await spawn({ module: "countdown", args: ["3", String(SLEEP_MS)] });
      const countdownDue = Date.now() + 2 * SLEEP_MS;
      const napper = await spawn({ module: "sleepcat-rs", args: [String(NAP_MS)] });
      const napperDue = Date.now() + NAP_MS;
      const napLines: string[] = [];

      // (a)
      const feeder = new StdinFeeder(await spawn({ module: "wasi-probe", args: ["number"] }));
      feeder.hold = 0;
      await feeder.attach();

      // The three phases: run until the kill point, kill, check, go on.
      let acksBeforeKill = 0;
      let countdownAtKill = false;
      let napperAsleep = true;
      let httpCount = 0;
      let sessionCount = 0;
      let posted = 0;
      for (const phase of [1, 2, 3]) {
        const c = client();
        // (b) plain calls: tally's count in its BusStore object.
        const http = driver((i) => c.module("tally").incr({ by: 1 }).then((r) => Number(r.count)), INCR_AT_ONCE);
        // (e) calls to the daemon: each answer is its count of calls served.
        const echoes = driver((i) => c.process(daemon).call<{ served: number }>("echo", { i }).then((r) => r.served), INCR_AT_ONCE);
        // (c) a chat member posting, and tally in a session.
        const room = c.session("chat", "crash-room", { reconnect: false });
        const heard: string[] = [];
        const join = room.call("join", { name: `ada-${phase}` }, { keepalive: true, on: { message: (m) => heard.push(m.text) } });
        expect(await withTimeout(join.reply, 10_000, "the join")).toEqual({ joined: `ada-${phase}`, members: 1 });
        const posts = driver((i) => join.call("post", { text: `post-${posted + i}` }).reply as Promise<unknown>, SESSION_WINDOW);
        const counter = c.session("tally", "crash-count", { reconnect: false });
        const sessionIncrs = driver((_) => counter.call("incr", { by: 1 }).reply.then((r) => Number(r.count)), SESSION_WINDOW);
        if (phase > 1) {
          // The counts go on from what survived (checked below, after each start again).
          httpCount = Number((await c.module("tally").get({})).count);
          sessionCount = Number((await counter.call("get", {}).reply).count);
        }
        const goal = phase * 120;
        feeder.hold = phase === 3 ? LINES : goal - 2 * STDIN_WINDOW;
        feeder.pump();
        http.start();
        echoes.start();
        posts.start();
        sessionIncrs.start();

        if (phase === 3) {
          // The last phase runs to the end: every line, and the counts go on by one each.
          await until(() => feeder.exit !== undefined, "wasi-probe to exit", 40_000);
          http.stop();
          echoes.stop();
          posts.stop();
          sessionIncrs.stop();
          await until(() => http.inFlight.size + echoes.inFlight.size + posts.inFlight.size + sessionIncrs.inFlight.size === 0, "the last calls");
          expect([...http.failures.values()].map(String)).toEqual([]);
          expect([...echoes.failures.values()].map(String)).toEqual([]);
          expect([...echoes.acks.values()].sort((x, y) => x - y)).toEqual(Array.from({ length: echoes.acks.size }, (_, k) => daemonCount + k + 1));
          expect([...posts.failures.values()].map(String)).toEqual([]);
          expect([...sessionIncrs.failures.values()].map(String)).toEqual([]);
          expect([...http.acks.values()].sort((x, y) => x - y)).toEqual(Array.from({ length: http.acks.size }, (_, k) => httpCount + k + 1));
          expect([...sessionIncrs.acks.values()].sort((x, y) => x - y)).toEqual(Array.from({ length: sessionIncrs.acks.size }, (_, k) => sessionCount + k + 1));
          expect(heard).toEqual(Array.from({ length: posts.acks.size }, (_, k) => `post-${posted + k}`));
          await room.close();
          await counter.close();
          break;
        }

        // (d) stdin for the sleeper, acked (it stays asleep through both kills: checked below).
        const napFed = Array.from({ length: NAP_FRAMES }, (_, i) => `nap-${phase}-${i}`);
        const napSocket = await feedAsleep(napper, napFed);
        napLines.push(...napFed);
        expect(await stdout(napper), "sleepcat-rs woke before the kill: make NAP_MS longer").toEqual(["sleeping"]);

        // The kill point: the others first get so many acks each, while stdin waits a little short
        // of its point; then stdin goes on, and the kill comes with its ack number `goal`, with
        // frames in flight behind it.
        const progress = () => `stdin ${feeder.acked}/${goal}, http ${http.acks.size}, echoes ${echoes.acks.size}, posts ${posts.acks.size}, session ${sessionIncrs.acks.size}; failed: ${[...http.failures.values(), ...echoes.failures.values(), ...posts.failures.values(), ...sessionIncrs.failures.values()].map(String).join("; ")}`;
        await until(() => http.acks.size >= 10 && echoes.acks.size >= 10 && posts.acks.size >= 10 && sessionIncrs.acks.size >= 10, `phase ${phase}'s progress (${progress()})`, 40_000);
        expect(feeder.acked, "stdin went past its kill point before the others got going").toBeLessThan(goal);
        let acked!: { stdin: number; http: number[]; echoes: number[]; posts: number; session: number[]; heard: string[] };
        let pending!: { http: Promise<number>[]; echoes: Promise<number>[]; posts: Promise<unknown>[]; session: Promise<number>[] };
        let inFlight!: { stdin: number; http: number; echoes: number; posts: number; session: number };
        /** Writes sent in this phase: a count may hold each at most once. */
        let issued!: { http: number; echoes: number; session: number };
        // A client waiting for the sleeper's end across the kill: an error, never a running
        // process answered as ended.
        const waiting = c.process(countdown).wait();
        waiting.catch(() => {}); // read below, after the kill (it may fail before that)
        const killed = new Promise<{ reaped: Promise<void> }>((resolve) => {
          feeder.onAck = (n) => {
            if (n !== goal) return;
            const kill = crash();
            feeder.onAck = undefined;
            acked = { stdin: feeder.acked, http: [...http.acks.values()], echoes: [...echoes.acks.values()], posts: posts.acks.size, session: [...sessionIncrs.acks.values()], heard: [...heard] };
            pending = { http: [...http.inFlight.values()], echoes: [...echoes.inFlight.values()], posts: [...posts.inFlight.values()], session: [...sessionIncrs.inFlight.values()] };
            inFlight = { stdin: feeder.sent - feeder.acked, http: pending.http.length, echoes: pending.echoes.length, posts: pending.posts.length, session: pending.session.length };
            issued = { http: http.acks.size + http.inFlight.size, echoes: echoes.acks.size + echoes.inFlight.size, session: sessionIncrs.acks.size + sessionIncrs.inFlight.size };
            http.stop();
            echoes.stop();
            posts.stop();
            sessionIncrs.stop();
            resolve(kill);
          };
        });
        feeder.hold = LINES;
        feeder.pump();
        await (await withTimeout(killed, 20_000, `stdin's kill point (${progress()})`)).reaped;
        if (phase === 1) countdownAtKill = Date.now() < countdownDue - 500;
        napperAsleep &&= Date.now() < napperDue - 500;
        napSocket.close();
        expect(feeder.wrong, "wasi-probe answered out of order").toEqual([]);
        mark(`killed: acked ${JSON.stringify({ ...acked, http: acked.http.length, echoes: acked.echoes.length, session: acked.session.length, heard: acked.heard.length })}, in flight ${JSON.stringify(inFlight)}`);

        // What was in flight fails, by its code, and soon: the network is gone (InternalFailure
        // over HTTP) and the socket with it (Aborted: lost); or its answer was on its way.
        // Each ack is a count of its own (the store lost no update).
        const outcomes = {
          http: await Promise.all(pending.http.map(settled)),
          echoes: await Promise.all(pending.echoes.map(settled)),
          posts: await Promise.all(pending.posts.map(settled)),
          session: await Promise.all(pending.session.map(settled)),
          join: (await withTimeout(join.ended, FAIL_MS, "the join to end at the kill")) === "lost" ? join.error?.codeName : `ended ${join.state}`,
        };
        mark(`in flight ended: ${JSON.stringify(outcomes)}`);
        const waited = await settled(waiting);
        expect("code" in waited ? waited.code : waited.value.status, "process.wait() in flight at the kill").toBe("InternalFailure");
        acked.http.push(...lateAcks(outcomes.http, "InternalFailure"));
        acked.echoes.push(...lateAcks(outcomes.echoes, "InternalFailure"));
        acked.posts += lateAcks(outcomes.posts, "Aborted").length;
        acked.session.push(...lateAcks(outcomes.session, "Aborted"));
        expect(outcomes.join).toBe("Aborted");
        expect(new Set(acked.http).size).toBe(acked.http.length);
        expect(new Set(acked.echoes).size).toBe(acked.echoes.length);
        expect(new Set(acked.session).size).toBe(acked.session.length);
        await withTimeout(feeder.closed!, FAIL_MS, "the attached socket to close at the kill");
        // Every post heard once, in order, and every acked one among them.
        expect(heard).toEqual(Array.from({ length: heard.length }, (_, k) => `post-${posted + k}`));
        expect(heard.length).toBeGreaterThanOrEqual(acked.posts);
        posted += posts.acks.size + pending.posts.length;

        await start();
        mark(`started again on ${origin}`);
        // (a) Every acked line is in the log table once, in order, and nothing past what was sent.
        const { kept } = await feeder.resync();
        mark(`wasi-probe kept ${kept.length} lines (acked ${acked.stdin}, sent ${acked.stdin + inFlight.stdin})`);
        expect(kept).toEqual(Array.from({ length: kept.length }, (_, k) => LINE(k)));
        expect(kept.length).toBeGreaterThanOrEqual(acked.stdin);
        expect(kept.length).toBeLessThanOrEqual(acked.stdin + inFlight.stdin);
        acksBeforeKill = acked.stdin;
        // (b), (c): every acked count is there, and at most the requests in flight besides.
        const c2 = client();
        const nowHttp = Number((await c2.module("tally").get({})).count);
        const probe = c2.session("tally", "crash-count", { reconnect: false });
        const nowSession = Number((await probe.call("get", {}).reply).count);
        await probe.close();
        // The daemon's next answer counts every call it served before: the acked ones, and at most
        // those in flight besides.
        const nowEchoes = (await c2.process(daemon).call<{ served: number }>("echo", { i: "probe" })).served - 1;
        const bounds = {
          echoes: [Math.max(...acked.echoes), daemonCount + issued.echoes],
          http: [Math.max(...acked.http), httpCount + issued.http],
          session: [Math.max(...acked.session), sessionCount + issued.session],
        };
        mark(`counts: http ${nowHttp} in ${JSON.stringify(bounds.http)}, session ${nowSession} in ${JSON.stringify(bounds.session)}`);
        mark(`daemon served ${nowEchoes} in ${JSON.stringify(bounds.echoes)}`);
        expect(nowEchoes).toBeGreaterThanOrEqual(bounds.echoes[0]!);
        expect(nowEchoes).toBeLessThanOrEqual(bounds.echoes[1]!);
        daemonCount = nowEchoes + 1;
        expect(nowHttp).toBeGreaterThanOrEqual(bounds.http[0]!);
        expect(nowHttp).toBeLessThanOrEqual(bounds.http[1]!);
        expect(nowSession).toBeGreaterThanOrEqual(bounds.session[0]!);
        expect(nowSession).toBeLessThanOrEqual(bounds.session[1]!);
      }
      expect(feeder.wrong).toEqual([]);
      expect(feeder.exit).toBe(0);
      mark(`wasi-probe exited 0 (${acksBeforeKill} acked before the last kill)`);
      const lines = await stdout(feeder.id);
      expect(numbered(lines).filter((t) => t.startsWith("LINE-"))).toEqual(Array.from({ length: LINES }, (_, k) => LINE(k)));

      // (d) The sleeper, never asked about until it should have finished, finished.
      await sleep(countdownDue + 3000 - Date.now());
      const info = await json<ProcessInfo>(`/processes/${countdown}`);
      mark(`countdown ${JSON.stringify({ status: info.status, code: info.code, reason: info.reason })}`);
      expect(info).toMatchObject({ status: "exited", code: 0 });
      expect(await stdout(countdown)).toEqual(["3", "2", "1"]);
      expect(countdownAtKill, "the first kill came after countdown was done: make SLEEP_MS longer").toBe(true);

      // (d) The other sleeper wakes, and reads every line fed to it while it slept, once, in order.
      expect(napperAsleep, "a kill came after sleepcat-rs woke: make NAP_MS longer").toBe(true);
      await sleep(napperDue + 1000 - Date.now());
      await until(async () => (await stdout(napper)).length > NAP_FRAMES * 2, "sleepcat-rs to copy its stdin", 10_000).catch(() => {});
      expect(await stdout(napper)).toEqual(["sleeping", ...napLines]);
      const end = await feedAsleep(napper, []);
      end.send(JSON.stringify({ close_stdin: true }));
      await until(async () => (await json<ProcessInfo>(`/processes/${napper}`)).status !== "running", "sleepcat-rs to exit");
      expect(await json<ProcessInfo>(`/processes/${napper}`)).toMatchObject({ status: "exited", code: 0 });
      mark("sleepcat-rs read all it was fed asleep, and exited 0");
    } finally {
      console.log(`crash test:\n  ${timeline.join("\n  ")}`);
    }
  });

  it("stdin acked over ?ack=stdin is in the process's input after a kill at an ack; the client resends exactly the rest", { timeout: 90_000 }, async () => {
    // The ack ({"stdin_taken": n}) is sent after the save's writes are queued, not after they are
    // stored: the output gate holds it until they are. A kill at an ack shows whether it does.
    await start();
    const id = await spawn({ module: "wasi-probe", args: ["number"], stdinOpen: true });
    const fed = new TextEncoder().encode(Array.from({ length: ACK_LINES }, (_, i) => `${line(i)}\n`).join(""));
    const size = fed.length / ACK_LINES;
    const first = await ackedAttach(id);
    expect(await first.taken, "the first ack: stdin stored before this client's").toBe(0);
    let sent = 0;
    let taken = 0;
    const pump = () => {
      while (sent < fed.length && sent < taken + STDIN_WINDOW * size) first.ws.send(fed.slice(sent, (sent += size)));
    };
    const killed = new Promise<{ acked: number; sent: number; kill: ReturnType<typeof crash> }>((resolve) => {
      first.onAck = (n) => {
        expect(n, "acks count up").toBeGreaterThanOrEqual(taken);
        taken = n;
        if (taken < ACK_KILL_AT * size) return pump();
        first.onAck = undefined;
        resolve({ acked: taken, sent, kill: crash() }); // in the handler that saw the ack: nothing else ran
      };
    });
    pump();
    const { acked, sent: sentAtKill, kill } = await withTimeout(killed, 30_000, `the ack of line ${ACK_KILL_AT} (acked ${taken} bytes)`);
    await kill.reaped;
    await start();
    const again = await ackedAttach(id);
    const stored = await withTimeout(again.taken, 10_000, "the first ack after the restart");
    console.log(`crash test (acks): killed at an ack of ${acked} bytes, ${sentAtKill} sent; ${stored} stored after the restart`);
    // Every acked byte is there; nothing past what was sent.
    expect(stored).toBeGreaterThanOrEqual(acked);
    expect(stored).toBeLessThanOrEqual(sentAtKill);
    // The rest, from exactly there; then the end.
    again.ws.send(fed.slice(stored));
    again.ws.send(JSON.stringify({ close_stdin: true }));
    expect(await withTimeout(again.exit, 20_000, "wasi-probe to exit")).toBe(0);
    // Every line read once, in order: no acked one lost, none resent twice.
    expect(numbered(await stdout(id))).toEqual(Array.from({ length: ACK_LINES }, (_, k) => LINE(k)));
  });

  it("a sleeper killed again right after each start, before its restore comes to rest, still wakes once and finishes", { timeout: 90_000 }, async () => {
    // A restore forgets the sleeps on record and makes them anew (durable-objects/timers.ts): a
    // kill between the two must not leave a sleeper without its alarm, nor wake it twice.
    await start();
    const bus = await spawn({ module: "countdown", args: ["2", String(RESTORE_SLEEP_MS)] });
    const wasi = await spawn({ module: "wasi-probe", args: ["sleep", String(RESTORE_SLEEP_MS)] });
    const due = Date.now() + RESTORE_SLEEP_MS;
    for (let round = 0; round < 2; round++) {
      await crash().reaped;
      await start();
      // The status request brings each object back, which restores its process; then the kill.
      for (const id of [bus, wasi]) expect(await json<ProcessInfo>(`/processes/${id}`)).toMatchObject({ status: "running" });
    }
    expect(Date.now(), "the kills took until the sleeps were due: make RESTORE_SLEEP_MS longer").toBeLessThan(due);
    await crash().reaped;
    await start();
    // Nothing asks after them until they should have finished: their alarms alone wake them.
    await sleep(due + 3000 - Date.now());
    expect(await json<ProcessInfo>(`/processes/${bus}`)).toMatchObject({ status: "exited", code: 0 });
    expect(await stdout(bus)).toEqual(["2", "1"]);
    expect(await json<ProcessInfo>(`/processes/${wasi}`)).toMatchObject({ status: "exited", code: 0 });
    expect(await stdout(wasi)).toEqual(["slept true"]);
  });
});
