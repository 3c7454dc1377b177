import { Hono } from "hono";
import { ABI_VERSION } from "../abi.js";
import { BusError, nameInMessage } from "../errors.js";
import type { Env } from "../env.js";
import type { Runtime } from "../runtime.js";
import { callAddress, serveCall } from "./call-route.js";
import { consoleRoutes } from "./console.js";
import { errorResponse } from "./errors.js";
import { authorize, guard } from "./guard.js";
import { processRoutes } from "./processes.js";
import { openApiHandler } from "./openapi.js";
import { withHosts } from "./hosts.js";
import { withOrigins } from "./origins.js";
import { sessionRoutes } from "./sessions.js";

type AppEnv = { Bindings: Env; Variables: { module?: string; topic?: string } };

/** Every route, by method: what `GET /` lists and what tells a wrong method (405) from no route (404). */
const ROUTES = [
  ["GET", "/"],
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
        command: m.command,
        ...(m.error ? { error: m.error.message } : {}),
      })),
    }),
  );

  // Reached through the router only where callAddress leaves a call to it (percent-escapes in the path).
  app.post("/call/:module/:topic", (c) => serveCall(runtime, c.req.raw, c.req.param("module"), c.req.param("topic")));

  app.notFound((c) => {
    const path = new URL(c.req.url).pathname;
    const allowed = ROUTE_PATTERNS.filter((r) => r.pattern.test(path)).map((r) => r.method);
    // The path as the message repeats it, cut: a caller's path may be 200 KB.
    const named = nameInMessage(path);
    if (allowed.length) {
      return errorResponse(BusError.of("MethodNotAllowed", `${c.req.method} is not allowed on ${named}; use ${allowed.join(" or ")}`), {}, { allow: allowed.join(", ") });
    }
    return errorResponse(BusError.of("NotFound", `no route ${c.req.method} ${named}; GET / lists the routes`));
  });

  app.onError((err, c) => errorResponse(err, { module: c.get("module"), topic: c.get("topic") }));

  // A bus call skips the router (call-route.ts); the guard is the same one the middleware runs.
  // Both behind the host rule (hosts.ts), then the origin rule (origins.ts).
  const route = app.fetch;
  app.fetch = withHosts(withOrigins((request, env: Partial<Env> | undefined, ctx) => {
    const address = request.method === "POST" ? callAddress(request.url) : undefined;
    if (!address) return route(request, env, ctx);
    const [module, topic] = address;
    const denied = authorize(request, env);
    if (!denied) return serveCall(runtime, request, module, topic);
    return denied.then(() => serveCall(runtime, request, module, topic), (err: unknown) => errorResponse(err));
  }));

  return app;
}
