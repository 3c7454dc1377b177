#!/usr/bin/env node
// How section 1's `module_call_16b_ratio` spreads between processes: the same pair (bench-now's
// call_now round trips to the built-in echo and to bench-peer's echo topic, 16 B, interleaved as
// the section measures them) in several fresh processes, each on its own JIT. Within a process
// the ratio holds to a few hundredths from round to round; between processes it moves by up to
// 0.3x, with how each side was compiled there. `npm run bench` runs the pair in one process, so
// its ratio is one draw of these. Extra arguments go to each process's V8 (a larger inlining
// budget, say). docs/performance.md ("Fifth pass") quotes runs.
//
//   node bench/module-call-spread.mjs [processes] [V8 flags...]   (after `npm run bench -- --only=roundtrip` built bench/.out)
//   node bench/module-call-spread.mjs 6 --max-inlined-bytecode-size-cumulative=3000
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { measure, median, ratio } from "./lib/stats.mjs";

const ROUNDS = 5;

if (process.argv[2] === "--child") {
  const { makeRuntime, accept, core, payload, withCount } = await import("./lib/bus.mjs");
  const runtime = makeRuntime();
  const now = core.Guest.create(runtime.modules.get("bench-now"), runtime, {});
  const data = payload("raw", 16);
  const loop = (topic) => (k) => accept(now, "bench-now", topic, 0, withCount(k, data));
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    const m = await measure({ echo: loop("bench"), module: loop("bench-module") }, { samples: 15, targetMs: 20 });
    rounds.push({ ratio: ratio(m.module, m.echo), echo: m.echo.ns, module: m.module.ns });
  }
  const at = (key) => median(rounds.map((r) => r[key]));
  console.log(JSON.stringify({ ratio: at("ratio"), echo: at("echo"), module: at("module"), rounds: rounds.map((r) => r.ratio) }));
  process.exit(0);
}

const processes = Number(process.argv[2] ?? 6);
const flags = process.argv.slice(3);
const runs = [];
for (let i = 0; i < processes; i++) {
  const child = spawnSync(process.execPath, [...flags, fileURLToPath(import.meta.url), "--child"], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], timeout: 120_000 });
  if (child.status !== 0) throw new Error(`process ${i + 1} failed (${child.signal ?? `exit ${child.status}`})`);
  const run = JSON.parse(child.stdout.trim().split("\n").at(-1));
  runs.push(run);
  const spread = Math.max(...run.rounds) - Math.min(...run.rounds);
  console.log(`process ${i + 1}: ratio ${run.ratio.toFixed(2)}x (rounds ${run.rounds.map((r) => r.toFixed(2)).join(" ")}; spread ${spread.toFixed(2)}), echo ${run.echo.toFixed(0)} ns, module ${run.module.toFixed(0)} ns`);
}
const ratios = runs.map((r) => r.ratio);
const within = median(runs.map((r) => Math.max(...r.rounds) - Math.min(...r.rounds)));
console.log(
  `${flags.length ? `${flags.join(" ")}: ` : ""}module call / echo over ${processes} processes: median ${median(ratios).toFixed(2)}x, ` +
    `${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}x between processes, ${within.toFixed(2)}x within one (median spread of ${ROUNDS} rounds); ` +
    `echo ${median(runs.map((r) => r.echo)).toFixed(0)} ns, module ${median(runs.map((r) => r.module)).toFixed(0)} ns (medians)`,
);
