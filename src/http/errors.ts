import { BusError } from "../errors.js";

/** Where an error happened, for its body: the module and topic of the call, when there was one. */
export interface ErrorScope {
  module?: string;
  topic?: string;
}

/** The one JSON body of every error the Worker answers: `{error, code, codeName, module, topic, detail}`. */
export function errorBody(err: unknown, scope: ErrorScope = {}) {
  const bus = BusError.from(err);
  return {
    error: bus.message,
    code: bus.code,
    codeName: bus.codeName,
    ...(scope.module !== undefined ? { module: scope.module } : {}),
    ...(scope.topic !== undefined ? { topic: scope.topic } : {}),
    ...(bus.detail !== undefined ? { detail: bus.detail } : {}),
  };
}

/** Any error as the Worker's answer: its status from the code (src/errors.ts), the one body, and headers where HTTP wants them. */
export function errorResponse(err: unknown, scope: ErrorScope = {}, headers: Record<string, string> = {}): Response {
  const bus = BusError.from(err);
  if (bus.codeName === "Unauthorized") headers = { "www-authenticate": 'Bearer realm="wasm-bus"', ...headers };
  return Response.json(errorBody(bus, scope), { status: bus.status, headers });
}
