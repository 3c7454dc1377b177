import type { Durable, Guest, Saved } from "../src/instance/guest.js";
import { cutAt } from "../src/text.js";

/** What one save wrote: pages, bytes (pages and state), and how long it took. */
export interface SaveStats {
  pages: number;
  bytes: number;
  ms: number;
}

/** The keeper's own state, saved with each snapshot: JSON, and bytes (a process's unread stdin). */
export interface Extra {
  json: unknown;
  bytes?: Uint8Array;
}

/**
 * A stream of bytes a keeper saves with its snapshots (a process's stdin: src/pipe.ts), written
 * at its end and consumed from its front; offsets count from its first byte.
 */
export interface KeptStream {
  /** Where the unread bytes begin. */
  readonly consumed: number;
  /** Where they end. */
  readonly written: number;
  /** The unread bytes from `offset` (`consumed` to `written`) on. */
  since(offset: number): Uint8Array;
}

/** Extra as a keeper gives it to each save. */
export interface KeeperState {
  json: unknown;
  /**
   * Its stream, kept append-only: a save writes only the bytes written since the one before and
   * drops the rows read since. Saving all unread bytes at every save, a client's 200 one-byte
   * frames to a sleeping process (each one saved at once) wrote 200·201/2 bytes.
   */
  stream?: KeptStream;
}

/**
 * What Snapshots needs of its object's storage: a Durable Object's (ctx.storage), or SQLite behind
 * the same calls, as the bench runs it in Node (bench/lib/sqlite-storage.mjs). A BLOB is read as
 * an ArrayBuffer, as a Durable Object's SQLite gives it.
 */
export interface SnapshotStorage {
  readonly sql: {
    exec<T extends Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]): Iterable<T> & { toArray(): T[] };
  };
  transactionSync<T>(fn: () => T): T;
}

/**
 * Snapshots of the one instance an object keeps (a process's, a session's), in the object's
 * SQLite: the state as JSON beside the keeper's own (`extra`: a process's stdin, say), and one row
 * per page that differs from the module's own data. No row holds more than CHUNK_BYTES: a
 * deployed Durable Object refuses one over 2 MB (SQLITE_ROW_BYTES), which local workerd takes.
 * A save writes the state and the pages changed since the last save, in one transaction with whatever else the object wrote in the
 * same turn (the kv.* keys of its modules live in the same SQLite). An instance is saved each
 * time it comes to rest, once per turn of the event loop however often it settles in it.
 */
export class Snapshots {
  readonly #storage: SnapshotStorage;
  #scheduled = false;
  /** Where the keeper's stream's offset 0 is in snapshot_stream: the offset it was restored at. */
  #origin = 0;
  /**
   * How far snapshot_stream holds the keeper's stream; undefined where it is not known to hold it
   * (no save since a clear, or the snapshot is in the old form): the next save writes it anew.
   */
  #stored?: number;
  /** What the last save wrote (the bench reads it). */
  last?: SaveStats;

  /**
   * `extra` is the keeper's own state, saved with each snapshot; `keep` says whether an instance
   * that came to rest is still worth saving (a process that ended is not).
   */
  constructor(
    storage: SnapshotStorage,
    readonly extra: () => KeeperState,
    readonly keep: (guest: Guest) => boolean,
    /** Hears each save that was written (queued: the output gate holds what is sent after it until it is stored). */
    readonly saved: () => void = () => {},
  ) {
    this.#storage = storage;
    const sql = storage.sql;
    sql.exec("CREATE TABLE IF NOT EXISTS snapshot (one INTEGER PRIMARY KEY CHECK (one = 1), json TEXT NOT NULL, bytes BLOB)");
    sql.exec("CREATE TABLE IF NOT EXISTS snapshot_pages (page INTEGER PRIMARY KEY, data BLOB NOT NULL)");
    // The state's JSON past its first piece (snapshot.json), where it is larger than a SQLite value
    // may be: each live handle is in it, with its callbacks' names (up to 1 KiB each), so 4,096
    // handles (the default maxHandles) can make megabytes of it.
    sql.exec("CREATE TABLE IF NOT EXISTS snapshot_json (seq INTEGER PRIMARY KEY, data TEXT NOT NULL)");
    // The keeper's stream, a row per save that wrote to it, from `at` to `end` (offsets in the
    // stream). It holds the unread bytes at the last save and the rest of the row the first of
    // them is in: at most twice the keeper's own bound on unread bytes (a process's stdinBytes).
    sql.exec("CREATE TABLE IF NOT EXISTS snapshot_stream (at INTEGER PRIMARY KEY, end INTEGER NOT NULL, data BLOB NOT NULL)");
    // Snapshots saved before the stream was append-only hold the keeper's bytes whole: in
    // snapshot.bytes, or here where they are larger than a SQLite value may be (2 MB in a Durable
    // Object). Read by a restore only; the first save after it moves them to snapshot_stream.
    sql.exec("CREATE TABLE IF NOT EXISTS snapshot_bytes (seq INTEGER PRIMARY KEY, data BLOB NOT NULL)");
  }

