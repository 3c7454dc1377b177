import type { Context } from "hono";
import { Code } from "../abi.js";
import type { Schema, TopicSpec } from "../codec/schema.js";
import type { Manifest } from "../manifest.js";
import { type JsonSchema, jsonSchemaOf } from "./json-schema.js";

/** What the document needs of a loaded module (src/runtime.ts LoadedModule has it). */
export interface ModuleView {
  name: string;
  manifest: Manifest;
  /** Why it cannot run; such a module is left out (every call to it is a 500 CompileError). */
  error?: unknown;
}

export interface OpenApiOptions {
  /** The server's URL, for `servers` (the request's origin). */
  server?: string;
  /** Whether a BUS_TOKEN is set: bearer auth then is required rather than optional. */
  auth?: boolean;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const errorContent = { "application/json": { schema: ref("Error") } };
const error = (description: string) => ({ description, content: errorContent });

/** The statuses the edge answers a call with (statusOf in src/http/errors.ts, docs/abi.md "Error codes"). */
const CALL_ERRORS = {
  "400": error("The body is empty, malformed for its format, or does not fit the topic's request type (the error names the field); or the module refused it (BadRequest)."),
  "401": error("No or a wrong `Authorization: Bearer` token (where the Worker has a BUS_TOKEN)."),
  "404": error("No such module (InvalidWapm) or topic (InvalidTopic)."),
  "413": error("The body is over the module's `limits.requestBytes` (LimitExceeded)."),
  "415": error("The Content-Type is not a bus format, or cannot be transcoded into the topic's (Unsupported)."),
  "500": error("The guest trapped, faulted or broke the ABI (GuestTrapped, BusInvocationFailed, ...)."),
  "501": error("Not possible here (Unsupported: JSPI absent)."),
  "502": error("The module failed because something it called did (FetchFailed, or a sub-call's 4xx passed on)."),
  "503": error("Every instance the module may have is busy and too many calls wait already (Busy): try again later."),
  "504": error("The call ran past `limits.callTimeoutMs`, or out of fuel (Timeout)."),
  "508": error("A module-to-module call would close a cycle (CallCycle)."),
  default: error("Any other failure: the one error body."),
};

const GUARDED_ERRORS = { "401": CALL_ERRORS["401"] };

/**
 * Request and reply media types of a topic: json and msgpack transcode into each other always,
 * bincode where the topic declares the type; a raw topic takes and gives bytes only.
 */
function mediaTypes(spec: TopicSpec, schema: Schema | undefined): Record<string, { schema: JsonSchema }> {
  const bytes = { schema: { type: "string", format: "binary" } };
  if (spec.format === "raw") return { "application/octet-stream": bytes };
  const value: JsonSchema = schema ? jsonSchemaOf(schema) : { description: "any value (the topic declares no type)" };
  return { "application/json": { schema: value }, "application/msgpack": { schema: value }, ...(schema ? { "application/x-bincode": bytes } : {}) };
}

function callOperation(module: ModuleView, topic: string, spec: TopicSpec, auth: boolean) {
  const callbacks = Object.entries(spec.callbacks ?? {});
  const notes = [
    spec.description ?? "",
    "The reply comes back in the request's format (JSON for JSON, msgpack for msgpack).",
    callbacks.length ? `Callbacks (${callbacks.map(([n]) => n).join(", ")}) reach WebSocket callers only: GET /bus/${module.name}/{session}.` : "",
  ].filter(Boolean);
  return {
    post: {
      operationId: `call.${module.name}.${topic}`,
      tags: [module.name],
      summary: `${module.name} ${topic}`,
      description: notes.join("\n\n"),
      requestBody: { required: true, content: mediaTypes(spec, spec.request) },
      responses: { "200": { description: "The module's reply.", content: mediaTypes(spec, spec.response) }, ...CALL_ERRORS },
      ...security(auth),
      ...(callbacks.length ? { "x-wasm-bus-callbacks": Object.fromEntries(callbacks.map(([n, s]) => [n, jsonSchemaOf(s)])) } : {}),
    },
  };
}

/** Bearer auth applies where the Worker has a BUS_TOKEN; the document says which. */
function security(auth: boolean) {
  return { security: auth ? [{ bearer: [] }] : [{}, { bearer: [] }] };
}

const pathParam = (name: string, description: string, schema: JsonSchema = { type: "string", minLength: 1 }) => ({ name, in: "path", required: true, description, schema });
const PROCESS_ID = pathParam("id", "The process id POST /processes answered.");
const json = (schema: JsonSchema, description: string) => ({ description, content: { "application/json": { schema } } });
const webSocket = (description: string, errors: Record<string, unknown>) => ({
  description,
  parameters: [{ name: "Upgrade", in: "header", required: true, schema: { const: "websocket" } }],
  responses: {
    "101": { description: "Switching Protocols: the WebSocket." },
    // Ours (JSON) without an Upgrade header; the platform's own (text) when the handshake's other headers are missing.
    "426": {
      description: "Upgrade Required: the request is not a complete WebSocket handshake (Upgrade, Connection, Sec-WebSocket-Key, Sec-WebSocket-Version: 13).",
      content: { ...errorContent, "text/plain": { schema: { type: "string" } } },
    },
    ...errors,
    default: CALL_ERRORS.default,
  },
});

function processPaths(auth: boolean, modules: string[]) {
  const guarded = security(auth);
  const unknown = error("No such process (InvalidHandle).");
  return {
    "/processes": {
      post: {
        operationId: "processes.spawn",
        tags: ["processes"],
        summary: "Start a command-style module as a process",
        requestBody: { required: true, content: { "application/json": { schema: ref("SpawnRequest"), examples: { countdown: { value: { module: "countdown", args: ["3"] } } } } } },
        responses: {
          "201": json(ref("ProcessInfo"), "The process, running."),
          "400": error("The body is not JSON, or args / env / stdin have the wrong types."),
          "404": error("No such module (InvalidWapm)."),
          ...GUARDED_ERRORS,
          "413": error("The body, stdin (the module's limits.stdinBytes), or args and env together are over their limit (LimitExceeded)."),
          "500": error("The module cannot run as a process (no _start, IncorrectAbi, CompileError)."),
          default: CALL_ERRORS.default,
        },
        ...guarded,
        "x-wasm-bus-modules": modules,
      },
    },
    "/processes/{id}": {
      parameters: [PROCESS_ID],
      get: { operationId: "processes.status", tags: ["processes"], summary: "A process's state", responses: { "200": json(ref("ProcessInfo"), "running, exited (with code) or failed (with reason)."), "404": unknown, ...GUARDED_ERRORS, default: CALL_ERRORS.default }, ...guarded },
      delete: { operationId: "processes.kill", tags: ["processes"], summary: "Kill a process (exit code 137)", responses: { "200": json(ref("ProcessInfo"), "Its state after the kill."), "404": unknown, ...GUARDED_ERRORS, default: CALL_ERRORS.default }, ...guarded },
    },
    "/processes/{id}/logs": {
      parameters: [PROCESS_ID],
      get: {
        operationId: "processes.logs",
        tags: ["processes"],
        summary: "A process's recent lines (up to 1,000)",
        responses: { "200": json({ type: "object", required: ["lines"], properties: { lines: { type: "array", items: ref("LogLine") } } }, "stdout, stderr and log lines, oldest first."), "404": unknown, ...GUARDED_ERRORS, default: CALL_ERRORS.default },
        ...guarded,
      },
    },
    "/processes/{id}/call/{topic}": {
      parameters: [PROCESS_ID, pathParam("topic", "A topic the process's module listens on.")],
      post: {
        operationId: "processes.call",
        tags: ["processes"],
        summary: "Call a topic a running process serves (its module listened and forked)",
        requestBody: { required: true, content: { "application/json": { schema: { description: "the topic's request" } }, "application/msgpack": { schema: {} } } },
        responses: {
          "200": { description: "The process's reply, in the request's format.", content: { "application/json": { schema: {} }, "application/msgpack": { schema: {} } } },
          ...CALL_ERRORS,
          "404": error("No such process, or its module has no such topic."),
          "409": error("The process is not running."),
        },
        ...guarded,
      },
    },
    "/processes/{id}/attach": {
      parameters: [PROCESS_ID],
      get: {
        operationId: "processes.attach",
        tags: ["processes"],
        summary: "Attach to a process's output and stdin (WebSocket)",
        ...webSocket(
          'Text frames from the server: {"stream": "stdout"|"stderr", "line"}, then {"exit": code} or {"failed": reason}. To the server: stdin as binary frames or {"stdin": "..."}, and {"close_stdin": true}.',
          { "404": unknown, ...GUARDED_ERRORS },
        ),
        ...guarded,
      },
    },
  };
}

function busPaths(auth: boolean, modules: string[]) {
  const description =
    "The bus over a WebSocket: binary msgpack frames. To the server {type: \"call\", id, topic, format, payload, keepalive?, parent?, wapm?} and {type: \"drop\", id}; from it {type: \"reply\"|\"fault\"|\"callback\"|\"error\", ...} (docs/abi.md, \"The bus over a WebSocket\").";
  const errors = { "404": error("No such module (InvalidWapm)."), ...GUARDED_ERRORS };
  const module = pathParam("module", "A module's name.", { type: "string", minLength: 1, examples: modules.slice(0, 3) });
  return {
    "/bus/{module}": {
      parameters: [module],
      get: { operationId: "bus.default", tags: ["bus"], summary: "Open the session named default of a module", ...webSocket(description, errors), ...security(auth) },
    },
    "/bus/{module}/{session}": {
      parameters: [module, pathParam("session", "The session's name: every client of one session shares one instance.", { type: "string", pattern: "^[A-Za-z0-9_.-]{1,64}$" })],
      get: {
        operationId: "bus.session",
        tags: ["bus"],
        summary: "Open a named session of a module",
        ...webSocket(description, { ...errors, "400": error("The session name is not 1 to 64 of A-Z a-z 0-9 _ . - (BadRequest).") }),
        ...security(auth),
      },
    },
  };
}

const SCHEMAS: Record<string, JsonSchema> = {
  Error: {
    type: "object",
    description: "The one error body of every route, both Durable Objects and bearer auth.",
    required: ["error", "code", "codeName"],
    properties: {
      error: { type: "string", description: "What went wrong, in the runtime's words." },
      code: { type: "integer", enum: [...new Set(Object.values(Code))], description: "The ABI's error code (docs/abi.md)." },
      codeName: { type: "string", enum: Object.keys(Code) },
      module: { type: "string" },
      topic: { type: "string" },
      detail: { type: "string", description: "The module's own words (fault_message, a Rust panic)." },
    },
  },
  SpawnRequest: {
    type: "object",
    required: ["module"],
    properties: {
      module: { type: "string", description: "A command-style module (one that exports _start)." },
      args: { type: "array", items: { type: "string" } },
      env: { type: "object", additionalProperties: { type: "string" } },
      stdin: { type: "string", description: "The process's input, written to stdin before it starts; stdin is closed after it unless stdinOpen." },
      stdinOpen: { type: "boolean", description: "Keep stdin open after `stdin`, for an attached client's input." },
      tty: { type: "boolean", description: "Its stdio are a terminal (isatty) instead of pipes." },
    },
  },
  ProcessInfo: {
    type: "object",
    required: ["id", "module", "args", "status", "startedAt"],
    properties: {
      id: { type: "string" },
      module: { type: "string" },
      args: { type: "array", items: { type: "string" } },
      status: { type: "string", enum: ["running", "exited", "failed"] },
      code: { type: "integer", description: "The exit code, once exited." },
      reason: { type: "string", description: "Why it failed." },
      startedAt: { type: "number", description: "ms since the epoch" },
      endedAt: { type: "number" },
    },
  },
  LogLine: {
    type: "object",
    required: ["module", "level", "msg"],
    properties: {
      module: { type: "string" },
      level: { type: "string", enum: ["error", "warn", "info", "debug", "trace"] },
      msg: { type: "string" },
      call: { type: "integer" },
      process: { type: "string" },
      stream: { type: "string", enum: ["stdout", "stderr"] },
    },
  },
  ModuleInfo: {
    type: "object",
    required: ["name", "description", "topics", "fetch", "limits"],
    properties: {
      name: { type: "string" },
      description: { type: "string" },
      topics: { type: "object", additionalProperties: { type: "object", required: ["format"], properties: { format: { enum: ["raw", "json", "msgpack", "bincode"] } } } },
      fetch: { type: "object", properties: { allow: { type: "array", items: { type: "string" } } } },
      limits: { type: "object", additionalProperties: { type: "number" } },
      error: { type: "string", description: "Why the module cannot run." },
    },
  },
};

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
      securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "The Worker's BUS_TOKEN secret; required on /call, /modules, /processes and /bus where one is set." } },
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
