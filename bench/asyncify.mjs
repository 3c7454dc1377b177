#!/usr/bin/env node
// What binaryen's asyncify costs a blocking module (scripts/wasm-asyncify.mjs): its size, and
// its speed in the runtime core (bundled for Node as bench/run.mjs bundles it). Each module is
// built as the build builds it up to the asyncify step (compiled, metered), then measured before
// and after that step. docs/abi.md ("Blocking guests") quotes a run.
//
//   node bench/asyncify.mjs            sizes and speed
//   node bench/asyncify.mjs --sizes    sizes only
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import wabtInit from "wabt";
import { asyncify } from "../scripts/wasm-asyncify.mjs";
import { meter } from "../scripts/wasm-meter.mjs";
import { bundleCore } from "./lib/build.mjs";

const root = resolve(import.meta.dirname, "..");
const bin = (name) => join(root, "node_modules", ".bin", name);
const work = mkdtempSync(join(tmpdir(), "asyncify-bench-"));
process.on("exit", () => rmSync(work, { recursive: true, force: true }));

const MODULES = [
  "modules/sleeper-rs", "modules/upcase", "test/guests/wasi-probe", "test/guests/poller", "test/guests/cmd",
  "modules/fetcher-rs", "modules/hello-rs", "test/guests/daemon-rs", "test/guests/divider-rs", "test/guests/errno-rs", "test/guests/now-rs",
];

const wabt = await wabtInit();
/** The module compiled and metered, as scripts/build-modules.mjs has it before asyncify. */
function metered(dir) {
  const manifest = JSON.parse(readFileSync(join(root, dir, "module.json"), "utf8"));
  const file = join(work, `${dir.replaceAll("/", "-")}.wasm`);
  try {
    const wat = join(root, dir, "module.wat");
    const parsed = wabt.parseWat(wat, readFileSync(wat, "utf8"), { bulk_memory: true, multi_value: true, mutable_globals: true });
    writeFileSync(file, parsed.toBinary({}).buffer);
    parsed.destroy();
  } catch (err) {
    if (err.code !== "ENOENT") throw err;
    execFileSync("bash", [join(root, "scripts/rust/build-crate.sh"), join(root, dir), manifest.target ?? "wasm32-unknown-unknown", file], { stdio: ["ignore", "ignore", "inherit"] });
  }
  meter(file, bin("wasm-opt"));
  return { file, manifest };
}

const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
const pct = (a, b) => `${b >= a ? "+" : ""}${(((b - a) / a) * 100).toFixed(0)}%`;
const built = {};
console.log("module | before | after | gzip before | gzip after");
for (const dir of MODULES) {
  const { file, manifest } = metered(dir);
  const before = readFileSync(file);
  const after = join(work, `after-${dir.replaceAll("/", "-")}.wasm`);
  copyFileSync(file, after);
  const suspending = asyncify(after, bin("wasm-opt"));
  const a = readFileSync(after);
  built[dir.split("/").pop()] = { manifest, before, after: a };
  if (!suspending.length) {
    console.log(`${dir} | ${kib(before.length)} | not blocking: not asyncified | ${kib(gzipSync(before, { level: 9 }).length)} |`);
    continue;
  }
  const [gb, ga] = [gzipSync(before, { level: 9 }).length, gzipSync(a, { level: 9 }).length];
  console.log(`${dir} | ${kib(before.length)} | ${kib(a.length)} (${pct(before.length, a.length)}) | ${kib(gb)} | ${kib(ga)} (${pct(gb, ga)})`);
}
if (process.argv.includes("--sizes")) process.exit(0);

// ---- speed, in the runtime core ----
const core = await import(bundleCore());
const fuel = new WebAssembly.Module(readFileSync(join(root, "build/fuel.wasm")));
const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];

async function time(label, runs, fn) {
  for (let i = 0; i < 2; i++) await fn(); // warm-up
  const ms = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  return median(ms);
}

const registry = (which) => ({ probe: { manifest: built["wasi-probe"].manifest, wasm: new WebAssembly.Module(built["wasi-probe"][which]) } });
const runtimes = { before: new core.Runtime(registry("before"), { fuel, log: () => {} }), after: new core.Runtime(registry("after"), { fuel, log: () => {} }) };
const LINES = 20_000;
const run = (rt, args, options = {}) => async () => {
  const code = await rt.spawn("probe", { args, ...options }).run();
  if (code !== 0) throw new Error(`probe ${args.join(" ")} exited ${code}`);
};
const per = (ms, n) => `${((ms / n) * 1000).toFixed(2)} µs`;
for (const which of ["before", "after"]) {
  const rt = runtimes[which];
  const start = await time("start", 15, run(rt, ["exit", "0"]));
  const print = await time("print", 9, run(rt, ["print", String(LINES)]));
  console.log(`wasi-probe ${which}: spawn+run to exit ${start.toFixed(2)} ms; print ${LINES} lines ${print.toFixed(1)} ms (${per(print, LINES)} a line, no wait)`);
}
// Every fd_write waits (output backpressure answering a settled promise): an unwind and a rewind each.
const waited = await time("wait", 9, run(runtimes.after, ["print", String(LINES)], { outputReady: () => Promise.resolve() }));
console.log(`wasi-probe after: print ${LINES} lines, each write suspended and resumed: ${waited.toFixed(1)} ms (${per(waited, LINES)} a line)`);
