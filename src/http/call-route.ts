import type { Runtime } from "../runtime.js";
import { callbackStream, wantsCallbacks } from "./callbacks.js";
import { errorResponse } from "./errors.js";
import { callPayload, payloadResponse } from "./request.js";

/**
 * `POST /call/:module/:topic`, the route every bus call over HTTP takes. The Worker answers it
 * before hono's router (app.ts): a hono Context is a dozen closures and property definitions per
 * request, and with the guard as middleware a composed chain of promises besides, which together
 * cost about as much CPU as the whole JavaScript greeting the bench holds this route against.
 */
export async function serveCall(runtime: Runtime, request: Request, module: string, topic: string): Promise<Response> {
  try {
    const payload = await callPayload(runtime, request, module, topic);
    if (wantsCallbacks(request)) {
      // Accept: application/x-ndjson: the call's callbacks, then its reply, as lines (callbacks.ts).
      return callbackStream(request, { module, topic }, (sink) => runtime.request(module, topic, payload, { signal: sink.signal, callback: sink.callback }));
    }
    // The signal is read only for a call still running when `request` returns (runtime.ts): one
    // answered at once needs none, and reading it makes an AbortSignal object a request.
    return payloadResponse(await runtime.request(module, topic, payload, { get signal() { return request.signal; } }));
  } catch (err) {
    return errorResponse(err, { module, topic });
  }
}

/**
 * Module and topic of a `/call/<module>/<topic>` URL, read as hono's router would read it (the
 * path up to `?`, two segments, no trailing slash), or undefined for anything else, which the
 * router then serves: a path with percent-escapes among them, as hono decodes those its own way.
 */
export function callAddress(url: string): [module: string, topic: string] | undefined {
  // Where the path starts, as hono's getPath finds it: past "scheme://".
  const start = url.indexOf("/", url.indexOf(":") + 4) + "/call/".length;
  if (!url.startsWith("/call/", start - "/call/".length)) return undefined;
  const query = url.indexOf("?", start);
  const end = query === -1 ? url.length : query;
  const slash = url.indexOf("/", start);
  if (slash <= start || slash >= end - 1 || url.lastIndexOf("/", end - 1) !== slash) return undefined;
  const percent = url.indexOf("%", start);
  if (percent !== -1 && percent < end) return undefined;
  return [url.slice(start, slash), url.slice(slash + 1, end)];
}
