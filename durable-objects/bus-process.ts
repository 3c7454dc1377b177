import { DurableObject } from "cloudflare:workers";
import type { Payload } from "../src/codec/index.js";
import type { Env } from "../src/env.js";
import type { ProcessObject } from "../src/objects.js";
import { type CallEvents, RemoteCalls, type RemoteCallOptions } from "../src/remote.js";
import { BusError, type Outcome, outcome } from "../src/errors.js";
import { errorResponse, HttpError } from "../src/http/errors.js";
import { DEFAULT_LIMITS } from "../src/manifest.js";
import type { LogLine } from "../src/log.js";
import { Process, type ProcessInfo, type SpawnRequest } from "../src/process.js";
import type { ModuleEntry, Runtime } from "../src/runtime.js";
import { createRuntime } from "../src/worker-runtime.js";
import { SqlKv } from "./kv.js";
import { AlarmTimers } from "./timers.js";

/** Lines kept per process for GET /processes/:id/logs and for a client that attaches late. */
const KEEP_LINES = 1000;
const DEFAULT_RETENTION_MS = 60 * 60 * 1000;
/** Output goes to storage and sockets in batches of at most this many lines, or bytes. */
const BATCH_LINES = 256;
const BATCH_BYTES = 64 * 1024;
/** While a guest waits for slow clients, how often their buffers are looked at. */
const DRAIN_POLL_MS = 5;

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
 * comes in as binary frames or `{"stdin": "..."}` / `{"close_stdin": true}`;
 * the end frame is the last, and the socket closes (1000) right after it.
 *
 * Output at volume: lines reach the log table, the sockets and Workers logs in batches (one
 * INSERT, one console call per batch, never one per line). A process writing faster than its
 * clients read is held back: before each write to stdout or stderr, a guest that can wait (JSPI)
 * waits while a client has more than half its module's `socketBufferBytes` unsent, and yields
 * to the isolate after every batch, so the object answers other requests throughout. Where a
 * guest cannot wait, a client past the whole `socketBufferBytes` misses lines, and is told how
 * many in one stderr line when it has caught up.
 *
 * The sockets are accepted in memory (`accept()`), not hibernatable: a process
 * cannot outlive its object's eviction anyway (Wasm memory is not durable), and
 * a hibernatable socket that the object closes from outside a socket event (the
 * process ending in an alarm, a kill over RPC) kept its connection open until
 * the object was evicted, seconds after the end frame.
 */
export class BusProcess extends DurableObject<Env> implements ProcessObject {
  #runtime: Runtime;
  /** Calls from the Worker and other objects (src/remote.ts). */
  #remote: RemoteCalls;
  #timers: AlarmTimers;
  #process?: Process;
  /** Attached clients, until they or the process end. */
  #clients = new Clients(() => this.#socketLimit());
  /** Lines not yet stored or sent: a LogLine, and for the process's own output its socket frame. */
  #pending: { line: LogLine; frame?: string }[] = [];
  #pendingBytes = 0;
  #flushQueued = false;
  /** Lines for Workers logs, written as one console call per batch. */
  #console: LogLine[] = [];
  /** Output lines since the guest last yielded: past a batch's worth it yields at its next write. */
  #sinceYield = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    sql.exec("CREATE TABLE IF NOT EXISTS info (one INTEGER PRIMARY KEY CHECK (one = 1), json TEXT NOT NULL)");
    sql.exec("CREATE TABLE IF NOT EXISTS lines (seq INTEGER PRIMARY KEY AUTOINCREMENT, json TEXT NOT NULL)");
    this.#timers = new AlarmTimers(ctx.storage, (tag, id, waited) => this.#timerFired(tag, id, waited));
    // kv.* keys of the modules running here live in this object's own SQLite (durable-objects/kv.ts).
    this.#runtime = createRuntime({ clock: this.#timers, log: (line) => this.#record(line), storage: new SqlKv(ctx.storage) }, processModules);
    this.#remote = new RemoteCalls(this.#runtime);
    // A fresh object with a running process on record lost its instance to an eviction:
    // Wasm memory is not durable, so the process cannot resume.
    const info = this.#info();
    if (info?.status === "running") {
      this.#save({ ...info, status: "failed", reason: "its Durable Object was evicted while it ran; Wasm memory does not survive eviction", endedAt: Date.now() });
      void ctx.blockConcurrencyWhile(() => this.#retain());
    }
  }

