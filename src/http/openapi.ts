import type { Context } from "hono";
import { CALL_ERRORS, GUARDED_ERRORS, json, ref, SCHEMAS, security } from "./openapi-components.js";
import { busPaths, callOperation, type ModuleView, processPaths } from "./openapi-paths.js";

// The document and its handler; the path items are in openapi-paths.ts, the shared schemas and
// error responses in openapi-components.ts. ModuleView is re-exported for those who import it here.
export type { ModuleView } from "./openapi-paths.js";

export interface OpenApiOptions {
  /** The server's URL, for `servers` (the request's origin). */
  server?: string;
  /** Whether a BUS_TOKEN is set: bearer auth then is required rather than optional. */
  auth?: boolean;
}

/**
 * The OpenAPI 3.1 description of the Worker, from the modules it serves: one operation per
 * module and topic with its request and reply as JSON Schema (from the schema language, see
 * json-schema.ts), the process and bus routes, the error body and bearer auth.
 */
export function openApiDocument(modules: Iterable<ModuleView>, options: OpenApiOptions = {}) {
  const auth = options.auth ?? false;
  const usable = [...modules].filter((m) => !m.error).sort((a, b) => a.name.localeCompare(b.name));
  const names = usable.map((m) => m.name);
  const calls: Record<string, unknown> = {};
  for (const module of usable) {
    for (const [topic, spec] of Object.entries(module.manifest.topics)) {
      calls[`/call/${module.name}/${topic}`] = callOperation(module, topic, spec, auth);
    }
  }
  const meta = (operationId: string, summary: string, response: unknown) => ({ get: { operationId, tags: ["meta"], summary, responses: { "200": response, default: CALL_ERRORS.default } } });
  return {
    openapi: "3.1.0",
    info: {
      title: "wasm-bus",
      version: "1",
      description: "Bus-enabled WebAssembly modules on Cloudflare Workers. Call a topic with POST /call/{module}/{topic}, in JSON or msgpack; run commands as processes; speak the bus over a WebSocket for callbacks.",
    },
    ...(options.server ? { servers: [{ url: options.server }] } : {}),
    tags: [
      ...usable.map((m) => ({ name: m.name, description: m.manifest.description })),
      { name: "processes", description: "Command-style modules run as processes, each in its own Durable Object." },
      { name: "bus", description: "The bus over a WebSocket, one Durable Object per module and session." },
      { name: "meta", description: "What this Worker serves." },
    ],
    paths: {
      "/": meta("meta.index", "The routes and module names", json({ type: "object", required: ["name", "routes", "modules"], properties: { name: { type: "string" }, routes: { type: "array", items: { type: "string" } }, modules: { type: "array", items: { type: "string" } } } }, "An index.")),
      "/modules": { get: { ...meta("meta.modules", "Every module: topics with their schemas, fetch allow list, limits", json({ type: "object", required: ["modules"], properties: { modules: { type: "array", items: ref("ModuleInfo") } } }, "The modules.")).get, responses: { "200": json({ type: "object", required: ["modules"], properties: { modules: { type: "array", items: ref("ModuleInfo") } } }, "The modules."), ...GUARDED_ERRORS, default: CALL_ERRORS.default }, ...security(auth) } },
      "/openapi.json": meta("meta.openapi", "This document", json({ type: "object" }, "OpenAPI 3.1.")),
      "/console": meta("meta.console", "The console: call modules, open sessions, run processes from a browser", { description: "An HTML page.", content: { "text/html": { schema: { type: "string" } } } }),
      ...calls,
      ...processPaths(auth, names),
      ...busPaths(auth, names),
    },
    components: {
      schemas: SCHEMAS,
      securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "The Worker's BUS_TOKEN secret; required on /call, /modules, /processes and /bus where one is set. A WebSocket upgrade (where a browser cannot set headers) may offer it as the subprotocol wasm-bus.bearer.<the token in hex>, beside wasm-bus, which the 101 picks; or as ?access_token=." } },
    },
  };
}

/** GET /openapi.json: built once per isolate per origin and auth setting (the modules are fixed). */
export function openApiHandler(runtime: { readonly modules: ReadonlyMap<string, ModuleView> }) {
  const cache = new Map<string, string>();
  return (c: Context<{ Bindings: { BUS_TOKEN?: string } }>) => {
    const server = new URL(c.req.url).origin;
    const auth = Boolean(c.env?.BUS_TOKEN);
    const key = `${auth}|${server}`;
    let text = cache.get(key);
    if (!text) {
      text = JSON.stringify(openApiDocument(runtime.modules.values(), { server, auth }));
      if (cache.size > 16) cache.clear();
      cache.set(key, text);
    }
    return c.body(text, 200, { "content-type": "application/json" });
  };
}
