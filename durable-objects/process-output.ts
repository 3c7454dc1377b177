import { KEEP_LINES, type KeptLine, type LogLine } from "../src/log.js";
import type { Process } from "../src/process.js";
import type { Clients } from "./process-sockets.js";

// A process's output on its way out: to the log table, the attached sockets and Workers logs, in
// batches, and the backpressure that holds a guest writing faster than its clients read.

/**
 * The most the kept lines may weigh, counted as their JSON (escapes included, in UTF-8): what
 * GET /processes/:id/logs answers. The lines reach the Worker in one RPC, limited to 32 MiB;
 * 1,000 lines of up to 64 KiB would pass it, and a line of control characters is six times as
 * long escaped. 4 MiB stays well under the limit even where the RPC carries a string as UTF-16
 * (twice the bytes of ASCII), and is plenty to read in a terminal.
 */
export const KEEP_BYTES = 4 * 1024 * 1024;
/**
 * Output goes to storage and sockets in batches of at most this many lines, or bytes (a batch goes
 * once it holds BATCH_BYTES, so with its last line it may hold more). One INSERT binds a batch as
 * one string, which a deployed Durable Object holds to 2 MB as it does a row: it stays under that
 * as each line is cut at LOG_LINE_UNITS (test/unit/sqlite-row.test.ts does the sum).
 */
export const BATCH_LINES = 256;
export const BATCH_BYTES = 64 * 1024;
/** While a guest waits for slow clients, how often their buffers are looked at. */
const DRAIN_POLL_MS = 5;

/**
 * Lines reach the log table (`lines`, created by BusProcess), the sockets and Workers logs in
 * batches: one INSERT, one console call per batch, never one per line. A batch goes out when it
 * is full or once the code running now returns or waits.
 */
export class ProcessOutput {
  /** Lines not yet stored or sent: a LogLine, and for the process's own output its socket frame. */
  #pending: { line: LogLine; frame?: string }[] = [];
  #pendingBytes = 0;
  #flushQueued = false;
  /** Lines for Workers logs, written as one console call per batch. */
  #console: LogLine[] = [];
  /** Output lines since the guest last yielded: past a batch's worth it yields at its next write. */
  #sinceYield = 0;
  /** The stored lines' sizes, read once: the trim goes by them without reading the lines back. */
  #kept?: KeptLines;

  constructor(
    readonly sql: SqlStorage,
    readonly clients: Clients,
    /** The process running in the object, if any: read on each use, it changes with spawn. */
    readonly process: () => Process | undefined,
  ) {}

  /**
   * A line from the runtime's log sink: Workers logs get it (within the instance's `logBytes`),
   * the log table too, except the process's own output, stored as it came (`queue`) whatever the
   * log budget.
   */
  record(line: LogLine) {
    this.#console.push(line);
    if (this.#console.length >= BATCH_LINES) this.flush();
    if (line.stream && line.process !== undefined && line.process === this.process()?.info.id) this.#later();
    else this.queue(line);
  }

