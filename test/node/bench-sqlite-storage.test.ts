/// <reference types="node" />
// Runs in Node: the bench's node:sqlite storage (bench/lib/sqlite-storage.mjs) under the product's
// Snapshots, as section 8 of the bench runs them, so the bench measures the objects' own save and
// restore: a state whose JSON is larger than one piece goes to snapshot_json and comes back
// whole, pages come back as a Durable Object's SQLite gives them, and a save that fails mid-way
// leaves the snapshot before it.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Snapshots } from "../../durable-objects/snapshots.js";
import type { Guest } from "../../src/instance/guest.js";
// @ts-expect-error: a plain ES module script without types
import { sqliteStorage } from "../../bench/lib/sqlite-storage.mjs";

type Storage = ConstructorParameters<typeof Snapshots>[0] & { db: { close(): void } };

/** What Snapshots.save reads of an instance: its snapshot(). */
const guest = (state: unknown, pages: [number, Uint8Array][]) => ({ snapshot: () => ({ state, pages }) }) as unknown as Guest;

describe("the bench's node:sqlite storage under the product's Snapshots", () => {
  let dir: string;
  let storage: Storage;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "bench-sqlite-"));
    storage = sqliteStorage(join(dir, "object.sqlite"));
  });
  afterEach(() => {
    storage.db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("saves a state of several pieces and a page, and a new Snapshots on the same storage restores them", () => {
    // 2 bytes of UTF-8 a unit: 2.4 MB of JSON, in pieces of at most 1 MiB.
    const state = { module: "m", text: "é".repeat(1_200_000) };
    const memory = new Uint8Array(3 * 65536).map((_, i) => i % 251);
    const page = memory.subarray(65536, 2 * 65536); // a view of the memory, as a save's pages are
    new Snapshots(storage, () => ({ json: { n: 1 } }), () => true).save(guest(state, [[1, page]]));

    const pieces = storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM snapshot_json").toArray()[0]!.n;
    expect(pieces).toBeGreaterThanOrEqual(2);
    expect(storage.sql.exec<{ data: ArrayBuffer }>("SELECT data FROM snapshot_pages").toArray()[0]!.data).toBeInstanceOf(ArrayBuffer);

    const woken = new Snapshots(storage, () => ({ json: null }), () => true).load()!;
    expect(woken.state).toEqual(state);
    expect(woken.extra.json).toEqual({ n: 1 });
    const pages = [...woken.pages];
    expect(pages.map(([p]) => p)).toEqual([1]);
    expect(pages[0]![1]).toEqual(page.slice());
  });

  it("rolls a failed save back whole: the snapshot before it stands", () => {
    const snapshots = new Snapshots(storage, () => ({ json: null }), () => true);
    snapshots.save(guest({ n: 1 }, [[0, new Uint8Array([1, 2, 3])]]));
    // A page node:sqlite cannot bind fails the save after its state was written in the transaction.
    expect(() => snapshots.save(guest({ n: 2 }, [[0, {} as Uint8Array]]))).toThrow();
    const saved = snapshots.load()!;
    expect(saved.state).toEqual({ n: 1 });
    expect([...saved.pages]).toEqual([[0, new Uint8Array([1, 2, 3])]]);
  });
});
