import { DurableObject } from "cloudflare:workers";
import type { Payload } from "../src/codec/index.js";
import type { Env } from "../src/env.js";
import type { ProcessObject } from "../src/objects.js";
import { type CallEvents, RemoteCalls, type RemoteCallOptions } from "../src/remote.js";
import { BusError, type Outcome, outcome } from "../src/errors.js";
import { errorResponse, HttpError } from "../src/http/errors.js";
import { socketProtocol } from "../src/http/guard.js";
import { DEFAULT_LIMITS } from "../src/manifest.js";
import { Process, type ProcessInfo, type SpawnRequest } from "../src/process.js";
import type { ModuleEntry, Runtime } from "../src/runtime.js";
import { createRuntime } from "../src/worker-runtime.js";
import { SqlKv } from "./kv.js";
import type { Guest, GuestOptions, Saved } from "../src/instance/guest.js";
import { type KeeperState, Snapshots } from "./snapshots.js";
import { KEEP_LINES, type KeptLine } from "../src/log.js";
import { ProcessOutput } from "./process-output.js";
import { attachClient, Clients, endFrame } from "./process-sockets.js";
import { AlarmTimers } from "./timers.js";

// Clients moved to process-sockets.ts; test/process-output.test.ts imports it from here.
export { Clients } from "./process-sockets.js";

const DEFAULT_RETENTION_MS = 60 * 60 * 1000;

/** How a process was spawned (stdin apart: its unread bytes are its snapshot's stream). */
type SpawnedAs = Omit<SpawnRequest, "stdin" | "stdinOpen">;

/**
 * What a process's snapshot keeps beside its instance. `request` only in snapshots saved before
 * it moved to the `spawned` row: args and env (up to 256 KiB) were written again at every rest.
 */
interface ProcessExtra {
  request?: SpawnedAs;
  stdinClosed: boolean;
}

/**
 * The modules processes run: the ones this Worker serves. A test Worker serving test guests as
 * well sets it (test/node/process-worker.ts) before any object is made.
 */
let processModules: Record<string, ModuleEntry> | undefined;
export function setProcessModules(registry: Record<string, ModuleEntry>) {
  processModules = registry;
}

/**
 * One process: a module instance that lives as long as it has work, its
 * stdout/stderr/log lines, its exit. Sleeps go to this object's alarm.
 * Attached clients are WebSockets: output frames go out as JSON text, stdin
 * comes in as binary frames or `{"stdin": "..."}` / `{"close_stdin": true}`, and a client's
 * acks of what it received as `{"received": n}`; the end frame is the last, and the socket closes
 * (1000) right after it.
 *
 * Output at volume: lines reach the log table, the sockets and Workers logs in batches (one
 * INSERT, one console call per batch, never one per line). A process writing faster than its
 * clients read is held back: before each write to stdout or stderr, a guest that can wait (a blocking one: asyncify)
 * waits while a client is more than half its module's `socketBufferBytes` behind (unsent, or
 * where the platform does not count that, unacknowledged: unacked.ts; half its share, where the
 * clients together are far behind: socket-total.ts), and yields
 * to the isolate after every batch, so the object answers other requests throughout. Where a
 * guest cannot wait, a client past the whole `socketBufferBytes` misses lines, and is told how
 * many in one stderr line when it has caught up. The batches and the backpressure are
 * process-output.ts; the sockets, their stdin frames and what a slow one misses, process-sockets.ts.
 *
 * The process outlives its object: each time its instance comes to rest it is saved
 * (durable-objects/snapshots.ts), and an object that starts with a running process on record
 * restores it from that snapshot and goes on (sleeps become alarms, due when they were).
 *
 * The sockets are accepted in memory (`accept()`), not hibernatable: a hibernatable
 * socket that the object closes from outside a socket event (the process ending in
 * an alarm, a kill over RPC) kept its connection open until the object was evicted,
 * seconds after the end frame. An attached client reattaches after an eviction.
 */
