#!/usr/bin/env node
// Builds bus modules into build/<tree>/<name>.wasm and writes the registries of
// static .wasm imports that wrangler bundles (workerd cannot compile Wasm from
// bytes at run time).
//
//   modules/<name>/     served by the Worker    -> build/modules/,     build/registry.ts
//   test/guests/<name>/ hostile ABI test guests -> build/test-guests/, build/test-registry.ts
//
// A module folder holds module.json and one source: index.ts (AssemblyScript),
// module.wat (text format), module.wasm (prebuilt) or Cargo.toml (Rust).
//
//   node scripts/build-modules.mjs              every module and test guest
//   node scripts/build-modules.mjs --served     only modules/ (what `npm start` serves)
//   node scripts/build-modules.mjs hello chat   just these (served modules or test guests)
//   --force                                     rebuild even what is up to date
//
// Each module is compiled, metered (scripts/wasm-meter.mjs, see docs/host.md), asyncified where
// it may block (scripts/wasm-asyncify.mjs), has its mutable globals made reachable for snapshots
// (scripts/wasm-globals.mjs) and is given its limits.memoryPages as its memory's maximum
// (scripts/wasm-memory-max.mjs). The registry carries each binary's hash: a snapshot is bound to
// the binary it was taken of.
//
// Safe while `wrangler dev` serves build/: every output is written to a temporary
// file in its own folder and renamed into place (wrangler never reads a half-written
// file), and only when its content changed (no reload for nothing). A module is
// rebuilt only when its key changed: a hash of its folder, the SDK and scripts it is
// built with, the tool versions and this script, kept in build/<tree>/<name>.wasm.key.
// With names, the other modules keep their last build and stay in the registries.
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import wabtInit from "wabt";
import { addGlobalAccess } from "./wasm-globals.mjs";
import { asyncify } from "./wasm-asyncify.mjs";
import { capMemory, declaredMax } from "./wasm-memory-max.mjs";
import { meter } from "./wasm-meter.mjs";
import { readManifest } from "./module-manifest.mjs";
import { signatures } from "./wasm-signatures.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "build");
const bin = (name) => join(root, "node_modules", ".bin", name);
const rel = (p) => relative(root, p);
/** The runtime's default limits (src/manifest.ts reads the same file). */
const defaultLimits = JSON.parse(readFileSync(join(root, "src/limits.json"), "utf8"));

const TREES = [
  { tree: "modules", outName: "modules", registry: "registry.ts", served: true },
  { tree: "test/guests", outName: "test-guests", registry: "test-registry.ts", served: false },
];

// ---------- arguments ----------
const args = process.argv.slice(2);
const flags = new Set(args.filter((a) => a.startsWith("-")));
const names = args.filter((a) => !a.startsWith("-"));
for (const f of flags) {
  if (!["--served", "--force", "--help", "-h"].includes(f)) fail(`unknown option ${f} (options: --served, --force)`);
}
if (flags.has("--help") || flags.has("-h")) {
  console.log("usage: node scripts/build-modules.mjs [--served] [--force] [module ...]");
  process.exit(0);
}
const servedOnly = flags.has("--served");
const force = flags.has("--force");

function fail(message) {
  console.error(`build-modules: ${message}`);
  process.exit(1);
}

// ---------- writing outputs ----------
const workDir = mkdtempSync(join(tmpdir(), "wasm-bus-build-"));
const ownTemps = new Set();
process.on("exit", () => {
  rmSync(workDir, { recursive: true, force: true });
  for (const t of ownTemps) rmSync(t, { force: true });
});
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(130));

/**
 * Writes `data` to `path` only when it differs from what is there, through a temporary
 * file in the same folder renamed into place: a reader (wrangler's watcher) sees the old
 * file or the new one, never a partial one. Returns whether it wrote.
 */
function writeIfChanged(path, data) {
  const bytes = typeof data === "string" ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (existsSync(path) && readFileSync(path).equals(bytes)) return false;
  mkdirSync(dirname(path), { recursive: true });
  // A dot name not ending in .wasm/.ts: no watcher or bundler rule picks it up.
  const temp = join(dirname(path), `.${process.pid}.${Math.random().toString(36).slice(2)}.${path.split("/").pop()}.tmp`);
  ownTemps.add(temp);
  writeFileSync(temp, bytes);
  renameSync(temp, path);
  ownTemps.delete(temp);
  return true;
}

