import { env as testEnv, runInDurableObject } from "cloudflare:test";
import { pack, unpack } from "msgpackr";
import { describe, expect, it } from "vitest";
import { Format } from "../src/abi.js";
import { decode, encode } from "../src/codec/index.js";
import type { Env } from "../src/env.js";
import { BusError } from "../src/errors.js";
import { DEFAULT_LIMITS } from "../src/manifest.js";
import { kv, LIST_DEFAULT, LIST_MAX } from "../src/services/kv/index.js";
import { storeObjects } from "../src/store.js";
import { modules } from "../build/registry.js";
import { modules as testGuests } from "../build/test-registry.js";
import { setProcessModules } from "../durable-objects/bus-process.js";
import { unwrap } from "../src/errors.js";
import { guestApp } from "./helpers.js";
import { post, worker } from "./worker.js";

const env = testEnv as unknown as Env;

/** Test guests kv-probe and kv-probe-b (3 keys, 64 bytes) call os kv.* as themselves; their keys go to BusStore objects. */
function probes() {
  const { app, runtime } = guestApp({ storage: storeObjects(() => env.STORES) });
  /** os `topic` with `value` in `format`, as module `module`: the reply decoded, or the BusError it failed with. */
  async function os(module: string, topic: string, value: unknown, format: number = Format.Json): Promise<unknown> {
    const spec = kv.topics[topic]!;
    const res = await app.request(`/call/${module}/os`, {
      method: "POST",
      headers: { "content-type": "application/msgpack" },
      body: pack({ topic, format, payload: encode(format, value, spec.request) }),
    });
    if (res.status !== 200) {
      const body = (await res.json()) as { code: number; error: string };
      throw new BusError(body.code, body.error);
    }
    const reply = unpack(new Uint8Array(await res.arrayBuffer())) as { format: number; payload: Uint8Array };
    expect(reply.format).toBe(format);
    return decode(format, reply.payload, spec.response);
  }
  const fails = async (p: Promise<unknown>) => {
    try {
      await p;
    } catch (err) {
      return (err as BusError).codeName;
    }
    throw new Error("it did not fail");
  };
  return { os, fails, runtime };
}

let unique = 0;
/** Keys of their own for each test: the store objects outlive a test. */
const fresh = (name: string) => `${name}-${Date.now()}-${++unique}`;

