import { Hono } from "hono";
import type { Env } from "../env.js";
import { BusError, unwrap } from "../errors.js";
import type { Runtime } from "../runtime.js";
import { HttpError } from "./errors.js";
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
      throw new HttpError("InvalidHandle", `no process ${id}`, 404);
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
    const module = typeof body?.module === "string" ? runtime.modules.get(body.module) : undefined;
    if (!module) throw BusError.of("InvalidWapm", `no module named ${String(body?.module)}`);
    // Checked here, from the module's exports, before an object is made or anything stored.
    if (module.error) throw module.error;
    if (!module.command) {
      throw new HttpError("IncorrectAbi", `module ${module.name} is not a command: it exports no _start, so it cannot run as a process (call its topics with POST /call/${module.name}/:topic)`, 400);
    }
    if (body.stdin !== undefined && typeof body.stdin !== "string") throw BusError.of("BadRequest", "stdin must be a string");
    const id = c.env.PROCESSES.newUniqueId();
    return c.json(unwrap(await c.env.PROCESSES.get(id).spawn(id.toString(), body as never)), 201);
  });

  app.get("/:id", async (c) => {
    const info = await stubOf(c.env, c.req.param("id")).status();
    if (!info) throw new HttpError("InvalidHandle", `no process ${c.req.param("id")}`, 404);
    return c.json(info);
  });

  app.delete("/:id", async (c) => {
    const info = await stubOf(c.env, c.req.param("id")).kill();
    if (!info) throw new HttpError("InvalidHandle", `no process ${c.req.param("id")}`, 404);
    return c.json(info);
  });

  app.get("/:id/logs", async (c) => {
    const stub = stubOf(c.env, c.req.param("id"));
    if (!(await stub.status())) throw new HttpError("InvalidHandle", `no process ${c.req.param("id")}`, 404);
    return c.json({ lines: await stub.logs() });
  });

  // A topic served by a running process (one whose module listened and forked): its instance,
  // with whatever state it has built, answers.
  app.post("/:id/call/:topic", async (c) => {
    const stub = stubOf(c.env, c.req.param("id"));
    const info = await stub.status();
    if (!info) throw new HttpError("InvalidHandle", `no process ${c.req.param("id")}`, 404);
    if (info.status !== "running") throw new HttpError("InvalidHandle", `process ${info.id} is not running`, 409);
    const request = await callPayload(c, runtime, info.module, c.req.param("topic"));
    return payloadResponse(c, unwrap(await stub.call(c.req.param("topic"), request)));
  });

  app.get("/:id/attach", async (c) => {
    const stub = stubOf(c.env, c.req.param("id"));
    if (!(await stub.status())) throw new HttpError("InvalidHandle", `no process ${c.req.param("id")}`, 404);
    return stub.fetch(c.req.raw);
  });

  return app;
}
