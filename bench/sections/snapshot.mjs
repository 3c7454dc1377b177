// 8. Snapshots: what keeping an instance durable costs each time it comes to rest, and what
// waking it costs. A process's or session's instance is saved at each rest (Guest.snapshot():
// its state as JSON and the 64 KiB pages changed since the last save) in one SQLite transaction,
// and an object that wakes without it restores it (Guest.restore) from that SQLite.
//
// In Node: the runtime core in this process, each instance made as the objects make theirs
// (runtime.instances.create with `durable` and `ephemeral: false`, so it tracks its pages), each
// saved and restored by the product's own Snapshots (durable-objects/snapshots.ts, in the core
// bundle: its tables, statements and transaction, the bytes it counts) as a session keeps its
// instance (no extra state), over node:sqlite (bench/lib/sqlite-storage.mjs: a file in bench/.out
// per module, WAL, synchronous NORMAL: a commit writes the WAL without an fsync).
// Three modules: modules/hello (greet), modules/fetcher (fetch with delayMs 0; its http.fetch is
// answered by a stub in this process, no network) and bench/guests/heap-1mib, a WAT guest whose
// "fill" writes 1 MiB of heap and whose "touch" changes one word of it.
// - Per rest: each sample makes a fresh instance, makes its first call and saves (the first
//   snapshot), makes a second call that changes little and saves again (steady state): pages,
//   bytes, and the time of snapshot() plus the transaction, each save timed alone (hrtime around
//   it: a save is 20 us and up), the median over the samples. On heap-1mib, the same "touch"
//   again (the same request bytes into the same buffer, so one page changes: counted against a
//   copy of memory taken before the call) and its save: the target, about one page written.
// - Restore and wake, as batches (lib/stats.mjs: paired samples, each recorded batch after an
//   unrecorded one of its kind): restoring heap-1mib from its SQLite (SELECT, JSON.parse,
//   Guest.restore) against Guest.create of the same module, and a round trip on a live durable
//   instance against the first one after waking (read + restore + the call), for heap-1mib
//   ("touch") and hello ("greet"); also the call with the save each rest brings.
// Every restored instance must answer as the original did: heap-1mib's "sum" (the heap summed,
// and its count of calls, a global), hello's greeting.
//
// In workerd (workerdWake below): hello sessions across a real eviction, workerd stopped and
// started again on the objects' storage on disk.
//
// The binaries are the build's: hello and fetcher from build/modules (their mutable globals
// reachable through scripts/wasm-globals.mjs), heap-1mib through the same addGlobalAccess here; each is
// registered with its SHA-256 as build/registry.ts registers it, so a restore checks the hash
// as it does in workerd.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { addGlobalAccess } from "../../scripts/wasm-globals.mjs";
import { accept, assertNoProblems, core, makeRuntime, projectModule } from "../lib/bus.mjs";
import { guest, out, root } from "../lib/paths.mjs";
import { sqliteStorage } from "../lib/sqlite-storage.mjs";
import { bundleWorker, busWorker, freePort, serveWorkerd } from "../lib/workerd.mjs";
import { measure, median, now, ratio } from "../lib/stats.mjs";
import { atMost, SNAPSHOT_TARGETS } from "../lib/targets.mjs";

const require = createRequire(import.meta.url);
const PAGE = 65536;
const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");
const utf8 = new TextEncoder();
const text = (reply) => new TextDecoder().decode(reply.data);
const u32 = (n) => new Uint8Array(new Uint32Array([n]).buffer);
const words = (reply) => [...new Uint32Array(reply.data.slice().buffer)];

/** A registry entry as the build writes it: the binary with its hash. */
function entry(name) {
  if (name === "heap-1mib") {
    const bytes = addGlobalAccess(readFileSync(guest(name)));
    const manifest = JSON.parse(readFileSync(join(root, "bench/guests", name, "module.json"), "utf8"));
    return { manifest, wasm: new WebAssembly.Module(bytes), hash: sha256(bytes) };
  }
  const built = projectModule(name);
  if (!built) throw new Error(`build/modules/${name}.wasm is missing: run \`npm run build\``);
  return { ...built, hash: sha256(readFileSync(join(root, "build/modules", `${name}.wasm`))) };
}

