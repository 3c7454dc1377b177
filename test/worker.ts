import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import type { Env } from "../src/env.js";

/** Requests to the Worker under test (src/index.ts), through its real fetch handler. */
export function worker(path: string, init?: RequestInit): Promise<Response> {
  return (exports as unknown as { default: Fetcher }).default.fetch(`http://bus.test${path}`, init);
}

export function post(path: string, body: unknown, type = "application/json"): Promise<Response> {
  return worker(path, {
    method: "POST",
    headers: { "content-type": type },
    body: type === "application/json" && typeof body !== "string" ? JSON.stringify(body) : (body as BodyInit),
  });
}

/** A process's Durable Object, by the process's id. */
export function processStub(id: string) {
  const processes = (env as unknown as Env).PROCESSES;
  return processes.get(processes.idFromString(id));
}

/**
 * Spawns a process of a test guest in its own object, as POST /processes would: the route
 * serves modules/ only (the test file lets the objects run test guests: setProcessModules).
 */
export async function spawnGuest(module: string, args: string[]): Promise<string> {
  const id = (env as unknown as Env).PROCESSES.newUniqueId().toString();
  const made = await processStub(id).spawn(id, { module, args });
  expect(made.ok, JSON.stringify(made)).toBe(true);
  return id;
}
