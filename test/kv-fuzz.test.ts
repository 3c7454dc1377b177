import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { Format } from "../src/abi.js";
import { encode } from "../src/codec/index.js";
import { kv } from "../src/services/kv/index.js";
import { type KvAction, KvActions } from "./fuzz/kv-actions.js";
import { KvModel, type KvOp, type Outcome } from "./fuzz/kv-model.js";
import { type Answer, inProcess, inSession, LIMITS, type Os, type Place, plainCalls } from "./fuzz/kv-places.js";
import { Rng } from "./fuzz/rng.js";

/**
 * The kv fuzzer: seeded kv.* requests (test/fuzz/kv-actions.ts) from a real guest with tiny kv
 * limits, through the runtime's call path to the SQLite of the object that holds its keys (a
 * BusStore object over RPC, a session's or a process's own: test/fuzz/kv-places.ts), each
 * answer held to an in-memory model (test/fuzz/kv-model.ts): what get, read and list return,
 * each version, which code a refusal has, that a refusal changes nothing, and that the store's
 * counts of keys and bytes are the model's after every action. The object is evicted now and
 * then, so the counts and sequence must come back from storage; now and then a few requests go
 * at once (half the time racing on one key), and their answers must be those of one order.
 * CI: seed 20261202, 300 actions in each place. Another: `npm run fuzz -- --kv --seed N --actions M`.
 */
declare global {
  interface ImportMeta {
    glob<T>(pattern: string, options: { eager: true; import: "default" }): Record<string, T>;
  }
}
// workerd sees no environment variables: `npm run fuzz -- --kv` writes build/kv-fuzz.json.
const adHoc = Object.values(import.meta.glob<{ seed: number; actions: number }>("../build/kv-fuzz.json", { eager: true, import: "default" }))[0];
const SEED = adHoc?.seed ?? 20261202;
const ACTIONS = adHoc?.actions ?? 300;
/** An action for a failure message: strings escaped, bytes by their length. */
function describeAction(a: KvAction): string {
  const op = JSON.stringify(a.op, (_k, v: unknown) => (v instanceof Uint8Array ? `<${v.length} bytes>` : typeof v === "bigint" ? `${v}n` : v));
  return `${op} in format ${a.format}${a.wire ? `, sent as ${JSON.stringify(new TextDecoder().decode(a.wire))}` : ""}`;
}

/** What the store's object holds for the module: its counts and its rows, read from its SQLite. */
function stored(stub: DurableObjectStub, module: string) {
  return runInDurableObject(stub, (_o, state) => {
    const sql = state.storage.sql;
    if (!sql.exec("SELECT count(*) AS n FROM sqlite_master WHERE name = 'kv_modules'").one().n) return { counts: undefined, rows: [] };
    const counts = sql.exec<{ seq: number; keys: number; bytes: number }>("SELECT seq, keys, bytes FROM kv_modules WHERE module = ?", module).toArray()[0];
    const rows = sql
      .exec<{ key: string; value: ArrayBuffer; version: number }>("SELECT key, value, version FROM kv_entries WHERE module = ?", module)
      .toArray()
      .map((r) => ({ key: r.key, value: new Uint8Array(r.value), version: r.version }));
    return { counts, rows };
  });
}