/** durable-objects/snapshots.ts on node:sqlite, as a session has it: no extra state, every instance kept. */
function snapshotStore(file) {
  const storage = sqliteStorage(file);
  return { db: storage.db, snapshots: new core.Snapshots(storage, () => ({ json: null }), () => true) };
}

/**
 * Snapshots.save of `g`, timed alone (hrtime around it: a save is 20 us and up), with the time of
 * its snapshot() within it: the save is handed `g` with its snapshot() timed, which also tells
 * the memory's size and, through a page (a view of the instance's memory), the memory itself.
 */
function save(snapshots, g) {
  let snapshotNs, memoryPages, memory;
  const timed = {
    snapshot() {
      const t0 = now();
      const taken = g.snapshot();
      snapshotNs = Number(now() - t0);
      memoryPages = taken.state.pages;
      memory = taken.pages[0]?.[1].buffer;
      return taken;
    },
  };
  const t0 = now();
  const { pages, bytes } = snapshots.save(timed);
  return { pages, bytes, memoryPages, snapshotNs, ns: Number(now() - t0), memory };
}

/** One module's calls: its first, one that changes little, and how to check an instance restored. */
const MODULES = {
  hello: {
    label: "hello (AssemblyScript)",
    first: ["greet", 1, '{"name":"Ada"}'],
    steady: ["greet", 1, '{"name":"Ada"}'],
    steadyText: "another greet",
  },
  fetcher: {
    label: "fetcher (AssemblyScript)",
    first: ["fetch", 1, '{"url":"http://127.0.0.1:9/","delayMs":0}'],
    steady: ["fetch", 1, '{"url":"http://127.0.0.1:9/","delayMs":0}'],
    steadyText: "another fetch",
  },
  "heap-1mib": {
    label: "heap-1mib (WAT, 1 MiB heap)",
    first: ["fill", 0, u32(7)],
    steady: ["touch", 0, u32(3)],
    steadyText: "touch: one word of the heap",
  },
};

export async function run(options) {
  const result = await inNode(options);
  try {
    workerdRows(result, await workerdWake(options));
  } catch (err) {
    workerdRows(result, { error: String(err?.message ?? err) });
  }
  return result;
}

