#!/usr/bin/env node
// `npm run bench [-- --quick] [-- --only=roundtrip,peers]`: builds the bench
// guests and the runtime core, runs each section in a fresh Node process,
// prints one table of medians and ratios (each ratio against its baseline in
// the same run) and writes bench/results/latest.json. docs/performance.md
// explains every method and records a run.
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { buildAll } from "./lib/build.mjs";
import { describe } from "./lib/targets.mjs";
import { root } from "./lib/paths.mjs";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const only = args.find((a) => a.startsWith("--only="))?.slice(7).split(",");
const SECTIONS = ["roundtrip", "peers", "instantiate", "codec", "codec-workerd", "memory", "endpoint", "cpu", "snapshot"];
// Keys latest.json always has (null when their section failed or their module is missing).
const REQUIRED = [
  "bus_roundtrip_16b_ns", "raw_import_16b_ns", "bus_roundtrip_64kib_us", "vs_wapc_16b_ratio", "vs_extism_16b_ratio",
  "instantiate_hello_as_us", "instantiate_hello_rs_us", "endpoint_p50_ratio", "concurrent_sleeps_held",
  // issue 12
  "bus_v2_vs_raw_import_16b_ratio", "vs_wapc_1kib_ratio", "vs_wapc_64kib_ratio", "module_call_16b_ratio", "json_bytes_64kib_ratio",
  "endpoint_cpu_us", "vs_js_endpoint_ratio",
  // issue 9
  "snapshot_first_bytes_hello", "snapshot_first_bytes_fetcher", "snapshot_first_bytes_1mib", "snapshot_steady_pages_1mib", "snapshot_us_1mib",
  "snapshot_restore_1mib_ms", "snapshot_one_page_pages", "snapshot_wake_roundtrip_ratio",
];

if (Number(process.versions.node.split(".")[0]) < 22) {
  console.error(`bench: Node ${process.version}; run it as \`npm run bench\` (the project's Node 22) so every section runs on the same engine`);
  process.exit(1);
}

const started = Date.now();
const loadBefore = os.loadavg().map((x) => +x.toFixed(2));
const { modulesBuilt } = await buildAll();
if (modulesBuilt) console.log("bench: built the project's modules (npm run build)");

function runSection(name) {
  const limitMs = (quick ? 100 : 400) * 1000;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--expose-gc", "--no-warnings", join(root, "bench/sections/child.mjs"), name, quick ? "--quick" : "--full"], {
      cwd: root,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let stdout = "";
    child.stdout.on("data", (d) => (stdout += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), limitMs);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split("\n").find((l) => l.startsWith("@@result "));
      if (code === 0 && line) return resolve(JSON.parse(line.slice(9)));
      const why = signal ? `killed after ${limitMs / 1000} s` : `exit code ${code}`;
      resolve({ error: `${why}${stdout.trim() ? `: ${stdout.trim().split("\n").slice(-3).join(" / ")}` : ""}` });
    });
  });
}

const results = {};
for (const name of SECTIONS) {
  if (only && !only.includes(name)) continue;
  const t0 = Date.now();
  process.stderr.write(`bench: ${name}...`);
  results[name] = await runSection(name);
  process.stderr.write(` ${((Date.now() - t0) / 1000).toFixed(1)} s${results[name].error ? " FAILED" : ""}\n`);
}

// ---- the table ---------------------------------------------------------------

