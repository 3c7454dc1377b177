/**
 * The most one string, BLOB or row of a Durable Object's SQLite holds in production: "2 MB"
 * (developers.cloudflare.com/durable-objects/platform/limits/, SQL storage limits), read as
 * 2,000,000 bytes, the smaller of its readings. workerd and miniflare do not enforce it (their
 * SQLite takes a row of 1 GB): a write past it works in local tests and fails deployed, so each
 * write here is held under it by a bound of its own (docs/host.md, "SQLite rows").
 */
export const SQLITE_ROW_BYTES = 2_000_000;
