import { env } from "cloudflare:workers";
import { fuel } from "../build/fuel.js";
import { modules } from "../build/registry.js";
import type { Env } from "./env.js";
import { sessionServices } from "./remote.js";
import { type ModuleEntry, Runtime, type RuntimeOptions } from "./runtime.js";
import { storeObjects } from "./store.js";

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
