import { describe, expect, it } from "vitest";
import { BATCH_BYTES, BATCH_LINES } from "../../durable-objects/process-output.js";
import { CHUNK_BYTES } from "../../durable-objects/snapshots.js";
import { LOG_LINE_UNITS } from "../../src/log.js";
import { LIMIT_MAXIMA } from "../../src/manifest.js";
import { MAX_NAME_BYTES } from "../../src/memory.js";
import { MAX_ARGS_BYTES } from "../../src/process.js";
import { SQLITE_ROW_BYTES } from "../../src/sqlite-row.js";

// A deployed Durable Object's SQLite refuses a row over 2 MB, which local workerd takes: each bound
// that keeps a row under it is pinned here, so raising one past it fails this test rather than
// a deployed object (docs/host.md, "SQLite rows").

/** JSON's longest escape of one UTF-16 unit (\u0001), and again inside a JSON string (\\u0001). */
const ESCAPED = 6;
const ESCAPED_TWICE = 7;
/** A row's columns beside the bounded one (a module's name, a process's id, numbers), generously. */
const BESIDE = 4 * MAX_NAME_BYTES;

describe("the bounds that keep each SQLite row within a deployed Durable Object's 2 MB", () => {
  it("is 2 MB read as 2,000,000 bytes, the smaller reading", () => {
    expect(SQLITE_ROW_BYTES).toBe(2_000_000);
  });

  it("a kv row: a key of kvKeyBytes' most and a value of kvValueBytes' most, with its module and version", () => {
    expect(LIMIT_MAXIMA.kvKeyBytes.most + LIMIT_MAXIMA.kvValueBytes.most + BESIDE).toBeLessThanOrEqual(SQLITE_ROW_BYTES);
  });

  it("a snapshot's rows: a piece of its state or of the keeper's stream, or a page, at most CHUNK_BYTES", () => {
    expect(CHUNK_BYTES + BESIDE).toBeLessThanOrEqual(SQLITE_ROW_BYTES);
  });

  it("a process's spawned and info rows: its args and env, escaped in JSON, with the reason it failed", () => {
    expect(ESCAPED * MAX_ARGS_BYTES + BESIDE).toBeLessThanOrEqual(SQLITE_ROW_BYTES);
  });

  it("a log line (logBytes' most allows 16 MiB, so lines are cut), and the batch of them one INSERT binds as one string", () => {
    expect(LIMIT_MAXIMA.logBytes.most).toBeGreaterThan(SQLITE_ROW_BYTES);
    const line = LOG_LINE_UNITS + 64; // and the note of where it was cut
    expect(ESCAPED * line + BESIDE).toBeLessThanOrEqual(SQLITE_ROW_BYTES);
    // A batch goes out once it holds BATCH_BYTES of lines: at most that, less one unit, and one more line.
    expect(ESCAPED_TWICE * (BATCH_BYTES + line) + BATCH_LINES * BESIDE).toBeLessThanOrEqual(SQLITE_ROW_BYTES);
  });
});