describe("kv.* (issue 9, section 3): the calling module's own keys", () => {
  it.each([
    ["json", Format.Json],
    ["msgpack", Format.Msgpack],
    ["bincode", Format.Bincode],
  ])("get, put, read, delete and cas in %s", async (_name, format) => {
    const { os } = probes();
    const key = fresh("k");
    expect(await os("kv-probe", "kv.get", { key }, format)).toBeNull();
    expect(await os("kv-probe", "kv.read", { key }, format)).toEqual({ value: null, version: 0 });
    const v1 = Number(await os("kv-probe", "kv.put", { key, value: new Uint8Array([1, 2, 3]) }, format));
    expect(v1).toBeGreaterThan(0);
    expect(await os("kv-probe", "kv.get", { key }, format)).toEqual(new Uint8Array([1, 2, 3]));
    expect(await os("kv-probe", "kv.read", { key }, format)).toEqual({ value: new Uint8Array([1, 2, 3]), version: v1 });
    // A compare-and-set on a stale version fails and says which version won.
    const v2 = Number(await os("kv-probe", "kv.put", { key, value: new Uint8Array([4]) }, format));
    expect(v2).toBeGreaterThan(v1);
    expect(await os("kv-probe", "kv.cas", { key, version: v1, value: new Uint8Array([9]) }, format)).toEqual({ ok: false, version: v2 });
    const swapped = (await os("kv-probe", "kv.cas", { key, version: v2, value: new Uint8Array([5]) }, format)) as { ok: boolean; version: number };
    expect(swapped.ok).toBe(true);
    expect(swapped.version).toBeGreaterThan(v2);
    expect(await os("kv-probe", "kv.get", { key }, format)).toEqual(new Uint8Array([5]));
    expect(await os("kv-probe", "kv.delete", { key }, format)).toBe(true);
    expect(await os("kv-probe", "kv.delete", { key }, format)).toBe(false);
    expect(await os("kv-probe", "kv.get", { key }, format)).toBeNull();
  });

  it("cas with version 0 writes only where the key is absent, and with no value deletes", async () => {
    const { os } = probes();
    const key = fresh("cas");
    const created = (await os("kv-probe", "kv.cas", { key, version: 0, value: new Uint8Array([1]) })) as { ok: boolean; version: number };
    expect(created.ok).toBe(true);
    expect(await os("kv-probe", "kv.cas", { key, version: 0, value: new Uint8Array([2]) })).toEqual({ ok: false, version: created.version });
    expect(await os("kv-probe", "kv.cas", { key, version: created.version, value: null })).toEqual({ ok: true, version: 0 });
    expect(await os("kv-probe", "kv.read", { key })).toEqual({ value: null, version: 0 });
    // Written again, the key gets a version it never had: a swap from before the delete cannot win.
    const again = Number(await os("kv-probe", "kv.put", { key, value: new Uint8Array([3]) }));
    expect(again).toBeGreaterThan(created.version);
    expect((await os("kv-probe", "kv.cas", { key, version: created.version, value: new Uint8Array([4]) })) as object).toMatchObject({ ok: false });
  });

  it("lists keys by prefix in byte order, a page at a time", async () => {
    const { os } = probes();
    const p = `${fresh("list")}/`;
    const keys = ["b", "a", "c/1", "c/2", "é", "😀", "z"].map((k) => p + k);
    for (const key of keys) await os("kv-probe", "kv.put", { key, value: new Uint8Array([0]) }, Format.Msgpack);
    await os("kv-probe", "kv.put", { key: p.slice(0, -1), value: new Uint8Array([0]) }); // the prefix without its slash: not listed
    const sorted = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect(await os("kv-probe", "kv.list", { prefix: p, limit: 0, cursor: null })).toEqual({ keys: sorted, cursor: null });
    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const page = (await os("kv-probe", "kv.list", { prefix: p, limit: 3, cursor }, Format.Bincode)) as { keys: string[]; cursor: string | null };
      pages.push(page.keys);
      cursor = page.cursor;
    } while (cursor !== null);
    expect(pages).toEqual([sorted.slice(0, 3), sorted.slice(3, 6), sorted.slice(6)]);
    expect(await os("kv-probe", "kv.list", { prefix: `${p}c/`, limit: 10, cursor: null })).toEqual({ keys: [`${p}c/1`, `${p}c/2`], cursor: null });
  });

  it(`pages of ${LIST_DEFAULT} keys with no limit and at most ${LIST_MAX} past it, over ${LIST_MAX + 50} keys, each seen once`, { timeout: 120_000 }, async () => {
    const { os } = probes();
    const p = `${fresh("pages")}/`;
    // Zero-padded: byte order is number order.
    const keys = Array.from({ length: LIST_MAX + 50 }, (_, i) => `${p}${String(i).padStart(4, "0")}`);
    const each = async (topic: string, body: (key: string) => unknown) => {
      for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((key) => os("kv-probe", topic, body(key))));
    };
    await each("kv.put", (key) => ({ key, value: new Uint8Array([1]) }));
    type Page = { keys: string[]; cursor: string | null };
    const first = (await os("kv-probe", "kv.list", { prefix: p, limit: 0, cursor: null })) as Page;
    expect(first).toEqual({ keys: keys.slice(0, LIST_DEFAULT), cursor: keys[LIST_DEFAULT - 1] });
    // A limit past the most a page holds is that most (docs/host.md, kv.*).
    const seen: string[] = [];
    let cursor: string | null = null;
    const sizes: number[] = [];
    do {
      const page = (await os("kv-probe", "kv.list", { prefix: p, limit: 5000, cursor }, Format.Msgpack)) as Page;
      sizes.push(page.keys.length);
      seen.push(...page.keys);
      cursor = page.cursor;
    } while (cursor !== null);
    expect(sizes).toEqual([LIST_MAX, 50]);
    expect(seen).toEqual(keys);
    await each("kv.delete", (key) => ({ key }));
  });

  it("keeps each module's keys apart: kv-probe-b never sees kv-probe's", async () => {
    const { os } = probes();
    const key = fresh("mine");
    await os("kv-probe", "kv.put", { key, value: new Uint8Array([7]) });
    expect(await os("kv-probe-b", "kv.get", { key })).toBeNull();
    expect(await os("kv-probe-b", "kv.list", { prefix: key, limit: 0, cursor: null })).toEqual({ keys: [], cursor: null });
    expect(await os("kv-probe-b", "kv.delete", { key })).toBe(false);
    expect(await os("kv-probe", "kv.get", { key })).toEqual(new Uint8Array([7]));
    // Each module's store is its own object.
    const a = env.STORES.idFromName("kv-probe").toString();
    const b = env.STORES.idFromName("kv-probe-b").toString();
    expect(a).not.toBe(b);
    await runInDurableObject(env.STORES.get(env.STORES.idFromName("kv-probe-b")), (_o, state) => {
      expect(state.storage.sql.exec("SELECT count(*) AS n FROM kv_entries WHERE key = ?", key).one().n).toBe(0);
    });
  });

  it("holds keys and values to the caller's limits", async () => {
    const { os, fails } = probes();
    expect(await fails(os("kv-probe", "kv.put", { key: "k".repeat(DEFAULT_LIMITS.kvKeyBytes + 1), value: new Uint8Array(1) }))).toBe("LimitExceeded");
    expect(await fails(os("kv-probe", "kv.get", { key: "é".repeat(DEFAULT_LIMITS.kvKeyBytes / 2 + 1) }))).toBe("LimitExceeded");
    expect(await fails(os("kv-probe", "kv.put", { key: fresh("big"), value: new Uint8Array(DEFAULT_LIMITS.kvValueBytes + 1) }, Format.Msgpack))).toBe("LimitExceeded");
    const max = fresh("max");
    expect(Number(await os("kv-probe", "kv.put", { key: max, value: new Uint8Array(DEFAULT_LIMITS.kvValueBytes) }, Format.Msgpack))).toBeGreaterThan(0);
    expect(await os("kv-probe", "kv.delete", { key: max })).toBe(true);
    expect(await fails(os("kv-probe", "kv.put", { key: "", value: new Uint8Array(1) }))).toBe("BadRequest");
    expect(await fails(os("kv-probe", "kv.put", { key: "x", value: 5 }, Format.Msgpack))).toMatch(/^(BadRequest|DeserializationFailed)$/);
    expect(await fails(os("kv-probe", "kv.put", { key: 5, value: new Uint8Array(1) }, Format.Msgpack))).toBe("BadRequest");
    expect(await fails(os("kv-probe", "kv.get", { key: "\ud800" }))).toBe("BadRequest");

    // kv-probe-b: 3 keys, 64 bytes. A fourth key is refused; overwriting one is not; a delete makes room.
    const p = fresh("b");
    for (const k of ["1", "2", "3"]) await os("kv-probe-b", "kv.put", { key: `${p}${k}`.slice(-8), value: new Uint8Array(4) });
    const keys = ["1", "2", "3"].map((k) => `${p}${k}`.slice(-8));
    expect(await fails(os("kv-probe-b", "kv.put", { key: `${p}4`.slice(-8), value: new Uint8Array(4) }))).toBe("LimitExceeded");
    expect(await fails(os("kv-probe-b", "kv.cas", { key: `${p}4`.slice(-8), version: 0, value: new Uint8Array(4) }))).toBe("LimitExceeded");
    expect(Number(await os("kv-probe-b", "kv.put", { key: keys[0], value: new Uint8Array(8) }))).toBeGreaterThan(0);
    // 3 keys of 8 bytes with values of 8, 4 and 4: 40 bytes; a value of 60 instead of 8 would make 92, over 64.
    expect(await fails(os("kv-probe-b", "kv.put", { key: keys[0], value: new Uint8Array(60) }))).toBe("LimitExceeded");
    expect(await os("kv-probe-b", "kv.delete", { key: keys[1] })).toBe(true);
    expect(Number(await os("kv-probe-b", "kv.put", { key: `${p}4`.slice(-8), value: new Uint8Array(4) }))).toBeGreaterThan(0);
    for (const k of [keys[0], keys[2], `${p}4`.slice(-8)]) await os("kv-probe-b", "kv.delete", { key: k });
  });

  it("is for modules: a call from no module is AccessDenied", async () => {
    const { runtime } = probes();
    const refused = runtime.request("os", "kv.get", { format: Format.Json, data: new TextEncoder().encode('{"key":"x"}') });
    await expect(refused).rejects.toMatchObject({ codeName: "AccessDenied" });
  });
});

