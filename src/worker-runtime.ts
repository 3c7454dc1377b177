import { fuel } from "../build/fuel.js";
import { modules } from "../build/registry.js";
import { type ModuleEntry, Runtime, type RuntimeOptions } from "./runtime.js";

/**
 * The one place a runtime is made from the bundled modules: for the Worker's isolate and for
 * each Durable Object, which differ only in their clock and log sink.
 */
export function createRuntime(options: Omit<RuntimeOptions, "fuel"> = {}, registry: Record<string, ModuleEntry> = modules): Runtime {
  return new Runtime(registry, { ...options, fuel });
}
