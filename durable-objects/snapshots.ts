import type { Durable, Guest, Saved } from "../src/instance/guest.js";

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

/** Extra as a keeper gives it to each save: its bytes asked for only where the save writes them. */
export interface KeeperState {
  json: unknown;
  bytes?: () => Uint8Array;
  /**
   * The bytes' version (Pipe.version): where it is the one the last save wrote, they are neither
   * read nor written again. Unread stdin of 1 MiB was copied out and rewritten at every rest, a
   * megabyte for a guest that sleeps a millisecond in a loop.
   */
  bytesVersion?: number;
}

/**
 * Snapshots of the one instance an object keeps (a process's, a session's), in the object's
 * SQLite: the state as JSON beside the keeper's own (`extra`: a process's stdin, say), and one row
 * per page that differs from the module's own data. A save writes the state and the pages
 * changed since the last save, in one transaction with whatever else the object wrote in the
 * same turn (the kv.* keys of its modules live in the same SQLite). An instance is saved each
 * time it comes to rest, once per turn of the event loop however often it settles in it.
 */
export class Snapshots {
  readonly #storage: DurableObjectStorage;
  #scheduled = false;
  /** The keeper's bytes' version in the store (KeeperState.bytesVersion): none after a clear. */
  #savedBytes?: number;
  /** What the last save wrote (the bench reads it). */
  last?: SaveStats;

  /**
   * `extra` is the keeper's own state, saved with each snapshot; `keep` says whether an instance
   * that came to rest is still worth saving (a process that ended is not).
   */
  constructor(
    storage: DurableObjectStorage,
    readonly extra: () => KeeperState,
    readonly keep: (guest: Guest) => boolean,
  ) {
    this.#storage = storage;
    const sql = storage.sql;
    sql.exec("CREATE TABLE IF NOT EXISTS snapshot (one INTEGER PRIMARY KEY CHECK (one = 1), json TEXT NOT NULL, bytes BLOB)");
    sql.exec("CREATE TABLE IF NOT EXISTS snapshot_pages (page INTEGER PRIMARY KEY, data BLOB NOT NULL)");
    // The keeper's bytes where they are larger than a SQLite value may be (2 MB in a Durable Object).
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
    const json = JSON.stringify({ state, extra: extra.json });
    const same = extra.bytesVersion !== undefined && extra.bytesVersion === this.#savedBytes;
    const chunks = same ? [] : chunked(extra.bytes?.());
    let bytes = json.length + chunks.reduce((n, c) => n + c.length, 0);
    // Forgotten until the transaction commits: one that fails leaves the store without them.
    this.#savedBytes = undefined;
    this.#storage.transactionSync(() => {
      const sql = this.#storage.sql;
      if (same) {
        sql.exec("UPDATE snapshot SET json = ?", json);
      } else {
        // Bytes that fit one value stay in the row; larger ones go to snapshot_bytes, in order.
        sql.exec(
          "INSERT INTO snapshot (one, json, bytes) VALUES (1, ?, ?) ON CONFLICT (one) DO UPDATE SET json = excluded.json, bytes = excluded.bytes",
          json,
          chunks.length === 1 ? chunks[0]! : null,
        );
        sql.exec("DELETE FROM snapshot_bytes");
        if (chunks.length > 1) chunks.forEach((data, seq) => sql.exec("INSERT INTO snapshot_bytes (seq, data) VALUES (?, ?)", seq, data));
      }
      for (const [page, data] of pages) {
        sql.exec("INSERT INTO snapshot_pages (page, data) VALUES (?, ?) ON CONFLICT (page) DO UPDATE SET data = excluded.data", page, data);
        bytes += data.length;
      }
    });
    this.#savedBytes = extra.bytesVersion;
    return (this.last = { pages: pages.length, bytes, ms: performance.now() - started });
  }

  has(): boolean {
    return this.#storage.sql.exec("SELECT 1 FROM snapshot").toArray().length > 0;
  }

  /** The last snapshot, if there is one; its pages are read as they are iterated. */
  load(): (Saved & { extra: Extra }) | undefined {
    const sql = this.#storage.sql;
    const row = sql.exec<{ json: string; bytes: ArrayBuffer | null }>("SELECT json, bytes FROM snapshot").toArray()[0];
    if (!row) return undefined;
    const { state, extra: json } = JSON.parse(row.json) as { state: Saved["state"]; extra: unknown };
    const extra = { json, bytes: row.bytes ? new Uint8Array(row.bytes) : this.#chunks() };
    const pages = (function* () {
      for (const { page, data } of sql.exec<{ page: number; data: ArrayBuffer }>("SELECT page, data FROM snapshot_pages")) yield [page, new Uint8Array(data)] as [number, Uint8Array];
    })();
    return { state, pages, extra };
  }

  /** The keeper's bytes from snapshot_bytes, joined; undefined where there are none. */
  #chunks(): Uint8Array | undefined {
    const rows = this.#storage.sql.exec<{ data: ArrayBuffer }>("SELECT data FROM snapshot_bytes ORDER BY seq").toArray();
    if (!rows.length) return undefined;
    const all = new Uint8Array(rows.reduce((n, r) => n + r.data.byteLength, 0));
    let at = 0;
    for (const { data } of rows) {
      all.set(new Uint8Array(data), at);
      at += data.byteLength;
    }
    return all;
  }

  /** Forgets the snapshot: the instance ended, or will never be restored. */
  clear() {
    this.#savedBytes = undefined;
    this.#storage.sql.exec("DELETE FROM snapshot");
    this.#storage.sql.exec("DELETE FROM snapshot_pages");
    this.#storage.sql.exec("DELETE FROM snapshot_bytes");
  }
}

/** The most bytes one SQLite value holds here, with room to spare (a Durable Object's limit is 2 MB). */
export const CHUNK_BYTES = 1 << 20;

/** `bytes` in values of at most CHUNK_BYTES: none for no bytes, one where they fit. */
function chunked(bytes: Uint8Array | undefined): Uint8Array[] {
  if (!bytes?.length) return bytes ? [bytes] : [];
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += CHUNK_BYTES) chunks.push(bytes.subarray(at, at + CHUNK_BYTES));
  return chunks;
}
