import { exports } from "cloudflare:workers";

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
