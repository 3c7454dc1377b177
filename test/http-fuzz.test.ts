import { env } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Code, codeName } from "../src/abi.js";
import type { Env } from "../src/env.js";
import worker from "../src/index.js";
import { describeCase, type HttpCase, httpCase } from "./fuzz/http-fuzzer.js";
import { Rng } from "./fuzz/rng.js";
import { post, worker as fetchWorker } from "./worker.js";

/**
 * The hostile-HTTP fuzzer: seeded requests (test/fuzz/http-fuzzer.ts) over every route the Worker
 * serves but WebSocket upgrades, sent with fetch to the Worker in workerd. Each answer must be a
 * status the docs promise; every error the one JSON body ({error, code, codeName, module, topic,
 * detail}) with a code of src/abi.ts's, in the Worker's own words (never the engine's: a stack
 * overflow, a TypeError), never InternalFailure, and a 500 only where a module failed; no
 * request may hang; a good call made beside it and one made after it are answered right; and
 * nothing is thrown past the Worker (an unhandled rejection, an error on the console).
 * CI: seed 20261201, 300 requests. Another: `npm run fuzz -- --http --seed N --actions M`.
 * workerd logs "uncaught exception" for a case whose own upload fails or that gives up: that is
 * the client's side (it does so for a route that never reads the body), not the Worker's.
 */
declare global {
  interface ImportMeta {
    glob<T>(pattern: string, options: { eager: true; import: "default" }): Record<string, T>;
  }
}
// workerd sees no environment variables: `npm run fuzz -- --http` writes build/http-fuzz.json.
const adHoc = Object.values(import.meta.glob<{ seed: number; requests: number }>("../build/http-fuzz.json", { eager: true, import: "default" }))[0];
const SEED = adHoc?.seed ?? 20261201;
const REQUESTS = adHoc?.requests ?? 300;
/** Longer than any call of the modules the cases reach may take, far shorter than a hang. */
const HANG_MS = 10_000;

/** Every status the docs promise (docs/host.md, the table and the edge's own; openapi.json). */
const STATUSES = new Set([200, 201, 204, 400, 401, 403, 404, 405, 409, 413, 415, 426, 500, 501, 502, 503, 504, 508]);
const ERROR_KEYS = new Set(["error", "code", "codeName", "module", "topic", "detail"]);
/** What a 500 may say: a module failed (docs/host.md). The host's own codes there are a throw it did not mean. */
const MODULE_FAILURES = new Set(["GuestTrapped", "SerializationFailed", "MemoryAllocationFailed", "CompileError", "IncorrectAbi", "Aborted", "InvalidPointer", "MissingCallbacks", "BusInvocationFailed"]);
/** The routes whose answers are not JSON: the console's page and assets. */
const NOT_JSON = /^\/console(\/app\.(js|css))?$/;

/** The body as chunks in a stream, with no length known, erroring after the first chunk where the case says so. */
function streamOf(body: Uint8Array | string, { chunk, fails }: NonNullable<HttpCase["stream"]>): ReadableStream<Uint8Array> {
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at > 0 && fails) return controller.error(new Error("the client's body failed"));
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + chunk));
      at += chunk;
    },
  });
}

function request(c: HttpCase, signal?: AbortSignal): Request | string {
  try {
    const body = c.stream && c.body !== undefined ? streamOf(c.body, c.stream) : c.body;
    return new Request(`http://bus.test${c.path}`, { method: c.method, headers: c.headers, body, signal, duplex: "half" } as RequestInit);
  } catch (err) {
    return (err as Error).message;
  }
}