/** Temporary files a killed build left behind (its pid no longer runs). */
function removeStaleTemps(dir) {
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir)) {
    const m = /^\.(\d+)\..*\.tmp$/.exec(f);
    if (!m) continue;
    try {
      process.kill(Number(m[1]), 0);
    } catch (err) {
      if (err.code === "ESRCH") rmSync(join(dir, f), { force: true });
    }
  }
}

// ---------- cache keys ----------
const SKIP_DIRS = new Set(["target", "node_modules", ".git"]);
const hashes = new Map();

/** Hash of every file under `dir` (paths and contents), without build output folders. */
function hashTree(dir) {
  if (hashes.has(dir)) return hashes.get(dir);
  const h = createHash("sha256");
  const walk = (d) => {
    for (const entry of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) {
        if (!SKIP_DIRS.has(entry.name)) walk(p);
      } else if (entry.isFile()) {
        h.update(`${relative(dir, p)}\0`);
        h.update(readFileSync(p));
        h.update("\0");
      }
    }
  };
  walk(dir);
  const digest = h.digest("hex");
  hashes.set(dir, digest);
  return digest;
}

function hashFile(path) {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

const version = (pkg) => JSON.parse(readFileSync(join(root, "node_modules", pkg, "package.json"), "utf8")).version;

/** What every key shares: this script, the metering and memory steps, their tools. */
const commonKey = [
  `script ${hashFile(fileURLToPath(import.meta.url))}`,
  `memory-max ${hashFile(join(root, "scripts/wasm-memory-max.mjs"))}`,
  `asyncify ${hashFile(join(root, "scripts/wasm-asyncify.mjs"))}`,
  `globals ${hashFile(join(root, "scripts/wasm-globals.mjs"))}`,
  `binary ${hashFile(join(root, "scripts/wasm-binary.mjs"))}`,
  `meter ${hashFile(join(root, "scripts/wasm-meter.mjs"))}`,
  `fuel ${hashFile(join(root, "src/fuel.wat"))}`,
  `binaryen ${version("binaryen")}`,
  `wabt ${version("wabt")}`,
];

const inside = (path, dir) => path === dir || path.startsWith(`${dir}/`);

/** Crates a Rust crate reaches by path dependencies, transitively (greeter-rs uses counter-rs/api). */
function rustPathDeps(dir, seen = new Set()) {
  for (const [, path] of readFileSync(join(dir, "Cargo.toml"), "utf8").matchAll(/\bpath\s*=\s*"([^"]+)"/g)) {
    const dep = resolve(dir, path);
    if (seen.has(dep) || !existsSync(join(dep, "Cargo.toml"))) continue; // also skips [lib] path = "src/..."
    seen.add(dep);
    rustPathDeps(dep, seen);
  }
  return seen;
}

/** Files an AssemblyScript source imports by relative path, transitively. */
function asImports(file, seen = new Set()) {
  for (const [, spec] of readFileSync(file, "utf8").matchAll(/\bfrom\s+["'](\.{1,2}\/[^"']+)["']/g)) {
    const base = resolve(dirname(file), spec);
    const found = [base, `${base}.ts`, join(base, "index.ts")].find((f) => existsSync(f) && statSync(f).isFile());
    if (!found || seen.has(found)) continue;
    seen.add(found);
    asImports(found, seen);
  }
  return seen;
}