/** Where the store's object and the model differ: counts, sequence, or any row. */
async function differences({ stub, module }: Place, model: KvModel, rows: boolean): Promise<string[]> {
  const now = await stored(stub, module);
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
async function listAll(os: Os, limit: number): Promise<string[]> {
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
async function fresh(os: Os, model: KvModel) {
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

/**
 * The models after each order of `batch` that gives every one of `answers` (one, for a lone
 * request), or what is wrong where none does. A malformed request changes nothing: the model is
 * not asked.
 */
function explanations(model: KvModel, batch: KvAction[], answers: Answer[]): KvModel[] | string {
  const found: KvModel[] = [];
  let first: string | undefined;
  for (const order of permutations(batch.length)) {
    const m = model.clone();
    const wrong = order.map((k) => mismatch(answers[k]!, batch[k]!.refuse ? { refused: batch[k]!.refuse! } : m.apply(batch[k]!.op))).find((w) => w !== undefined);
    if (wrong === undefined) found.push(m);
    else first ??= wrong;
  }
  if (found.length) return found;
  return batch.length === 1 ? first! : `no order of them gives their answers (${answers.map((a) => ("code" in a ? a.code : show(a.reply))).join(" | ")}); in the order sent: ${first}`;
}

/** Every order of 0..n-1, the order sent first. */
function permutations(n: number): number[][] {
  if (n <= 1) return [[...Array(n).keys()]];
  return permutations(n - 1).flatMap((p) => Array.from({ length: n }, (_, k) => [...p.slice(0, n - 1 - k), n - 1, ...p.slice(n - 1 - k)]));
}

const show = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (x instanceof Uint8Array ? `<bytes ${[...x].join(",")}>` : x));

describe.each([
  ["plain calls, in the module's BusStore object", plainCalls],
  ["a bus session, in the session's own object", inSession],
  ["a process, in the process's own object", inProcess],
])(`kv.* against a model (seed ${SEED}, ${ACTIONS} actions): %s`, (where, place) => {
  it("answers every request as the model does, refuses with the right code and changes nothing then, and keeps its counts exact across evictions", { timeout: 120_000 }, async () => {
    const at = await place();
    const { os, stub, close } = at;
    const model = new KvModel(LIMITS);
    await fresh(os, model);
    expect(await differences(at, model, true)).toEqual([]);
    const rng = new Rng(SEED);
    const actions = new KvActions(rng, model);
    const tally: Record<string, number> = {};
    let evictions = 0;
    let bursts = 0;
    for (let i = 0, round = 0; i < ACTIONS; round++) {
      // Mostly one request at a time; now and then a few at once, which the store must answer as
      // one after another in some order (each is one transaction).
      const n = Math.min(ACTIONS - i, rng.chance(0.1) ? rng.range(2, 4) : 1);
      const batch = n > 1 && rng.chance(0.5) ? actions.contended(n) : Array.from({ length: n }, () => actions.next());
      const where = `action${batch.length > 1 ? `s ${i}..${i + batch.length - 1} at once` : ` ${i}`} (seed ${SEED}): ${batch.map(describeAction).join(" | ")}`;
      const answers = await Promise.all(batch.map((a) => os(a.op.topic, a.format, a.wire ?? encode(a.format, a.op, kv.topics[a.op.topic]!.request))));
      const orders = explanations(model, batch, answers);
      if (typeof orders === "string") throw new Error(`${where}: ${orders}`);
      // Where several orders explain the answers, the store's rows say which it took.
      let chosen = orders[0]!;
      for (const m of orders.length > 1 ? orders : []) {
        if (!(await differences(at, m, true)).length) {
          chosen = m;
          break;
        }
      }
      model.assign(chosen);
      batch.forEach((action, k) => {
        const answer = answers[k]!;
        const kind = `${action.op.topic} ${"code" in answer ? answer.code : "ok"}`;
        tally[kind] = (tally[kind] ?? 0) + 1;
        if (action.op.topic === "kv.list" && "reply" in answer) {
          actions.lastCursor = (answer.reply as { cursor: string | null }).cursor;
          actions.lastPrefix = action.op.prefix;
        }
      });
      if (batch.length > 1) bursts++;
      const off = await differences(at, model, batch.length > 1 || round % 20 === 0);
      if (off.length) throw new Error(`${where}: ${off.join("; ")}`);
      i += batch.length;
      // Now and then (and once for certain) the object goes, and its counts must come back from storage.
      if (rng.chance(0.03) || (!evictions && i >= ACTIONS >> 1)) {
        await evictDurableObject(stub);
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
    expect(await differences(at, model, true)).toEqual([]);
    await close();
    console.log(`kv fuzz (${where}): seed ${SEED}, ${ACTIONS} actions, ${bursts} bursts, ${evictions} evictions; ${JSON.stringify(Object.fromEntries(Object.entries(tally).sort()))}`);
    // A run that never stored, never filled its store or never refused a key proves little.
    for (const kind of ["kv.put ok", "kv.put LimitExceeded", "kv.cas ok", "kv.list ok", "kv.get BadRequest"]) expect(tally[kind], kind).toBeGreaterThan(0);
  });
});
