#!/usr/bin/env node
// The ABI fuzzer (test/fuzz/abi-fuzzer.ts) for any seed, outside vitest:
//
//   npm run fuzz -- [--seed N] [--actions M] [--trace] [--runs K] [--frames | --http | --kv | --fetch | --codec | --wasi | --asyncify]
//
// --seed N      the seed (default: the CI seed, 20261124); --runs K tries N, N+1, ... N+K-1
// --actions M   actions per run (default 10,000)
// --trace       prints every action as it happens (for a failing seed: with --actions of its index + 1)
// --counts      prints how often each import answered each status, and each delivery
// --strict      fails on the known findings too (KNOWN_FINDINGS in test/fuzz/abi-fuzzer.ts)
// --frames      runs the frame fuzzer (test/frame-fuzz.test.ts, in workerd) for --seed, --actions frames
// --http        runs the hostile-HTTP fuzzer (test/http-fuzz.test.ts, in workerd) for --seed, --actions requests
// --kv          runs the kv fuzzer (test/kv-fuzz.test.ts, in workerd: a guest's kv.* against a model) for
//               --seed, --actions actions
// --fetch       runs the http.fetch fuzzer (test/http-fetch-fuzz.test.ts, in workerd: hostile responses
//               from a local host past the allow list) for --seed, --actions requests
// --codec       runs the codec fuzzers (test/unit/codec-fuzz.test.ts: JSON byte arrays read by hand
//               against JSON.parse; test/unit/msgpack-scan.test.ts: msgpack round trips and
//               mutations; test/unit/codec-diff.test.ts: random schemas and values through json,
//               msgpack and bincode, every transcoding between them, validate and checkRequest (a
//               repeated key too), and JSON's writer and long-text reader, test/fuzz/codec-diff.ts) in Node for --seed, --actions values each
//               (default 2,000)
// --wasi        runs the WASI fuzzer (test/fuzz/wasi-fuzzer.ts, through test/unit/wasi-fuzz.test.ts):
//               every wasi_snapshot_preview1 import with hostile pointers, lengths, paths, iovecs, poll
//               subscriptions and fds, in Node, for seeds --seed .. --seed + --runs - 1, --actions
//               calls each (default 5,000)
// --asyncify    runs the asyncify fuzzer (test/fuzz/asyncify-fuzzer.ts, through
//               test/unit/asyncify-fuzz.test.ts): a real asyncified WASI guest runs an action script
//               (an import, hostile pointers and lengths, a recursion depth), suspended and rewound
//               while the host feeds and closes stdin, fires sleeps, holds and lets go output, grows
//               memory, snapshots and restores, and kills; each answer and memory checked against the
//               same call made directly, in Node, for seeds --seed .. --seed + --runs - 1, --actions
//               actions each (default 1,000); --trace prints every call and every host action
//
// It bundles the fuzzer with the runtime's src/ (esbuild, as bench/lib/build.mjs bundles the core)
// and runs it in this Node with gc exposed. A failure prints the seed, the action index and the
// action, and exits 1. The build must have made build/fuel.wasm and build/modules/{hello,countdown}.wasm
// (npm run build, or node scripts/build-modules.mjs hello countdown).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = Number(args[at + 1]);
  if (!Number.isInteger(value) || value < 0) {
    console.error(`--${name} takes a non-negative integer`);
    process.exit(2);
  }
  return value;
};
const seed = option("seed", 20261124);
const actions = option("actions", 10_000);
const runs = option("runs", 1);
const trace = args.includes("--trace");
// Findings the host has not fixed yet (KNOWN_FINDINGS in test/fuzz/abi-fuzzer.ts) are counted,
// as in CI; --strict fails on them too; --tolerate id,id counts just those.
const tolerateAt = args.indexOf("--tolerate");

// --frames, --http, --kv and --fetch: the fuzzers that run in workerd (test/frame-fuzz.test.ts,
// test/http-fuzz.test.ts, test/kv-fuzz.test.ts, test/http-fetch-fuzz.test.ts) instead. workerd sees no environment variables:
// the seed and the count (--actions, default 2,000) go to build/<name>-fuzz.json for each run.
const IN_WORKERD = {
  frames: { name: "frame", test: "test/frame-fuzz.test.ts", count: "frames", what: "frame fuzzer" },
  http: { name: "http", test: "test/http-fuzz.test.ts", count: "requests", what: "HTTP fuzzer" },
  kv: { name: "kv", test: "test/kv-fuzz.test.ts", count: "actions", what: "kv fuzzer" },
  fetch: { name: "fetch", test: "test/http-fetch-fuzz.test.ts", count: "requests", what: "http.fetch fuzzer" },
};
for (const [flag, { name, test, count, what }] of Object.entries(IN_WORKERD)) {
  if (!args.includes(`--${flag}`)) continue;
  const file = join(root, `build/${name}-fuzz.json`);
  let failed = 0;
  try {
    for (let s = seed; s < seed + runs; s++) {
      writeFileSync(file, JSON.stringify({ seed: s, [count]: args.includes("--actions") ? actions : 2000 }));
      try {
        execFileSync(join(root, "node_modules/.bin/vitest"), ["run", "--project", "workers", test], {
          cwd: root,
          stdio: "inherit",
          env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
        });
      } catch {
        failed++;
        console.error(`${what}: seed ${s} failed`);
      }
    }
  } finally {
    rmSync(file, { force: true });
  }
  process.exit(failed ? 1 : 0);
}

