import { fuel } from "../build/fuel.js";
import { modules } from "../build/registry.js";
import { modules as testGuests } from "../build/test-registry.js";
import { createApp } from "../src/http/app.js";
import type { LogLine } from "../src/log.js";
import { Runtime, type RuntimeOptions } from "../src/runtime.js";

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