async function inNode({ quick, samples, targetMs }) {
  // fetcher's http.fetch, answered here: 16 bytes, no network.
  const realFetch = globalThis.fetch;
  globalThis.fetch = async () => new Response("0123456789abcdef", { status: 200, headers: { "content-type": "application/octet-stream" } });
  const dir = join(out, "snapshot");
  mkdirSync(dir, { recursive: true });
  const stores = {};
  try {
    const runtime = makeRuntime(Object.fromEntries(Object.keys(MODULES).map((n) => [n, entry(n)])));
    const loaded = Object.fromEntries(Object.keys(MODULES).map((n) => [n, runtime.modules.get(n)]));
    for (const name of Object.keys(MODULES)) stores[name] = snapshotStore(join(dir, `${name}.sqlite`));
    const durable = { quiet() {} }; // saved by hand here, where the objects save a microtask later
    const options = { ephemeral: false, durable };
    const create = (name) => runtime.instances.create(loaded[name], options);
    const restore = (name) => runtime.instances.restore(loaded[name], options, stores[name].snapshots.load(), () => undefined);
    const call = (g, name, [topic, format, data]) => accept(g, name, topic, format, typeof data === "string" ? utf8.encode(data) : data);
    const SUM = ["sum", 0, new Uint8Array(0)];

    const n = quick ? 21 : 3 * samples;
    const warmup = quick ? 5 : 15;
    const rec = {};
    const push = (key, v) => (rec[key] ??= []).push(v);
    const names = Object.keys(MODULES);

    for (let s = -warmup; s < n; s++) {
      const record = s >= 0;
      const order = s % 2 ? [...names].reverse() : names;
      for (const name of order) {
        const m = MODULES[name];
        const store = stores[name];
        store.snapshots.clear(); // a new instance: its first save writes into empty tables
        const g = create(name);
        const first = await call(g, name, m.first);
        if (!g.quiet) throw new Error(`snapshot: ${name} is not at rest after its first call`);
        const a = save(store.snapshots, g);
        const second = await call(g, name, m.steady);
        const b = save(store.snapshots, g);
        if (name === "hello" && (text(first) !== '{"message":"Hello, Ada!"}' || text(second) !== text(first))) throw new Error(`snapshot: hello answered ${text(first)}, ${text(second)}`);
        if (name === "fetcher" && JSON.parse(text(second)).status !== 200) throw new Error(`snapshot: fetcher answered ${text(second)}`);
        if (record) {
          push(`${name}:first`, a);
          push(`${name}:steady`, b);
          push(`${name}:steadyRatio`, b.ns / a.ns);
        }
        if (name === "fetcher") continue;

        if (name === "heap-1mib") {
          // The same touch again: the request buffer gets the same bytes, so only the touched page
          // changes. Counted against a copy of memory taken before the call.
          const memory = new Uint8Array(a.memory);
          const before = memory.slice();
          await call(g, name, m.steady);
          let changed = 0;
          for (let p = 0; p < memory.length / PAGE; p++) {
            for (let i = p * PAGE; i < (p + 1) * PAGE; i++) {
              if (before[i] !== memory[i]) {
                changed++;
                break;
              }
            }
          }
          const c = save(store.snapshots, g);
          const sum = words(await call(g, name, SUM));
          save(store.snapshots, g); // as it is after sum: the restored instance must answer sum alike, its count one more
          // One restore, as an object that wakes makes one: read from SQLite + Guest.restore. Its wall
          // time, and the CPU time this process spent meanwhile (every thread: the work, without the
          // waits for a core that other processes' load brings; what Workers limit).
          const cpu0 = process.cpuUsage();
          const r0 = now();
          const restored = restore(name);
          const restoreNs = Number(now() - r0);
          const cpu = process.cpuUsage(cpu0);
          const restoreCpuNs = (cpu.user + cpu.system) * 1000;
          const again = words(await call(restored, name, SUM));
          if (again[0] !== sum[0] || again[1] !== sum[1] + 1) throw new Error(`snapshot: the restored heap-1mib answered sum ${again} where the original answered ${sum} (its count one more)`);
          if (record) {
            push("heap-1mib:onePage", c);
            push("heap-1mib:onePageChanged", changed);
            push("heap-1mib:restoreOne", restoreNs);
            push("heap-1mib:restoreOneCpu", restoreCpuNs);
          }
        } else if (name === "hello") {
          const restored = restore(name);
          const again = await call(restored, name, m.steady);
          if (text(again) !== text(first)) throw new Error(`snapshot: the restored hello answered ${text(again)}`);
        }
      }
    }

    // Restore and wake, as batches of the same operation (lib/stats.mjs: paired samples, each
    // recorded batch after an unrecorded one of its kind, so each inherits its own garbage): one
    // live instance per module, its last save in its store.
    const live = {};
    for (const name of ["hello", "heap-1mib"]) {
      const m = MODULES[name];
      stores[name].snapshots.clear();
      live[name] = create(name);
      await call(live[name], name, m.first);
      await call(live[name], name, m.steady);
      save(stores[name].snapshots, live[name]);
    }
    const times = (fn) => async (k) => {
      for (let i = 0; i < k; i++) await fn();
    };
    const heap = "heap-1mib";
    const touch = MODULES[heap].steady;
    const greet = MODULES.hello.steady;
    const m = await measure(
      {
        plain: times(() => runtime.instances.create(loaded[heap], { ephemeral: false })),
        durable: times(() => create(heap)),
        read: times(() => [...stores[heap].snapshots.load().pages]),
        restore: times(() => restore(heap)),
        live: times(() => call(live[heap], heap, touch)),
        saved: times(async () => {
          await call(live[heap], heap, touch);
          save(stores[heap].snapshots, live[heap]);
        }),
        wake: times(() => call(restore(heap), heap, touch)),
        "hello:live": times(() => call(live.hello, "hello", greet)),
        "hello:saved": times(async () => {
          await call(live.hello, "hello", greet);
          save(stores.hello.snapshots, live.hello);
        }),
        "hello:wake": times(() => call(restore("hello"), "hello", greet)),
      },
      { samples, targetMs },
    );
    assertNoProblems("snapshot");
    return report(rec, m, n);
  } finally {
    globalThis.fetch = realFetch;
    for (const store of Object.values(stores)) store.db.close();
  }
}

