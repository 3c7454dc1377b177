import { env as testEnv, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Env } from "../src/env.js";
import type { LogLine } from "../src/log.js";
import type { ProcessInfo } from "../src/process.js";
import { LOG_LINE_UNITS } from "../src/log.js";
import { SQLITE_ROW_BYTES } from "../src/sqlite-row.js";
import { modules } from "../build/registry.js";
import { modules as testGuests } from "../build/test-registry.js";
import { setProcessModules } from "../durable-objects/bus-process.js";
import { Snapshots } from "../durable-objects/snapshots.js";
import type { Guest } from "../src/instance/guest.js";
import { spawnGuest, worker } from "./worker.js";

setProcessModules({ ...modules, ...testGuests }); // heavy-rest, a test guest, runs as a process

// Deployed, a Durable Object's SQLite refuses a string, BLOB or row over 2 MB; workerd here takes
// one of 1 GB. So these look at the rows themselves: each must be within the deployed limit.

const env = testEnv as unknown as Env;
const stub = (id: string) => env.PROCESSES.get(env.PROCESSES.idFromString(id));
const status = async (id: string) => (await (await worker(`/processes/${id}`)).json()) as ProcessInfo;
const logs = async (id: string) => ((await (await worker(`/processes/${id}/logs`)).json()) as { lines: LogLine[] }).lines;

/** The bytes of the largest row of each table in the process's object (its columns' lengths, as SQLite counts them). */
const largestRows = (id: string) =>
  runInDurableObject(stub(id), (_o, state) => {
    const sql = state.storage.sql;
    const tables = sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'").toArray();
    const largest: Record<string, number> = {};
    for (const { name } of tables) {
      const columns = sql.exec<{ name: string }>(`SELECT name FROM pragma_table_info('${name}')`).toArray();
      const size = columns.map((c) => `coalesce(length(CAST("${c.name}" AS BLOB)), 0)`).join(" + ");
      largest[name] = sql.exec<{ n: number | null }>(`SELECT max(${size}) AS n FROM "${name}"`).one().n ?? 0;
    }
    return largest;
  });

/** The saved state's JSON as the store holds it: its first piece in the snapshot's row, the rest in snapshot_json. */
const savedJson = (id: string) =>
  runInDurableObject(stub(id), (_o, state) => {
    const sql = state.storage.sql;
    return sql.exec<{ json: string }>("SELECT json FROM snapshot").one().json + sql.exec<{ data: string }>("SELECT data FROM snapshot_json ORDER BY seq").toArray().map((r) => r.data).join("");
  });
const saved = async (id: string) => (await runInDurableObject(stub(id), (_o, state) => state.storage.sql.exec("SELECT 1 FROM snapshot").toArray().length)) > 0;

describe("the rows a process's object writes fit one SQLite row of a deployed Durable Object (2 MB)", () => {
  it("a log line of 2,500,000 units (logBytes allows 16 MiB) is stored cut at 64 Ki units, as log.write cuts it", async () => {
    const id = await spawnGuest("heavy-rest", []);
    await until(() => saved(id));
    expect((await largestRows(id)).lines).toBeLessThanOrEqual(SQLITE_ROW_BYTES);
    const line = (await logs(id)).find((l) => l.level === "info" && l.msg.startsWith("xxx"))!;
    expect(line.msg).toBe(`${"x".repeat(LOG_LINE_UNITS)}… (cut: 2500000 characters)`);
    await worker(`/processes/${id}`, { method: "DELETE" });
  });

  it("a rest whose state is 2.5 MB of JSON (1,200 callbacks named by 1 KiB each) is stored in pieces, and restored whole", async () => {
    const id = await spawnGuest("heavy-rest", []);
    await until(() => saved(id));
    for (const [table, bytes] of Object.entries(await largestRows(id))) {
      if (table.startsWith("snapshot")) expect(bytes, `the largest row of ${table}`).toBeLessThanOrEqual(SQLITE_ROW_BYTES);
    }
    expect(new TextEncoder().encode(await savedJson(id)).length).toBeGreaterThan(SQLITE_ROW_BYTES);
    // Restored, the process goes on: its sleep ends (the alarm), and its next rest holds every callback.
    await evictDurableObject(stub(id));
    expect(await status(id)).toMatchObject({ status: "running" });
    expect(await runDurableObjectAlarm(stub(id))).toBe(true);
    await until(async () => (await logs(id)).some((l) => l.stream === "stdout" && l.msg === "woke"));
    const { state } = JSON.parse(await savedJson(id));
    expect(state.handles.filter(([, e]: [number, { kind: string }]) => e.kind === "callback")).toHaveLength(1200);
    await worker(`/processes/${id}`, { method: "DELETE" });
  });

  it("a state's pieces never part the two halves of a character, and a smaller state after a larger one leaves no piece behind", async () => {
    const id = await spawnGuest("heavy-rest", []);
    await runInDurableObject(stub(id), (_o, state) => {
      const sql = state.storage.sql;
      // A stand-in for a quiet instance: the store only asks it for its state and pages.
      let held: unknown = { module: "stand-in", s: "😀".repeat(600_000) }; // 2.4 MB of UTF-8, in surrogate pairs
      const guest = { quiet: true, module: { name: "stand-in" }, snapshot: () => ({ state: held, pages: [] }) } as unknown as Guest;
      const store = new Snapshots(state.storage, () => ({ json: null }), () => true);
      store.save(guest);
      const rows = sql.exec<{ n: number }>("SELECT length(CAST(data AS BLOB)) AS n FROM snapshot_json").toArray();
      expect(rows.length).toBeGreaterThan(1);
      for (const { n } of rows) expect(n).toBeLessThanOrEqual(SQLITE_ROW_BYTES);
      expect(store.load()!.state).toEqual(held);
      held = { module: "stand-in", s: "small" };
      store.save(guest);
      expect(sql.exec("SELECT count(*) AS n FROM snapshot_json").one()).toEqual({ n: 0 });
      expect(store.load()!.state).toEqual(held);
    });
    await worker(`/processes/${id}`, { method: "DELETE" });
  });
});

async function until(check: () => Promise<boolean>, ms = 5000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}
