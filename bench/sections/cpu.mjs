// 7. CPU per request, straight against workerd: POST /call/hello/greet (the bus, the module in
// Wasm) against POST /plain/greet (a route of the same Worker answering the same JSON without
// the bus) and against the same greeting written in plain JavaScript (bench/worker/js-greet.js,
// a Worker of its own). One workerd process serves both Workers from a config written here (no
// Miniflare, no wrangler dev proxy in front); autocannon sends a fixed number of requests per
// round, the routes taking turns, and the CPU time workerd spent (every thread, from
// /proc/<pid>/task/*/schedstat, in ns) over a round divided by its requests is the CPU per
// request. Requests per second per core is its inverse. All on 127.0.0.1, bounded in time.
import { copyFileSync, readdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { out, root } from "../lib/paths.mjs";
import { bundleWorker, cpuNs, freePort, serveWorkerd } from "../lib/workerd.mjs";
import { median } from "../lib/stats.mjs";

const require = createRequire(import.meta.url);
const autocannon = require("autocannon");
const BODY = '{"name":"Ada"}';

function bundle() {
  const dir = join(out, "worker-cpu");
  bundleWorker(dir, join(root, "bench/wrangler.toml"));
  copyFileSync(join(root, "bench/worker/js-greet.js"), join(dir, "js-greet.js"));
  return dir;
}

/** Isolates per route: one isolate's draw (its heap, its JIT's choices) moves its CPU by up to a tenth. */
const ISOLATES = 3;

/**
 * A config for workerd: each route served by ISOLATES Workers of its own (the bench Worker for the
 * bus and the plain route, the JavaScript greeting), each Worker on a socket of its own.
 */
function writeConfig(dir, ports) {
  const wasm = readdirSync(dir).filter((f) => f.endsWith(".wasm"));
  const date = "2026-11-01";
  const bench = `modules = [
    (name = "index.js", esModule = embed "index.js"),
${wasm.map((f) => `    (name = "${f}", wasm = embed "${f}"),`).join("\n")}
  ],
  compatibilityDate = "${date}",`;
  const js = `modules = [ (name = "js-greet.js", esModule = embed "js-greet.js") ], compatibilityDate = "${date}",`;
  const names = Object.keys(ports);
  const config = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ ${names.map((n) => `(name = "${n}", worker = .${n})`).join(", ")} ],
  sockets = [
${names.map((n) => `    (name = "${n}", address = "127.0.0.1:${ports[n]}", http = (), service = "${n}"),`).join("\n")}
  ],
);
${names.map((n) => `const ${n} :Workerd.Worker = ( ${n.startsWith("js") ? js : bench} );`).join("\n")}
`;
  const file = join(dir, "config.capnp");
  writeFileSync(file, config);
  return file;
}

function load(url, { connections, amount }) {
  return new Promise((resolve, reject) => {
    autocannon({ url, method: "POST", headers: { "content-type": "application/json" }, body: BODY, connections, amount, timeout: 10 }, (err, result) =>
      err ? reject(err) : resolve({ ok: result["2xx"], bad: result.non2xx + result.errors + result.timeouts, seconds: result.duration }),
    );
  });
}

export async function run({ quick }) {
  const dir = bundle();
  const routes = { bus: "/call/hello/greet", plain: "/plain/greet", js: "/greet" };
  const names = Object.keys(routes);
  // Worker names: bus0..bus2, plain0..plain2, js0..js2.
  const ports = {};
  for (const name of names) for (let i = 0; i < ISOLATES; i++) ports[`${name}${i}`] = await freePort();
  const urls = Object.fromEntries(names.map((n) => [n, Array.from({ length: ISOLATES }, (_, i) => `http://127.0.0.1:${ports[`${n}${i}`]}${routes[n]}`)]));
  const all = names.flatMap((n) => urls[n]);
  const post = (url) => fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: BODY });
  const up = async () => {
    for (const url of all) if (!(await post(url)).ok) return false;
    return true;
  };
  const child = await serveWorkerd(dir, writeConfig(dir, ports), up, "cpu");
  try {
    // Same request, same answer, on every Worker.
    const answers = {};
    for (const url of all) {
      const res = await post(url);
      answers[url] = `${res.status} ${res.headers.get("content-type")} ${await res.text()}`;
    }
    const first = answers[urls.bus[0]];
    if (new Set(Object.values(answers)).size !== 1 || !first.startsWith("200 application/json")) throw new Error(`cpu: routes answer differently: ${JSON.stringify(answers)}`);

    const connections = 4;
    const amount = quick ? 1500 : 4000;
    const rounds = quick ? 3 : 7;
    // A round's requests of a route are split over its isolates.
    const share = Math.ceil(amount / ISOLATES);
    for (const url of all) await load(url, { connections, amount: 1000 }); // warm up (JIT, the pool)
    const perRequest = Object.fromEntries(names.map((n) => [n, []]));
    for (let r = 0; r < rounds; r++) {
      const order = names.map((_, i) => names[(i + r) % names.length]); // each route takes each place in turn
      for (const name of order) {
        let used = 0;
        for (const url of urls[name]) {
          const before = cpuNs(child.pid);
          const result = await load(url, { connections, amount: share });
          used += cpuNs(child.pid) - before;
          if (result.bad || result.ok !== share) throw new Error(`cpu ${name}: ${result.bad} failed of ${share}`);
        }
        perRequest[name].push(used / (share * ISOLATES) / 1000);
      }
    }
    const us = Object.fromEntries(names.map((n) => [n, median(perRequest[n])]));
    const ratioTo = (base) => median(perRequest.bus.map((x, i) => x / perRequest[base][i]));
    const vsJs = ratioTo("js");
    const vsPlain = ratioTo("plain");
    const section = `7. CPU per request, straight against workerd (${connections} connections, ${rounds}x${share * ISOLATES} requests each, over ${ISOLATES} isolates a route)`;
    const rows = [
      { section, name: "greeting in plain JavaScript, a Worker of its own (baseline)", value: us.js, unit: "us CPU" },
      { section, name: "plain route of the bench Worker (hono, no bus)", value: us.plain, unit: "us CPU" },
      { section, name: "POST /call/hello/greet (bus, AssemblyScript module)", value: us.bus, unit: "us CPU" },
      { section, name: "  bus / plain route", ratio: vsPlain, vs: "plain route" },
      { section, name: "  bus / JavaScript greeting", ratio: vsJs, vs: "JavaScript", target: { text: "<= 1.3x the JavaScript greeting", met: vsJs <= 1.3, margin: 1.3 / vsJs } },
      { section, name: "greeting in plain JavaScript, requests/s per core", value: 1e6 / us.js, unit: "req/s" },
      { section, name: "plain route, requests/s per core", value: 1e6 / us.plain, unit: "req/s" },
      { section, name: "POST /call/hello/greet, requests/s per core", value: 1e6 / us.bus, unit: "req/s" },
    ];
    const keys = {
      endpoint_cpu_us: us.bus,
      endpoint_cpu_plain_us: us.plain,
      endpoint_cpu_js_us: us.js,
      vs_js_endpoint_ratio: vsJs,
      vs_plain_endpoint_cpu_ratio: vsPlain,
      endpoint_rps_per_core: 1e6 / us.bus,
      endpoint_js_rps_per_core: 1e6 / us.js,
    };
    return { rows, keys };
  } finally {
    child.kill("SIGTERM");
  }
}