function keyOf(mod, rust) {
  const parts = [...commonKey, `sdk ${mod.sdk}`, `folder ${hashTree(mod.dir)}`, `memoryPages ${memoryPages(mod)}`];
  if (mod.manifest.source) parts.push(`source ${hashFile(resolve(mod.dir, mod.manifest.source))}`);
  if (mod.sdk === "assemblyscript") {
    const sdk = join(root, "sdk/assemblyscript");
    parts.push(`asc ${version("assemblyscript")}`, `as-sdk ${hashTree(sdk)}`);
    for (const f of [...asImports(join(mod.dir, "index.ts"))].sort()) {
      if (!inside(f, mod.dir) && !inside(f, sdk)) parts.push(`import ${rel(f)} ${hashFile(f)}`);
    }
  } else if (mod.sdk === "rust") {
    const sdk = join(root, "sdk/rust");
    parts.push(`rust-sdk ${hashTree(sdk)}`, `build-crate ${hashFile(join(root, "scripts/rust/build-crate.sh"))}`, `toolchain ${rust.identity}`);
    for (const dep of [...rustPathDeps(mod.dir)].sort()) {
      if (!inside(dep, mod.dir) && !inside(dep, sdk)) parts.push(`crate ${rel(dep)} ${hashTree(dep)}`);
    }
  }
  return createHash("sha256").update(parts.join("\n")).digest("hex");
}

// ---------- the Rust toolchain ----------
const truthy = (v) => Boolean(v) && v !== "0" && v !== "false";
const rustRequired = truthy(process.env.CI) || truthy(process.env.WASM_BUS_REQUIRE_RUST);
let rust;

/**
 * Sets the wasm32 Rust toolchain up when missing (scripts/rust/toolchain.sh, its progress on
 * the console): { ready: true, identity } or, when the script exits 3 (no route can work here)
 * and Rust is not required, { ready: false, reason }. Any other failure is fatal.
 */
