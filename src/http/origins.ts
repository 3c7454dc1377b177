import type { Env } from "../env.js";
import { BusError, nameInMessage } from "../errors.js";
import { errorResponse } from "./errors.js";

// Which web pages may use the Worker from a browser. A browser sends some requests of another
// origin's page without asking first: a WebSocket upgrade, and a "simple" POST (a body with no
// Content-Type, which the call route reads as JSON, or a form). Their answers stay hidden from
// the page, but what they do happens, with the network of the person who opened it: a page could
// call modules and spawn processes on a `npm start` at 127.0.0.1, which has no token.

type Fetch<E, C> = (request: Request, env: E, ctx: C) => Response | Promise<Response>;

/** The methods and headers a page of an allowed origin may use (what a preflight is answered). */
const ALLOW_METHODS = "GET, POST, DELETE";
const ALLOW_HEADERS = "authorization, content-type, accept";
/** What such a page may read of an answer besides the safelisted headers. */
const EXPOSE_HEADERS = "allow, www-authenticate";

/**
 * `fetch`, behind the origin rule: a request with no Origin (no browser sent it) and one from a
 * page of this Worker's own origin (the console) pass as they are; one from a page of an origin
 * that ALLOWED_ORIGINS lists (comma-separated, or `*` for any) passes with CORS headers, and its
 * preflight is answered; any other is refused with 403 AccessDenied before anything runs.
 */
export function withOrigins<E extends Partial<Env> | undefined, C>(fetch: Fetch<E, C>): Fetch<E, C> {
  return (request, env, ctx) => {
    const origin = request.headers.get("origin");
    if (origin === null || sameOrigin(origin, request)) return fetch(request, env, ctx);
    return crossOrigin(origin, request, env?.ALLOWED_ORIGINS, () => fetch(request, env, ctx));
  };
}

/** The page is this Worker's: its origin is the request's, by URL or by the Host it was sent to. */
function sameOrigin(origin: string, request: Request): boolean {
  const url = new URL(request.url);
  if (origin === url.origin) return true;
  const host = request.headers.get("host");
  return host !== null && origin === `${url.protocol}//${host}`;
}

/** Whether ALLOWED_ORIGINS lets pages of `origin` in. */
function allowed(origin: string, list: string | undefined): boolean {
  if (!list) return false;
  return list.split(",").some((entry) => {
    const item = entry.trim().replace(/\/+$/, "");
    return item === "*" || item.toLowerCase() === origin.toLowerCase();
  });
}

async function crossOrigin(origin: string, request: Request, list: string | undefined, next: () => Response | Promise<Response>): Promise<Response> {
  if (!allowed(origin, list)) {
    const what = request.headers.get("upgrade")?.toLowerCase() === "websocket" ? "open a WebSocket" : "call";
    return errorResponse(BusError.of("AccessDenied", `a page of ${nameInMessage(origin)} may not ${what} here: ALLOWED_ORIGINS lists the origins whose pages may (this Worker's own always may)`));
  }
  const cors = { "access-control-allow-origin": origin, vary: "Origin" };
  if (request.method === "OPTIONS" && request.headers.has("access-control-request-method")) {
    return new Response(null, { status: 204, headers: { ...cors, "access-control-allow-methods": ALLOW_METHODS, "access-control-allow-headers": ALLOW_HEADERS, "access-control-max-age": "600" } });
  }
  const response = await next();
  // A 101 carries its socket, not a page's read.
  if (response.webSocket) return response;
  // Its own headers: answers share Headers objects made once per format (request.ts).
  const answered = new Response(response.body, response);
  for (const [name, value] of Object.entries(cors)) answered.headers.set(name, value);
  answered.headers.set("access-control-expose-headers", EXPOSE_HEADERS);
  return answered;
}
