#!/usr/bin/env node
// Host memory under the attacks of issue 13, this tree's runtime core against another commit's,
// in Node:
//
//   node bench/hostile.mjs [ref]        ref: a commit, branch or tag (default f7b30be, the core
//                                       before issue 13's work); a minute or so
//
// Both cores are bundled as bench/compare.mjs bundles them (`git archive <ref> src`, esbuild with
// workerd's conditions). Each attack runs in a fresh Node process per core (--expose-gc) against
// guests written here in WAT; this tree's side gets every binary through
// scripts/wasm-memory-max.mjs capMemory(bytes, limits.memoryPages), as the build writes them.
// Memory is heapUsed + external (Wasm memories count there) after gc, above the baseline taken
// once the runtime is made: "peak" while the attack is at its height (sampled by the guest calling
// `log`, or every 100 ms under load), "left" once it is over. The old core's own limits are its
// defaults (it reads only the manifest fields it knows).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { bin, out, root } from "./lib/paths.mjs";

const self = fileURLToPath(import.meta.url);
const MiB = 2 ** 20;

// ---- the guests ------------------------------------------------------------------------------

const BUS = {
  handle: "(result i32)",
  call: "(param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)",
  listen: "(param i32 i32) (result i32)",
  reply: "(param i32 i32 i32 i32) (result i32)",
  log: "(param i32 i32 i32) (result i32)",
};
const imports = (...names) => names.map((n) => `(import "wasm-bus" "${n}" (func $${n} ${BUS[n]}))`).join("\n  ");
const exports = (start = "(func (export \"wasm_bus_start\") (param i32 i32 i32 i32 i32 i32 i32))") => `
  (func (export "wasm_bus_malloc") (param i32) (result i32) (i32.const 1024))
  (func (export "wasm_bus_free") (param i32 i32))
  ${start}
  (func (export "wasm_bus_finish") (param i32 i32 i32 i32))
  (func (export "wasm_bus_error") (param i32 i32))
  (func (export "wasm_bus_drop") (param i32))`;
const listenOn = (topic) => `(data (i32.const 16) "${topic}") (func (export "_initialize") (drop (call $listen (i32.const 16) (i32.const ${topic.length}))))`;