async function rustToolchain() {
  if (rust) return rust;
  const script = join(root, "scripts/rust/toolchain.sh");
  const { code, stdout, stderr } = await new Promise((done, reject) => {
    const child = spawn("bash", [script, "env"], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "", stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => {
      stderr += d;
      process.stderr.write(d);
    });
    child.on("error", reject);
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
  const why = stderr.trim().split("\n").pop() || `exit ${code}`;
  if (code === 0) {
    // What the output depends on: the route, its compiler, its std build (a rebuilt sysroot gets a new stamp).
    const identity = execFileSync("bash", ["-c", 'eval "$1"; "$RUSTC" -vV; [[ -z ${WASM_BUS_RUST_SYSROOT:-} ]] || cat "$WASM_BUS_RUST_SYSROOT/.complete"', "_", stdout], { encoding: "utf8" });
    const env = Object.entries(process.env).filter(([k]) => k.startsWith("CARGO_PROFILE_RELEASE_") || /^CARGO_TARGET_WASM32_.*_RUSTFLAGS$/.test(k)).sort();
    rust = { ready: true, identity: createHash("sha256").update(stdout + identity + JSON.stringify(env)).digest("hex") };
  } else if (code === 3 && !rustRequired) {
    rust = { ready: false, reason: why.replace(/^toolchain\.sh: /, "") };
  } else {
    throw new Error(`Rust modules need a wasm32 toolchain: scripts/rust/toolchain.sh exited ${code}: ${why}`);
  }
  return rust;
}

// ---------- building ----------
const wabt = await wabtInit();

function watToWasm(source) {
  const parsed = wabt.parseWat(source, readFileSync(source, "utf8"), { bulk_memory: true, multi_value: true, mutable_globals: true, relaxed_simd: true });
  try {
    parsed.resolveNames();
    parsed.validate();
    return parsed.toBinary({}).buffer;
  } finally {
    parsed.destroy();
  }
}

function sdkOf(dir, manifest) {
  if (manifest.source) return "wat";
  if (existsSync(join(dir, "index.ts"))) return "assemblyscript";
  if (existsSync(join(dir, "module.wat"))) return "wat";
  if (existsSync(join(dir, "module.wasm"))) return "prebuilt";
  if (existsSync(join(dir, "Cargo.toml"))) return "rust";
  throw new Error(`${rel(dir)}: no index.ts, module.wat, module.wasm or Cargo.toml`);
}

const memoryPages = (mod) => mod.manifest.limits?.memoryPages ?? defaultLimits.memoryPages;
/**
 * The registry's `memoryPages` of a binary: the maximum the binary on disk declares (not what its
 * manifest says now: a build of some modules lists the others with the binaries they have).
 */
function memoryMax(file) {
  const max = declaredMax(readFileSync(file));
  return max === undefined ? "" : `, memoryPages: ${max}`;
}

/**
 * Compiles one module into a private temporary file and meters it there; returns its bytes with
 * limits.memoryPages declared as its memory's maximum (memory.grow past it fails in the guest).
 */
function compile(mod) {
  const file = join(workDir, `${mod.outName}-${mod.name}.wasm`);
  if (mod.sdk === "wat") {
    writeFileSync(file, watToWasm(mod.manifest.source ? resolve(mod.dir, mod.manifest.source) : join(mod.dir, "module.wat")));
  } else if (mod.sdk === "assemblyscript") {
    execFileSync(bin("asc"), [join(mod.dir, "index.ts"), "--config", join(root, "sdk/assemblyscript/asconfig.json"), "--target", "release", "--outFile", file], { stdio: "inherit", cwd: root });
  } else if (mod.sdk === "prebuilt") {
    writeFileSync(file, readFileSync(join(mod.dir, "module.wasm")));
  } else {
    execFileSync("bash", [join(root, "scripts/rust/build-crate.sh"), mod.dir, mod.manifest.target ?? "wasm32-unknown-unknown", file], { stdio: "inherit" });
  }
  // Fuel metering: every loop iteration and some function entries take fuel (scripts/wasm-meter.mjs).
  if (mod.manifest.metering !== false) meter(file, bin("wasm-opt"));
  asyncify(file, bin("wasm-opt")); // a blocking module waits with its stack in its memory (scripts/wasm-asyncify.mjs)
  // Snapshots read and restore every mutable global: through two functions the build adds (scripts/wasm-globals.mjs).
  return capMemory(addGlobalAccess(readFileSync(file)), memoryPages(mod));
}

async function listTree({ tree, outName, registry, served }) {
  const base = join(root, tree);
  const mods = [];
  if (existsSync(base)) {
    for (const name of readdirSync(base).sort()) {
      const dir = join(base, name);
      if (!statSync(dir).isDirectory() || !existsSync(join(dir, "module.json"))) continue;
      if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new Error(`${tree}/${name}: module names are lower-case letters, digits and dashes`);
      const manifest = await readManifest(root, name, dir, `${tree}/${name}`);
      const target = join(out, outName, `${name}.wasm`);
      mods.push({ name, dir, manifest, sdk: sdkOf(dir, manifest), tree, outName, registry, served, target, keyFile: `${target}.key` });
    }
  }
  return mods;
}

// Every manifest, not only the selected modules': the registries list them all.
const trees = [];
try {
  for (const t of TREES) trees.push({ ...t, mods: await listTree(t) });
} catch (err) {
  fail(err.message);
}
const all = trees.flatMap((t) => t.mods);

// What to build: the named modules, else every module (only the served ones with --served).
let selected;
if (names.length) {
  const unknown = names.filter((n) => !all.some((m) => m.name === n));
  if (unknown.length) {
    const known = trees.map((t) => `${t.tree}: ${t.mods.map((m) => m.name).join(", ") || "(none)"}`).join("; ");
    fail(`unknown module${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")}; known ${known}`);
  }
  selected = new Set(all.filter((m) => names.includes(m.name)));
} else {
  selected = new Set(all.filter((m) => m.served || !servedOnly));
}

mkdirSync(out, { recursive: true });
for (const t of trees) {
  mkdirSync(join(out, t.outName), { recursive: true });
  removeStaleTemps(join(out, t.outName));
}
removeStaleTemps(out);

const built = [], upToDate = [], skipped = [];
/** Whether a module goes in its registry: just built or, when only some were asked for, built before. */
const listed = (mod) => !skipped.includes(mod) && (selected.has(mod) || existsSync(mod.target));

async function buildSelected() {
  for (const mod of all) {
    if (!selected.has(mod)) continue;
    let toolchain;
    if (mod.sdk === "rust") {
      toolchain = await rustToolchain();
      if (!toolchain.ready) {
        skipped.push(mod);
        continue;
      }
    }
    const key = keyOf(mod, toolchain);
    if (!force && existsSync(mod.target) && existsSync(mod.keyFile) && readFileSync(mod.keyFile, "utf8").trim() === key) {
      upToDate.push(mod);
      continue;
    }
    let bytes;
    try {
      bytes = compile(mod);
    } catch (err) {
      // A tool that exited has printed its errors already; wabt's are in the message.
      throw new Error(`${rel(mod.dir)}: build failed: ${typeof err.status === "number" ? `exit ${err.status} (errors above)` : err.message.trim()}`);
    }
    const changed = writeIfChanged(mod.target, bytes);
    writeIfChanged(mod.keyFile, `${key}\n`);
    built.push({ mod, size: bytes.length, changed });
  }
}

/** build/fuel.*, build/json-bytes.*, wasm.d.ts, the registries and signatures.json; outputs of deleted modules go. */
function writeShared() {
  writeIfChanged(join(out, "fuel.wasm"), watToWasm(join(root, "src/fuel.wat")));
  writeIfChanged(join(out, "wasm.d.ts"), 'declare module "*.wasm" {\n  const module: WebAssembly.Module;\n  export default module;\n}\n');
  writeIfChanged(join(out, "fuel.ts"), '// Generated by scripts/build-modules.mjs: do not edit.\nimport fuel from "./fuel.wasm";\nexport { fuel };\n');
  // The JSON codec's byte-array kernel (src/codec/json-kernel.ts), handed to the codec by src/worker-runtime.ts.
  writeIfChanged(join(out, "json-bytes.wasm"), watToWasm(join(root, "src/codec/json-bytes.wat")));
  writeIfChanged(join(out, "json-bytes.ts"), '// Generated by scripts/build-modules.mjs: do not edit.\nimport jsonBytes from "./json-bytes.wasm";\nexport { jsonBytes };\n');
  const sigs = {};
  for (const t of trees) {
    // Always written, empty when nothing is built (`--served`): test/ imports test-registry.ts.
    const entries = t.mods.filter(listed);
    const lines = ["// Generated by scripts/build-modules.mjs: do not edit.", 'import type { ModuleEntry } from "../src/runtime.js";'];
    entries.forEach((e, i) => lines.push(`import wasm${i} from "./${t.outName}/${e.name}.wasm";`));
    lines.push("", "export const modules: Record<string, ModuleEntry> = {");
    entries.forEach((e, i) => lines.push(`  ${JSON.stringify(e.name)}: { manifest: ${JSON.stringify(e.manifest)}, wasm: wasm${i}, hash: ${JSON.stringify(hashFile(e.target))}${memoryMax(e.target)} },`));
    lines.push("};", "");
    writeIfChanged(join(out, t.registry), lines.join("\n"));
    for (const e of entries) sigs[rel(e.dir)] = { ...signatures(readFileSync(e.target)), sdk: e.sdk };
    // After the registry: nothing imports these any more.
    const names = new Set(t.mods.map((m) => m.name));
    for (const f of readdirSync(join(out, t.outName))) {
      const m = /^([a-z][a-z0-9-]*)\.wasm(\.key)?$/.exec(f);
      if (m && !names.has(m[1])) unlinkSync(join(out, t.outName, f));
    }
  }
  writeIfChanged(join(out, "signatures.json"), JSON.stringify(sigs, null, 1));
}

const started = Date.now();
try {
  await buildSelected();
  writeShared();
} catch (err) {
  fail(err.message);
}
for (const { mod, size, changed } of built) console.log(`built ${rel(mod.target)} (${size} bytes${changed ? "" : ", same as before"})`);
if (upToDate.length) console.log(`up to date: ${upToDate.map((m) => m.name).join(", ")}`);
if (skipped.length) console.warn(`skipped Rust modules ${skipped.map((m) => m.name).join(", ")}: ${rust.reason}`);
const missing = all.filter((m) => !listed(m) && !skipped.includes(m) && (m.served || !servedOnly));
if (missing.length) console.warn(`not built yet, so not in the registries: ${missing.map((m) => m.name).join(", ")} (npm run build)`);
console.log(`build-modules: ${built.length} built, ${upToDate.length} up to date${skipped.length ? `, ${skipped.length} skipped` : ""} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
