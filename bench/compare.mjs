#!/usr/bin/env node
// Measures this tree's runtime core against the core of another commit, in one process,
// interleaved, so a change to src/ is judged by ratios from the same run (the machine's noise
// hits both sides alike):
//
//   node bench/compare.mjs [ref]          ref: a commit, branch or tag (default HEAD)
//
// The other side is `git archive <ref> src bench/core.ts`, bundled exactly as the bench bundles
// this tree's core (bench/lib/build.mjs). The workloads: the bus round trip on a live instance,
// one call to a live instance, instantiating hello, and hello's greet through the runtime.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { buildAll, bundleCore } from "./lib/build.mjs";
import { out, root } from "./lib/paths.mjs";

async function compare(baseCore, thisCore, { samples, targetMs }) {
  const bus = await import("./lib/bus.mjs");
  const { measure, ratio } = await import("./lib/stats.mjs");
  const kits = [bus.kit(await import(pathToFileURL(baseCore).href)), bus.kit(await import(pathToFileURL(thisCore).href))];
  const hello = bus.projectModule("hello");
  const data16 = bus.payload("raw", 16);
  const greet = new TextEncoder().encode('{"name":"Ada"}');
  const sides = kits.map((k) => {
    const runtime = k.makeRuntime({ hello });
    return { k, runtime, live: k.core.Guest.create(runtime.modules.get("bench-echo"), runtime, {}), now: k.core.Guest.create(runtime.modules.get("bench-now"), runtime, {}) };
  });
  const workloads = {
    "call_now to os echo, 16 B": (s) => (n) => s.k.accept(s.now, "bench-now", "bench", 0, bus.withCount(n, data16)),
    "call_now module-to-module, 16 B": (s) => (n) => s.k.accept(s.now, "bench-now", "bench-module", 0, bus.withCount(n, data16)),
    "bus round trip 16 B": (s) => (n) => s.k.accept(s.live, "bench-echo", "bench", 0, bus.withCount(n, data16)),
    "one call to a live instance, 16 B": (s) => async (n) => {
      for (let i = 0; i < n; i++) await s.k.accept(s.live, "bench-echo", "once", 0, data16);
    },
    "instantiate hello (AssemblyScript)": (s) => (n) => {
      for (let i = 0; i < n; i++) s.k.core.Guest.create(s.runtime.modules.get("hello"), s.runtime, {});
    },
    "hello greet through the runtime (pooled)": (s) => async (n) => {
      for (let i = 0; i < n; i++) await s.k.dispatch(s.runtime, "hello", "greet", 1, greet);
    },
  };
  const results = {};
  // BENCH_ONLY=<part of a name>: only the workloads whose names contain it.
  const only = process.env.BENCH_ONLY;
  for (const [name, make] of Object.entries(workloads)) {
    if (only && !name.includes(only)) continue;
    const m = await measure({ base: make(sides[0]), exp: make(sides[1]) }, { samples, targetMs });
    results[name] = { base: m.base.ns, exp: m.exp.ns, ratio: ratio(m.exp, m.base) };
  }
  bus.assertNoProblems("compare");
  return results;
}

const args = process.argv.slice(2);
if (args[0] === "--child") {
  const [, baseCore, thisCore, samples, targetMs] = args;
  process.stdout.write(`@@result ${JSON.stringify(await compare(baseCore, thisCore, { samples: +samples, targetMs: +targetMs }))}\n`);
  process.exit(0);
}
const ref = args.find((a) => !a.startsWith("--")) ?? "HEAD";
await buildAll();
const sha = execFileSync("git", ["rev-parse", "--short", ref], { cwd: root, encoding: "utf8" }).trim();
mkdirSync(out, { recursive: true });
const tree = mkdtempSync(join(out, `base-${sha}-`));
try {
  execFileSync("bash", ["-c", `git archive ${sha} src bench/core.ts | tar -x -C "${tree}"`], { cwd: root, stdio: "inherit" });
  for (const dir of ["node_modules", "build"]) symlinkSync(join(root, dir), join(tree, dir));
  const baseCore = bundleCore(tree, join(tree, "core.mjs"));
  const thisCore = bundleCore(root, join(out, "core.mjs"));
  const child = execFileSync(process.execPath, ["--no-warnings", join(root, "bench/compare.mjs"), "--child", baseCore, thisCore, "15", "25"], {
    cwd: root,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    timeout: 300_000,
  });
  const results = JSON.parse(child.split("\n").find((l) => l.startsWith("@@result ")).slice(9));
  const fmt = (ns) => (ns < 1000 ? `${ns.toFixed(0)} ns` : `${(ns / 1000).toFixed(2)} us`);
  console.log(`medians, ${sha} -> this tree (ratio: this / ${sha}; under 1 is faster)`);
  for (const [name, r] of Object.entries(results)) {
    console.log(`  ${name.padEnd(42)} ${fmt(r.base).padStart(10)} -> ${fmt(r.exp).padStart(10)}   ${r.ratio.toFixed(3)}x`);
  }
} finally {
  rmSync(tree, { recursive: true, force: true });
}
