#!/usr/bin/env node
// Measures candidate runtime changes without touching src/: each experiment
// is a list of edits applied to a copy of src/ (bench/.out/exp/<name>/src),
// bundled exactly like the real core, and measured against an unedited copy
// bundled the same way, in the same process, interleaved (Node), or against
// the unedited Worker served by a second workerd at the same time (endpoint).
//
//   node bench/experiment.mjs                 every experiment, Node workloads
//   node bench/experiment.mjs edge-body --endpoint
//
// An edit that no longer matches src/ (the code moved on) is reported as not
// applicable. Results feed the recommendations in docs/performance.md.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { buildAll, bundleCore } from "./lib/build.mjs";
import { out, root } from "./lib/paths.mjs";

export const EXPERIMENTS = {
  "a-a": { what: "no change: an unedited copy against the unedited base, to show the noise floor", edits: [] },
  "edge-body": {
    what: "HTTP edge (readCapped): read a body whose Content-Length is declared and within the limit in one native arrayBuffer() instead of async-iterating the stream",
    edits: [
      {
        file: "src/bytes.ts",
        find: "  if (!body) return new Uint8Array();\n  const chunks: Uint8Array[] = [];",
        replace:
          "  if (!body) return new Uint8Array();\n  // The HTTP layer holds a body to its declared length: one native read, no per-chunk promises.\n  if (declared !== null && declared !== \"\" && Number(declared) <= limit) return new Uint8Array(await new Response(body).arrayBuffer());\n  const chunks: Uint8Array[] = [];",
      },
    ],
  },
  "memory-view": {
    what: "GuestMemory: notice a grown memory by its detached view (length 0) instead of reading memory.buffer on every access; index the ASCII loop",
    edits: [
      { file: "src/memory.ts", find: "if (this.#bytes.buffer !== this.#memory.buffer) this.#bytes", replace: "if (this.#bytes.length === 0) this.#bytes" },
      { file: "src/memory.ts", find: "for (const b of bytes) {", replace: "for (let i = 0; i < bytes.length; i++) {\n        const b = bytes[i]!;" },
    ],
  },
  "dispatch-once": {
    what: "Runtime.dispatch: look the service up once (not again for the topic) and test the format without allocating an array",
    edits: [
      {
        file: "src/runtime.ts",
        find: "    const spec = this.topic(call.wapm, call.topic);\n    const given = formatName(call.request.format)!;\n    if (!(spec.accepts ?? [spec.format]).includes(given)) {",
        replace:
          '    const spec = service.topics[call.topic];\n    if (!spec) throw BusError.of("InvalidTopic", `module ${call.wapm} has no topic ${call.topic}`);\n    const given = formatName(call.request.format)!;\n    if (spec.format !== given && !spec.accepts?.includes(given)) {',
      },
    ],
  },
  "json-fast": {
    what: "JSON codec: parse without the reviver unless the text has a 16-digit run; stringify a prepared copy (bytes as arrays, bigints as rawJSON) without a replacer",
    edits: [
      {
        file: "src/codec/index.ts",
        find: "  // Integers past 2^53 keep their digits as bigint (u64/u128 fields).\n  return JSON.parse(text.decode(data),",
        replace: "  // Integers past 2^53 keep their digits as bigint (u64/u128 fields).\n  const source = text.decode(data);\n  if (!/\\d{16}/.test(source)) return JSON.parse(source);\n  return JSON.parse(source,",
      },
      {
        file: "src/codec/index.ts",
        find: "export function stringifyJson(value: unknown): string {",
        replace:
          "export function stringifyJson(value: unknown): string {\n  return JSON.stringify(prepareJson(value ?? null));\n}\n\nfunction prepareJson(v: unknown): unknown {\n  if (typeof v === \"bigint\") return JSON.rawJSON(v.toString());\n  if (v === null || typeof v !== \"object\") return v;\n  if (v instanceof Uint8Array) return Array.from(v);\n  if (Array.isArray(v)) return v.map(prepareJson);\n  if (typeof (v as { toJSON?: unknown }).toJSON === \"function\") return v;\n  const out: Record<string, unknown> = {};\n  for (const k of Object.keys(v)) out[k] = prepareJson((v as Record<string, unknown>)[k]);\n  return out;\n}\n\nexport function stringifyJsonOld(value: unknown): string {",
      },
    ],
  },
  "instance-reuse": {
    what: "Keep one idle instance per module and serve the next plain call on it instead of instantiating (a design change: module globals then outlive a request)",
    edits: [
      {
        file: "src/guest.ts",
        find: "  get broken(): boolean {",
        replace: "  /** No calls either way, nothing queued, not broken: can serve another call as if fresh (bar its globals). */\n  get idle(): boolean {\n    return this.#handles.live === 0 && !this.#queue.length && !this.#suspended && !this.#broken;\n  }\n\n  get broken(): boolean {",
      },
      {
        file: "src/runtime.ts",
        find: "        Guest.create(module, runtime).accept(call);",
        replace:
          "        const guest = idleGuests.get(module.name)?.pop() ?? Guest.create(module, runtime);\n        guest.accept(call);\n        call.onEnd(() => queueMicrotask(() => {\n          const pool = idleGuests.get(module.name) ?? idleGuests.set(module.name, []).get(module.name)!;\n          if (guest.idle && pool.length < 4 && !pool.includes(guest)) pool.push(guest);\n        }));",
      },
      { file: "src/runtime.ts", find: "function moduleService(", replace: "const idleGuests = new Map<string, Guest[]>();\n\nfunction moduleService(" },
    ],
  },
};