export class BusProcess extends DurableObject<Env> implements ProcessObject {
  #runtime: Runtime;
  /** Calls from the Worker and other objects (src/remote.ts). */
  #remote: RemoteCalls;
  #timers: AlarmTimers;
  #process?: Process;
  /** Attached clients, until they or the process end. */
  #clients = new Clients(() => this.#socketLimit());
  /** Output and log lines on their way to the log table, the clients and Workers logs (process-output.ts). */
  #output: ProcessOutput;
  #snapshots: Snapshots;
  /** Its retention time is over: its storage is wiped once the alarm that said so has run. */
  #expired = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    sql.exec("CREATE TABLE IF NOT EXISTS info (one INTEGER PRIMARY KEY CHECK (one = 1), json TEXT NOT NULL)");
    sql.exec("CREATE TABLE IF NOT EXISTS lines (seq INTEGER PRIMARY KEY AUTOINCREMENT, json TEXT NOT NULL)");
    // How the process was spawned, written once: a restore needs it, and it never changes.
    sql.exec("CREATE TABLE IF NOT EXISTS spawned (one INTEGER PRIMARY KEY CHECK (one = 1), json TEXT NOT NULL)");
    this.#output = new ProcessOutput(sql, this.#clients, () => this.#process);
    this.#timers = new AlarmTimers(ctx.storage, (tag, id, waited) => this.#timerFired(tag, id, waited));
    // kv.* keys of the modules running here live in this object's own SQLite (durable-objects/kv.ts).
    this.#runtime = createRuntime({ clock: this.#timers, log: (line) => this.#output.record(line), storage: new SqlKv(ctx.storage) }, processModules);
    this.#remote = new RemoteCalls(this.#runtime);
    this.#snapshots = new Snapshots(
      ctx.storage,
      () => this.#extra(),
      () => this.#process?.info.status === "running",
      // Sent after the save's writes: the output gate holds the acks until they are stored.
      () => this.#clients.stored(this.#snapshots.stored!),
    );
    // A fresh object with a running process on record lost its instance to an eviction (or a
    // restart of the runtime): it goes on from its last snapshot, before any event is delivered.
    const info = this.#info();
    if (info?.status === "running") this.#restore(info);
  }

  async spawn(id: string, request: SpawnRequest): Promise<Outcome<ProcessInfo>> {
    return outcome(() => {
      if (this.#info()) throw BusError.of("BadRequest", `process ${id} exists already`);
      const durable = this.#snapshots.durable;
      const process = this.#begin(id, request, (name, options) => this.#runtime.spawn(name, { ...options, durable }));
      return process.info;
    });
  }

  /**
   * Makes the process and its instance (`make`: spawned, or restored), and records it. Calls to
   * its module made in this object (POST /processes/:id/call, its sub-processes) reach it.
   */
  #begin(id: string, request: SpawnRequest, make: (name: string, options: GuestOptions) => Guest, run?: (guest: Guest) => Promise<number>): Process {
    let unpin = () => {};
    const process = new Process(id, request, {
      output: (stream, msg) =>
        this.#output.queue({ module: request.module, process: id, level: stream === "stderr" ? "warn" : "info", msg, stream }, JSON.stringify({ stream, line: msg })),
      outputReady: () => this.#output.ready(),
      end: (info) => {
        unpin(); // the ended instance is freed, not kept serving
        void this.#ended(info);
      },
    });
    this.#save(process.info);
    this.#process = process;
    const spawned: SpawnedAs = { module: request.module, args: request.args, env: request.env, tty: request.tty };
    this.ctx.storage.sql.exec("INSERT INTO spawned (one, json) VALUES (1, ?) ON CONFLICT (one) DO UPDATE SET json = excluded.json", JSON.stringify(spawned));
    try {
      unpin = this.#runtime.instances.pin(process.start(make, request.env, run));
    } catch (err) {
      this.#process = undefined;
      this.ctx.storage.sql.exec("DELETE FROM info");
      this.ctx.storage.sql.exec("DELETE FROM spawned");
      throw err;
    }
    return process;
  }

  /**
   * Goes on from the last snapshot: the instance as it was, its stdin as it was, its sleeps made
   * anew for when they were due. A process with no snapshot, or one that no longer fits its
   * module (a deploy changed the binary), ends failed with the reason.
   */
  #restore(info: ProcessInfo) {
    // Its sleeps went with its instance: a restore makes them anew, and a failed one wants none
    // (left, the alarm woke the failed process to log each one's sleeper lost).
    this.#timers.forgetSleeps();
    const saved = this.#snapshots.load();
    const fail = (reason: string) => {
      this.#snapshots.clear();
      this.#save({ ...info, status: "failed", reason, endedAt: Date.now() });
      void this.ctx.blockConcurrencyWhile(() => this.#retain());
    };
    if (!saved) return fail("its Durable Object was evicted, and there is no snapshot to go on from (the process had not yet come to rest, or its last snapshot could not be saved)");
    const { stdinClosed, request = this.#spawned() } = saved.extra.json as ProcessExtra;
    if (!request) return fail("its Durable Object was evicted, and there is no record of how it was spawned to go on from");
    const durable = this.#snapshots.durable;
    try {
      const process = this.#begin(
        info.id,
        { ...request, stdin: saved.extra.bytes ?? new Uint8Array(), stdinOpen: !stdinClosed },
        (name, options) => this.#runtime.restore(name, { ...options, durable }, saved as Saved),
        (guest) => guest.resume(),
      );
      process.info.startedAt = info.startedAt;
      this.#save(process.info);
    } catch (err) {
      fail(`its Durable Object was evicted and the process could not be restored: ${BusError.from(err).message}`);
    }
  }

  /** The process's own part of a snapshot; the output lines it wrote before go in with it. */
  #extra(): KeeperState {
    // Lines are batched: written now, a restore never goes on past lines that were lost.
    this.#output.flush();
    const stdin = this.#process!.stdin;
    return { json: { stdinClosed: stdin.closed } satisfies ProcessExtra, stream: stdin };
  }

  async status(): Promise<ProcessInfo | null> {
    return this.#info() ?? null;
  }

  /**
   * A call to a topic the running process serves (it listened, and forked to keep serving). Its
   * callbacks go to `events`, a stub of the caller's, while this RPC call lasts: until the reply
   * (src/remote.ts).
   */
  async call(topic: string, request: Payload, options: RemoteCallOptions = {}, events?: CallEvents): Promise<Outcome<Payload | null>> {
    const info = this.#info();
    if (!this.#process || info?.status !== "running") return { ok: false, error: BusError.of("InvalidHandle", `process ${info?.id ?? "?"} is not running`).toJSON() };
    return this.#remote.serve(info.module, topic, request, { caller: "http", ...options }, events);
  }

  /** Drops a call made with an id (its caller went away). */
  async drop(id: string, reason?: string): Promise<void> {
    this.#remote.drop(id, reason);
  }

  /** Kills the process; answers its state after the kill (it has ended when `kill` returns: see Process.kill). */
  async kill(): Promise<ProcessInfo | null> {
    this.#process?.kill();
    return this.#info() ?? null;
  }

  async logs(limit = KEEP_LINES, after?: number): Promise<KeptLine[]> {
    // Wiped since the caller saw its status (GET /processes/:id/logs asks that first): no lines.
    if (this.#expired) return [];
    this.#output.flush();
    return this.#output.lines(limit, after);
  }

  /**
   * GET /processes/:id/attach: a WebSocket that gets the last output lines, then what comes. A
   * process that has ended already: its lines, its end frame, and the close.
   */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return errorResponse(new HttpError("BadRequest", "attach wants a WebSocket upgrade", 426));
    }
    const ack = new URL(request.url).searchParams.get("ack");
    if (ack !== null && ack !== "stdin") return errorResponse(new HttpError("BadRequest", `ack=${JSON.stringify(ack)}: the one ack there is, is ack=stdin`, 400));
    const info = this.#info();
    if (!info) return errorResponse(new HttpError("InvalidHandle", "no process here", 404));
    const { 0: client, 1: server } = new WebSocketPair();
    server.accept();
    server.binaryType = "arraybuffer"; // binary frames are stdin bytes (the default would be Blob)
    // No await from here on: no line may come out between the ones replayed and the attach.
    this.#output.flush();
    // Its own output only, as a live client gets: not its sub-processes' lines, nor log lines.
    const replay = this.#output.output(info.id, 100).map((line) => JSON.stringify({ stream: line.stream, line: line.msg }));
    if (info.status === "running") {
      const stdin = ack === null ? undefined : { taken: () => this.#snapshots.streamOffset(this.#process?.stdin.written ?? 0), stored: () => this.#snapshots.stored };
      attachClient(this.#clients, server, () => this.#process, () => this.#stdinChanged(), stdin, replay);
    } else {
      for (const frame of replay) server.send(frame);
      server.send(JSON.stringify(endFrame(info)));
      server.close(1000, info.status);
    }
    return new Response(null, { status: 101, webSocket: client, headers: socketProtocol(request) });
  }

  /**
   * A client wrote to stdin or closed it. A guest waiting on stdin wakes, and is saved when it
   * rests again; one that rests without reading (it sleeps) would not be, so its snapshot would
   * miss the input: save it now (Snapshots skips an instance that is not at rest).
   */
  #stdinChanged() {
    const guest = this.#process?.guest;
    if (guest) this.#snapshots.durable.quiet(guest);
  }

  override async alarm() {
    try {
      await this.#timers.fire();
    } finally {
      // After fire(), which goes on writing its own tables: wiped in the middle of it, the alarm
      // failed ("no such table"), and so did every request until the object was evicted. Even
      // where fire() failed later on: the retention's timer is gone, and nothing would wipe it again.
      if (this.#expired) await this.ctx.storage.deleteAll();
    }
  }

  #timerFired(tag: string, id: number, waited: boolean) {
    if (tag === "retention") {
      this.#expired = true;
      return;
    }
    if (!waited) {
      this.#output.record({ module: this.#info()?.module ?? "?", process: this.#info()?.id, level: "warn", msg: `timer ${id} fired after its sleeper was lost with an eviction` });
    }
  }

  /** The end frame, then the close, for every attached client; then the retention timer. */
  async #ended(info: ProcessInfo) {
    this.#output.flush();
    this.#snapshots.clear();
    this.#save(info);
    this.#clients.send([JSON.stringify(endFrame(info))], true);
    for (const ws of this.#clients.sockets()) {
      try {
        ws.close(1000, info.status);
      } catch {
        // it went away already
      }
    }
    this.#clients.clear();
    await this.#retain();
  }

  /** An ended process's state and output go away after the retention time. */
  async #retain() {
    const retention = Number(this.env.PROCESS_RETENTION_MS ?? DEFAULT_RETENTION_MS);
    await this.#timers.at(Date.now() + retention, "retention");
  }

  #socketLimit(): number {
    const module = this.#process?.info.module;
    return (module && this.#runtime.modules.get(module)?.manifest.limits.socketBufferBytes) || DEFAULT_LIMITS.socketBufferBytes;
  }

  #info(): ProcessInfo | undefined {
    // Wiped, its tables are gone too: it answers as an object that never held a process (404).
    if (this.#expired) return undefined;
    const row = this.ctx.storage.sql.exec<{ json: string }>("SELECT json FROM info").toArray()[0];
    return row ? (JSON.parse(row.json) as ProcessInfo) : undefined;
  }

  #spawned(): SpawnedAs | undefined {
    const row = this.ctx.storage.sql.exec<{ json: string }>("SELECT json FROM spawned").toArray()[0];
    return row ? (JSON.parse(row.json) as SpawnedAs) : undefined;
  }

  #save(info: ProcessInfo) {
    this.ctx.storage.sql.exec("INSERT INTO info (one, json) VALUES (1, ?) ON CONFLICT (one) DO UPDATE SET json = excluded.json", JSON.stringify(info));
  }
}
