#!/usr/bin/env node
// CPU profiles of the bench's hot paths, for the evidence behind
// docs/performance.md. Not part of `npm run bench`.
//
//   node bench/profile.mjs roundtrip|invoke|instantiate|request   (runtime core in Node)
//   node bench/profile.mjs now|now-module                          (the same round trip on ABI v2's call_now: to os echo.echo, to another module)
//   BENCH_MODULE=hello-rs node bench/profile.mjs instantiate        (another module than hello)
//   node bench/profile.mjs endpoint [seconds] [path]               (workerd, over the inspector)
//   BENCH_TREE=<a copy of the repo, relative to it> node bench/profile.mjs endpoint   (another tree's Worker)
//   BENCH_PROFILE_US=400 node bench/profile.mjs endpoint           (a coarser sampling interval: less overhead in workerd)
//
// Run after `npm run bench` (or `npm run bench -- --only=roundtrip`) has built
// bench/.out. Prints self and inclusive time per function and writes the raw
// profile to bench/.out/<target>.cpuprofile (open it in Chrome DevTools).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { out } from "./lib/paths.mjs";
import { printSummary, summarize } from "./lib/profile.mjs";

const target = process.argv[2] ?? "roundtrip";
const seconds = Number(process.argv[3] ?? 3);

/** Categories of the round trip, as regexes over "function (file:line)". */
const BUS_SHARES = {
  "AbortController/AbortSignal (BusCall #abort, abort event)": /AbortController|AbortSignal|abortSignal|runAbort|^Event |event_target|EventTarget|dispatchEvent|addEventListener/,
  "strings: wapm/topic UTF-8 decode (readString)": /readString/,
  "guest memory views (#view, get buffer)": /#view|get buffer|get size/,
  "handle table (HandleTable)": /^(add|set|get|remove|release|handleOf) \(core/,
  "BusCall construction": /^BusCall|^_BusCall/,
  "Runtime.dispatch (service/topic lookup)": /^dispatch \(core/,
  "delivery queue (#deliver, microtask, #drainNow)": /#deliver|#drainNow|runMicrotasks/,
  "call_now (callNow, NowSink, writeOut)": /callNow|NowSink|^finish \(core|writeOut/,
  "an instance entered at once (#enterNow)": /#enterNow/,
  "guest code (wasm-function)": /wasm-function/,
  "garbage collector": /garbage collector/,
};

async function inNode(run) {
  const { Session } = await import("node:inspector/promises");
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 50 });
  await run(0.5); // warm up unprofiled
  await session.post("Profiler.start");
  await run(seconds);
  const { profile } = await session.post("Profiler.stop");
  session.disconnect();
  return profile;
}

async function profileNode() {
  const bus = await import("./lib/bus.mjs");
  const { core } = bus;
  const until = (s) => Date.now() + s * 1000;
  const data16 = bus.payload("raw", 16);
  if (target === "now" || target === "now-module") {
    const runtime = bus.makeRuntime();
    const g = core.Guest.create(runtime.modules.get("bench-now"), runtime, {});
    const topic = target === "now" ? "bench" : "bench-module";
    return inNode(async (s) => {
      const end = until(s);
      while (Date.now() < end) await bus.accept(g, "bench-now", topic, 0, bus.withCount(10_000, data16));
    });
  }
  if (target === "roundtrip" || target === "invoke") {
    const runtime = bus.makeRuntime();
    const g = core.Guest.create(runtime.modules.get("bench-echo"), runtime, {});
    return inNode(async (s) => {
      const end = until(s);
      while (Date.now() < end) {
        if (target === "roundtrip") await bus.accept(g, "bench-echo", "bench", 0, bus.withCount(10_000, data16));
        else for (let i = 0; i < 1000; i++) await bus.accept(g, "bench-echo", "once", 0, data16);
      }
    });
  }
  // BENCH_MODULE=hello-rs profiles the Rust hello instead.
  const name = process.env.BENCH_MODULE ?? "hello";
  const runtime = bus.makeRuntime({ [name]: bus.projectModule(name) });
  const greet = new TextEncoder().encode('{"name":"Ada"}');
  return inNode(async (s) => {
    const end = until(s);
    while (Date.now() < end) {
      if (target === "instantiate") for (let i = 0; i < 100; i++) core.Guest.create(runtime.modules.get(name), runtime);
      else for (let i = 0; i < 100; i++) await bus.dispatch(runtime, name, "greet", 1, greet);
    }
  });
}

async function profileWorkerd() {
  const { execFileSync } = await import("node:child_process");
  const { readdirSync } = await import("node:fs");
  const { createRequire } = await import("node:module");
  const { root } = await import("./lib/paths.mjs");
  const { Miniflare, convertV4MiniflareOptions } = await import("miniflare");
  const require = createRequire(import.meta.url);
  const autocannon = require("autocannon");
  const { WebSocket } = require("ws");
  // BENCH_TREE=<dir> profiles the Worker of another tree (a copy of the repo under this one).
  const tree = process.env.BENCH_TREE ? join(root, process.env.BENCH_TREE) : root;
  const dir = join(out, "worker-profile");
  execFileSync(process.execPath, [join(root, "node_modules/wrangler/bin/wrangler.js"), "deploy", "--dry-run", "--outdir", dir, "-c", join(tree, "bench/wrangler.toml")], {
    cwd: root, env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" }, stdio: ["ignore", "ignore", "inherit"],
  });
  const modules = [{ type: "ESModule", path: join(dir, "index.js") }, ...readdirSync(dir).filter((f) => f.endsWith(".wasm")).map((f) => ({ type: "CompiledWasm", path: join(dir, f) }))];
  const inspectorPort = 9000 + Math.floor(Math.random() * 1000);
  const mf = new Miniflare(convertV4MiniflareOptions({ host: "127.0.0.1", port: 0, inspectorPort, modules, compatibilityDate: "2026-11-01", name: "bench" }));
  try {
    const base = await mf.ready;
    const path = process.argv[4] ?? "/call/hello/greet";
    const load = (s) => new Promise((resolve, reject) =>
      autocannon({ url: new URL(path, base).href, method: "POST", headers: { "content-type": "application/json" }, body: '{"name":"Ada"}', connections: 10, duration: s }, (e, r) => (e ? reject(e) : resolve(r))));
    await load(1);
    const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json();
    const t = targets.find((x) => x.title?.includes("bench")) ?? targets.find((x) => !x.title?.startsWith("core:")) ?? targets[0];
    const ws = new WebSocket(t.webSocketDebuggerUrl);
    await new Promise((r, j) => (ws.once("open", r), ws.once("error", j)));
    let id = 0;
    const pending = new Map();
    ws.on("message", (m) => {
      const msg = JSON.parse(m);
      if (msg.id && pending.has(msg.id)) pending.get(msg.id)(msg);
    });
    const post = (method, params = {}) => new Promise((r) => {
      pending.set(++id, r);
      ws.send(JSON.stringify({ id, method, params }));
    });
    await post("Profiler.enable");
    await post("Profiler.setSamplingInterval", { interval: Number(process.env.BENCH_PROFILE_US ?? 100) });
    await post("Profiler.start");
    const result = await load(seconds);
    const { result: { profile } } = await post("Profiler.stop");
    ws.close();
    console.log(`workerd target "${t.title}", ${result.requests.total} requests of ${path} in ${seconds} s`);
    return profile;
  } finally {
    await mf.dispose();
  }
}

const profile = target === "endpoint" ? await profileWorkerd() : await profileNode();
const file = join(out, `${target}.cpuprofile`);
writeFileSync(file, JSON.stringify(profile));
printSummary(target, summarize(profile), {
  shares: {
    ...BUS_SHARES,
    "instantiation (WebAssembly.Instance, Guest.create)": /Instance|^create \(core|Guest|WebAssembly/,
    "fuel meter (tick, #refuel)": /#refuel|wasm-function\[0\]/,
    "HTTP edge (hono app, readCapped, decode)": /hono|readCapped|^decode|parseJson|app\.(ts|js)/,
  },
});
console.log(`\nraw profile: ${file}`);
process.exit(0);