/** The answer to one case: through the Worker's own fetch, or where the case sets vars, its handler with them. */
function send(c: HttpCase, req: Request): Promise<Response> {
  if (c.vars === undefined) return fetchWorker(req.url.slice("http://bus.test".length), req);
  return Promise.resolve(worker.fetch(req, { ...(env as unknown as Env), ...c.vars }, { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext));
}

function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${HANG_MS} ms`)), HANG_MS);
  });
  return Promise.race([promise, hang]).finally(() => clearTimeout(timer));
}

/** What is wrong with an answer, or nothing. */
async function problems(c: HttpCase, res: Response): Promise<string[]> {
  const out: string[] = [];
  if (!STATUSES.has(res.status)) out.push(`status ${res.status} is none the docs promise`);
  const type = res.headers.get("content-type") ?? "";
  const text = await res.text();
  const path = new URL(`http://bus.test${c.path}`).pathname;
  if (res.status < 300) {
    // A reply is JSON, or the console's, or a module's in the request's format, or lines of callbacks.
    if (c.method !== "HEAD" && res.status !== 204 && !/^application\/(json|msgpack|x-ndjson|octet-stream|x-bincode)|^text\/(html|css|javascript)/.test(type)) out.push(`a ${res.status} of type ${JSON.stringify(type)}`);
    if (type.startsWith("application/x-ndjson")) {
      const last = text.trimEnd().split("\n").at(-1) ?? "";
      try {
        const line = JSON.parse(last) as { type?: string; status?: number; code?: number; codeName?: string };
        if (line.type === "fault" && (/call stack|TypeError|RangeError/.test(last) || !STATUSES.has(line.status!) || line.codeName !== codeName(line.code!) || line.code === Code.InternalFailure)) out.push(`a fault line ${last.slice(0, 300)}`);
        else if (line.type !== "reply" && line.type !== "fault") out.push(`the last line is no reply or fault: ${last.slice(0, 300)}`);
      } catch {
        out.push(`the last line is no JSON: ${last.slice(0, 300)}`);
      }
    }
    return out;
  }
  if (!type.startsWith("application/json")) out.push(`a ${res.status} of type ${JSON.stringify(type)}: ${text.slice(0, 200)}`);
  if (c.method === "HEAD") return out;
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return [...out, `a ${res.status} whose body is no JSON: ${text.slice(0, 200)}`];
  }
  if (!body || typeof body !== "object" || Array.isArray(body)) return [...out, `a ${res.status} whose body is no object: ${text.slice(0, 200)}`];
  const extra = Object.keys(body).filter((k) => !ERROR_KEYS.has(k));
  if (extra.length) out.push(`keys beyond the error body's: ${extra.join(", ")}`);
  if (typeof body.error !== "string" || body.error === "") out.push(`no error message: ${text.slice(0, 200)}`);
  // What the caller sent is repeated cut (nameInMessage): a message of a 20,000-character path is no clearer for all of it.
  else if (body.error.length > 1000) out.push(`an error message of ${body.error.length} characters: ${body.error.slice(0, 200)}`);
  if (typeof body.code !== "number" || body.codeName !== codeName(body.code) || body.codeName === "Unknown" || body.code === Code.Success) out.push(`code ${body.code} and codeName ${body.codeName} are no known pair`);
  if (/call stack|TypeError|RangeError|ReferenceError|undefined is not|Cannot read prop/i.test(String(body.error))) out.push(`the engine's words, not the Worker's: ${String(body.error).slice(0, 300)}`);
  if (res.status === 500 && !MODULE_FAILURES.has(String(body.codeName))) out.push(`a 500 that is no module's failure: ${text.slice(0, 300)}`);
  if (body.code === Code.InternalFailure) out.push(`InternalFailure, a throw nobody meant: ${String(body.error).slice(0, 300)}`);
  for (const k of ["module", "topic", "detail"]) if (k in body && typeof body[k] !== "string") out.push(`${k} is no string`);
  if (NOT_JSON.test(path) && c.method === "GET" && res.status === 500) out.push("the console failed");
  return out;
}

const GOOD = '{"message":"Hello, Ada!"}';
async function good(): Promise<string | undefined> {
  const res = await post("/call/hello/greet", { name: "Ada" });
  const text = await res.text();
  return res.status === 200 && text === GOOD ? undefined : `the good call got ${res.status} ${text.slice(0, 200)}`;
}