const time = (ns) => (ns < 1e3 ? `${ns.toFixed(0)} ns` : ns < 1e6 ? `${(ns / 1e3).toFixed(ns < 1e4 ? 2 : 1)} us` : `${(ns / 1e6).toFixed(ns < 1e7 ? 2 : 1)} ms`);
const num = (v, unit) => `${v >= 100 ? Math.round(v).toLocaleString("en-US") : v.toFixed(1)} ${unit}`;
const lines = [["measurement", "median", "ratio", "vs", "target"]];
for (const [name, r] of Object.entries(results)) {
  if (r.error) {
    lines.push([`${name}: FAILED (${r.error})`, "", "", "", ""]);
    continue;
  }
  let section;
  for (const row of r.rows) {
    if (row.section !== section) {
      section = row.section;
      lines.push([`[${section}]`, "", "", "", ""]);
    }
    const value = row.ns !== undefined ? time(row.ns) : row.value !== undefined ? num(row.value, row.unit) : "";
    const ratio = row.ratio !== undefined ? `${row.ratio.toFixed(row.ratio < 0.1 ? 4 : 2)}x` : "";
    const target = row.target ? describe(row.target) : "";
    lines.push([`  ${row.name}`, value, ratio, row.ratio !== undefined ? (row.ratioLabel ?? `/ ${row.vs}`) : "", target]);
  }
}
const isHeader = (l) => l !== lines[0] && !l[1] && !l[2] && !l[4];
// Lines with no value (notes, errors) may run past the columns.
const widths = lines[0].map((_, i) => Math.max(...lines.filter((l) => !isHeader(l) && (l === lines[0] || l[1] || l[2])).map((l) => l[i].length)));
for (const l of lines) {
  if (isHeader(l)) console.log(l[0]);
  else console.log([l[0].padEnd(widths[0]), l[1].padStart(widths[1]), l[2].padStart(widths[2]), l[3].padEnd(widths[3]), l[4]].join("  ").trimEnd());
}

// ---- latest.json -------------------------------------------------------------

const keys = Object.fromEntries(REQUIRED.map((k) => [k, null]));
const notes = [];
for (const [name, r] of Object.entries(results)) {
  if (r.error) notes.push(`section ${name} failed: ${r.error}`);
  else Object.assign(keys, r.keys);
  for (const m of r.missing ?? []) notes.push(m);
}
for (const n of notes) console.log(`note: ${n}`);

// Every target of the run, in one place.
const targets = Object.values(results).flatMap((r) => (r.rows ?? []).filter((row) => row.target).map((row) => `  ${row.section}: ${row.name.trim()}: ${describe(row.target)}`));
if (targets.length) console.log(`\ntargets (${targets.filter((t) => t.includes(": MET")).length} met of ${targets.length}):\n${targets.join("\n")}`);
const pkg = (p) => JSON.parse(readFileSync(join(root, "node_modules", p, "package.json"), "utf8")).version;
const cpus = os.cpus();
const latest = {
  ...keys,
  meta: {
    date: new Date().toISOString(),
    mode: quick ? "quick" : "full",
    seconds: Math.round((Date.now() - started) / 1000),
    sections: Object.keys(results),
    machine: { cpu: cpus[0]?.model, cores: cpus.length, memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1), os: `${os.type()} ${os.release()} ${os.arch()}`, loadavgBefore: loadBefore, loadavgAfter: os.loadavg().map((x) => +x.toFixed(2)) },
    engines: { node: process.versions.node, v8: process.versions.v8, workerd: pkg("workerd"), wrangler: pkg("wrangler"), "@wapc/host": pkg("@wapc/host"), "@extism/extism": pkg("@extism/extism"), msgpackr: pkg("msgpackr"), "@msgpack/msgpack": pkg("@msgpack/msgpack"), autocannon: pkg("autocannon") },
    notes,
  },
  rows: Object.fromEntries(Object.entries(results).map(([n, r]) => [n, r.error ? { error: r.error } : r.rows])),
};
mkdirSync(join(root, "bench/results"), { recursive: true });
writeFileSync(join(root, "bench/results/latest.json"), `${JSON.stringify(latest, null, 1)}\n`);
console.log(`\nbench/results/latest.json written (${latest.meta.mode} run, ${latest.meta.seconds} s; load average ${loadBefore[0]} before, ${latest.meta.machine.loadavgAfter[0]} after, on ${cpus.length} cores)`);
process.exit(notes.some((n) => n.startsWith("section")) ? 1 : 0);
