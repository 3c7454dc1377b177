#!/usr/bin/env node
// CPU per request of this tree's bench Worker against another commit's, and both against the
// JavaScript greeting, in one workerd, the routes taking turns: whether a move of section 7's
// ratio came from the code or from the machine.
//
//   node bench/cpu-compare.mjs [ref] [rounds] [--instructions]
//     ref: a commit, branch or tag (default HEAD)
//
// The other side is a detached worktree of <ref> (removed after), with this tree's node_modules
// and build/ (the same modules and kernels: only src/ and bench/worker differ), bundled by
// wrangler as section 7 bundles its Worker (bench/sections/cpu.mjs). Per round, each route serves
// 3000 requests over 4 connections; its CPU is workerd's (every thread) over the round. Printed:
// the medians, and the median of the per-round ratios (this/ref is the code's move).
//
// --instructions: workerd runs under valgrind's callgrind (Debian: `apt install valgrind`), and
// what is counted is the instructions it executes per request (its counters zeroed before a
// route's requests and dumped after: `callgrind_control`), not its CPU time. A count does not
// move with the machine's load or the host's speed, so a change of a few instructions a request
// shows, where CPU time needs a tenth; but it leaves out the kernel's work (the sockets) and
// what a cache miss costs, so it says which side executes less, not by how much CPU. workerd is
// some 50 times slower under it: 600 requests a round, and a minute or more to start.
import { execFileSync } from "node:child_process";
import { copyFileSync, cpSync, existsSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { out, root } from "./lib/paths.mjs";
import { median } from "./lib/stats.mjs";
import { bundleWorker, cpuNs, freePort, serveWorkerd } from "./lib/workerd.mjs";

const require = createRequire(import.meta.url);
const autocannon = require("autocannon");
const args = process.argv.slice(2).filter((a) => a !== "--instructions");
const instructions = process.argv.includes("--instructions");
const ref = args[0] ?? "HEAD";
const rounds = Number(args[1] ?? (instructions ? 2 : 9));
const AMOUNT = instructions ? 600 : 3000;
const BODY = '{"name":"Ada"}';
const DATE = "2026-11-01";

const dir = join(out, "cpu-compare");
const tree = join(out, "cpu-compare-tree");
rmSync(dir, { recursive: true, force: true });
// a tree a run that was stopped left behind
rmSync(tree, { recursive: true, force: true });
execFileSync("git", ["worktree", "prune"], { cwd: root });
execFileSync("git", ["worktree", "add", "--detach", tree, ref], { cwd: root, stdio: "ignore" });

/** One Worker of the config: its bundle's modules, from dir/<name>. */
const worker = (name) =>
  `const ${name} :Workerd.Worker = ( modules = [ (name = "index.js", esModule = embed "${name}/index.js"),
${readdirSync(join(dir, name)).filter((f) => f.endsWith(".wasm")).map((f) => `    (name = "${f}", wasm = embed "${name}/${f}"),`).join("\n")}
  ], compatibilityDate = "${DATE}" );`;

const load = (url, amount) =>
  new Promise((resolve, reject) =>
    autocannon({ url, method: "POST", headers: { "content-type": "application/json" }, body: BODY, connections: 4, amount, timeout: 10 }, (err, r) =>
      err ? reject(err) : resolve(r["2xx"]),
    ),
  );

let child;
try {
  symlinkSync(join(root, "node_modules"), join(tree, "node_modules"));
  if (existsSync(join(root, "build"))) cpSync(join(root, "build"), join(tree, "build"), { recursive: true });
  bundleWorker(join(dir, "tree"), join(root, "bench/wrangler.toml"));
  bundleWorker(join(dir, "ref"), join(tree, "bench/wrangler.toml"));
  copyFileSync(join(root, "bench/worker/js-greet.js"), join(dir, "js-greet.js"));
  const ports = { tree: await freePort(), ref: await freePort(), js: await freePort() };
  writeFileSync(
    join(dir, "config.capnp"),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "tree", worker = .tree), (name = "ref", worker = .ref), (name = "js", worker = .js) ],
  sockets = [ ${Object.keys(ports).map((n) => `(name = "${n}", address = "127.0.0.1:${ports[n]}", http = (), service = "${n}")`).join(", ")} ],
);
${worker("tree")}
${worker("ref")}
const js :Workerd.Worker = ( modules = [ (name = "js-greet.js", esModule = embed "js-greet.js") ], compatibilityDate = "${DATE}" );
`,
  );
  const urls = {
    tree: `http://127.0.0.1:${ports.tree}/call/hello/greet`,
    ref: `http://127.0.0.1:${ports.ref}/call/hello/greet`,
    js: `http://127.0.0.1:${ports.js}/greet`,
  };
  const post = (url) => fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: BODY });
  const up = async () => {
    for (const url of Object.values(urls)) if (!(await post(url)).ok) return false;
    return true;
  };
  const callgrind = ["valgrind", "--tool=callgrind", "--smc-check=all-non-file", `--callgrind-out-file=${join(dir, "callgrind.%p")}`];
  child = await serveWorkerd(dir, join(dir, "config.capnp"), up, "cpu-compare", instructions ? { under: callgrind, upMs: 300_000 } : {});
  for (const url of Object.values(urls)) await load(url, instructions ? 300 : 1000); // warm up (JIT, the pool)
  const meter = instructions ? instructionMeter(dir, child.pid) : { start: () => cpuNs(child.pid), since: (before) => cpuNs(child.pid) - before };
  const names = Object.keys(urls);
  const per = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (const name of names.map((_, i) => names[(i + r) % names.length])) {
      const before = meter.start();
      const ok = await load(urls[name], AMOUNT);
      if (ok !== AMOUNT) throw new Error(`cpu-compare ${name}: ${AMOUNT - ok} of ${AMOUNT} failed`);
      per[name].push(meter.since(before) / AMOUNT / (instructions ? 1 : 1000));
    }
  }
  const ratio = (a, b) => median(per[a].map((x, i) => x / per[b][i])).toFixed(3);
  const what = instructions ? "instructions per request, thousands" : "CPU per request, us";
  const shown = (name) => (median(per[name]) / (instructions ? 1000 : 1)).toFixed(1);
  console.log(`${what} (median of ${rounds} rounds of ${AMOUNT}): this tree ${shown("tree")}, ${ref} ${shown("ref")}, the JavaScript greeting ${shown("js")}`);
  console.log(`this tree / JavaScript ${ratio("tree", "js")}, ${ref} / JavaScript ${ratio("ref", "js")}, this tree / ${ref} ${ratio("tree", "ref")}`);
} finally {
  child?.kill("SIGTERM");
  execFileSync("git", ["worktree", "remove", "--force", tree], { cwd: root, stdio: "ignore" });
}

/** Instructions workerd executes, read from callgrind: counters zeroed at `start`, dumped at `since`. */
function instructionMeter(dir, pid) {
  const control = (flag) => execFileSync("callgrind_control", [flag, String(pid)], { stdio: "ignore" });
  let dumps = 0;
  return {
    start() {
      control("-z");
      return 0;
    },
    since() {
      control("-d");
      dumps += 1;
      const text = readFileSync(join(dir, `callgrind.${pid}.${dumps}`), "utf8");
      return Number(/^(?:summary|totals): (\d+)/m.exec(text)[1]);
    },
  };
}
