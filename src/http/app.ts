import { Hono, type MiddlewareHandler } from "hono";
import { timingSafeEqual } from "hono/utils/buffer";
import { ABI_VERSION } from "../abi.js";
import { BusError } from "../errors.js";
import type { Env } from "../env.js";
import type { Runtime } from "../runtime.js";
import { callbackStream, wantsCallbacks } from "./callbacks.js";
import { consoleRoutes } from "./console.js";
import { errorResponse } from "./errors.js";
import { processRoutes } from "./processes.js";
import { openApiHandler } from "./openapi.js";
import { callPayload, payloadResponse } from "./request.js";
import { sessionRoutes } from "./sessions.js";

type AppEnv = { Bindings: Env; Variables: { module?: string; topic?: string } };

/** Every route, by method: what `GET /` lists and what tells a wrong method (405) from no route (404). */
const ROUTES = [
  ["POST", "/call/:module/:topic"],
  ["GET", "/modules"],
  ["POST", "/processes"],
  ["GET", "/processes/:id"],
  ["DELETE", "/processes/:id"],
  ["GET", "/processes/:id/logs"],
  ["POST", "/processes/:id/call/:topic"],
  ["GET", "/processes/:id/attach", "WebSocket"],
  ["GET", "/bus/:module", "WebSocket"],
  ["GET", "/bus/:module/:session", "WebSocket"],
  ["GET", "/openapi.json"],
  ["GET", "/console"],
  ["GET", "/console/app.js"],
  ["GET", "/console/app.css"],
] as const;

const ROUTE_PATTERNS = ROUTES.map(([method, path]) => ({ method, pattern: new RegExp(`^${path.replace(/:[a-z]+/g, "[^/]+")}$`) }));

/** The Worker's HTTP face: call a module's topic, list modules. */
export function createApp(runtime: Runtime) {
  const app = new Hono<AppEnv>();

  for (const path of ["/call/*", "/modules", "/processes", "/processes/*", "/bus/*"]) app.use(path, guard);
  app.route("/processes", processRoutes(runtime));
  app.route("/bus", sessionRoutes(runtime));
  app.get("/openapi.json", openApiHandler(runtime));
  app.route("/console", consoleRoutes());

  app.get("/", (c) =>
    c.json({
      name: "wasm-bus",
      abi: ABI_VERSION,
      routes: ROUTES.map(([method, path, kind]) => `${method} ${path}${kind ? ` (${kind})` : ""}`),
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
    if (wantsCallbacks(c)) {
      // Accept: application/x-ndjson: the call's callbacks, then its reply, as lines (callbacks.ts).
      return callbackStream(c, { module, topic }, (sink) => runtime.request(module, topic, request, { signal: sink.signal, callback: sink.callback }));
    }
    return payloadResponse(c, await runtime.request(module, topic, request, { signal: c.req.raw.signal }));
  });

  app.notFound((c) => {
    const path = new URL(c.req.url).pathname;
    const allowed = ROUTE_PATTERNS.filter((r) => r.pattern.test(path)).map((r) => r.method);
    if (allowed.length) {
      return errorResponse(BusError.of("MethodNotAllowed", `${c.req.method} is not allowed on ${path}; use ${allowed.join(" or ")}`), {}, { allow: allowed.join(", ") });
    }
    return errorResponse(BusError.of("NotFound", `no route ${c.req.method} ${path}; GET / lists the routes`));
  });

  app.onError((err, c) => errorResponse(err, { module: c.get("module"), topic: c.get("topic") }));

  return app;
}

/** With a BUS_TOKEN secret set, every bus endpoint wants `Authorization: Bearer <token>`. */
const guard: MiddlewareHandler<AppEnv> = async (c, next) => {
  const token = c.env?.BUS_TOKEN;
  if (!token) return next();
  // A browser cannot set headers on a WebSocket: an upgrade may carry the token as ?access_token= (RFC 6750).
  const fromQuery = c.req.header("upgrade")?.toLowerCase() === "websocket" ? c.req.query("access_token") : undefined;
  const given = /^Bearer +(\S+)\s*$/i.exec(c.req.header("authorization") ?? "")?.[1] ?? fromQuery;
  if (given === undefined) throw BusError.of("Unauthorized", "this endpoint wants Authorization: Bearer <token>");
  if (!(await timingSafeEqual(given, token))) throw BusError.of("Unauthorized", "the bearer token is wrong");
  return next();
};