function makeTree(name, edits) {
  const tree = join(out, "exp", name);
  rmSync(tree, { recursive: true, force: true });
  mkdirSync(join(tree, "bench"), { recursive: true });
  cpSync(join(root, "src"), join(tree, "src"), { recursive: true });
  cpSync(join(root, "bench/core.ts"), join(tree, "bench/core.ts"));
  cpSync(join(root, "bench/worker"), join(tree, "bench/worker"), { recursive: true });
  cpSync(join(root, "bench/wrangler.toml"), join(tree, "bench/wrangler.toml"));
  symlinkSync(join(root, "build"), join(tree, "build"));
  const missing = [];
  for (const e of edits) {
    const file = join(tree, e.file);
    const text = readFileSync(file, "utf8");
    if (!text.includes(e.find)) missing.push(`${e.file}: ${e.find.split("\n")[0].slice(0, 70)}`);
    else writeFileSync(file, text.replace(e.find, e.replace));
  }
  return { tree, missing };
}

function bundleWorker(tree) {
  const dir = join(tree, ".worker");
  execFileSync(process.execPath, [join(root, "node_modules/wrangler/bin/wrangler.js"), "deploy", "--dry-run", "--outdir", dir, "-c", join(tree, "bench/wrangler.toml")], {
    cwd: root, env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" }, stdio: ["ignore", "ignore", "inherit"], timeout: 120_000,
  });
  return dir;
}

// ---- Node workloads, base and experiment interleaved in one process ----------

async function nodeCompare(baseCore, expCore, { samples, targetMs }) {
  const bus = await import("./lib/bus.mjs");
  const { measure, ratio } = await import("./lib/stats.mjs");
  const [A, B] = [bus.kit(await import(pathToFileURL(baseCore).href)), bus.kit(await import(pathToFileURL(expCore).href))];
  const hello = bus.projectModule("hello");
  const data16 = bus.payload("raw", 16);
  const greet = new TextEncoder().encode('{"name":"Ada"}');
  const fetchResponse = { status: 200, headers: [["content-type", "application/octet-stream"], ["content-length", "1024"]], body: Uint8Array.from({ length: 1024 }, (_, i) => i & 0xff) };
  const setups = [A, B].map((k) => {
    const runtime = k.makeRuntime({ hello });
    const live = k.core.Guest.create(runtime.modules.get("bench-echo"), runtime, {});
    return { k, runtime, live };
  });
  const workloads = {
    "bus round trip 16 B": (s) => (n) => s.k.accept(s.live, "bench-echo", "bench", 0, bus.withCount(n, data16)),
    "invoke, live instance, 16 B": (s) => async (n) => {
      for (let i = 0; i < n; i++) await s.k.accept(s.live, "bench-echo", "once", 0, data16);
    },
    "hello greet call (per-request path)": (s) => async (n) => {
      for (let i = 0; i < n; i++) await s.k.dispatch(s.runtime, "hello", "greet", 1, greet);
    },
    "JSON encode+decode, fetch response 1 KiB": (s) => (n) => {
      for (let i = 0; i < n; i++) s.k.core.decode(1, s.k.core.encode(1, fetchResponse));
    },
  };
  const results = {};
  for (const [name, make] of Object.entries(workloads)) {
    const m = await measure({ base: make(setups[0]), exp: make(setups[1]) }, { samples, targetMs });
    results[name] = { base: m.base.ns, exp: m.exp.ns, ratio: ratio(m.exp, m.base) };
  }
  bus.assertNoProblems("experiment");
  return results;
}

// ---- the endpoint: two workerds, loaded in turn ----------------------------------