function report(rec, m, n) {
  const med = (key, field) => median(field ? rec[key].map((r) => r[field]) : rec[key]);
  const kib = (b) => `${(b / 1024).toFixed(1)} KiB`;
  const pages = (k) => `${k} page${k === 1 ? "" : "s"}`;
  const short = { hello: "hello", fetcher: "fetcher", "heap-1mib": "1mib" };
  const rows = [];
  const keys = {};
  let section = `8. snapshots per rest: snapshot() + one SQLite transaction (${n} samples, a fresh instance each)`;
  for (const [name, m] of Object.entries(MODULES)) {
    const k = short[name];
    const [first, steady] = ["first", "steady"].map((w) => ({ pages: med(`${name}:${w}`, "pages"), bytes: med(`${name}:${w}`, "bytes"), ns: med(`${name}:${w}`, "ns"), snapshotNs: med(`${name}:${w}`, "snapshotNs") }));
    const memory = med(`${name}:first`, "memoryPages");
    rows.push({ section, name: `${m.label}, first save, after its first call: ${pages(first.pages)} of ${memory}, ${kib(first.bytes)}`, ns: first.ns });
    rows.push({ section, name: `  steady, after ${m.steadyText}: ${pages(steady.pages)}, ${kib(steady.bytes)}`, ns: steady.ns, ratio: med(`${name}:steadyRatio`), vs: "first" });
    rows.push({ section, name: `    of which snapshot() (hashes all ${pages(memory)} of memory, reads the state)`, ns: steady.snapshotNs });
    Object.assign(keys, {
      [`snapshot_first_bytes_${k}`]: first.bytes,
      [`snapshot_first_pages_${k}`]: first.pages,
      [`snapshot_first_us_${k}`]: first.ns / 1000,
      [`snapshot_steady_bytes_${k}`]: steady.bytes,
      [`snapshot_steady_pages_${k}`]: steady.pages,
      [`snapshot_steady_us_${k}`]: steady.ns / 1000,
      [`snapshot_memory_pages_${k}`]: memory,
    });
    if (name === "heap-1mib") {
      keys.snapshot_us_1mib = steady.ns / 1000;
      keys.snapshot_only_us_1mib = steady.snapshotNs / 1000;
      const written = Math.max(...rec["heap-1mib:onePage"].map((r) => r.pages));
      const changed = Math.max(...rec["heap-1mib:onePageChanged"]);
      rows.push({ section, name: `  the same touch again: ${pages(changed)} changed (memory compared), ${pages(written)} written (the most of any sample)`, value: written, unit: "pages", target: atMost(written, SNAPSHOT_TARGETS.onePagePages, `<= ${SNAPSHOT_TARGETS.onePagePages} pages for a call that changed one`) });
      rows.push({ section, name: "    its save", ns: med("heap-1mib:onePage", "ns") });
      keys.snapshot_one_page_pages = written;
      keys.snapshot_one_page_changed = changed;
      keys.snapshot_one_page_us = med("heap-1mib:onePage", "ns") / 1000;
    }
  }

  section = "8. snapshots: restore, and a round trip before and after hibernation";
  const ms = med("heap-1mib:restoreOneCpu") / 1e6;
  const heap = { memory: med("heap-1mib:first", "memoryPages"), saved: med("heap-1mib:first", "pages") };
  rows.push({ section, name: "heap-1mib: Guest.create, a fresh instance that tracks no pages (baseline)", ns: m.plain.ns });
  rows.push({ section, name: `heap-1mib: Guest.create, durable (hashes its ${heap.memory} pages to start tracking)`, ns: m.durable.ns, ratio: ratio(m.durable, m.plain), vs: "plain" });
  rows.push({ section, name: `heap-1mib: reading the snapshot from SQLite alone (the JSON, ${heap.saved} pages)`, ns: m.read.ns, ratio: ratio(m.read, m.plain), vs: "plain" });
  rows.push({ section, name: "heap-1mib: restores back to back (read, Guest.restore; the GC of each one's memory included)", ns: m.restore.ns, ratio: ratio(m.restore, m.plain), vs: "plain" });
  rows.push({ section, name: `heap-1mib: one restore, as a wake makes it (read, Guest.restore: instance, pages, globals, hashes; median of ${n}), wall time`, ns: med("heap-1mib:restoreOne") });
  rows.push({ section, name: "  its CPU time (every thread of this process)", ns: med("heap-1mib:restoreOneCpu"), target: atMost(ms, SNAPSHOT_TARGETS.restore1MiBMs, `<= ${SNAPSHOT_TARGETS.restore1MiBMs} ms CPU`) });
  Object.assign(keys, {
    snapshot_restore_1mib_ms: ms,
    snapshot_restore_1mib_wall_ms: med("heap-1mib:restoreOne") / 1e6,
    snapshot_restore_1mib_batch_ms: m.restore.ns / 1e6,
    snapshot_create_1mib_us: m.plain.ns / 1000,
    snapshot_create_durable_1mib_us: m.durable.ns / 1000,
    snapshot_read_1mib_us: m.read.ns / 1000,
    snapshot_restore_vs_create_ratio: ratio(m.restore, m.plain),
  });
  for (const [name, call, prefix] of [["heap-1mib", "touch", ""], ["hello", "greet", "hello:"]]) {
    const [live, saved, wake] = ["live", "saved", "wake"].map((w) => m[`${prefix}${w}`]);
    rows.push({ section, name: `${name}: ${call} on the live durable instance (baseline)`, ns: live.ns });
    rows.push({ section, name: `${name}: ${call} and its save (what a session pays per call)`, ns: saved.ns, ratio: ratio(saved, live), vs: "live" });
    rows.push({ section, name: `${name}: first ${call} after hibernation (read + restore + ${call})`, ns: wake.ns, ratio: ratio(wake, live), vs: "live" });
    const k = name === "hello" ? "hello" : "1mib";
    Object.assign(keys, {
      [`snapshot_live_roundtrip_us_${k}`]: live.ns / 1000,
      [`snapshot_saved_roundtrip_us_${k}`]: saved.ns / 1000,
      [`snapshot_wake_roundtrip_us_${k}`]: wake.ns / 1000,
      // The key is hello's: a session's module as sessions run them (AssemblyScript, its heap in one page).
      [name === "hello" ? "snapshot_wake_roundtrip_ratio" : "snapshot_wake_roundtrip_ratio_1mib"]: ratio(wake, live),
    });
  }
  return { rows, keys };
}

