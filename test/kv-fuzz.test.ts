import { evictDurableObject, env as testEnv, runInDurableObject } from "cloudflare:test";
import { pack, unpack } from "msgpackr";
import { describe, expect, it } from "vitest";
import { type CodeName, codeName, Format } from "../src/abi.js";
import { decode, encode } from "../src/codec/index.js";
import type { Env } from "../src/env.js";
import { parseManifest } from "../src/manifest.js";
import { kv } from "../src/services/kv/index.js";
import { storeObjects } from "../src/store.js";
import { modules as testGuests } from "../build/test-registry.js";
import { type KvAction, KvActions } from "./fuzz/kv-actions.js";
import { KvModel, type KvModelLimits, type KvOp, type Outcome } from "./fuzz/kv-model.js";
import { Rng } from "./fuzz/rng.js";
import { guestApp } from "./helpers.js";

/**
 * The kv fuzzer: seeded kv.* requests (test/fuzz/kv-actions.ts) from a real guest, kv-probe-tiny
 * (kv-probe with tiny kv limits), through the runtime's call path to its BusStore object's
 * SQLite, each answer held to an in-memory model (test/fuzz/kv-model.ts): what get, read and
 * list return, each version, which code a refusal has, that a refusal changes nothing, and that
 * the store's counts of keys and bytes are the model's after every action; the object is
 * evicted now and then, so the counts and sequence must come back from storage.
 * CI: seed 20261202, 400 actions. Another: `npm run fuzz -- --kv --seed N --actions M`.
 */
declare global {
  interface ImportMeta {
    glob<T>(pattern: string, options: { eager: true; import: "default" }): Record<string, T>;
  }
}
// workerd sees no environment variables: `npm run fuzz -- --kv` writes build/kv-fuzz.json.
const adHoc = Object.values(import.meta.glob<{ seed: number; actions: number }>("../build/kv-fuzz.json", { eager: true, import: "default" }))[0];
const SEED = adHoc?.seed ?? 20261202;
const ACTIONS = adHoc?.actions ?? 400;

const env = testEnv as unknown as Env;
const MODULE = "kv-probe-tiny";
const LIMITS: KvModelLimits = parseManifest(MODULE, testGuests[MODULE]!.manifest).limits;
const store = () => env.STORES.get(env.STORES.idFromName(MODULE));

type Answer = { reply: unknown } | { code: CodeName; message: string };

/** One kv.* request as the guest sends it: the reply decoded, or the code it was refused with. */
function caller() {
  const { app } = guestApp({ storage: storeObjects(() => env.STORES) });
  return async (topic: string, format: number, payload: Uint8Array): Promise<Answer> => {
    const res = await app.request(`/call/${MODULE}/os`, {
      method: "POST",
      headers: { "content-type": "application/msgpack" },
      body: pack({ topic, format, payload }),
    });
    if (res.status !== 200) {
      const body = (await res.json()) as { code: number; error: string };
      return { code: codeName(body.code), message: body.error };
    }
    const reply = unpack(new Uint8Array(await res.arrayBuffer())) as { format: number; payload: Uint8Array };
    if (reply.format !== format) throw new Error(`a reply in format ${reply.format} to a request in ${format}`);
    return { reply: numbers(decode(format, reply.payload, kv.topics[topic]!.response)) };
  };
}

/** Versions as numbers, whichever way a format decodes a u64. */
function numbers(v: unknown): unknown {
  if (typeof v === "bigint") return Number(v);
  if (v && typeof v === "object" && !(v instanceof Uint8Array) && !Array.isArray(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, numbers(x)]));
  return v;
}

/** An action for a failure message: strings escaped, bytes by their length. */
function describeAction(a: KvAction): string {
  const op = JSON.stringify(a.op, (_k, v: unknown) => (v instanceof Uint8Array ? `<${v.length} bytes>` : typeof v === "bigint" ? `${v}n` : v));
  return `${op} in format ${a.format}${a.wire ? `, sent as ${JSON.stringify(new TextDecoder().decode(a.wire))}` : ""}`;
}

/** What the store's object holds for the module: its counts and its rows, read from its SQLite. */
function stored() {
  return runInDurableObject(store(), (_o, state) => {
    const sql = state.storage.sql;
    if (!sql.exec("SELECT count(*) AS n FROM sqlite_master WHERE name = 'kv_modules'").one().n) return { counts: undefined, rows: [] };
    const counts = sql.exec<{ seq: number; keys: number; bytes: number }>("SELECT seq, keys, bytes FROM kv_modules WHERE module = ?", MODULE).toArray()[0];
    const rows = sql
      .exec<{ key: string; value: ArrayBuffer; version: number }>("SELECT key, value, version FROM kv_entries WHERE module = ?", MODULE)
      .toArray()
      .map((r) => ({ key: r.key, value: new Uint8Array(r.value), version: r.version }));
    return { counts, rows };
  });
}

/** Where the store's object and the model differ: counts, sequence, or any row. */
async function differences(model: KvModel, rows: boolean): Promise<string[]> {
  const now = await stored();
  const out: string[] = [];
  const counts = now.counts ?? { seq: 0, keys: 0, bytes: 0 };
  const want = { seq: model.seq, keys: model.keys, bytes: model.bytes };
  if (counts.seq !== want.seq || counts.keys !== want.keys || counts.bytes !== want.bytes) out.push(`the store counts ${JSON.stringify(counts)}, the model ${JSON.stringify(want)}`);
  if (rows) {
    const got = now.rows.map((r) => JSON.stringify([r.key, [...r.value], r.version])).sort();
    const expected = [...model.entries].map(([k, e]) => JSON.stringify([k, [...e.value], e.version])).sort();
    if (JSON.stringify(got) !== JSON.stringify(expected)) out.push(`the store's rows ${got.join(" ")}, the model's ${expected.join(" ")}`);
  }
  return out;
}

