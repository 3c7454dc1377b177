import { IMPORTS, IMPORT_MODULE } from "./abi.js";
import { BusError } from "./errors.js";
import { Asyncify } from "./instance/asyncify.js";
import { type Manifest, parseManifest } from "./manifest.js";
import { sessionAddress } from "./session-names.js";
import { WASI_FUNCTIONS } from "./wasi/functions.js";

/** One entry of the generated registry (build/registry.ts): a manifest and its statically imported Wasm. */
export interface ModuleEntry {
  manifest: unknown;
  wasm: WebAssembly.Module;
  /** The binary's SHA-256 (hex), written by the build: a snapshot is bound to it. */
  hash?: string;
  /** The maximum the build declared on the binary's memory (scripts/wasm-memory-max.mjs), in pages. */
  memoryPages?: number;
}

/** A module as the runtime knows it: checked once, when the isolate loads it. */
export interface LoadedModule {
  name: string;
  manifest: Manifest;
  wasm: WebAssembly.Module;
  /** The binary's SHA-256 from the build ("" when the registry has none): what a snapshot is bound to. */
  hash: string;
  /** Imports WASI preview1. */
  wasi: boolean;
  /** May block in an import (`poll`, WASI sleeps, stdin): imports `poll`, `poll_oneoff` or `fd_read`. */
  blocking: boolean;
  /**
   * Built with binaryen's asyncify (scripts/wasm-asyncify.mjs, as the build does every blocking
   * module): a blocking module's entries then run through src/instance/asyncify.ts and can wait.
   * A blocking module without it cannot: `poll` answers Unsupported, WASI waits EAGAIN or ENOTSUP.
   */
  asyncify: boolean;
  /** Built with fuel metering: imports wasm_bus_meter.log_execution (and its counter, wasm_bus_meter.fuel: scripts/wasm-meter.mjs). */
  metered: boolean;
  /** Exports `_start`: it can run as a process. */
  command: boolean;
  /**
   * Its memory cannot grow past limits.memoryPages: the build declared that maximum in the binary,
   * so the engine refuses the growth. Other binaries are checked by the host (InstanceContext.checkMemory).
   */
  capped: boolean;
  /** Why the module cannot run, found when it was loaded. */
  error?: BusError;
}

/** Imports outside module `wasm-bus` that the host also provides. */
const HOST_IMPORTS = new Set(["env.abort", "env.seed", "wasm_bus_meter.log_execution", "wasm_bus_meter.fuel", "wasi.thread-spawn"]);

/**
 * The module whose instance a wapm name reaches, for its limits: the module itself, or a session's
 * instance's (`chat@room-a`). Undefined for any other name (`os`, the host's, is never a module).
 */
export function moduleOf(modules: ReadonlyMap<string, LoadedModule>, wapm: string): LoadedModule | undefined {
  return modules.get(wapm) ?? modules.get(sessionAddress(wapm)?.module ?? "");
}

/** Loads every module of a registry once: manifests parsed, imports checked against the ABI. */
export function loadModules(registry: Record<string, ModuleEntry>): Map<string, LoadedModule> {
  return new Map(Object.entries(registry).map(([name, entry]) => [name, load(name, entry)]));
}

function load(name: string, entry: ModuleEntry): LoadedModule {
  const manifest = parseManifest(name, entry.manifest);
  const imports = WebAssembly.Module.imports(entry.wasm);
  const exports = WebAssembly.Module.exports(entry.wasm);
  const module: LoadedModule = {
    name,
    manifest,
    wasm: entry.wasm,
    hash: entry.hash ?? "",
    wasi: imports.some((i) => i.module === "wasi_snapshot_preview1"),
    blocking: imports.some((i) => (i.module === IMPORT_MODULE && i.name === "poll") || i.name === "poll_oneoff" || i.name === "fd_read"),
    asyncify: Asyncify.applies(exports.map((e) => e.name)),
    metered: imports.some((i) => i.module === "wasm_bus_meter" && i.name === "log_execution"),
    command: exports.some((e) => e.name === "_start" && e.kind === "function"),
    capped: entry.memoryPages !== undefined && entry.memoryPages <= manifest.limits.memoryPages,
  };
  for (const i of imports) {
    const known =
      (i.module === "wasi_snapshot_preview1" && i.kind === "function" && WASI_FUNCTIONS.has(i.name)) ||
      HOST_IMPORTS.has(`${i.module}.${i.name}`) ||
      (i.module === IMPORT_MODULE && i.kind === "function" && Object.hasOwn(IMPORTS, i.name));
    if (!known) {
      module.error = BusError.of("IncorrectAbi", `module ${name} imports ${i.module}.${i.name}, which the wasm-bus ABI does not provide`);
      break;
    }
  }
  if (!exports.some((e) => e.name === "memory" && e.kind === "memory")) {
    module.error ??= BusError.of("IncorrectAbi", `module ${name} does not export its memory`);
  }
  return module;
}
