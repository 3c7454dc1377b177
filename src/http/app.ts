import { Hono, type MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { HTTPException } from "hono/http-exception";
import { Code } from "../abi.js";
import { BusCall } from "../call.js";
import type { Payload } from "../codec/index.js";
import { BusError } from "../errors.js";
import type { Env } from "../env.js";
import type { Runtime } from "../runtime.js";
import { processRoutes, sessionRoutes } from "./processes.js";
import { callPayload, payloadResponse } from "./request.js";

type AppEnv = { Bindings: Env; Variables: { module?: string; topic?: string } };

/** The Worker's HTTP face: call a module's topic, list modules. */
export function createApp(runtime: Runtime) {
  const app = new Hono<AppEnv>();

  for (const path of ["/call/*", "/modules", "/processes", "/processes/*", "/bus/*"]) app.use(path, guard);
  app.route("/processes", processRoutes(runtime));
  app.route("/bus", sessionRoutes(runtime));

  app.get("/", (c) =>
    c.json({
      name: "wasm-bus",
      routes: [
        "POST /call/:module/:topic",
        "GET /modules",
        "POST /processes",
        "GET /processes/:id",
        "DELETE /processes/:id",
        "GET /processes/:id/logs",
        "POST /processes/:id/call/:topic",
        "GET /processes/:id/attach (WebSocket)",
        "GET /bus/:module (WebSocket)",
      ],
      modules: [...runtime.modules.keys()],
    }),
  );

  app.get("/modules", (c) =>
    c.json({
      modules: [...runtime.modules.values()].map((m) => ({
        name: m.name,
        description: m.manifest.description,
        topics: m.manifest.topics,
        fetch: m.manifest.fetch,
        limits: m.manifest.limits,
        ...(m.error ? { error: m.error.message } : {}),
      })),
    }),
  );

  app.post("/call/:module/:topic", async (c) => {
    const { module, topic } = c.req.param();
    const request = await callPayload(c, runtime, module, topic);
    const reply = await new Promise<Payload>((resolve, reject) => {
      const call = new BusCall(module, topic, request, { finish: resolve, fail: reject, callback: () => Code.MissingCallbacks });
      c.req.raw.signal?.addEventListener("abort", () => call.drop("the HTTP client went away"));
      runtime.dispatch(call);
    });
    return payloadResponse(c, reply);
  });

  app.notFound((c) => c.json({ error: `no route ${c.req.method} ${new URL(c.req.url).pathname}`, code: 0, codeName: "NotFound" }, 404));

  app.onError((err, c) => {
    if (err instanceof HTTPException) return err.getResponse();
    const bus = BusError.from(err);
    const status = bus.status as 400;
    return c.json({ error: bus.message, code: bus.code, codeName: bus.codeName, module: c.get("module"), topic: c.get("topic") }, status);
  });

  return app;
}

const guard: MiddlewareHandler<AppEnv> = async (c, next) => {
  const token = c.env?.BUS_TOKEN;
  if (!token) return next();
  return bearerAuth({ token })(c as never, next);
};