/** Every key the store lists, page by page: what an empty prefix must answer. */
async function listAll(os: ReturnType<typeof caller>, limit: number): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 10_000; page++) {
    const a = await os("kv.list", Format.Msgpack, encode(Format.Msgpack, { prefix: "", limit, cursor }, kv.topics["kv.list"]!.request));
    if (!("reply" in a)) throw new Error(`kv.list failed: ${a.code} ${a.message}`);
    const reply = a.reply as { keys: string[]; cursor: string | null };
    keys.push(...reply.keys);
    if (reply.cursor === null) return keys;
    cursor = reply.cursor;
  }
  throw new Error("kv.list never came to its last page");
}

/** The module's store emptied through kv.*, and the model's sequence learnt from one write. */
async function fresh(os: ReturnType<typeof caller>, model: KvModel) {
  const send = (op: KvOp) => os(op.topic, Format.Msgpack, encode(Format.Msgpack, op, kv.topics[op.topic]!.request));
  for (const key of await listAll(os, 1000)) await send({ topic: "kv.delete", key });
  const put = await send({ topic: "kv.put", key: "s", value: new Uint8Array() });
  if (!("reply" in put)) throw new Error(`the first put failed: ${put.code} ${put.message}`);
  await send({ topic: "kv.delete", key: "s" });
  model.seq = (put.reply as number) + 1;
}

/** How an answer differs from the model's outcome, or nothing. */
function mismatch(answer: Answer, outcome: Outcome): string | undefined {
  if ("refused" in outcome) {
    if ("code" in answer && outcome.refused.includes(answer.code)) return undefined;
    return `wanted a refusal (${outcome.refused.join(" or ")}), got ${"code" in answer ? `${answer.code}: ${answer.message}` : `the reply ${show(answer.reply)}`}`;
  }
  if ("code" in answer) return `wanted ${show(outcome.reply)}, got ${answer.code}: ${answer.message}`;
  try {
    expect(answer.reply).toEqual(outcome.reply);
    return undefined;
  } catch {
    return `wanted ${show(outcome.reply)}, got ${show(answer.reply)}`;
  }
}

const show = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (x instanceof Uint8Array ? `<bytes ${[...x].join(",")}>` : x));

describe(`kv.* against a model (seed ${SEED}, ${ACTIONS} actions)`, () => {
  it("answers every request as the model does, refuses with the right code and changes nothing then, and keeps its counts exact across evictions", { timeout: 120_000 }, async () => {
    const os = caller();
    const model = new KvModel(LIMITS);
    await fresh(os, model);
    expect(await differences(model, true)).toEqual([]);
    const rng = new Rng(SEED);
    const actions = new KvActions(rng, model);
    const tally: Record<string, number> = {};
    let evictions = 0;
    for (let i = 0; i < ACTIONS; i++) {
      const action = actions.next();
      const where = `action ${i} (seed ${SEED}): ${describeAction(action)}`;
      const payload = action.wire ?? encode(action.format, action.op, kv.topics[action.op.topic]!.request);
      const answer = await os(action.op.topic, action.format, payload);
      // A malformed request changes nothing: the model is not asked.
      const outcome: Outcome = action.refuse ? { refused: action.refuse } : model.apply(action.op);
      const wrong = mismatch(answer, outcome);
      if (wrong) throw new Error(`${where}: ${wrong}`);
      const kind = `${action.op.topic} ${"code" in answer ? answer.code : "ok"}`;
      tally[kind] = (tally[kind] ?? 0) + 1;
      if (action.op.topic === "kv.list" && "reply" in answer) {
        actions.lastCursor = (answer.reply as { cursor: string | null }).cursor;
        actions.lastPrefix = action.op.prefix;
      }
      const off = await differences(model, i % 20 === 0);
      if (off.length) throw new Error(`${where}: ${off.join("; ")}`);
      // Now and then (and once for certain) the object goes, and its counts must come back from storage.
      if (rng.chance(0.03) || i === ACTIONS >> 1) {
        await evictDurableObject(store());
        evictions++;
      }
    }
    // At the end, everything through kv.* itself: every page of every key, and each key's value and version.
    const sorted = model.sortedKeys();
    for (const limit of [1, 2, 3, 0]) expect(await listAll(os, limit)).toEqual(sorted);
    for (const key of sorted) {
      const read = await os("kv.read", Format.Bincode, encode(Format.Bincode, { key }, kv.topics["kv.read"]!.request));
      expect(read).toEqual({ reply: { value: model.entries.get(key)!.value, version: model.versionOf(key) } });
    }
    expect(await differences(model, true)).toEqual([]);
    console.log(`kv fuzz: seed ${SEED}, ${ACTIONS} actions, ${evictions} evictions; ${JSON.stringify(Object.fromEntries(Object.entries(tally).sort()))}`);
    // A run that never stored, never filled its store or never refused a key proves little.
    for (const kind of ["kv.put ok", "kv.put LimitExceeded", "kv.cas ok", "kv.list ok", "kv.get BadRequest"]) expect(tally[kind], kind).toBeGreaterThan(0);
  });
});
