import { fuel } from "../build/fuel.js";
import { modules } from "../build/registry.js";
import { modules as testGuests } from "../build/test-registry.js";
import { createApp } from "../src/http/app.js";
import type { LogLine } from "../src/log.js";
import { Runtime, type RuntimeOptions } from "../src/runtime.js";

/**
 * Runs `fn` with WebAssembly.Suspending and WebAssembly.promising hidden, as an engine without JSPI
 * has them: blocking guests wait through asyncify, so nothing may reach for them.
 */
export async function withoutJspi<T>(fn: () => T | Promise<T>): Promise<T> {
  const wa = WebAssembly as unknown as Record<string, unknown>;
  const saved = { Suspending: wa.Suspending, promising: wa.promising };
  delete wa.Suspending;
  delete wa.promising;
  try {
    return await fn();
  } finally {
    if (saved.Suspending !== undefined) wa.Suspending = saved.Suspending;
    if (saved.promising !== undefined) wa.promising = saved.promising;
  }
}

/** An app over the hostile test guests, with its log lines kept for assertions. */
export function guestApp(options: Omit<RuntimeOptions, "fuel" | "log"> = {}) {
  const logs: LogLine[] = [];
  // The served modules too, so guests can call and spawn them.
  const runtime = new Runtime({ ...modules, ...testGuests }, { ...options, fuel, log: (line) => logs.push(line) });
  const app = createApp(runtime);
  const call = (module: string, topic: string, body: unknown = {}, init: RequestInit = {}) =>
    app.request(`/call/${module}/${topic}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
      ...init,
    });
  return { app, runtime, logs, call };
}
