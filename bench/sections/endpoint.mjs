// 4. The HTTP endpoint under load: POST /call/hello/greet against a plain
// route of the same Worker returning the same JSON (bench/worker/index.ts),
// both served by one local workerd (Miniflare, the Worker bundled by
// `wrangler deploy --dry-run`), driven by autocannon on 127.0.0.1, bounded in
// time. Rounds alternate plain / bus so drift hits both; latencies are taken
// per request from autocannon's response events (its own histogram rounds to
// whole milliseconds).
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { out, root } from "../lib/paths.mjs";
import { median, percentile } from "../lib/stats.mjs";

const require = createRequire(import.meta.url);
const autocannon = require("autocannon");
const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" };

function bundleWorker() {
  const dir = join(out, "worker");
  rmSync(dir, { recursive: true, force: true });
  execFileSync(process.execPath, [join(root, "node_modules/wrangler/bin/wrangler.js"), "deploy", "--dry-run", "--outdir", dir, "-c", join(root, "bench/wrangler.toml")], {
    cwd: root, env, stdio: ["ignore", "ignore", "inherit"], timeout: 120_000,
  });
  return dir;
}

function load(url, { connections, durationS }) {
  return new Promise((resolve, reject) => {
    const latencies = [];
    const instance = autocannon(
      { url, method: "POST", headers: { "content-type": "application/json" }, body: '{"name":"Ada"}', connections, duration: durationS, timeout: 10 },
      (err, result) => {
        if (err) return reject(err);
        latencies.sort((a, b) => a - b);
        resolve({
          p50: percentile(latencies, 50),
          p99: percentile(latencies, 99),
          rps: latencies.length / durationS,
          count: latencies.length,
          bad: result.non2xx + result.errors + result.timeouts,
        });
      },
    );
    instance.on("response", (_client, status, _bytes, ms) => {
      if (status === 200) latencies.push(ms);
    });
  });
}

