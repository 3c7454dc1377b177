/**
 * The OpenAPI document's shared parts: the component schemas, the error responses every route
 * answers with, bearer security and the small builders of references and responses. Both the
 * path items (openapi-paths.ts) and the document (openapi.ts) use them, so they sit below both.
 */
import { Code } from "../abi.js";
import { LIMIT_MAXIMA } from "../manifest.js";
import { NDJSON } from "./callbacks.js";
import type { JsonSchema } from "./json-schema.js";

export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
export const errorContent = { "application/json": { schema: ref("Error") } };
export const error = (description: string) => ({ description, content: errorContent });

/** The statuses the edge answers a call with (statusOf in src/http/errors.ts, docs/abi.md "Error codes"). */
export const CALL_ERRORS = {
  "400": error("The body is empty, malformed for its format, or does not fit the topic's request type (the error names the field); or the module refused it (BadRequest)."),
  "401": error("No or a wrong `Authorization: Bearer` token (where the Worker has a BUS_TOKEN)."),
  "403": error("Sent by a browser from a page of another origin than the Worker's own that ALLOWED_ORIGINS does not list, or to a host name that ALLOWED_HOSTS, when set, does not list (AccessDenied)."),
  "404": error("No such module (InvalidWapm) or topic (InvalidTopic); or the module faulted the call with NotFound, for a thing it does not have."),
  "413": error("The body, as sent or once transcoded into the topic's format, is over the module's `limits.requestBytes` (LimitExceeded)."),
  "415": error("The Content-Type is not a bus format, or cannot be transcoded into the topic's (Unsupported)."),
  "500": error("The guest trapped, faulted or broke the ABI (GuestTrapped, BusInvocationFailed, ...)."),
  "501": error("Not possible here (Unsupported)."),
  "502": error("The module failed because something it called did (FetchFailed, or a sub-call's 4xx passed on), or said a module or topic is missing (InvalidWapm, InvalidTopic) on a topic it declares."),
  "503": error("Every instance the module may have is busy and too many calls wait already (Busy): try again later."),
  "504": error("The call ran past `limits.callTimeoutMs`, or out of fuel (Timeout)."),
  "508": error("A module-to-module call would close a cycle (CallCycle)."),
  default: error("Any other failure: the one error body."),
};

/** What a call answers a caller that sends `Accept: application/x-ndjson` (callbacks.ts): one CallLine a line. */
export const CALL_LINES = { [NDJSON]: { schema: ref("CallLine") } };
export const CALL_LINES_NOTE = "With `Accept: application/x-ndjson`: the call's callbacks as they come, then its reply or a fault, one JSON object (CallLine) a line.";

export const GUARDED_ERRORS = { "401": CALL_ERRORS["401"], "403": CALL_ERRORS["403"] };

/** Bearer auth applies where the Worker has a BUS_TOKEN; the document says which. */
export function security(auth: boolean) {
  return { security: auth ? [{ bearer: [] }] : [{}, { bearer: [] }] };
}

export const json = (schema: JsonSchema, description: string) => ({ description, content: { "application/json": { schema } } });

/** components.schemas: the bodies the process and meta routes refer to by name. */
export const SCHEMAS: Record<string, JsonSchema> = {
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
  CallLine: {
    type: "object",
    description: "One line of a call answered with its callbacks (Accept: application/x-ndjson; docs/host.md, \"Callbacks over HTTP\"): a callback, then the reply, or a fault where the call failed after a callback went out.",
    required: ["type"],
    properties: {
      type: { type: "string", enum: ["callback", "reply", "fault"] },
      topic: { type: "string", description: "A callback's topic; a fault's, the call's." },
      format: { type: "string", enum: ["raw", "json", "msgpack", "bincode"], description: "The payload's format: json as `value`, others as `data`." },
      value: { description: "A json payload, as JSON." },
      data: { type: "string", contentEncoding: "base64", description: "A payload in another format, base64." },
      status: { type: "integer", description: "A fault's: the status its error would have had." },
      error: { type: "string" },
      code: { type: "integer" },
      codeName: { type: "string" },
      module: { type: "string" },
      detail: { type: "string" },
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
  KeptLine: {
    description: "A line as the process's log table keeps it: `seq` is its place there, counting every line the table kept (its sub-processes' and log lines too) one by one, so a reader paging on with `?after=` sees a gap where lines were trimmed before it read them.",
    allOf: [ref("LogLine"), { type: "object", required: ["seq"], properties: { seq: { type: "integer", minimum: 1 } } }],
  },
  ModuleInfo: {
    type: "object",
    required: ["name", "description", "topics", "fetch", "limits", "command"],
    properties: {
      name: { type: "string" },
      description: { type: "string" },
      topics: { type: "object", additionalProperties: { type: "object", required: ["format"], properties: { format: { enum: ["raw", "json", "msgpack", "bincode"] } } } },
      fetch: { type: "object", properties: { allow: { type: "array", items: { type: "string" } } } },
      limits: {
        type: "object",
        // Every limit, each a positive integer up to its most (src/manifest.ts says why each is the most).
        required: Object.keys(LIMIT_MAXIMA),
        properties: Object.fromEntries(
          Object.entries(LIMIT_MAXIMA).map(([key, { most, why }]) => [key, { type: "integer", minimum: 1, maximum: most, description: `At most ${most}: ${why}.` }]),
        ),
      },
      command: { type: "boolean", description: "Exports _start: it runs as a process (POST /processes); a module without it only serves its topics." },
      error: { type: "string", description: "Why the module cannot run." },
    },
  },
};