  /** A line for the log table and, with a frame, for the attached clients: out with its batch. */
  queue(line: LogLine, frame?: string) {
    this.#pending.push({ line, frame });
    this.#pendingBytes += line.msg.length + 64;
    this.#sinceYield++;
    if (this.#pending.length >= BATCH_LINES || this.#pendingBytes >= BATCH_BYTES) this.flush();
    else this.#later();
  }

  /** A flush once the code running now returns or waits: lines never sit in memory for long. */
  #later() {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    setTimeout(() => {
      this.#flushQueued = false;
      this.flush();
    }, 0);
  }

  /** The pending batch: one INSERT, the trim, its frames to every client, one console call. */
  flush() {
    const batch = this.#pending;
    if (batch.length) {
      this.#pending = [];
      this.#pendingBytes = 0;
      const sql = this.sql;
      const json = batch.map((b) => JSON.stringify(b.line));
      sql.exec("INSERT INTO lines (json) SELECT value FROM json_each(?)", JSON.stringify(json));
      this.#trim(json);
      const frames = batch.flatMap((b) => (b.frame === undefined ? [] : [b.frame]));
      if (frames.length) this.clients.send(frames);
    }
    if (this.#console.length) {
      const lines = this.#console;
      this.#console = [];
      logBatch(lines);
    }
  }

  /** After an INSERT of `json`: the oldest lines go, down to KEEP_LINES and KEEP_BYTES. */
  #trim(json: string[]) {
    if (this.#kept) {
      // The rows just inserted are numbered on from the last (one statement, AUTOINCREMENT).
      const last = this.sql.exec<{ seq: number }>("SELECT max(seq) AS seq FROM lines").one().seq;
      json.forEach((j, i) => this.#kept!.add(last - json.length + 1 + i, utf8.encode(j).length));
    } else {
      // Read from the table, which holds them already: added again, the object's first batch
      // counted twice, and up to 256 lines fewer than KEEP_LINES were kept.
      this.#kept = KeptLines.read(this.sql);
    }
    const kept = this.#kept;
    const through = kept.trim(KEEP_LINES, KEEP_BYTES);
    if (through !== undefined) this.sql.exec("DELETE FROM lines WHERE seq <= ?", through);
  }

  /**
   * The stored lines, oldest first, each with its `seq` (what is pending is not among them: flush
   * first): the newest `limit`, or with `after` the oldest `limit` of those that came after that
   * one (a reader that pages on from its last line).
   */
  lines(limit: number, after?: number): KeptLine[] {
    if (after === undefined) return this.#select("SELECT seq, json FROM lines ORDER BY seq DESC LIMIT ?", limit);
    return this.#select("SELECT seq, json FROM lines WHERE seq > ? ORDER BY seq LIMIT ?", after, limit);
  }

  /**
   * The last `limit` lines that `process` wrote to stdout or stderr, oldest first: a late
   * client's replay. The table holds its sub-processes' lines (as `<id>.N`) and log lines too.
   */
  output(process: string, limit: number): LogLine[] {
    return this.#select("SELECT seq, json FROM lines WHERE json ->> '$.process' = ? AND json ->> '$.stream' IS NOT NULL ORDER BY seq DESC LIMIT ?", process, limit);
  }

  /** The lines `some` selects (seq and json), oldest first. */
  #select(some: string, ...params: (string | number)[]): KeptLine[] {
    return this.sql
      .exec<{ seq: number; json: string }>(`SELECT seq, json FROM (${some}) ORDER BY seq`, ...params)
      .toArray()
      .map((r) => ({ ...(JSON.parse(r.json) as LogLine), seq: r.seq }));
  }

  /**
   * Asked before each write to stdout or stderr (Process: outputReady): a promise holds a guest
   * that can wait. It waits while a client is more than half its bound behind (its module's
   * `socketBufferBytes`, or its share where the clients together are far behind: Clients), until
   * every one is under a quarter of it, and yields once after every batch so that other requests
   * to this object are answered meanwhile.
   */
  ready(): Promise<void> | undefined {
    const soft = this.clients.bound() / 2;
    if (this.clients.behind(soft)) {
      this.flush();
      this.#sinceYield = 0;
      const process = this.process();
      return new Promise<void>((resolve) => {
        const check = () => {
          // A process that ended meanwhile (killed) never resumes: its instance is gone.
          if (process?.info.status !== "running") return;
          if (this.clients.behind(this.clients.bound() / 4)) setTimeout(check, DRAIN_POLL_MS);
          else resolve();
        };
        setTimeout(check, DRAIN_POLL_MS);
      });
    }
    if (this.#sinceYield >= BATCH_LINES) {
      this.#sinceYield = 0;
      this.flush();
      return new Promise<void>((resolve) => setTimeout(resolve, 0));
    }
    return undefined;
  }
}

const utf8 = new TextEncoder();

/** The rows of the log table, oldest first, with their JSON's size in bytes. */
class KeptLines {
  #rows: { seq: number; bytes: number }[] = [];
  #bytes = 0;

  static read(sql: SqlStorage): KeptLines {
    const kept = new KeptLines();
    for (const r of sql.exec<{ seq: number; bytes: number }>("SELECT seq, length(CAST(json AS BLOB)) AS bytes FROM lines ORDER BY seq")) kept.add(r.seq, r.bytes);
    return kept;
  }

  add(seq: number, bytes: number) {
    this.#rows.push({ seq, bytes });
    this.#bytes += bytes;
  }

  /** Forgets the oldest rows until at most `lines` weigh at most `bytes`; the last seq forgotten, if any. */
  trim(lines: number, bytes: number): number | undefined {
    let drop = 0;
    let left = this.#bytes;
    while (this.#rows.length - drop > lines || left > bytes) left -= this.#rows[drop++]!.bytes;
    if (!drop) return undefined;
    const through = this.#rows[drop - 1]!.seq;
    this.#rows.splice(0, drop);
    this.#bytes = left;
    return through;
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