// --codec: the codec fuzzers instead, in Node (vitest's unit project): the seed and the count go
// to them through the environment.
if (args.includes("--codec")) {
  let failed = 0;
  for (let s = seed; s < seed + runs; s++) {
    try {
      execFileSync(join(root, "node_modules/.bin/vitest"), ["run", "--project", "unit", "test/unit/codec-fuzz.test.ts", "test/unit/msgpack-scan.test.ts", "test/unit/codec-diff.test.ts"], {
        cwd: root,
        stdio: "inherit",
        env: { ...process.env, CODEC_FUZZ_SEED: String(s), CODEC_FUZZ_COUNT: String(args.includes("--actions") ? actions : 2000) },
      });
    } catch {
      failed++;
      console.error(`codec fuzzer: seed ${s} failed`);
    }
  }
  process.exit(failed ? 1 : 0);
}

// --wasi: the WASI fuzzer instead, in Node (vitest's unit project), all its seeds in one run.
if (args.includes("--wasi")) {
  try {
    execFileSync(join(root, "node_modules/.bin/vitest"), ["run", "--project", "unit", "test/unit/wasi-fuzz.test.ts"], {
      cwd: root,
      stdio: "inherit",
      // gc() for its memory samples, as the ABI fuzzer has.
      env: { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --expose-gc`, WASI_FUZZ_SEED: String(seed), WASI_FUZZ_RUNS: String(runs), WASI_FUZZ_COUNT: String(args.includes("--actions") ? actions : 5000) },
    });
  } catch {
    console.error(`WASI fuzzer: seeds ${seed}..${seed + runs - 1} failed`);
    process.exit(1);
  }
  process.exit(0);
}

// --asyncify: the asyncify fuzzer instead, in Node (vitest's unit project), all its seeds in one run.
if (args.includes("--asyncify")) {
  try {
    execFileSync(join(root, "node_modules/.bin/vitest"), ["run", "--project", "unit", "test/unit/asyncify-fuzz.test.ts"], {
      cwd: root,
      stdio: "inherit",
      // Without --seed, the CI seed (the test's own).
      env: { ...process.env, ...(args.includes("--seed") ? { ASYNCIFY_FUZZ_SEED: String(seed) } : {}), ASYNCIFY_FUZZ_RUNS: String(runs), ASYNCIFY_FUZZ_COUNT: String(args.includes("--actions") ? actions : 1000), ...(trace ? { ASYNCIFY_FUZZ_TRACE: "1" } : {}) },
    });
  } catch {
    console.error(`asyncify fuzzer: ${runs} seed(s) from ${args.includes("--seed") ? seed : "the CI seed"} failed`);
    process.exit(1);
  }
  process.exit(0);
}

// gc() for the memory samples: re-run this script with --expose-gc unless it has it.
if (typeof globalThis.gc !== "function" && !process.env.WASM_BUS_FUZZ_CHILD) {
  try {
    execFileSync(process.execPath, ["--expose-gc", fileURLToPath(import.meta.url), ...args], { stdio: "inherit", env: { ...process.env, WASM_BUS_FUZZ_CHILD: "1" } });
    process.exit(0);
  } catch (err) {
    process.exit(err.status ?? 1);
  }
}

for (const file of ["build/fuel.wasm", "build/modules/hello.wasm", "build/modules/countdown.wasm"]) {
  if (!existsSync(join(root, file))) {
    console.error(`${file} is missing: run npm run build (or node scripts/build-modules.mjs hello countdown) first`);
    process.exit(2);
  }
}

// Inside node_modules, so the bundle's external imports (wabt) resolve from the repository.
const outDir = join(root, "node_modules/.cache/wasm-bus-fuzz");
mkdirSync(outDir, { recursive: true });
const bundle = join(outDir, "abi-fuzzer.mjs");
execFileSync(
  join(root, "node_modules/.bin/esbuild"),
  [
    join(root, "test/fuzz/abi-fuzzer.ts"),
    "--bundle",
    "--platform=node",
    "--conditions=workerd,worker,browser",
    "--format=esm",
    "--target=es2022",
    "--external:wabt",
    "--log-level=warning",
    `--outfile=${bundle}`,
  ],
  { stdio: "inherit" },
);
const { runAbiFuzz, KNOWN_FINDINGS } = await import(pathToFileURL(bundle).href);
const tolerate = args.includes("--strict") ? [] : tolerateAt >= 0 ? String(args[tolerateAt + 1] ?? "").split(",").filter(Boolean) : KNOWN_FINDINGS;

let failed = 0;
for (let s = seed; s < seed + runs; s++) {
  try {
    const report = await runAbiFuzz({ seed: s, actions, root, tolerate, trace: trace ? (line) => console.log(line) : undefined });
    const m = report.memory;
    console.log(
      `seed ${s}: ${report.actions} actions in ${report.ms} ms, ${report.instances} instances, ${report.entries} entries, ${report.traps} traps, ` +
        `${report.externalCalls} calls from outside, hello answered ${report.hellos} times; memory ${m.baselineMiB} MiB, +${m.peakGrowthMiB} MiB at most, +${m.finalGrowthMiB} MiB at the end${m.gc ? "" : " (no gc)"}`,
    );
    const findings = Object.entries(report.counts).filter(([k]) => k.startsWith("finding:"));
    if (findings.length) console.log(`  tolerated: ${findings.map(([k, v]) => `${k.slice(8)} ×${v}`).join(", ")}`);
    if (args.includes("--counts")) console.log(Object.entries(report.counts).sort().map(([k, v]) => `  ${k}: ${v}`).join("\n"));
  } catch (err) {
    failed++;
    console.error(err instanceof Error && err.name === "FuzzFailure" ? err.message : err);
  }
}
process.exit(failed ? 1 : 0);
