/**
 * The OpenAPI document's path items: one POST per module and topic (its request and reply as
 * JSON Schema), the process routes and the bus's WebSocket routes. openapi.ts puts them together
 * with the meta routes into the document.
 */
import type { Schema, TopicSpec } from "../codec/schema.js";
import { KEEP_LINES } from "../log.js";
import type { Manifest } from "../manifest.js";
import { SESSION_CHARS } from "../session-names.js";
import { type JsonSchema, jsonSchemaOf } from "./json-schema.js";
import { CALL_ERRORS, CALL_LINES, CALL_LINES_NOTE, error, errorContent, GUARDED_ERRORS, json, ref, security } from "./openapi-components.js";

// Here rather than in openapi.ts (which re-exports it) so that this file needs nothing of
// openapi.ts, and the two do not import each other.

/** What the document needs of a loaded module (src/runtime.ts LoadedModule has it). */
export interface ModuleView {
  name: string;
  manifest: Manifest;
  /** Why it cannot run; such a module is left out (every call to it is a 500 CompileError). */
  error?: unknown;
}

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

export function callOperation(module: ModuleView, topic: string, spec: TopicSpec, auth: boolean) {
  const callbacks = Object.entries(spec.callbacks ?? {});
  const notes = [
    spec.description ?? "",
    "The reply comes back in the request's format (JSON for JSON, msgpack for msgpack).",
    callbacks.length ? `Callbacks (${callbacks.map(([n]) => n).join(", ")}) reach WebSocket callers (GET /bus/${module.name}/{session}), and HTTP callers that send Accept: application/x-ndjson.` : "",
  ].filter(Boolean);
  return {
    post: {
      operationId: `call.${module.name}.${topic}`,
      tags: [module.name],
      summary: `${module.name} ${topic}`,
      description: notes.join("\n\n"),
      requestBody: { required: true, content: mediaTypes(spec, spec.request) },
      responses: { "200": { description: `The module's reply. ${CALL_LINES_NOTE}`, content: { ...mediaTypes(spec, spec.response), ...CALL_LINES } }, ...CALL_ERRORS },
      ...security(auth),
      ...(callbacks.length ? { "x-wasm-bus-callbacks": Object.fromEntries(callbacks.map(([n, s]) => [n, jsonSchemaOf(s)])) } : {}),
    },
  };
}

const pathParam = (name: string, description: string, schema: JsonSchema = { type: "string", minLength: 1 }) => ({ name, in: "path", required: true, description, schema });
const PROCESS_ID = pathParam("id", "The process id POST /processes answered.");
const webSocket = (description: string, errors: Record<string, unknown>, query: object[] = []) => ({
  description,
  parameters: [{ name: "Upgrade", in: "header", required: true, schema: { const: "websocket" } }, ...query],
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

export function processPaths(auth: boolean, modules: string[]) {
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
          "201": json(ref("ProcessInfo"), "The process: running, or failed where its _start failed before the answer (a trap, out of fuel)."),
          "400": error("The body is not JSON, module is missing or no string, args / env / stdin have the wrong types, an arg or env value holds a NUL or an env name is empty or holds = or a NUL (BadRequest); the module is not a command (IncorrectAbi)."),
          "404": error("No such module (InvalidWapm)."),
          ...GUARDED_ERRORS,
          "413": error("The body, stdin (the module's limits.stdinBytes), or args and env together are over their limit (LimitExceeded)."),
          "415": error("A Content-Type other than application/json (Unsupported)."),
          "500": error("The module cannot load (CompileError; IncorrectAbi: it imports what the ABI lacks)."),
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
        parameters: [
          { name: "after", in: "query", description: "Only lines after the one with this `seq`, the oldest first: a reader pages on from the last line it read.", schema: { type: "integer", minimum: 0, maximum: Number.MAX_SAFE_INTEGER } },
          { name: "limit", in: "query", description: `At most this many lines (the newest, or with \`after\` the oldest after it).`, schema: { type: "integer", minimum: 1, maximum: KEEP_LINES, default: KEEP_LINES } },
        ],
        responses: { "200": json({ type: "object", required: ["lines"], properties: { lines: { type: "array", items: ref("KeptLine") } } }, "stdout, stderr and log lines, oldest first."), "400": error("`after` or `limit` is not a whole number in its range (BadRequest)."), "404": unknown, ...GUARDED_ERRORS, default: CALL_ERRORS.default },
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
          "200": { description: `The process's reply, in the request's format. ${CALL_LINES_NOTE}`, content: { "application/json": { schema: {} }, "application/msgpack": { schema: {} }, ...CALL_LINES } },
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
          'Text frames from the server: {"stream": "stdout"|"stderr", "line"}, then {"exit": code} or {"failed": reason}; with ?ack=stdin, also {"stdin_taken": n} once the bytes of stdin stored reach n (first right after the attach, then after each stdin frame). To the server: stdin as binary frames or {"stdin": "..."}, {"close_stdin": true}, and {"received": n}, n the bytes of every frame received so far (what a client has not acknowledged counts against the module\'s socketBufferBytes: docs/host.md, "How far behind a client is"); a frame that does nothing (the wrong shape: BadRequest; stdin closed or the process ended: InvalidHandle) is answered {"error", "code", "codeName"}, except while the client is past socketBufferBytes behind (then counted, and told once it is back under). A client more than twice socketBufferBytes behind is closed (1008). The process\'s clients together are held to 16 times socketBufferBytes, or a sixteenth of it per client where that is more (at most 32 MiB): past half of it a client\'s bound is its share of that half where that is less, and past the whole the clients furthest behind are closed (1008).',
          { "400": error("`ack` is other than `stdin` (BadRequest)."), "404": unknown, ...GUARDED_ERRORS },
          [{ name: "ack", in: "query", description: 'With `stdin`: acks of stdin, {"stdin_taken": n}, n the bytes of the process\'s stdin stored, counted from its first (docs/host.md).', schema: { type: "string", enum: ["stdin"] } }],
        ),
        ...guarded,
      },
    },
  };
}

export function busPaths(auth: boolean, modules: string[]) {
  const description =
    "The bus over a WebSocket: binary msgpack frames. To the server {type: \"call\", id, topic, format, payload, keepalive?, parent?, wapm?}, {type: \"drop\", id} and {type: \"ack\", bytes}, bytes of every frame received so far (what a client has not acknowledged counts against the module's socketBufferBytes: docs/host.md, \"How far behind a client is\"); from it {type: \"reply\"|\"fault\"|\"callback\"|\"error\", ...} (docs/host.md, \"The bus over a WebSocket\"). Past socketBufferBytes behind, a client's calls are refused (LimitExceeded) and its error frames held back; past twice it, the socket is closed (1008), which drops its calls. The session's clients together are held to 16 times socketBufferBytes, or a sixteenth of it per client where that is more (at most 32 MiB): past half of it a client's bound is its share of that half where that is less, and past the whole the clients furthest behind are closed (1008).";
  const errors = { "404": error("No such module (InvalidWapm)."), ...GUARDED_ERRORS };
  const module = pathParam("module", "A module's name.", { type: "string", minLength: 1, examples: modules.slice(0, 3) });
  return {
    "/bus/{module}": {
      parameters: [module],
      get: { operationId: "bus.default", tags: ["bus"], summary: "Open the session named default of a module", ...webSocket(description, errors), ...security(auth) },
    },
    "/bus/{module}/{session}": {
      parameters: [module, pathParam("session", "The session's name: every client of one session shares one instance.", { type: "string", pattern: SESSION_CHARS, not: { pattern: "^\\.+$" } })],
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