  async spawn(id: string, request: SpawnRequest): Promise<Outcome<ProcessInfo>> {
    return outcome(() => {
      if (this.#info()) throw BusError.of("BadRequest", `process ${id} exists already`);
      let unpin = () => {};
      const process = new Process(id, request, {
        output: (stream, msg) =>
          this.#queue({ module: request.module, process: id, level: stream === "stderr" ? "warn" : "info", msg, stream }, JSON.stringify({ stream, line: msg })),
        outputReady: () => this.#outputReady(),
        end: (info) => {
          unpin(); // the ended instance is freed, not kept serving
          void this.#ended(info);
        },
      });
      this.#save(process.info);
      this.#process = process;
      try {
        // Calls to its module made in this object (POST /processes/:id/call, its sub-processes) reach it.
        unpin = this.#runtime.instances.pin(process.start((name, options) => this.#runtime.spawn(name, options), request.env));
      } catch (err) {
        this.ctx.storage.sql.exec("DELETE FROM info");
        throw err;
      }
      return process.info;
    });
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

  async logs(limit = KEEP_LINES): Promise<LogLine[]> {
    this.#flush();
    return this.#lines(limit);
  }

  #lines(limit: number): LogLine[] {
    return this.ctx.storage.sql
      .exec<{ json: string }>("SELECT json FROM (SELECT seq, json FROM lines ORDER BY seq DESC LIMIT ?) ORDER BY seq", limit)
      .toArray()
      .map((r) => JSON.parse(r.json) as LogLine);
  }

  /**
   * GET /processes/:id/attach: a WebSocket that gets the last output lines, then what comes. A
   * process that has ended already: its lines, its end frame, and the close.
   */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return errorResponse(new HttpError("BadRequest", "attach wants a WebSocket upgrade", 426));
    }
    const info = this.#info();
    if (!info) return errorResponse(new HttpError("InvalidHandle", "no process here", 404));
    const { 0: client, 1: server } = new WebSocketPair();
    server.accept();
    server.binaryType = "arraybuffer"; // binary frames are stdin bytes (the default would be Blob)
    // No await from here on: no line may come out between the ones replayed and the attach.
    this.#flush();
    for (const line of this.#lines(100)) {
      if (line.stream) server.send(JSON.stringify({ stream: line.stream, line: line.msg }));
    }
    if (info.status === "running") {
      this.#attach(server);
    } else {
      server.send(JSON.stringify(endFrame(info)));
      server.close(1000, info.status);
    }
    return new Response(null, { status: 101, webSocket: client });
  }

  #attach(ws: WebSocket) {
    this.#clients.add(ws);
    ws.addEventListener("message", (e) => {
      this.#input(ws, e.data);
    });
    ws.addEventListener("close", (e) => {
      this.#clients.delete(ws);
      // The client closed first: answer its closing handshake, where the runtime has not.
      if (ws.readyState !== WebSocket.CLOSED) {
        try {
          ws.close([1005, 1006, 1015].includes(e.code) ? 1000 : e.code, e.reason);
        } catch {
          // already closed
        }
      }
    });
    ws.addEventListener("error", () => {
      this.#clients.delete(ws);
    });
  }

  /**
   * A frame from an attached client: stdin. What the process has not read yet is held to its
   * module's `limits.stdinBytes`: a write past it is refused with an error frame
   * (`{"error", "code", "codeName": "LimitExceeded"}`), not buffered.
   */
  #input(ws: WebSocket, message: string | ArrayBuffer) {
    const process = this.#process;
    if (!process || process.info.status !== "running") {
      ws.send(JSON.stringify({ error: "the process is not running; stdin is closed" }));
      return;
    }
    try {
      if (typeof message !== "string") {
        process.stdin.write(new Uint8Array(message));
        return;
      }
      let frame: { stdin?: unknown; close_stdin?: unknown };
      try {
        frame = JSON.parse(message);
      } catch {
        ws.send(JSON.stringify({ error: 'text frames are JSON: {"stdin": "..."} or {"close_stdin": true}' }));
        return;
      }
      if (typeof frame.stdin === "string") process.stdin.write(new TextEncoder().encode(frame.stdin));
      if (frame.close_stdin === true) process.stdin.close();
    } catch (err) {
      const e = BusError.from(err);
      ws.send(JSON.stringify({ error: e.message, code: e.code, codeName: e.codeName }));
    }
  }

  override async alarm() {
    await this.#timers.fire();
  }

  #timerFired(tag: string, id: number, waited: boolean) {
    if (tag === "retention") {
      void this.ctx.storage.deleteAll();
      return;
    }
    if (!waited) {
      this.#record({ module: this.#info()?.module ?? "?", process: this.#info()?.id, level: "warn", msg: `timer ${id} fired after its sleeper was lost with an eviction` });
    }
  }

  /** The end frame, then the close, for every attached client; then the retention timer. */
  async #ended(info: ProcessInfo) {
    this.#flush();
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

  /**
   * A line from the runtime's log sink: Workers logs get it (within the instance's `logBytes`),
   * the log table too, except the process's own output, stored as it came (#queue) whatever the
   * log budget.
   */
  #record(line: LogLine) {
    this.#console.push(line);
    if (this.#console.length >= BATCH_LINES) this.#flush();
    if (line.stream && line.process !== undefined && line.process === this.#process?.info.id) this.#later();
    else this.#queue(line);
  }

  /** A line for the log table and, with a frame, for the attached clients: out with its batch. */
  #queue(line: LogLine, frame?: string) {
    this.#pending.push({ line, frame });
    this.#pendingBytes += line.msg.length + 64;
    this.#sinceYield++;
    if (this.#pending.length >= BATCH_LINES || this.#pendingBytes >= BATCH_BYTES) this.#flush();
    else this.#later();
  }

  /** A flush once the code running now returns or waits: lines never sit in memory for long. */
  #later() {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    setTimeout(() => {
      this.#flushQueued = false;
      this.#flush();
    }, 0);
  }

  /** The pending batch: one INSERT, the trim, its frames to every client, one console call. */
  #flush() {
    const batch = this.#pending;
    if (batch.length) {
      this.#pending = [];
      this.#pendingBytes = 0;
      const sql = this.ctx.storage.sql;
      sql.exec("INSERT INTO lines (json) SELECT value FROM json_each(?)", JSON.stringify(batch.map((b) => JSON.stringify(b.line))));
      sql.exec("DELETE FROM lines WHERE seq <= (SELECT max(seq) FROM lines) - ?", KEEP_LINES);
      const frames = batch.flatMap((b) => (b.frame === undefined ? [] : [b.frame]));
      if (frames.length) this.#clients.send(frames);
    }
    if (this.#console.length) {
      const lines = this.#console;
      this.#console = [];
      logBatch(lines);
    }
  }

  #socketLimit(): number {
    const module = this.#process?.info.module;
    return (module && this.#runtime.modules.get(module)?.manifest.limits.socketBufferBytes) || DEFAULT_LIMITS.socketBufferBytes;
  }

  /**
   * Asked before each write to stdout or stderr (Process: outputReady): a promise holds a guest
   * that can wait. It waits while a client is more than half its limit behind, and yields once
   * after every batch so that other requests to this object are answered meanwhile.
   */
  #outputReady(): Promise<void> | undefined {
    const soft = this.#socketLimit() / 2;
    if (this.#clients.behind(soft)) {
      this.#flush();
      this.#sinceYield = 0;
      const process = this.#process;
      return new Promise<void>((resolve) => {
        const check = () => {
          // A process that ended meanwhile (killed) never resumes: its instance is gone.
          if (process?.info.status !== "running") return;
          if (this.#clients.behind(soft / 2)) setTimeout(check, DRAIN_POLL_MS);
          else resolve();
        };
        setTimeout(check, DRAIN_POLL_MS);
      });
    }
    if (this.#sinceYield >= BATCH_LINES) {
      this.#sinceYield = 0;
      this.#flush();
      return new Promise<void>((resolve) => setTimeout(resolve, 0));
    }
    return undefined;
  }

  #info(): ProcessInfo | undefined {
    const row = this.ctx.storage.sql.exec<{ json: string }>("SELECT json FROM info").toArray()[0];
    return row ? (JSON.parse(row.json) as ProcessInfo) : undefined;
  }

  #save(info: ProcessInfo) {
    this.ctx.storage.sql.exec("INSERT INTO info (one, json) VALUES (1, ?) ON CONFLICT (one) DO UPDATE SET json = excluded.json", JSON.stringify(info));
  }
}

