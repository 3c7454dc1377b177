// A Durable Object's SQLite storage on node:sqlite, as far as durable-objects/snapshots.ts uses it
// (its SnapshotStorage: sql.exec and transactionSync), so the bench runs the product's own
// save and restore in Node. Here and not in the product: the product must not import node:sqlite.
import { rmSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";

/**
 * A new SQLite file at `file` (any one there before removed), in WAL with synchronous NORMAL: a
 * commit writes the WAL without an fsync. `db` is the database, to close.
 */
export function sqliteStorage(file) {
  for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
  const db = new DatabaseSync(file);
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = NORMAL");
  // Prepared once per query, as a Durable Object's SQLite keeps the statements it ran.
  const statements = new Map();
  const prepared = (query) => {
    let statement = statements.get(query);
    if (!statement) statements.set(query, (statement = db.prepare(query)));
    return statement;
  };
  return {
    db,
    sql: {
      /** Runs `query` at once (a write is done when this returns) and gives its rows as a cursor does: iterable, and toArray(). */
      exec(query, ...bindings) {
        const rows = prepared(query).all(...bindings);
        for (const row of rows) for (const key in row) if (row[key] instanceof Uint8Array) row[key] = arrayBuffer(row[key]);
        return { toArray: () => rows, [Symbol.iterator]: () => rows[Symbol.iterator]() };
      },
    },
    /** `fn` in one transaction: committed if it returns, rolled back if it throws. */
    transactionSync(fn) {
      db.exec("BEGIN");
      try {
        const result = fn();
        db.exec("COMMIT");
        return result;
      } catch (err) {
        db.exec("ROLLBACK");
        throw err;
      }
    },
  };
}

/** A BLOB as a Durable Object's SQLite gives it: an ArrayBuffer (node:sqlite's Uint8Array owns its buffer, so no copy). */
function arrayBuffer(bytes) {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : bytes.slice().buffer;
}