describe("kv.* with hostile but well-formed requests (the ABI fuzzer's kinds, test/fuzz/service-payloads.ts, against SQLite)", () => {
  it("a cursor from no page lists only keys after it in byte order, though it sorts before the prefix in UTF-16", async () => {
    const { os } = probes();
    const p = `${fresh("cursor")}\ue000`;
    for (const k of ["a", "b"]) await os("kv-probe", "kv.put", { key: p + k, value: new Uint8Array([1]) });
    // U+10000 is F0 90 80 80 in UTF-8, after U+E000's EE 80 80; in UTF-16 its D800 comes before E000.
    const after = `${p.slice(0, -1)}\u{10000}`;
    expect(await os("kv-probe", "kv.list", { prefix: p, limit: 0, cursor: after })).toEqual({ keys: [], cursor: null });
    // A cursor that is before the prefix in both orders lists from the start.
    expect(await os("kv-probe", "kv.list", { prefix: p, limit: 0, cursor: p.slice(0, -1) })).toEqual({ keys: [`${p}a`, `${p}b`], cursor: null });
    for (const k of ["a", "b"]) await os("kv-probe", "kv.delete", { key: p + k });
  });

  it("a refused put or cas leaves the key as it was", async () => {
    const { os, fails } = probes();
    const key = fresh("kept");
    const version = Number(await os("kv-probe", "kv.put", { key, value: new Uint8Array([1, 2]) }));
    const before = await os("kv-probe", "kv.read", { key });
    expect(await fails(os("kv-probe", "kv.put", { key, value: new Uint8Array(DEFAULT_LIMITS.kvValueBytes + 1) }, Format.Msgpack))).toBe("LimitExceeded");
    expect(await fails(os("kv-probe", "kv.cas", { key, version, value: new Uint8Array(DEFAULT_LIMITS.kvValueBytes + 1) }, Format.Msgpack))).toBe("LimitExceeded");
    expect(await fails(os("kv-probe", "kv.put", { key, value: [256] }))).toMatch(/^(BadRequest|DeserializationFailed)$/);
    // Versions no write has had (past 2^53, the largest u64) are no match: nothing is written.
    for (const v of [2n ** 53n + 1n, 2n ** 64n - 1n]) {
      expect(await os("kv-probe", "kv.cas", { key, version: v, value: new Uint8Array([9]) }, Format.Msgpack)).toMatchObject({ ok: false });
    }
    expect(await os("kv-probe", "kv.read", { key })).toEqual(before);
    expect(await os("kv-probe", "kv.delete", { key })).toBe(true);
  });

  it("keeps keys that differ after a NUL apart", async () => {
    const { os } = probes();
    const p = `${fresh("nul")}\0`;
    await os("kv-probe", "kv.put", { key: `${p}b`, value: new Uint8Array([1]) });
    await os("kv-probe", "kv.put", { key: `${p}c`, value: new Uint8Array([2]) });
    expect(await os("kv-probe", "kv.get", { key: `${p}b` })).toEqual(new Uint8Array([1]));
    expect(await os("kv-probe", "kv.get", { key: `${p}c` })).toEqual(new Uint8Array([2]));
    expect(await os("kv-probe", "kv.list", { prefix: p, limit: 0, cursor: null })).toEqual({ keys: [`${p}b`, `${p}c`], cursor: null });
    for (const k of ["b", "c"]) await os("kv-probe", "kv.delete", { key: p + k });
  });
});