export async function run({ quick }) {
  const { Miniflare, convertV4MiniflareOptions } = await import("miniflare");
  const dir = bundleWorker();
  const modules = [{ type: "ESModule", path: join(dir, "index.js") }, ...readdirSync(dir).filter((f) => f.endsWith(".wasm")).map((f) => ({ type: "CompiledWasm", path: join(dir, f) }))];
  const mf = new Miniflare(convertV4MiniflareOptions({ host: "127.0.0.1", port: 0, modules, compatibilityDate: "2026-11-01" }));
  try {
    const base = await mf.ready;
    const urls = { plain: new URL("/plain/greet", base).href, bus: new URL("/call/hello/greet", base).href };
    // Same request, same answer, on both routes.
    const answers = {};
    for (const [name, url] of Object.entries(urls)) {
      const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: '{"name":"Ada"}' });
      answers[name] = `${res.status} ${res.headers.get("content-type")} ${await res.text()}`;
    }
    if (answers.plain !== answers.bus || !answers.bus.startsWith("200 application/json")) throw new Error(`endpoint: routes answer differently: ${JSON.stringify(answers)}`);

    const rounds = quick ? 2 : 4;
    const durationS = quick ? 3 : 6;
    const rows = [];
    const keys = {};
    for (const connections of quick ? [10] : [1, 10]) {
      await load(urls.plain, { connections, durationS: 1 }); // warm up both
      await load(urls.bus, { connections, durationS: 1 });
      const runs = { plain: [], bus: [] };
      for (let r = 0; r < rounds; r++) {
        for (const name of r % 2 ? ["bus", "plain"] : ["plain", "bus"]) runs[name].push(await load(urls[name], { connections, durationS }));
      }
      for (const name of ["plain", "bus"]) {
        const bad = runs[name].reduce((n, x) => n + x.bad, 0);
        if (bad) throw new Error(`endpoint ${name}: ${bad} failed requests`);
      }
      const med = (name, key) => median(runs[name].map((x) => x[key]));
      const ratioOf = (key) => median(runs.bus.map((x, i) => x[key] / runs.plain[i][key]));
      const section = `4. endpoint, ${connections} connection${connections > 1 ? "s" : ""}, ${rounds}x${durationS}s each`;
      const ms = (v) => v * 1e6; // rows hold ns
      rows.push({ section, name: "plain route p50 (baseline)", ns: ms(med("plain", "p50")) });
      rows.push({ section, name: "POST /call/hello/greet p50", ns: ms(med("bus", "p50")), vs: "plain", ratio: ratioOf("p50"), ...(connections === 10 ? { target: { text: "<= 1.2x plain", met: ratioOf("p50") <= 1.2 } } : {}) });
      rows.push({ section, name: "plain route p99", ns: ms(med("plain", "p99")) });
      rows.push({ section, name: "POST /call/hello/greet p99", ns: ms(med("bus", "p99")), vs: "plain", ratio: ratioOf("p99") });
      rows.push({ section, name: "plain route requests/s", value: med("plain", "rps"), unit: "req/s" });
      rows.push({ section, name: "POST /call/hello/greet requests/s", value: med("bus", "rps"), unit: "req/s", vs: "plain", ratio: ratioOf("rps") });
      const tag = `c${connections}`;
      keys[`endpoint_${tag}_p50_ratio`] = ratioOf("p50");
      keys[`endpoint_${tag}_p99_ratio`] = ratioOf("p99");
      keys[`endpoint_${tag}_rps_ratio`] = ratioOf("rps");
      keys[`endpoint_${tag}_bus_p50_ms`] = med("bus", "p50");
      keys[`endpoint_${tag}_plain_p50_ms`] = med("plain", "p50");
      keys[`endpoint_${tag}_bus_rps`] = med("bus", "rps");
      keys[`endpoint_${tag}_plain_rps`] = med("plain", "rps");
      if (connections === 10) keys.endpoint_p50_ratio = ratioOf("p50");
    }
    // The isolate's memory under ordinary load: 50 connections on the bus route, workerd's
    // resident memory before and after (a Workers isolate has 128 MB; instances are bounded
    // per module by limits.maxInstances and reused, so calls past them wait instead of building one each).
    const section = "4. endpoint, memory under load (50 connections)";
    const memoryS = quick ? 5 : 15;
    const grown = {};
    // The bus route first: whichever runs first pays for the heap's first growth.
    for (const name of ["bus", "plain"]) {
      const before = workerdRss();
      const loaded = await load(urls[name], { connections: 50, durationS: memoryS });
      if (loaded.bad) throw new Error(`endpoint memory ${name}: ${loaded.bad} failed requests`);
      grown[name] = (workerdRss() - before) / 1048576;
      rows.push({ section, name: `${name === "bus" ? "POST /call/hello/greet" : "plain route"}: RSS growth, ${loaded.count} calls at ${loaded.rps.toFixed(0)} req/s`, value: grown[name], unit: "MiB", ...(name === "bus" ? { target: { text: "< 64 MiB", met: grown.bus < 64 } } : {}) });
    }
    keys.endpoint_c50_memory_growth_mib = grown.bus;
    keys.endpoint_c50_plain_memory_growth_mib = grown.plain;
    return { rows, keys };
  } finally {
    await mf.dispose();
  }
}

/** Resident memory of the workerd processes this bench started (Miniflare's children), in bytes. */
function workerdRss() {
  const pids = execFileSync("pgrep", ["-f", "workerd serve"], { encoding: "utf8" }).trim().split("\n").filter(Boolean);
  const mine = pids.filter((pid) => execFileSync("ps", ["-o", "ppid=", "-p", pid], { encoding: "utf8" }).trim() === String(process.pid));
  if (!mine.length) throw new Error("endpoint memory: no workerd child of this process");
  let total = 0;
  for (const pid of mine) total += Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]) * 1024;
  return total;
}