/**
 * The clients attached to a process: frames to each, and how far behind each is. A client with
 * more than `limit()` bytes unsent misses frames (only a guest that cannot wait gets that far
 * ahead: BusProcess holds one that can), counted; once it has caught up it gets one stderr line
 * saying how many it missed, before the next frame.
 */
export class Clients {
  #sockets = new Map<WebSocket, { dropped: number }>();
  constructor(readonly limit: () => number) {}

  add(ws: WebSocket) {
    this.#sockets.set(ws, { dropped: 0 });
  }
  delete(ws: WebSocket) {
    this.#sockets.delete(ws);
  }
  clear() {
    this.#sockets.clear();
  }
  sockets(): Iterable<WebSocket> {
    return this.#sockets.keys();
  }

  /** Whether some client has more than `bytes` unsent. */
  behind(bytes: number): boolean {
    for (const ws of this.#sockets.keys()) if (ws.bufferedAmount > bytes) return true;
    return false;
  }

  /** Frames (JSON text) to every client; `always`: the end frame, sent whatever is unsent. */
  send(frames: string[], always = false) {
    const limit = this.limit();
    for (const [ws, state] of this.#sockets) {
      try {
        for (const frame of frames) {
          if (!always && ws.bufferedAmount > limit) {
            state.dropped++;
            continue;
          }
          if (state.dropped) {
            ws.send(JSON.stringify({ stream: "stderr", line: `[wasm-bus] ${state.dropped} lines dropped: this client read too slowly` }));
            state.dropped = 0;
          }
          ws.send(frame);
        }
      } catch {
        // a client that went away misses the frames; the rest still get them
      }
    }
  }
}

/**
 * Workers logs: one console call for a batch of lines, never one per line (`wrangler dev` opened
 * a connection per console line, and a process printing 30,000 lines exhausted its open files).
 * A lone line goes out as itself, as before; more go as `{"lines": n, "module", "process",
 * "level": the highest, "msg": the first, "batch": [...]}`.
 */
function logBatch(lines: LogLine[]) {
  const level = lines.some((l) => l.level === "error") ? "error" : lines.some((l) => l.level === "warn") ? "warn" : "info";
  const text = lines.length === 1 ? JSON.stringify(lines[0]) : JSON.stringify({ lines: lines.length, module: lines[0]!.module, process: lines[0]!.process, level, msg: lines[0]!.msg, batch: lines });
  if (level === "error") console.error(text);
  else if (level === "warn") console.warn(text);
  else console.log(text);
}

function endFrame(info: ProcessInfo) {
  return info.status === "exited" ? { exit: info.code } : { failed: info.reason };
}