describe("tally and tally-rs: compare-and-set never loses an increment", () => {
  const count = async (module: string) => {
    const res = await post(`/call/${module}/get`, {});
    expect(res.status, await res.clone().text()).toBe(200);
    return ((await res.json()) as { count: number }).count;
  };

  it.each(["tally", "tally-rs"])("%s: 100 concurrent incr {by: 1} over HTTP add exactly 100", async (module) => {
    const before = await count(module);
    const replies = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const res = await post(`/call/${module}/incr`, { by: 1 });
        expect(res.status, await res.clone().text()).toBe(200);
        return ((await res.json()) as { count: number }).count;
      }),
    );
    expect(await count(module)).toBe(before + 100);
    // Each increment wrote a count of its own: before + 1 .. before + 100, each once.
    expect(replies.sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => before + i + 1));
  });

  it("tally's count is in its store object, and tally-rs has a store of its own", async () => {
    const before = await count("tally-rs");
    await post("/call/tally/incr", { by: 5 });
    expect(await count("tally-rs")).toBe(before);
    await runInDurableObject(env.STORES.get(env.STORES.idFromName("tally")), (_o, state) => {
      const row = state.storage.sql.exec<{ module: string; value: ArrayBuffer }>("SELECT module, value FROM kv_entries WHERE key = 'count'").one();
      expect(row.module).toBe("tally");
      expect(new DataView(row.value).getBigUint64(0, true)).toBeGreaterThanOrEqual(5n);
    });
  });

  it("refuses a bad incr with 400 before any guest runs", async () => {
    expect((await post("/call/tally/incr", { by: -1 })).status).toBe(400);
    expect((await post("/call/tally-rs/incr", { by: "one" })).status).toBe(400);
  });
});

