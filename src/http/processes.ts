import { Hono } from "hono";
import type { Env } from "../env.js";
import { BusError } from "../errors.js";
import type { Runtime } from "../runtime.js";
import { callPayload, payloadResponse } from "./request.js";

/**
 * Processes: a module instance in its own Durable Object (BusProcess) for as
 * long as it has work. The process id is the object's id.
 */
export function processRoutes(runtime: Runtime) {
  const app = new Hono<{ Bindings: Env }>();

  const stubOf = (env: Env, id: string) => {
    let objectId: DurableObjectId;
    try {
      objectId = env.PROCESSES.idFromString(id);
    } catch {
      throw BusError.of("InvalidHandle", `no process ${id}`, 404);
    }
    return env.PROCESSES.get(objectId);
  };

  app.post("/", async (c) => {
    let body: { module?: unknown; args?: unknown; env?: unknown; stdin?: unknown };
    try {
      body = await c.req.json();
    } catch {
      throw BusError.of("DeserializationFailed", 'the body must be JSON: {"module": ..., "args": [...], "env": {...}, "stdin": "..."}');
    }
    if (typeof body?.module !== "string" || !runtime.modules.has(body.module)) {
      throw BusError.of("InvalidWapm", `no module named ${String(body?.module)}`);
    }
    if (body.stdin !== undefined && typeof body.stdin !== "string") throw BusError.of("BadRequest", "stdin must be a string");
    const id = c.env.PROCESSES.newUniqueId();
    const outcome = await c.env.PROCESSES.get(id).spawn(id.toString(), body as never);
    if (!outcome.ok) throw new BusError(outcome.code, outcome.error, outcome.status);
    return c.json(outcome.value, 201);
  });

  app.get("/:id", async (c) => {
    const info = await stubOf(c.env, c.req.param("id")).status();
    if (!info) throw BusError.of("InvalidHandle", `no process ${c.req.param("id")}`, 404);
    return c.json(info);
  });

  app.delete("/:id", async (c) => {
    const info = await stubOf(c.env, c.req.param("id")).kill();
    if (!info) throw BusError.of("InvalidHandle", `no process ${c.req.param("id")}`, 404);
    return c.json(info);
  });

  app.get("/:id/logs", async (c) => {
    const stub = stubOf(c.env, c.req.param("id"));
    if (!(await stub.status())) throw BusError.of("InvalidHandle", `no process ${c.req.param("id")}`, 404);
    return c.json({ lines: await stub.logs() });
  });

  // A topic served by a running process (one whose module listened and forked): its instance,
  // with whatever state it has built, answers.
  app.post("/:id/call/:topic", async (c) => {
    const stub = stubOf(c.env, c.req.param("id"));
    const info = await stub.status();
    if (!info) throw BusError.of("InvalidHandle", `no process ${c.req.param("id")}`, 404);
    const request = await callPayload(c, runtime, info.module, c.req.param("topic"));
    const outcome = await stub.call(c.req.param("topic"), request);
    if (!outcome.ok) throw new BusError(outcome.code, outcome.error, outcome.status);
    return payloadResponse(c, outcome.value);
  });

  app.get("/:id/attach", async (c) => {
    const stub = stubOf(c.env, c.req.param("id"));
    if (!(await stub.status())) throw BusError.of("InvalidHandle", `no process ${c.req.param("id")}`, 404);
    return stub.fetch(c.req.raw);
  });

  return app;
}