/** The workerd rows and keys (null where it failed: the Node rows stand without them). */
function workerdRows(result, w) {
  const section = `8. snapshots in workerd: hello sessions woken after a restart (objects on disk${w.count ? `, ${w.count} sessions` : ""})`;
  const keys = ["snapshot_workerd_wake_ratio", "snapshot_workerd_wake_ms", "snapshot_workerd_reconnect_ms", "snapshot_workerd_fresh_ms", "snapshot_workerd_greet_ms"];
  if (w.error) {
    result.rows.push({ section, name: `FAILED: ${w.error}` });
    for (const k of keys) result.keys[k] = null;
    (result.missing ??= []).push(`snapshot: the workerd part failed (${w.error}); its keys are null`);
    return;
  }
  result.rows.push(
    { section, name: "connect + greet, the object live (baseline)", ns: w.reconnect },
    { section, name: "connect + greet, the object evicted by the restart (restores its snapshot)", ns: w.wake, ratio: w.ratio, vs: "live object" },
    { section, name: "connect + greet, a session never saved (its SQLite and instance made anew)", ns: w.fresh, ratio: w.freshRatio, vs: "live object" },
    { section, name: "greet on an open socket (each rest saved to the object's SQLite on disk)", ns: w.live },
  );
  Object.assign(result.keys, {
    snapshot_workerd_wake_ratio: w.ratio,
    snapshot_workerd_wake_ms: w.wake / 1e6,
    snapshot_workerd_reconnect_ms: w.reconnect / 1e6,
    snapshot_workerd_fresh_ms: w.fresh / 1e6,
    snapshot_workerd_greet_ms: w.live / 1e6,
  });
}

