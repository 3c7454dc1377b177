import { BusError } from "../src/errors.js";
import type { KvEntry, KvLimits, KvPage, KvStorage, KvStore, KvSwap } from "../src/services/kv/index.js";

/**
 * The key-value store (kv.*) in a Durable Object's SQLite storage: BusStore's (one object per
 * module, for plain calls), and a process's or a session's own (the modules that run there).
 * Rows are scoped by module, so one object can hold several modules' keys apart.
 *
 * Every operation is synchronous SQL in one `transactionSync`: nothing else runs in the object
 * meanwhile, so each is atomic, and a read sees every write acknowledged before it. A write's
 * version is the module's write sequence here (kv_modules.seq), so versions only grow.
 */
export class SqlKv implements KvStorage {
  readonly #storage: DurableObjectStorage;
  #ready = false;

  constructor(storage: DurableObjectStorage) {
    this.#storage = storage;
  }

  open(module: string): KvStore {
    return {
      read: (key) => this.read(module, key),
      put: (key, value, limits) => this.put(module, key, value, limits),
      delete: (key) => this.delete(module, key),
      list: (prefix, limit, after) => this.list(module, prefix, limit, after),
      cas: (key, version, value, limits) => this.cas(module, key, version, value, limits),
    };
  }

  /** The tables, made on first use: an object whose modules never store anything has none. */
  get #sql(): SqlStorage {
    const sql = this.#storage.sql;
    if (!this.#ready) {
      sql.exec(
        "CREATE TABLE IF NOT EXISTS kv_entries (module TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (module, key)) WITHOUT ROWID",
      );
      sql.exec("CREATE TABLE IF NOT EXISTS kv_modules (module TEXT PRIMARY KEY, seq INTEGER NOT NULL, keys INTEGER NOT NULL, bytes INTEGER NOT NULL)");
      this.#ready = true;
    }
    return sql;
  }

  read(module: string, key: string): KvEntry {
    const row = this.#sql.exec<{ value: ArrayBuffer; version: number }>("SELECT value, version FROM kv_entries WHERE module = ? AND key = ?", module, key).toArray()[0];
    return row ? { value: new Uint8Array(row.value), version: row.version } : { value: null, version: 0 };
  }

  put(module: string, key: string, value: Uint8Array, limits: KvLimits): number {
    return this.#storage.transactionSync(() => this.#write(module, key, value, limits));
  }

  delete(module: string, key: string): boolean {
    return this.#storage.transactionSync(() => this.#remove(module, key));
  }

  cas(module: string, key: string, version: number, value: Uint8Array | null, limits: KvLimits): KvSwap {
    return this.#storage.transactionSync(() => {
      const now = this.#version(module, key);
      if (now !== version) return { ok: false, version: now };
      if (value === null) {
        this.#remove(module, key);
        return { ok: true, version: 0 };
      }
      return { ok: true, version: this.#write(module, key, value, limits) };
    });
  }

  list(module: string, prefix: string, limit: number, after: string | null): KvPage {
    const upper = prefixEnd(prefix);
    // The cursor goes to SQLite as it is: compared here (UTF-16 order), a cursor past the prefix in
    // SQLite's byte order (U+10000 after U+E000) looked before it and listed the page again.
    const keys = this.#sql
      .exec<{ key: string }>(
        `SELECT key FROM kv_entries WHERE module = ? AND key >= ?${after !== null ? " AND key > ?" : ""}${upper !== null ? " AND key < ?" : ""} ORDER BY key LIMIT ?`,
        ...[module, prefix, ...(after !== null ? [after] : []), ...(upper !== null ? [upper] : []), limit + 1],
      )
      .toArray()
      .map((r) => r.key);
    const more = keys.length > limit;
    if (more) keys.length = limit;
    return { keys, cursor: more ? keys[keys.length - 1]! : null };
  }

  #version(module: string, key: string): number {
    const row = this.#sql.exec<{ version: number }>("SELECT version FROM kv_entries WHERE module = ? AND key = ?", module, key).toArray()[0];
    return row?.version ?? 0;
  }

  #counts(module: string): { seq: number; keys: number; bytes: number } {
    return this.#sql.exec<{ seq: number; keys: number; bytes: number }>("SELECT seq, keys, bytes FROM kv_modules WHERE module = ?", module).toArray()[0] ?? { seq: 0, keys: 0, bytes: 0 };
  }

  /** Sets a key, within the module's limits; its new version. Runs inside a transaction. */
  #write(module: string, key: string, value: Uint8Array, limits: KvLimits): number {
    const sql = this.#sql;
    const old = sql.exec<{ size: number }>("SELECT length(CAST(key AS BLOB)) + length(value) AS size FROM kv_entries WHERE module = ? AND key = ?", module, key).toArray()[0];
    const counts = this.#counts(module);
    const size = byteLength(key) + value.length;
    const keys = counts.keys + (old ? 0 : 1);
    const bytes = counts.bytes - (old?.size ?? 0) + size;
    if (keys > limits.kvKeys) throw BusError.of("LimitExceeded", `the store holds ${counts.keys} keys already, the limit (limits.kvKeys)`);
    if (bytes > limits.kvBytes) throw BusError.of("LimitExceeded", `the store would hold ${bytes} bytes, over the limit of ${limits.kvBytes} (limits.kvBytes)`);
    const version = counts.seq + 1;
    sql.exec(
      "INSERT INTO kv_entries (module, key, value, version) VALUES (?, ?, ?, ?) ON CONFLICT (module, key) DO UPDATE SET value = excluded.value, version = excluded.version",
      module,
      key,
      bufferOf(value),
      version,
    );
    this.#setCounts(module, version, keys, bytes);
    return version;
  }

  /** Deletes a key; whether it was there. Runs inside a transaction. */
  #remove(module: string, key: string): boolean {
    const sql = this.#sql;
    const old = sql.exec<{ size: number }>("SELECT length(CAST(key AS BLOB)) + length(value) AS size FROM kv_entries WHERE module = ? AND key = ?", module, key).toArray()[0];
    if (!old) return false;
    sql.exec("DELETE FROM kv_entries WHERE module = ? AND key = ?", module, key);
    const counts = this.#counts(module);
    // The sequence goes on: a key written again later gets a version it never had.
    this.#setCounts(module, counts.seq + 1, counts.keys - 1, counts.bytes - old.size);
    return true;
  }

  #setCounts(module: string, seq: number, keys: number, bytes: number) {
    this.#sql.exec(
      "INSERT INTO kv_modules (module, seq, keys, bytes) VALUES (?, ?, ?, ?) ON CONFLICT (module) DO UPDATE SET seq = excluded.seq, keys = excluded.keys, bytes = excluded.bytes",
      module,
      seq,
      keys,
      bytes,
    );
  }
}

/** The bytes as SQLite bindings take them: an ArrayBuffer of exactly these bytes. */
function bufferOf(value: Uint8Array): ArrayBuffer {
  const { buffer, byteOffset, byteLength } = value;
  return byteOffset === 0 && byteLength === buffer.byteLength && buffer instanceof ArrayBuffer ? buffer : (value.slice().buffer as ArrayBuffer);
}

const utf8 = new TextEncoder();
function byteLength(s: string): number {
  return utf8.encode(s).length;
}

/**
 * The least string above every string that starts with `prefix`, in SQLite's order for TEXT
 * (the bytes of UTF-8, which is code point order); null where there is none (an empty prefix,
 * or one of only U+10FFFF). Its last code point, plus one, skipping the surrogates.
 */
export function prefixEnd(prefix: string): string | null {
  const points = [...prefix].map((c) => c.codePointAt(0)!);
  while (points.length) {
    const last = points.pop()!;
    if (last < 0x10ffff) {
      points.push(last === 0xd7ff ? 0xe000 : last + 1);
      return String.fromCodePoint(...points);
    }
  }
  return null;
}