const GUESTS = {
  // (1) grows its memory by 16,384 pages (1 GiB), writes to every 4 KiB of it, says so (the
  // sample), and replies with memory.grow's result.
  grower: {
    manifest: { topics: { grow: { format: "raw" } }, limits: { memoryPages: 64 } },
    wat: `(module
  ${imports("listen", "reply", "log")}
  (memory (export "memory") 1)
  (data (i32.const 32) "sample")
  ${listenOn("grow")}
  ${exports(`(func (export "wasm_bus_start") (param i32) (param $h i32) (param i32 i32 i32 i32 i32)
    (local $r i32) (local $p i32) (local $end i32)
    (local.set $r (memory.grow (i32.const 16384)))
    (if (i32.ne (local.get $r) (i32.const -1)) (then
      (local.set $p (i32.const 65536))
      (local.set $end (i32.mul (i32.add (local.get $r) (i32.const 16384)) (i32.const 65536)))
      (loop $touch
        (i32.store8 (local.get $p) (i32.const 1))
        (local.set $p (i32.add (local.get $p) (i32.const 4096)))
        (br_if $touch (i32.lt_u (local.get $p) (local.get $end))))))
    (drop (call $log (i32.const 3) (i32.const 32) (i32.const 6)))
    (i32.store (i32.const 48) (local.get $r))
    (drop (call $reply (local.get $h) (i32.const 0) (i32.const 48) (i32.const 4))))`)})`,
  },
  // (2) asks handle() for a million handles and uses none; replies with how many it got.
  hoarder: {
    manifest: { topics: { hoard: { format: "raw" } } },
    wat: `(module
  ${imports("handle", "listen", "reply", "log")}
  (memory (export "memory") 1)
  (data (i32.const 32) "sample")
  ${listenOn("hoard")}
  ${exports(`(func (export "wasm_bus_start") (param i32) (param $h i32) (param i32 i32 i32 i32 i32)
    (local $i i32) (local $got i32)
    (loop $more
      (if (call $handle) (then (local.set $got (i32.add (local.get $got) (i32.const 1)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $more (i32.lt_u (local.get $i) (i32.const 1000000))))
    (drop (call $log (i32.const 3) (i32.const 32) (i32.const 6)))
    (i32.store (i32.const 48) (local.get $got))
    (drop (call $reply (local.get $h) (i32.const 0) (i32.const 48) (i32.const 4))))`)})`,
  },
  // (2b) test/guests/selfstart: its _initialize calls its own module, and says "started".
  selfstart: {
    manifest: { topics: { ping: { format: "json" } } },
    wat: `(module
  ${imports("handle", "call", "listen", "reply", "log")}
  (memory (export "memory") 1)
  (data (i32.const 16) "selfstart") (data (i32.const 32) "ping") (data (i32.const 48) "started") (data (i32.const 64) "{}")
  (func (export "_initialize")
    (drop (call $log (i32.const 3) (i32.const 48) (i32.const 7)))
    (drop (call $listen (i32.const 32) (i32.const 4)))
    (drop (call $call (i32.const 0) (call $handle) (i32.const 0) (i32.const 1)
      (i32.const 16) (i32.const 9) (i32.const 32) (i32.const 4) (i32.const 64) (i32.const 2))))
  ${exports(`(func (export "wasm_bus_start") (param i32) (param $h i32) (param i32 i32 i32 i32 i32)
    (drop (call $reply (local.get $h) (i32.const 1) (i32.const 64) (i32.const 2))))`)})`,
  },
  // (2c) a command that sleeps 10 minutes through the bus and never reads its stdin.
  sleeper: {
    manifest: { topics: {} },
    wat: `(module
  ${imports("handle", "call")}
  (memory (export "memory") 1)
  (data (i32.const 16) "os") (data (i32.const 32) "time.sleep") (data (i32.const 48) "{\\"duration_ms\\":600000}")
  (func (export "_start")
    (drop (call $call (i32.const 0) (call $handle) (i32.const 0) (i32.const 1)
      (i32.const 16) (i32.const 2) (i32.const 32) (i32.const 10) (i32.const 48) (i32.const 22))))
  ${exports()})`,
  },
  // (6a) answers greet at once (hello's shape, with only the imports both cores know).
  greeter: {
    manifest: { topics: { greet: { format: "json" } } },
    wat: `(module
  ${imports("listen", "reply")}
  (memory (export "memory") 2)
  (data (i32.const 64) "{\\"message\\":\\"Hello!\\"}")
  ${listenOn("greet")}
  ${exports(`(func (export "wasm_bus_start") (param i32) (param $h i32) (param i32 i32 i32 i32 i32)
    (drop (call $reply (local.get $h) (i32.const 1) (i32.const 64) (i32.const 20))))`)})`,
  },
  // (6b) holds its instance for each call: sleeps 20 ms through the bus, then replies. 17 pages,
  // what a Rust module starts with.
  holder: {
    manifest: { topics: { hold: { format: "json" } } },
    wat: `(module
  ${imports("handle", "call", "listen", "reply")}
  (memory (export "memory") 17)
  (global $in (mut i32) (i32.const 0))
  (data (i32.const 32) "os") (data (i32.const 48) "time.sleep") (data (i32.const 64) "{\\"duration_ms\\":20}") (data (i32.const 96) "{}")
  ${listenOn("hold")}
  ${exports(`(func (export "wasm_bus_start") (param i32) (param $h i32) (param i32 i32 i32 i32 i32)
    (global.set $in (local.get $h))
    (drop (call $call (i32.const 0) (call $handle) (i32.const 0) (i32.const 1)
      (i32.const 32) (i32.const 2) (i32.const 48) (i32.const 10) (i32.const 64) (i32.const 18))))`).replace(
    '(func (export "wasm_bus_finish") (param i32 i32 i32 i32))',
    '(func (export "wasm_bus_finish") (param i32 i32 i32 i32) (drop (call $reply (global.get $in) (i32.const 1) (i32.const 96) (i32.const 2))))',
  )})`,
  },
};

// ---- the attacks (in a child process, one core) ------------------------------------------------

/** One attack on one core: prints `@@result {peak, left, note}` (MiB above the baseline). */
async function child(coreFile, guestDir, name) {
  const core = await import(pathToFileURL(coreFile).href);
  const gc = globalThis.gc;
  const mib = () => {
    gc();
    const m = process.memoryUsage();
    return (m.heapUsed + m.external) / MiB;
  };
  const wasm = (n) => new WebAssembly.Module(readFileSync(join(guestDir, `${n}.wasm`)));
  const registry = Object.fromEntries(Object.entries(GUESTS).map(([n, g]) => [n, { manifest: g.manifest, wasm: wasm(n) }]));
  // Instances made of the guests: WebAssembly.Instance counted (the fuel meter's is not a guest's).
  const guestModules = new Set(Object.values(registry).map((e) => e.wasm));
  let instances = 0;
  const RealInstance = WebAssembly.Instance;
  WebAssembly.Instance = function (module, imps) {
    if (guestModules.has(module)) instances++;
    return new RealInstance(module, imps);
  };
  let peak = -Infinity;
  let sampleEvery = 1;
  let logs = 0;
  const sample = () => (peak = Math.max(peak, mib()));
  const runtime = new core.Runtime(registry, {
    fuel: new WebAssembly.Module(readFileSync(join(root, "build/fuel.wasm"))),
    log: (line) => {
      if (line.msg === "sample" || (line.msg === "started" && ++logs % sampleEvery === 0)) sample();
    },
  });
  const call = (wapm, topic, data, format = 1) =>
    new Promise((resolve) => {
      const done = { finish: (p) => resolve({ ok: true, data: p.data }), fail: (e) => resolve({ ok: false, code: e.codeName ?? e.code }), callback: () => 10 };
      const c = new core.BusCall(wapm, topic, { format, data }, done, { caller: "bench" });
      try {
        // Older cores threw a refusal; this one returns it.
        const refused = runtime.dispatch(c);
        if (refused) c.fault(refused);
      } catch (err) {
        resolve({ ok: false, code: err.codeName ?? String(err.message).slice(0, 60) });
      }
    });
  const settle = () => new Promise((r) => setTimeout(r, 50));
  const base = mib();
  let note = "";
  if (name === "grow") {
    const r = await call("grower", "grow", new Uint8Array(), 0);
    note = r.ok ? `memory.grow answered ${new DataView(r.data.buffer, r.data.byteOffset).getInt32(0, true)}` : `the call failed: ${r.code}`;
  } else if (name === "handles") {
    const r = await call("hoarder", "hoard", new Uint8Array(), 0);
    note = r.ok ? `handle() gave ${new DataView(r.data.buffer, r.data.byteOffset).getUint32(0, true).toLocaleString("en")} handles` : `the call failed: ${r.code}`;
  } else if (name === "selfstart") {
    sampleEvery = 16;
    const r = await call("selfstart", "ping", new TextEncoder().encode("{}"));
    note = `${instances} instance${instances === 1 ? "" : "s"} for one call; ${r.ok ? "answered" : `failed: ${r.code}`}`;
  } else if (name === "stdin") {
    const proc = new core.Process("bench-1", { module: "sleeper", args: [] }, { output() {}, end() {} });
    // This core's Process starts through a spawn function; older ones took the runtime.
    proc.start(runtime.instances ? (m, o) => runtime.spawn(m, o) : runtime);
    const chunk = new Uint8Array(64 << 10).fill(7);
    let written = 0;
    let refused = "";
    for (let i = 0; i < 1600; i++) {
      try {
        if (proc.stdin.write(chunk)) written += chunk.length;
      } catch (err) {
        refused = err.codeName ?? String(err);
        break;
      }
    }
    sample();
    note = `${(written / MiB).toFixed(0)} MiB of 100 MiB taken${refused ? `, then ${refused}` : ""}`;
    proc.kill();
  } else if (name === "greet50" || name === "hold50") {
    const [wapm, topic] = name === "greet50" ? ["greeter", "greet"] : ["holder", "hold"];
    const data = new TextEncoder().encode("{}");
    const until = Date.now() + 3000;
    let done = 0;
    const failed = {};
    const worker = async () => {
      while (Date.now() < until) {
        const r = await call(wapm, topic, data);
        if (r.ok) done++;
        else failed[r.code] = (failed[r.code] ?? 0) + 1;
      }
    };
    const sampler = setInterval(sample, 100);
    await Promise.all(Array.from({ length: 50 }, worker));
    clearInterval(sampler);
    const f = Object.entries(failed).map(([k, v]) => `${v} ${k}`).join(", ");
    note = `${done.toLocaleString("en")} calls answered in 3 s${f ? ` (${f})` : ""}, ${instances.toLocaleString("en")} instances made`;
  }
  await settle();
  const left = mib() - base;
  process.stdout.write(`@@result ${JSON.stringify({ peak: Number.isFinite(peak) ? peak - base : left, left, note })}\n`);
  process.exit(0);
}

// ---- the parent: build both sides, run each attack on each, print the table -------------------

const CASES = [
  ["grow", "(1) memory.grow by 16,384 pages (1 GiB) past a 64-page limit, written to"],
  ["handles", "(2) one million handle() calls, none used"],
  ["selfstart", "(2b) a start-up that calls its own module"],
  ["stdin", "(2c) 100 MiB written to the stdin of a process that never reads"],
  ["greet50", "(6) 50 calls in flight for 3 s, answered at once (pooled)"],
  ["hold50", "(6) 50 calls in flight for 3 s, each holding its instance 20 ms (17 pages)"],
];

async function parent(ref) {
  const git = (...a) => execFileSync("git", a, { cwd: root, encoding: "utf8" }).trim();
  const sha = git("rev-parse", "--short", ref);
  mkdirSync(out, { recursive: true });
  const dir = join(out, `hostile-${sha}`);
  const thisDir = join(out, "hostile-this");
  try {
    await measure(sha, dir, thisDir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(thisDir, { recursive: true, force: true });
  }
}

async function measure(sha, dir, thisDir) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync("bash", ["-c", `git archive ${sha} src | tar -x -C "${dir}"`], { cwd: root, stdio: "inherit" });
  for (const d of ["node_modules", "build"]) symlinkSync(join(root, d), join(dir, d));
  // One entry per side: the runtime, calls and processes of that tree's src.
  const bundle = (tree, file) => {
    const guest = existsSync(join(tree, "src/instance/guest.ts")) ? "src/instance/guest.ts" : "src/guest.ts";
    const entry = join(tree, "hostile-entry.ts");
    writeFileSync(
      entry,
      [`export { Runtime } from "./src/runtime.ts";`, `export { BusCall } from "./src/call.ts";`, `export { Process } from "./src/process.ts";`, `export { Guest } from "./${guest}";`].join("\n"),
    );
    execFileSync(bin("esbuild"), [entry, "--bundle", "--platform=neutral", "--conditions=workerd,worker,browser", "--main-fields=browser,module,main", "--format=esm", "--target=es2022", "--log-level=warning", `--outfile=${file}`], {
      stdio: "inherit",
    });
    return file;
  };
  rmSync(thisDir, { recursive: true, force: true });
  mkdirSync(thisDir, { recursive: true });
  for (const d of ["node_modules", "build", "src"]) symlinkSync(join(root, d), join(thisDir, d));
  const cores = { before: bundle(dir, join(dir, "core.mjs")), after: bundle(thisDir, join(thisDir, "core.mjs")) };

  // The guests: as written for the old core; capped as the build writes them for this one.
  const wabt = await (await import("wabt")).default();
  const { capMemory } = await import(pathToFileURL(join(root, "scripts/wasm-memory-max.mjs")).href);
  const limits = JSON.parse(readFileSync(join(root, "src/limits.json"), "utf8"));
  const guestDirs = { before: join(dir, "guests"), after: join(thisDir, "guests") };
  for (const d of Object.values(guestDirs)) mkdirSync(d, { recursive: true });
  for (const [n, g] of Object.entries(GUESTS)) {
    const parsed = wabt.parseWat(`${n}.wat`, g.wat);
    parsed.resolveNames();
    parsed.validate();
    const bytes = new Uint8Array(parsed.toBinary({}).buffer);
    parsed.destroy();
    writeFileSync(join(guestDirs.before, `${n}.wasm`), bytes);
    writeFileSync(join(guestDirs.after, `${n}.wasm`), capMemory(bytes, g.manifest.limits?.memoryPages ?? limits.memoryPages));
  }

  const run = (side, name) => {
    try {
      const output = execFileSync(process.execPath, ["--expose-gc", "--no-warnings", "--stack-size=984", self, "--child", cores[side], guestDirs[side], name], {
        cwd: root,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
        timeout: 120_000,
        maxBuffer: 64 * MiB,
      });
      const line = output.split("\n").find((l) => l.startsWith("@@result "));
      if (!line) return { error: "no result" };
      return JSON.parse(line.slice(9));
    } catch (err) {
      const why = String(err.stderr ?? err.message).split("\n").find((l) => /Error|error/.test(l)) ?? String(err.message).split("\n")[0];
      return { error: why.slice(0, 100) };
    }
  };
  const rows = [];
  for (const [name, title] of CASES) {
    const before = run("before", name);
    const after = run("after", name);
    rows.push({ title, before, after });
    process.stderr.write(".");
  }
  process.stderr.write("\n");
  const cell = (r, key) => (r.error ? "n/a" : `${r[key] >= 0 ? "+" : ""}${r[key].toFixed(1)}`);
  const w = Math.max(...rows.map((r) => r.title.length));
  console.log(`host memory growth, heapUsed + external after gc (MiB); before: ${sha}, after: this tree`);
  console.log(`${"class".padEnd(w)}  ${"before peak".padStart(11)}  ${"left".padStart(7)}  ${"after peak".padStart(10)}  ${"left".padStart(7)}`);
  for (const r of rows) {
    console.log(`${r.title.padEnd(w)}  ${cell(r.before, "peak").padStart(11)}  ${cell(r.before, "left").padStart(7)}  ${cell(r.after, "peak").padStart(10)}  ${cell(r.after, "left").padStart(7)}`);
  }
  console.log("");
  for (const r of rows) {
    console.log(`${r.title}:\n  before: ${r.before.error ? `could not run: ${r.before.error}` : r.before.note}\n  after:  ${r.after.error ? `could not run: ${r.after.error}` : r.after.note}`);
  }
  console.log(
    "\nNot driven here (they need workerd: a session's sockets, RPC and storage): (2) a WebSocket client that stops reading while a module floods it, (3) a 2 MiB frame to a shared session instance, (7) sizes across RPC and storage; (4) names as object keys and (5) a reason leaking into another call are not about memory. See test/limits.test.ts, the frame fuzzer (test/frame-fuzz.test.ts) and npm run bench's memory section.",
  );
}

const args = process.argv.slice(2);
if (args[0] === "--child") {
  await child(args[1], args[2], args[3]);
} else {
  if (!existsSync(join(root, "build/fuel.wasm"))) {
    console.error("build/fuel.wasm is missing: npm run build first");
    process.exit(2);
  }
  await parent(args.find((a) => !a.startsWith("--")) ?? "f7b30be");
}