  /** What an instance kept here is made with: it reports each rest, which is saved a microtask later. */
  readonly durable: Durable = {
    quiet: (guest) => {
      if (this.#scheduled) return;
      this.#scheduled = true;
      queueMicrotask(() => {
        this.#scheduled = false;
        if (!guest.quiet || !this.keep(guest)) return;
        try {
          this.save(guest);
        } catch (err) {
          // An older snapshot must not stand in for this one: a restore would repeat what the
          // instance did since. Without any, a wake says so (the process fails with the reason).
          this.clear();
          // The pages it saved before went with the rest: the next save must write them all.
          guest.snapshotLost();
          console.warn(`module ${guest.module.name}: its snapshot could not be saved, so it will not survive an eviction: ${(err as Error).message}`);
        }
      });
    },
  };

  /** Saves the instance now (it must be at rest). */
  save(guest: Guest): SaveStats {
    const started = performance.now();
    const { state, pages } = guest.snapshot();
    const extra = this.extra();
    const stream = extra.stream;
    // `read`: where the stream's unread bytes begin in snapshot_stream (none for a keeper without one).
    const read = stream && this.#origin + stream.consumed;
    const json = pieces(JSON.stringify({ state, extra: extra.json, read }));
    const fresh = this.#stored === undefined;
    // Appended: the unread bytes the store does not hold yet (all of them, written anew).
    const from = read === undefined ? 0 : fresh ? read : Math.max(this.#stored!, read);
    const chunks = stream ? chunked(stream.since(from - this.#origin)) : [];
    let bytes = json.reduce((n, p) => n + p.length, 0) + chunks.reduce((n, c) => n + c.length, 0);
    // Forgotten until the transaction commits: one that fails leaves the store without them.
    this.#stored = undefined;
    this.#storage.transactionSync(() => {
      const sql = this.#storage.sql;
      sql.exec("INSERT INTO snapshot (one, json, bytes) VALUES (1, ?, NULL) ON CONFLICT (one) DO UPDATE SET json = excluded.json, bytes = NULL", json[0]!);
      sql.exec("DELETE FROM snapshot_json");
      for (let seq = 1; seq < json.length; seq++) sql.exec("INSERT INTO snapshot_json (seq, data) VALUES (?, ?)", seq, json[seq]!);
      if (fresh) {
        sql.exec("DELETE FROM snapshot_bytes");
        sql.exec("DELETE FROM snapshot_stream");
      } else if (read !== undefined) {
        // Rows read to their end; `at <` lets SQLite find them by the key.
        sql.exec("DELETE FROM snapshot_stream WHERE at < ? AND end <= ?", read, read);
      }
      let at = from;
      for (const data of chunks) {
        sql.exec("INSERT INTO snapshot_stream (at, end, data) VALUES (?, ?, ?)", at, at + data.length, data);
        at += data.length;
      }
      for (const [page, data] of pages) {
        sql.exec("INSERT INTO snapshot_pages (page, data) VALUES (?, ?) ON CONFLICT (page) DO UPDATE SET data = excluded.data", page, data);
        bytes += data.length;
      }
    });
    this.#stored = this.#origin + (stream?.written ?? 0);
    this.last = { pages: pages.length, bytes, ms: performance.now() - started };
    this.saved();
    return this.last;
  }

  /**
   * Where `offset` of the keeper's stream is counting from the stream's first byte ever (its
   * offsets start anew at each restore): the same before and after a restart.
   */
  streamOffset(offset: number): number {
    return this.#origin + offset;
  }

  /** How far the store holds the keeper's stream (counted as `streamOffset` counts); undefined where unknown. */
  get stored(): number | undefined {
    return this.#stored;
  }

  has(): boolean {
    return this.#storage.sql.exec("SELECT 1 FROM snapshot").toArray().length > 0;
  }

  /**
   * The last snapshot, if there is one; its pages are read as they are iterated. `extra.bytes`
   * are the keeper's unread stream: a stream made anew from them goes on where the saved one was.
   */
  load(): (Saved & { extra: Extra }) | undefined {
    const sql = this.#storage.sql;
    const row = sql.exec<{ json: string; bytes: ArrayBuffer | null }>("SELECT json, bytes FROM snapshot").toArray()[0];
    if (!row) return undefined;
    const rest = sql.exec<{ data: string }>("SELECT data FROM snapshot_json ORDER BY seq").toArray();
    const { state, extra: json, read } = JSON.parse(row.json + rest.map((r) => r.data).join("")) as { state: Saved["state"]; extra: unknown; read?: number };
    let bytes: Uint8Array | undefined;
    if (read === undefined) {
      // The old form (no `read`): the bytes whole; the next save writes them to snapshot_stream.
      bytes = row.bytes ? new Uint8Array(row.bytes) : this.#joined(sql.exec<{ data: ArrayBuffer }>("SELECT data FROM snapshot_bytes ORDER BY seq"));
      this.#origin = 0;
      this.#stored = undefined;
    } else {
      const rows = sql.exec<{ at: number; data: ArrayBuffer }>("SELECT at, data FROM snapshot_stream WHERE end > ? ORDER BY at", read).toArray();
      bytes = (this.#joined(rows) ?? new Uint8Array()).subarray(rows.length ? read - rows[0]!.at : 0);
      this.#origin = read;
      this.#stored = read + bytes.length;
    }
    const extra = { json, bytes };
    const pages = (function* () {
      for (const { page, data } of sql.exec<{ page: number; data: ArrayBuffer }>("SELECT page, data FROM snapshot_pages")) yield [page, new Uint8Array(data)] as [number, Uint8Array];
    })();
    return { state, pages, extra };
  }

  /** Rows' data, joined in order; undefined where there are none. */
  #joined(rows: Iterable<{ data: ArrayBuffer }>): Uint8Array | undefined {
    const all = [...rows];
    if (!all.length) return undefined;
    const out = new Uint8Array(all.reduce((n, r) => n + r.data.byteLength, 0));
    let at = 0;
    for (const { data } of all) {
      out.set(new Uint8Array(data), at);
      at += data.byteLength;
    }
    return out;
  }

  /** Forgets the snapshot: the instance ended, or will never be restored. */
  clear() {
    this.#stored = undefined;
    this.#storage.sql.exec("DELETE FROM snapshot");
    this.#storage.sql.exec("DELETE FROM snapshot_json");
    this.#storage.sql.exec("DELETE FROM snapshot_pages");
    this.#storage.sql.exec("DELETE FROM snapshot_stream");
    this.#storage.sql.exec("DELETE FROM snapshot_bytes");
  }
}

/** The most bytes one SQLite value holds here, with room to spare under a Durable Object's SQLITE_ROW_BYTES. */
export const CHUNK_BYTES = 1 << 20;

/**
 * The longest piece of the state's JSON, in UTF-16 units: a unit is at most 3 bytes of UTF-8 (a
 * pair of them, 4), so a piece is at most CHUNK_BYTES in the row.
 */
const PIECE_UNITS = Math.floor(CHUNK_BYTES / 3);

/** `json` in pieces of at most PIECE_UNITS, never between the two halves of a character (cutAt); at least one. */
function pieces(json: string): string[] {
  const out: string[] = [];
  let rest = json;
  while (rest.length > PIECE_UNITS) {
    const end = cutAt(rest, PIECE_UNITS);
    out.push(rest.slice(0, end));
    rest = rest.slice(end);
  }
  out.push(rest);
  return out;
}

/** `bytes` in values of at most CHUNK_BYTES; none for no bytes. */
function chunked(bytes: Uint8Array): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += CHUNK_BYTES) chunks.push(bytes.subarray(at, at + CHUNK_BYTES));
  return chunks;
}
