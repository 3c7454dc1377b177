// Builds what the bench runs: its WAT guests (bench/guests/*/module.wat; those with a
// module.json get its limits.memoryPages as their memory's maximum, as scripts/build-modules.mjs
// caps modules; plus a fuel-metered copy of bus-echo, metered exactly as the build meters
// modules), the runtime core bundled for Node, and the bench Worker.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import wabtInit from "wabt";
import { capMemory } from "../../scripts/wasm-memory-max.mjs";
import { meter } from "../../scripts/wasm-meter.mjs";
import { root, out, bin } from "./paths.mjs";

export async function buildGuests() {
  const wabt = await wabtInit();
  const dir = join(out, "guests");
  mkdirSync(dir, { recursive: true });
  const guestsDir = join(root, "bench/guests");
  for (const name of readdirSync(guestsDir).sort()) {
    const src = join(guestsDir, name, "module.wat");
    if (!existsSync(src)) continue;
    const parsed = wabt.parseWat(src, readFileSync(src, "utf8"), { bulk_memory: true, multi_value: true, mutable_globals: true });
    parsed.resolveNames();
    parsed.validate();
    const binary = parsed.toBinary({}).buffer;
    parsed.destroy();
    const pages = memoryPages(join(guestsDir, name));
    writeFileSync(join(dir, `${name}.wasm`), pages === undefined ? binary : capMemory(binary, pages));
  }
  // The metered copy, as the build meters modules (scripts/wasm-meter.mjs).
  copyFileSync(join(dir, "bus-echo.wasm"), join(dir, "bus-echo-metered.wasm"));
  meter(join(dir, "bus-echo-metered.wasm"), bin("wasm-opt"));
  return dir;
}

const defaultLimits = JSON.parse(readFileSync(join(root, "src/limits.json"), "utf8"));

/** A guest's limits.memoryPages, as the build reads a module's; undefined for a guest without a module.json (not run as a module). */
export function memoryPages(guestDir) {
  const file = join(guestDir, "module.json");
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, "utf8")).limits?.memoryPages ?? defaultLimits.memoryPages;
}

/** The runtime core for Node, bundled as wrangler bundles it for workerd (tree: a copy of the repo's src, for experiments). */
export function bundleCore(tree = root, file = join(out, "core.mjs")) {
  execFileSync(bin("esbuild"), [
    join(tree, "bench/core.ts"), "--bundle", "--platform=neutral", "--conditions=workerd,worker,browser",
    "--main-fields=browser,module,main", "--format=esm", "--target=es2022", "--log-level=warning", `--outfile=${file}`,
  ], { stdio: "inherit" });
  return file;
}

/** The project's modules (build/): built by `npm run build`; built here only when missing. */
export function ensureModules(force = false) {
  if (!force && existsSync(join(root, "build/fuel.wasm")) && existsSync(join(root, "build/json-bytes.wasm")) && existsSync(join(root, "build/modules/hello.wasm")) && existsSync(join(root, "build/modules/fetcher.wasm"))) return false;
  execFileSync(process.execPath, [join(root, "scripts/build-modules.mjs")], { stdio: "inherit", cwd: root });
  return true;
}

export function buildAll({ forceModules = false } = {}) {
  mkdirSync(out, { recursive: true });
  const built = ensureModules(forceModules);
  bundleCore();
  return buildGuests().then(() => ({ modulesBuilt: built }));
}
