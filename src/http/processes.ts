import { Hono } from "hono";
import type { Env } from "../env.js";
import { KEEP_LINES } from "../log.js";
import { BusError, codeOf, nameInMessage, unwrap } from "../errors.js";
import { DEFAULT_LIMITS } from "../manifest.js";
import { checkSpawnRequest, notCommand, type SpawnRequest } from "../process.js";
import type { Runtime } from "../runtime.js";
import { HttpError } from "./errors.js";
import { formatOfContentType } from "./formats.js";
import { Code, Format } from "../abi.js";
import type { Payload } from "../codec/index.js";
import type { CallEvents } from "../objects.js";
import { callbackStream, wantsCallbacks } from "./callbacks.js";
import { callPayload, payloadResponse, readBody } from "./request.js";

/** What a POST /processes body may hold besides stdin: module, args, env, flags. */
export const BODY_BYTES = 1024 * 1024;

/**
 * A POST /processes body is JSON only: 415 for any other type, as /call answers a type it does
 * not take (no Content-Type is JSON there too), rather than parsing msgpack or text as JSON.
 */
function checkJson(contentType: string | undefined): void {
  if (formatOfContentType(contentType) !== Format.Json) {
    throw new HttpError("Unsupported", `Content-Type ${nameInMessage(String(contentType))} is not application/json, the one type POST /processes takes`, 415);
  }
}

/** The 404 of an id that names no process: the id as the caller gave it, cut (it may be any path segment). */
const noProcess = (id: string) => new HttpError("InvalidHandle", `no process ${nameInMessage(id)}`, 404);

/** A query parameter that is a whole number from `min` to `max`, if given; BadRequest for anything else. */
function count(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\d{1,16}$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= min && n <= max)) throw BusError.of("BadRequest", `?${name}= must be a whole number from ${min} to ${max}, not ${JSON.stringify(value.slice(0, 32))}`);
  return n;
}

/**
 * Processes: a module instance in its own Durable Object (BusProcess) for as
 * long as it has work. The process id is the object's id.
 */
