import { Code } from "../abi.js";
import { BusError } from "../errors.js";

/** Where an error happened, for its body: the module and topic of the call, when there was one. */
export interface ErrorScope {
  module?: string;
  topic?: string;
}

/** An error the edge raises itself, where HTTP has a status more precise than its code's (415, 426, 404 for no process). */
export class HttpError extends BusError {
  constructor(
    code: BusError["codeName"],
    message: string,
    readonly status: number,
  ) {
    super(Code[code], message);
  }
}

/** HTTP status of an ABI code: 4xx where the caller is at fault, 5xx where a module or the host is. */
const STATUS: Partial<Record<number, number>> = {
  [Code.InvalidWapm]: 404,
  [Code.InvalidTopic]: 404,
  [Code.NotFound]: 404,
  [Code.DeserializationFailed]: 400,
  [Code.BadRequest]: 400,
  [Code.InvalidUtf8]: 400,
  [Code.Unauthorized]: 401,
  [Code.AccessDenied]: 403,
  [Code.MethodNotAllowed]: 405,
  [Code.LimitExceeded]: 413,
  [Code.Unsupported]: 501,
  [Code.FetchFailed]: 502,
  [Code.Busy]: 503,
  [Code.Timeout]: 504,
  [Code.CallCycle]: 508,
};

/**
 * The status an error is answered with. Where the module failed, not its caller (a refusal it
 * passed on, or its own failure), a 4xx is the module's failure: 502; a 5xx (a cycle, a missing
 * capability) keeps its status.
 */
export function statusOf(err: BusError): number {
  if (err instanceof HttpError) return err.status;
  if (err.relayed) return modulesFailure(statusOf(err.relayed));
  const status = STATUS[err.code] ?? 500;
  return err.ownFailure ? modulesFailure(status) : status;
}

const modulesFailure = (status: number) => (status < 500 ? 502 : status);

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

/** Any error as the Worker's answer: its status, the one body, and headers where HTTP wants them. */
export function errorResponse(err: unknown, scope: ErrorScope = {}, headers: Record<string, string> = {}): Response {
  const bus = BusError.from(err);
  if (bus.code === Code.Unauthorized) headers = { "www-authenticate": 'Bearer realm="wasm-bus"', ...headers };
  return Response.json(errorBody(bus, scope), { status: statusOf(bus), headers });
}
