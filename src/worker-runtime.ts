import { env } from "cloudflare:workers";
import { fuel } from "../build/fuel.js";
import { jsonBytes } from "../build/json-bytes.js";
import { modules } from "../build/registry.js";
import { useJsonKernel } from "./codec/json-kernel.js";
import type { Env } from "./env.js";
import { sessionServices } from "./remote.js";
import { type ModuleEntry, Runtime, type RuntimeOptions } from "./runtime.js";
import { storeObjects } from "./store.js";

// The JSON codec writes and reads long byte arrays in this Wasm kernel (made on first use).
useJsonKernel(jsonBytes);

/**
 * The one place a runtime is made from the bundled modules: for the Worker's isolate and for
 * each Durable Object, which differ in their clock, their log sink and their storage. kv.* keys
 * go to each module's BusStore object (STORES) unless the caller passes its own storage: a
 * process or a session keeps its modules' keys in its own SQLite. Every runtime reaches the
 * sessions' instances as `<module>@<session>` (src/remote.ts), callbacks included.
 */
export function createRuntime(options: Omit<RuntimeOptions, "fuel"> = {}, registry: Record<string, ModuleEntry> = modules): Runtime {
  const bindings = env as unknown as Partial<Env>;
  return new Runtime(registry, { storage: storeObjects(() => bindings.STORES), remote: sessionServices(() => bindings.SESSIONS), ...options, fuel });
}