// ---- workerd: a session woken after a restart ---------------------------------

/** A workerd config serving the project's Worker (its bundle in `dir`) on `port`, its objects' storage in `state`. */
function writeConfig(dir, state, port) {
  const config = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "bus", worker = .bus), (name = "state", disk = (path = ${JSON.stringify(state)}, writable = true)) ],
  sockets = [ (name = "bus", address = "127.0.0.1:${port}", http = (), service = "bus") ],
);
${busWorker("bus", { dir, key: "wasm-bus-bench", storage: "state" })}
`;
  const file = join(dir, "config.capnp");
  writeFileSync(file, config);
  return file;
}

/**
 * The same round trip in workerd, across a real eviction: the project's Worker (wrangler.toml: the
 * app with its Durable Objects; the bench Worker has none), bundled by `wrangler deploy --dry-run`
 * and served by the workerd binary from a config written here, its objects' SQLite on disk in
 * bench/.out. Sessions of hello (GET /bus/hello/<name>, msgpack frames over a WebSocket) each make
 * two calls, which save their instance; then workerd is stopped (the process exits: nothing in
 * memory survives) and started again on the same storage. Once the isolate is warm (plain calls,
 * and two sessions woken first, not counted), each saved session is woken by connect + greet (its
 * object is constructed and restores the snapshot from its SQLite), then, now live, connect +
 * greet again (the baseline, paired per session) and greets on the open socket. A session never
 * saved, woken alike beside each, shows an object's construction without a restore. A process of
 * echo-daemon (its count of calls served lives in its memory) checks that restores happen: it must
 * count on after the restart.
 */
async function workerdWake({ quick }) {
  const WebSocket = require("ws");
  const { pack, unpack } = require("msgpackr");
  const dir = join(out, "worker-snapshot");
  bundleWorker(dir, join(root, "wrangler.toml"));
  const state = join(dir, "state");
  mkdirSync(state, { recursive: true });
  const port = await freePort();
  const config = writeConfig(dir, state, port);
  const origin = `http://127.0.0.1:${port}`;
  const GREET = utf8.encode('{"name":"Ada"}');
  const deadline = (ms, what) => new Promise((_, reject) => setTimeout(() => reject(new Error(`snapshot (workerd): no ${what} in ${ms} ms`)), ms).unref());

  let child;
  async function start() {
    child = await serveWorkerd(dir, config, async () => (await fetch(`${origin}/modules`)).ok, "snapshot (workerd)");
  }
  async function stop() {
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await Promise.race([exited, deadline(10_000, "exit of workerd")]);
  }

  /** A bus client on session `name` of hello: resolves once the socket is open. */
  async function open(name) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/bus/hello/${name}`);
    const waiting = new Map();
    ws.on("message", (data) => {
      const frame = unpack(data);
      waiting.get(frame.id)?.(frame);
    });
    await Promise.race([
      new Promise((resolve, reject) => {
        ws.once("open", resolve);
        ws.once("error", reject);
        ws.once("unexpected-response", (_req, res) => reject(new Error(`snapshot (workerd): GET /bus/hello/${name} answered ${res.statusCode}`)));
      }),
      deadline(10_000, `WebSocket to session ${name}`),
    ]);
    let next = 0;
    const greet = async () => {
      const id = ++next;
      const reply = new Promise((resolve) => waiting.set(id, resolve));
      ws.send(pack({ type: "call", id, topic: "greet", format: "json", payload: GREET }));
      const frame = await Promise.race([reply, deadline(10_000, `reply from session ${name}`)]);
      waiting.delete(id);
      const body = frame.type === "reply" ? new TextDecoder().decode(frame.payload) : "";
      if (body !== '{"message":"Hello, Ada!"}') throw new Error(`snapshot (workerd): session ${name} answered ${JSON.stringify(frame)}`);
    };
    return { greet, close: () => ws.close() };
  }
  const connectAndGreet = async (name) => {
    const t0 = now();
    const client = await open(name);
    await client.greet();
    const ns = Number(now() - t0);
    client.close();
    return ns;
  };
  const post = async (path, body) => {
    const res = await fetch(`${origin}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`snapshot (workerd): POST ${path} answered ${res.status} ${await res.text()}`);
    return res.json();
  };

  const warm = 2;
  const count = quick ? 6 : 15;
  const names = Array.from({ length: warm + count }, (_, i) => `bench-${i}`);
  await start();
  try {
    const { id } = await post("/processes", { module: "echo-daemon", args: [] });
    let served;
    for (let i = 0; i < 3; i++) served = (await post(`/processes/${id}/call/echo`, { i })).served;
    // Each session's first call makes its instance; each rest is saved.
    for (const name of names) {
      const client = await open(name);
      await client.greet();
      await client.greet();
      client.close();
    }
    await stop();
    await start();
    const after = (await post(`/processes/${id}/call/echo`, { i: 3 })).served;
    if (after !== served + 1) throw new Error(`snapshot (workerd): echo-daemon served ${served} calls before the restart and counts ${after} after one more: its memory was not restored`);
    for (let i = 0; i < 50; i++) await post("/call/hello/greet", { name: "Ada" });
    const rec = { wake: [], fresh: [], reconnect: [], live: [], ratio: [], freshRatio: [], liveRatio: [] };
    for (const [i, name] of names.entries()) {
      // In turn, the saved session first or the one never saved first.
      const t = {};
      for (const step of i % 2 ? ["fresh", "wake"] : ["wake", "fresh"]) t[step] = await connectAndGreet(step === "wake" ? name : `new-${name}`);
      const reconnect = await connectAndGreet(name);
      const client = await open(name);
      const greets = [];
      for (let k = 0; k < 5; k++) {
        const t0 = now();
        await client.greet();
        greets.push(Number(now() - t0));
      }
      client.close();
      if (i < warm) continue;
      rec.wake.push(t.wake);
      rec.fresh.push(t.fresh);
      rec.reconnect.push(reconnect);
      rec.live.push(median(greets));
      rec.ratio.push(t.wake / reconnect);
      rec.freshRatio.push(t.fresh / reconnect);
      rec.liveRatio.push(t.wake / median(greets));
    }
    return { count, ...Object.fromEntries(Object.entries(rec).map(([k, v]) => [k, median(v)])) };
  } finally {
    await stop().catch(() => child?.kill("SIGKILL"));
  }
}
