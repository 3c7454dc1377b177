// The runtime core in Node: the bundled src (bench/.out/core.mjs), its
// modules and the bench guests, and the payloads every section shares.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { declaredMax } from "../../scripts/wasm-memory-max.mjs";
import { guest, out, root } from "./paths.mjs";

export const core = await import(pathToFileURL(join(out, "core.mjs")).href);
// As the Worker does (src/worker-runtime.ts): the JSON codec's byte-array kernel from the build.
const kernel = join(root, "build/json-bytes.wasm");
if (existsSync(kernel)) core.useJsonKernel?.(new WebAssembly.Module(readFileSync(kernel)));

export const wasm = (path) => new WebAssembly.Module(readFileSync(path));

/** Log lines at warn or error mean the bench is measuring a failure: collect them and fail loudly. */
export const problems = [];
const sink = (line) => {
  if (line.level === "error" || line.level === "warn") problems.push(line);
};
export function assertNoProblems(what) {
  if (problems.length) throw new Error(`${what}: the runtime logged ${problems.length} problem(s), first: ${JSON.stringify(problems[0])}`);
}

const benchManifest = JSON.parse(readFileSync(join(root, "bench/guests/bus-echo/module.json"), "utf8"));
const nowManifest = JSON.parse(readFileSync(join(root, "bench/guests/bus-echo-now/module.json"), "utf8"));
// The maxima the guests' binaries declare (lib/build.mjs caps them), as the build's registry says of modules.
const declared = (file) => (existsSync(file) ? declaredMax(readFileSync(file)) : undefined);
const benchPages = declared(guest("bus-echo"));
const nowPages = declared(guest("bus-echo-now"));

/** A project module (modules/<name>) as built into build/modules, or null when it is not built. */
export function projectModule(name) {
  const file = join(root, "build/modules", `${name}.wasm`);
  const manifestFile = join(root, "modules", name, "module.json");
  if (!existsSync(file) || !existsSync(manifestFile)) return null;
  // Capped as the build caps every module (its registry says so with memoryPages).
  return { manifest: JSON.parse(readFileSync(manifestFile, "utf8")), wasm: wasm(file), memoryPages: declared(file) };
}

/**
 * The runtime helpers over one bundle of the core: bench/.out/core.mjs by
 * default, or another commit's (bench/compare.mjs) measured beside it.
 */
export function kit(c) {
  const noCallbacks = () => c.Code.MissingCallbacks;
  return {
    core: c,
    makeRuntime(extra = {}) {
      const registry = {
        "bench-echo": { manifest: benchManifest, wasm: wasm(guest("bus-echo")), memoryPages: benchPages },
        "bench-echo-metered": { manifest: benchManifest, wasm: wasm(guest("bus-echo-metered")), memoryPages: benchPages },
        // ABI v2 (call_now): the same guest twice, so a module can call another module
        ...(existsSync(guest("bus-echo-now"))
          ? {
              "bench-now": { manifest: nowManifest, wasm: wasm(guest("bus-echo-now")), memoryPages: nowPages },
              "bench-peer": { manifest: nowManifest, wasm: wasm(guest("bus-echo-now")), memoryPages: nowPages },
            }
          : {}),
        ...extra,
      };
      return new c.Runtime(registry, { fuel: wasm(join(root, "build/fuel.wasm")), log: sink });
    },
    /** Sends one call to a live guest instance and resolves with its reply. */
    accept(instance, module, topic, format, data) {
      return new Promise((resolve, reject) => instance.accept(new c.BusCall(module, topic, { format, data }, { finish: resolve, fail: reject, callback: noCallbacks })));
    },
    /** Sends one call through the runtime (the HTTP edge's path: a fresh instance per call). */
    dispatch(runtime, module, topic, format, data) {
      return new Promise((resolve, reject) => {
        // Older cores threw a refusal; this one returns it.
        const refused = runtime.dispatch(new c.BusCall(module, topic, { format, data }, { finish: resolve, fail: reject, callback: noCallbacks }));
        if (refused) reject(refused);
      });
    },
  };
}

export const { makeRuntime, accept, dispatch } = kit(core);

/** [n: u32 LE][payload], the request of the guests' "bench" entry points. */
export function withCount(n, payload) {
  const data = new Uint8Array(4 + payload.length);
  new DataView(data.buffer).setUint32(0, n, true);
  data.set(payload, 4);
  return data;
}

export const FORMATS = { raw: 0, json: 1, msgpack: 2 };
export const SIZES = { "16 B": 16, "1 KiB": 1024, "64 KiB": 65536 };

/** A valid payload of exactly `size` bytes in `format`: random bytes, a JSON string, a msgpack str. */
export function payload(format, size) {
  const bytes = new Uint8Array(size);
  if (format === "raw") {
    for (let i = 0; i < size; i++) bytes[i] = (i * 2654435761) >>> 24;
    return bytes;
  }
  const fill = (from) => {
    for (let i = from; i < size; i++) bytes[i] = 97 + (i % 26);
  };
  if (format === "json") {
    fill(0);
    bytes[0] = bytes[size - 1] = 0x22; // "…"
    JSON.parse(new TextDecoder().decode(bytes));
    return bytes;
  }
  // msgpack str: fixstr, str16 or str32 header, then the characters
  if (size <= 32) {
    bytes[0] = 0xa0 | (size - 1);
    fill(1);
  } else if (size - 3 <= 0xffff) {
    bytes[0] = 0xda;
    new DataView(bytes.buffer).setUint16(1, size - 3);
    fill(3);
  } else {
    bytes[0] = 0xdb;
    new DataView(bytes.buffer).setUint32(1, size - 5);
    fill(5);
  }
  return bytes;
}

export function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