async function endpointCompare(baseTree, expTree, { rounds, durationS }) {
  const { Miniflare, convertV4MiniflareOptions } = await import("miniflare");
  const require = createRequire(import.meta.url);
  const autocannon = require("autocannon");
  const { median, percentile } = await import("./lib/stats.mjs");
  const start = async (tree) => {
    const dir = bundleWorker(tree);
    const modules = [{ type: "ESModule", path: join(dir, "index.js") }, ...readdirSync(dir).filter((f) => f.endsWith(".wasm")).map((f) => ({ type: "CompiledWasm", path: join(dir, f) }))];
    const mf = new Miniflare(convertV4MiniflareOptions({ host: "127.0.0.1", port: 0, modules, compatibilityDate: "2026-11-01" }));
    const ready = await mf.ready;
    return { mf, url: new URL("/call/hello/greet", ready).href, plain: new URL("/plain/greet", ready).href };
  };
  const load = (url, s) => new Promise((resolve, reject) => {
    const lat = [];
    const inst = autocannon({ url, method: "POST", headers: { "content-type": "application/json" }, body: '{"name":"Ada"}', connections: 10, duration: s }, (e, r) => {
      if (e) return reject(e);
      lat.sort((a, b) => a - b);
      resolve({ p50: percentile(lat, 50), p99: percentile(lat, 99), rps: lat.length / s, bad: r.non2xx + r.errors });
    });
    inst.on("response", (_c, status, _b, ms) => status === 200 && lat.push(ms));
  });
  const base = await start(baseTree);
  const exp = await start(expTree);
  try {
    const urls = { base: base.url, exp: exp.url, plain: base.plain };
    for (const u of Object.values(urls)) await load(u, 1);
    const runs = { base: [], exp: [], plain: [] };
    for (let r = 0; r < rounds; r++) for (const n of r % 2 ? ["plain", "exp", "base"] : ["base", "exp", "plain"]) runs[n].push(await load(urls[n], durationS));
    const ratioOf = (k, a = "exp", b = "base") => median(runs[a].map((x, i) => x[k] / runs[b][i][k]));
    return {
      "endpoint p50, 10 connections (ms)": { base: median(runs.base.map((x) => x.p50)), exp: median(runs.exp.map((x) => x.p50)), ratio: ratioOf("p50") },
      "endpoint p99, 10 connections (ms)": { base: median(runs.base.map((x) => x.p99)), exp: median(runs.exp.map((x) => x.p99)), ratio: ratioOf("p99") },
      "endpoint requests/s": { base: median(runs.base.map((x) => x.rps)), exp: median(runs.exp.map((x) => x.rps)), ratio: ratioOf("rps") },
      "endpoint p50 / plain route p50 (x)": { base: ratioOf("p50", "base", "plain"), exp: ratioOf("p50", "exp", "plain"), ratio: ratioOf("p50", "exp", "plain") / ratioOf("p50", "base", "plain") },
      bad: Object.values(runs).flat().reduce((n, x) => n + x.bad, 0),
    };
  } finally {
    await base.mf.dispose();
    await exp.mf.dispose();
  }
}

// ---- main ----------------------------------------------------------------------

EXPERIMENTS.combined = {
  what: `all of the above together: ${Object.keys(EXPERIMENTS).filter((n) => n !== "a-a").join(", ")}`,
  edits: Object.values(EXPERIMENTS).flatMap((x) => x.edits),
};

const args = process.argv.slice(2);
if (args[0] === "--child") {
  const [, baseCore, expCore, samples, targetMs] = args;
  const r = await nodeCompare(baseCore, expCore, { samples: +samples, targetMs: +targetMs });
  process.stdout.write(`@@result ${JSON.stringify(r)}\n`);
  process.exit(0);
}
const withEndpoint = args.includes("--endpoint");
const names = args.filter((a) => !a.startsWith("--"));
await buildAll();
const base = makeTree("base", []);
const baseCore = join(base.tree, "core.mjs");
bundleCore(base.tree, baseCore);
for (const name of names.length ? names : Object.keys(EXPERIMENTS)) {
  const x = EXPERIMENTS[name];
  if (!x) throw new Error(`no experiment ${name}; there are: ${Object.keys(EXPERIMENTS).join(", ")}`);
  const { tree, missing } = makeTree(name, x.edits);
  console.log(`\n## ${name}: ${x.what}`);
  if (missing.length) {
    console.log(`   does not apply to this src (it moved on?): ${missing.join("; ")}`);
    continue;
  }
  const expCore = join(tree, "core.mjs");
  bundleCore(tree, expCore);
  const child = execFileSync(process.execPath, ["--no-warnings", join(root, "bench/experiment.mjs"), "--child", baseCore, expCore, "15", "25"], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], timeout: 300_000 });
  const results = JSON.parse(child.split("\n").find((l) => l.startsWith("@@result ")).slice(9));
  if (withEndpoint) Object.assign(results, await endpointCompare(base.tree, tree, { rounds: 4, durationS: 4 }));
  for (const [w, r] of Object.entries(results)) {
    if (w === "bad") continue;
    const fmt = (v) => (w.includes("(x)") ? `${v.toFixed(2)}x` : w.includes("(ms)") ? `${v.toFixed(2)} ms` : w.includes("requests/s") ? `${v.toFixed(0)}/s` : v < 1000 ? `${v.toFixed(0)} ns` : `${(v / 1000).toFixed(2)} us`);
    console.log(`   ${w.padEnd(42)} ${fmt(r.base).padStart(10)} -> ${fmt(r.exp).padStart(10)}   ${r.ratio.toFixed(3)}x`);
  }
  if (results.bad) console.log(`   (${results.bad} failed requests)`);
}