export function processRoutes(runtime: Runtime) {
  // module and topic: the scope of a call's error body (app.ts's onError).
  const app = new Hono<{ Bindings: Env; Variables: { module?: string; topic?: string } }>();
  // A body holds stdin (up to a module's limits.stdinBytes) and the rest (module, args, env):
  // read it whole only up to that, before anything crosses RPC (whose limit is 32 MiB).
  const maxStdin = Math.max(DEFAULT_LIMITS.stdinBytes, ...[...runtime.modules.values()].map((m) => m.manifest.limits.stdinBytes));
  const maxBody = BODY_BYTES + maxStdin;

  const stubOf = (env: Env, id: string) => {
    let objectId: DurableObjectId;
    try {
      objectId = env.PROCESSES.idFromString(id);
    } catch {
      throw noProcess(id);
    }
    return env.PROCESSES.get(objectId);
  };

  app.post("/", async (c) => {
    checkJson(c.req.header("content-type"));
    const raw = await readBody(c.req.raw, maxBody, "a POST /processes body");
    let body: { module?: unknown; args?: unknown; env?: unknown; stdin?: unknown; stdinOpen?: unknown; tty?: unknown };
    try {
      body = JSON.parse(new TextDecoder().decode(raw));
    } catch {
      throw BusError.of("DeserializationFailed", 'the body must be JSON: {"module": ..., "args": [...], "env": {...}, "stdin": "...", "stdinOpen": false, "tty": false}');
    }
    if (!body || typeof body !== "object" || Array.isArray(body)) throw BusError.of("BadRequest", "the body must be a JSON object");
    if (body.stdin !== undefined && typeof body.stdin !== "string") throw BusError.of("BadRequest", "stdin must be a string");
    const request = { module: body.module, args: body.args, env: body.env, stdin: body.stdin, stdinOpen: body.stdinOpen, tty: body.tty } as SpawnRequest;
    // Types first (a module that is no string is 400, not "no module named ..."), and args and
    // env: their counts, size and what the guest can receive.
    checkSpawnRequest(request);
    const module = runtime.modules.get(request.module);
    if (!module) throw BusError.of("InvalidWapm", `no module named ${nameInMessage(request.module)}`);
    // Checked here, from the module's exports, before an object is made or anything stored.
    if (module.error) throw module.error;
    if (!module.command) throw new HttpError("IncorrectAbi", `${notCommand(module.name)} (call its topics with POST /call/${module.name}/:topic)`, 400);
    if (request.stdin !== undefined) {
      const limit = module.manifest.limits.stdinBytes;
      const bytes = new TextEncoder().encode(request.stdin as string).length;
      if (bytes > limit) throw BusError.of("LimitExceeded", `stdin of ${bytes} bytes is over module ${module.name}'s limit of ${limit} (limits.stdinBytes)`);
    }
    const id = c.env.PROCESSES.newUniqueId();
    return c.json(unwrap(await c.env.PROCESSES.get(id).spawn(id.toString(), request)), 201);
  });

  app.get("/:id", async (c) => {
    const info = await stubOf(c.env, c.req.param("id")).status();
    if (!info) throw noProcess(c.req.param("id"));
    return c.json(info);
  });

  app.delete("/:id", async (c) => {
    const info = await stubOf(c.env, c.req.param("id")).kill();
    if (!info) throw noProcess(c.req.param("id"));
    return c.json(info);
  });

  app.get("/:id/logs", async (c) => {
    const after = count(c.req.query("after"), "after", 0, Number.MAX_SAFE_INTEGER);
    const limit = count(c.req.query("limit"), "limit", 1, KEEP_LINES) ?? KEEP_LINES;
    const stub = stubOf(c.env, c.req.param("id"));
    if (!(await stub.status())) throw noProcess(c.req.param("id"));
    return c.json({ lines: await stub.logs(limit, after) });
  });

  // A topic served by a running process (one whose module listened and forked): its instance,
  // with whatever state it has built, answers.
  app.post("/:id/call/:topic", async (c) => {
    const stub = stubOf(c.env, c.req.param("id"));
    const info = await stub.status();
    if (!info) throw noProcess(c.req.param("id"));
    const topic = c.req.param("topic");
    // The scope before any refusal of the call, so every error body of it names module and topic.
    c.set("module", info.module);
    c.set("topic", topic);
    if (info.status !== "running") throw new HttpError("InvalidHandle", `process ${info.id} is not running`, 409);
    const request = await callPayload(runtime, c.req.raw, info.module, topic);
    // The object's refusal of a process that ended since the check above (killed while the body
    // was read, say): 409 as that check answers, not the 500 of its code. Any other, as it is.
    const ended = async (err: unknown): Promise<never> => {
      if (err instanceof BusError && err.code === Code.InvalidHandle && (await stub.status())?.status !== "running") {
        throw new HttpError("InvalidHandle", err.message, 409);
      }
      throw err;
    };
    // The call waits as long as its caller does: one whose caller went away is dropped in the
    // process, or it would hold the process's handles (maxHandles, shared by every caller) until
    // the guest answers, which may be never.
    const call = async (signal: AbortSignal, events?: CallEvents): Promise<Payload> => {
      // Gone while the status was asked or the body read: an abort listened for now never comes.
      if (signal.aborted) throw BusError.of("Aborted", "the HTTP caller went away");
      const id = crypto.randomUUID();
      const drop = () => void stub.drop(id, "the HTTP caller went away").catch(() => {});
      signal.addEventListener("abort", drop, { once: true });
      try {
        return unwrap(await stub.call(topic, request, { id, caller: "http" }, events)) as Payload;
      } catch (err) {
        return await ended(err);
      } finally {
        signal.removeEventListener("abort", drop);
      }
    };
    if (!wantsCallbacks(c.req.raw)) return payloadResponse(await call(c.req.raw.signal));
    // Accept: application/x-ndjson: its callbacks, then the reply, as lines. The object sends
    // them through a stub of `events`, which lives as long as the RPC call: until the reply.
    return callbackStream(c.req.raw, { module: info.module, topic }, (sink) => call(sink.signal, { callback: (t, p) => codeOf(() => sink.callback(t, p)) }));
  });

  app.get("/:id/attach", async (c) => {
    const stub = stubOf(c.env, c.req.param("id"));
    if (!(await stub.status())) throw noProcess(c.req.param("id"));
    return stub.fetch(c.req.raw);
  });

  return app;
}
