import { Hono, type MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { HTTPException } from "hono/http-exception";
import { readCapped } from "../bytes.js";
import { BusCall } from "../call.js";
import type { Payload } from "../codec/index.js";
import { decode } from "../codec/index.js";
import { BusError } from "../errors.js";
import type { Env } from "../env.js";
import type { Runtime } from "../runtime.js";
import { processRoutes, sessionRoutes } from "./processes.js";
import { contentTypeOf, formatOfContentType } from "./formats.js";

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
    c.set("module", module);
    c.set("topic", topic);
    const spec = runtime.topic(module, topic);
    const format = formatOfContentType(c.req.header("content-type"));
    if (format === undefined) {
      throw new BusError(11, `Content-Type ${c.req.header("content-type")} is not a bus format (application/json, application/msgpack)`, 415);
    }
    const limit = runtime.modules.get(module)!.manifest.limits.requestBytes;
    const data = await readCapped(c.req.raw.body, c.req.header("content-length") ?? null, limit, "request body");
    // Reject a malformed body here, with 400, rather than inside the guest.
    decode(format, data, spec.format === "bincode" || format === 3 ? spec.request : undefined);
    const reply = await new Promise<Payload>((resolve, reject) => {
      const call = new BusCall(module, topic, { format, data }, { finish: resolve, fail: reject, callback: () => 10 });
      c.req.raw.signal?.addEventListener("abort", () => call.drop("the HTTP client went away"));
      runtime.dispatch(call);
    });
    return c.body(reply.data as Uint8Array<ArrayBuffer>, 200, { "content-type": contentTypeOf(reply.format) });
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