describe(`hostile HTTP (seed ${SEED}, ${REQUESTS} requests)`, () => {
  let processId = "";
  /** echo-daemon as a process, anew where a case killed the last. */
  const spawn = async () => {
    const res = await post("/processes", { module: "echo-daemon" });
    expect(res.status).toBe(201);
    processId = ((await res.json()) as { id: string }).id;
  };
  const thrown: string[] = [];
  const onRejection = (e: PromiseRejectionEvent) => thrown.push(`unhandled rejection: ${String((e.reason as Error)?.stack ?? e.reason).slice(0, 500)}`);

  beforeAll(async () => {
    addEventListener("unhandledrejection", onRejection);
    await spawn();
  });
  afterAll(async () => {
    removeEventListener("unhandledrejection", onRejection);
    await fetchWorker(`/processes/${processId}`, { method: "DELETE" });
  });

  it("answers every request with a promised status and the JSON error body, and the next caller right", { timeout: 120_000 }, async () => {
    const rng = new Rng(SEED);
    const errors = vi.spyOn(console, "error");
    const failures: string[] = [];
    let sent = 0;
    let unsendable = 0;
    let gaveUp = 0;
    const statuses = new Map<number, number>();

    /** One case sent beside a good call, then a good call after it: what went wrong. */
    const run = async (c: HttpCase, where: string): Promise<string[]> => {
      const abort = new AbortController();
      const req = request(c, abort.signal);
      if (typeof req === "string") {
        unsendable++;
        return [];
      }
      sent++;
      if (c.abortMs !== undefined) setTimeout(() => abort.abort(new Error("the client gave up")), c.abortMs);
      const found: string[] = [];
      try {
        const [res, beside] = await within(Promise.all([send(c, req).catch((err: unknown) => err as Error), good()]), where);
        if (beside) found.push(`beside it, ${beside}`);
        if (res instanceof Error || abort.signal.aborted) {
          // Only a client that gave up, or whose own body failed, may see no answer; one that gave
          // up sees none it would read (an answer here is the handler's, called directly).
          if (abort.signal.aborted || c.stream?.fails) gaveUp++;
          else found.push(`no answer: ${(res as Error).message}`);
        } else {
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          found.push(...(await within(problems(c, res), where).catch((err: Error) => (abort.signal.aborted || c.stream?.fails ? [] : [`its body: ${err.message}`]))));
          if (c.method === "DELETE" && c.path.includes(processId) && res.status === 200) await spawn();
        }
        const after = await within(good(), where);
        if (after) found.push(`after it, ${after}`);
      } catch (err) {
        found.push((err as Error).message);
      }
      return found;
    };

    try {
      for (let i = 0; i < REQUESTS; ) {
        // A burst of cases at once, mostly one: one bad client beside others.
        const burst = Math.min(REQUESTS - i, rng.pick([1, 1, 1, 1, 2, 4, 8]));
        const cases = Array.from({ length: burst }, (_, k) => [httpCase(rng, { processId }), `case ${i + k} (seed ${SEED}): `] as const);
        const found = await Promise.all(cases.map(async ([c, where]) => (await run(c, where + describeCase(c))).map((p) => `${where}${describeCase(c)}: ${p}`)));
        failures.push(...found.flat());
        const where = `cases ${i}..${i + burst - 1} (seed ${SEED})`;
        for (const call of errors.mock.calls.splice(0)) failures.push(`${where}: console.error ${String(call[0]).slice(0, 300)}`);
        for (const t of thrown.splice(0)) failures.push(`${where}: ${t}`);
        i += burst;
      }
    } finally {
      errors.mockRestore();
    }
    console.log(`http fuzz: seed ${SEED}, ${sent} sent, ${unsendable} fetch would not make, ${gaveUp} given up by their client; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}`);
    expect(failures.slice(0, 30)).toEqual([]);
    // A run that sends nothing, or only what is refused before any route, proves nothing.
    expect(sent).toBeGreaterThan(REQUESTS * 0.8);
    expect(statuses.get(200)).toBeGreaterThan(0);
  });
});
