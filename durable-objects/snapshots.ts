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
  /** What the last save wrote (the bench reads it). */
  last?: SaveStats;

  /**
   * `extra` is the keeper's own state, saved with each snapshot; `keep` says whether an instance
   * that came to rest is still worth saving (a process that ended is not).
   */
  constructor(
    storage: DurableObjectStorage,
    readonly extra: () => Extra,
    readonly keep: (guest: Guest) => boolean,
  ) {
    this.#storage = storage;
    const sql = storage.sql;
    sql.exec("CREATE TABLE IF NOT EXISTS snapshot (one INTEGER PRIMARY KEY CHECK (one = 1), json TEXT NOT NULL, bytes BLOB)");
    sql.exec("CREATE TABLE IF NOT EXISTS snapshot_pages (page INTEGER PRIMARY KEY, data BLOB NOT NULL)");
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
    let bytes = json.length + (extra.bytes?.length ?? 0);
    this.#storage.transactionSync(() => {
      const sql = this.#storage.sql;
      sql.exec(
        "INSERT INTO snapshot (one, json, bytes) VALUES (1, ?, ?) ON CONFLICT (one) DO UPDATE SET json = excluded.json, bytes = excluded.bytes",
        json,
        extra.bytes ?? null,
      );
      for (const [page, data] of pages) {
        sql.exec("INSERT INTO snapshot_pages (page, data) VALUES (?, ?) ON CONFLICT (page) DO UPDATE SET data = excluded.data", page, data);
        bytes += data.length;
      }
    });
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
    const extra = { json, bytes: row.bytes ? new Uint8Array(row.bytes) : undefined };
    const pages = (function* () {
      for (const { page, data } of sql.exec<{ page: number; data: ArrayBuffer }>("SELECT page, data FROM snapshot_pages")) yield [page, new Uint8Array(data)] as [number, Uint8Array];
    })();
    return { state, pages, extra };
  }

  /** Forgets the snapshot: the instance ended, or will never be restored. */
  clear() {
    this.#storage.sql.exec("DELETE FROM snapshot");
    this.#storage.sql.exec("DELETE FROM snapshot_pages");
  }
}