describe("kv.* inside a bus session: the session object's own storage", () => {
  it("tally in a session counts apart from plain calls and from other sessions", async () => {
    const plain = ((await (await post("/call/tally/get", {})).json()) as { count: number }).count;
    const room = fresh("room");
    const ws = await open(`/bus/tally/${room}`);
    for (let id = 1; id <= 3; id++) ws.call(id, "incr", { by: 2 });
    const counts = [];
    for (let id = 1; id <= 3; id++) counts.push(((await ws.reply(id)) as { count: number }).count);
    expect(counts.sort()).toEqual([2, 4, 6]);
    const other = await open(`/bus/tally/${room}-other`);
    other.call(1, "get", {});
    expect(await other.reply(1)).toEqual({ count: 0 });
    expect(((await (await post("/call/tally/get", {})).json()) as { count: number }).count).toBe(plain);
    // In the session's object, in its SQLite, next to its live calls.
    const stub = env.SESSIONS.get(env.SESSIONS.idFromName(`tally/${room}`));
    await runInDurableObject(stub, (_o, state) => {
      const row = state.storage.sql.exec<{ module: string; value: ArrayBuffer }>("SELECT module, value FROM kv_entries WHERE key = 'count'").one();
      expect(row.module).toBe("tally");
      expect(new DataView(row.value).getBigUint64(0, true)).toBe(6n);
    });
    ws.ws.close(1000);
    other.ws.close(1000);
  });
});

describe("kv.* inside a process: the process object's own storage", () => {
  it("a process's module keeps its keys in the process's SQLite, apart from its plain calls' store", async () => {
    setProcessModules({ ...modules, ...testGuests }); // daemon-rs, a test guest, runs as a process
    const id = env.PROCESSES.newUniqueId();
    const stub = env.PROCESSES.get(id);
    unwrap(await stub.spawn(id.toString(), { module: "daemon-rs" }));
    for (let i = 0; i < 100 && (await stub.status())?.status !== "running"; i++) await new Promise((r) => setTimeout(r, 20));
    // daemon-rs's topic os calls the host's os topic as daemon-rs, inside the process.
    const os = async (topic: string, value: unknown) => {
      const spec = kv.topics[topic]!;
      const payload = encode(Format.Json, value, spec.request);
      const reply = unwrap(await stub.call("os", { format: Format.Msgpack, data: pack({ topic, format: Format.Json, payload }) }))!;
      return decode(Format.Json, (unpack(reply.data) as { payload: Uint8Array }).payload, spec.response);
    };
    const key = fresh("proc");
    expect(Number(await os("kv.put", { key, value: new Uint8Array([4, 2]) }))).toBeGreaterThan(0);
    expect(await os("kv.get", { key })).toEqual(new Uint8Array([4, 2]));
    expect(await os("kv.list", { prefix: key, limit: 0, cursor: null })).toEqual({ keys: [key], cursor: null });
    await runInDurableObject(stub, (_o, state) => {
      expect(state.storage.sql.exec("SELECT module FROM kv_entries WHERE key = ?", key).one().module).toBe("daemon-rs");
    });
    await runInDurableObject(env.STORES.get(env.STORES.idFromName("daemon-rs")), (_o, state) => {
      const sql = state.storage.sql;
      const tables = sql.exec("SELECT count(*) AS n FROM sqlite_master WHERE name = 'kv_entries'").one().n;
      expect(tables ? sql.exec("SELECT count(*) AS n FROM kv_entries WHERE key = ?", key).one().n : 0).toBe(0);
    });
    await stub.kill();
  });
});

/** A bus client of GET /bus/:module/:session: json calls, replies by id. */
async function open(path: string) {
  const res = await worker(path, { headers: { upgrade: "websocket" } });
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  ws.accept();
  const frames: { type: string; id: number; payload?: Uint8Array; error?: string }[] = [];
  let order = Promise.resolve();
  ws.addEventListener("message", (e) => {
    const data = e.data as Blob | ArrayBuffer;
    order = order.then(async () => {
      frames.push(unpack(new Uint8Array(data instanceof ArrayBuffer ? data : await data.arrayBuffer())));
    });
  });
  const call = (id: number, topic: string, body: unknown) =>
    ws.send(pack({ type: "call", id, topic, format: "json", payload: new TextEncoder().encode(JSON.stringify(body)) }));
  const reply = async (id: number) => {
    for (let i = 0; i < 250; i++) {
      const f = frames.find((f) => f.id === id && (f.type === "reply" || f.type === "fault"));
      if (f?.type === "reply") return JSON.parse(new TextDecoder().decode(f.payload));
      if (f) throw new Error(`call ${id} failed: ${f.error}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no reply to ${id}`);
  };
  return { ws, call, reply };
}
