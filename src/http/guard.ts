import type { MiddlewareHandler } from "hono";
import { timingSafeEqual } from "hono/utils/buffer";
import { getQueryParam } from "hono/utils/url";
import type { Env } from "../env.js";
import { BusError } from "../errors.js";

/**
 * With a BUS_TOKEN secret set, every bus endpoint wants `Authorization: Bearer <token>`.
 * Undefined where there is no token to check, so the call route (call-route.ts) waits for no
 * promise on the common path; else a promise that rejects with Unauthorized.
 */
export function authorize(request: Request, env: Partial<Env> | undefined): Promise<void> | undefined {
  const token = env?.BUS_TOKEN;
  return token ? checkToken(request, token) : undefined;
}

async function checkToken(request: Request, token: string): Promise<void> {
  const headers = request.headers;
  // A browser cannot set headers on a WebSocket: an upgrade may carry the token as ?access_token= (RFC 6750).
  // hono's own query reader, so that the router's routes and the call route read the token alike.
  const fromQuery = headers.get("upgrade")?.toLowerCase() === "websocket" ? getQueryParam(request.url, "access_token") : undefined;
  const given = /^Bearer +(\S+)\s*$/i.exec(headers.get("authorization") ?? "")?.[1] ?? (fromQuery as string | undefined);
  if (given === undefined) throw BusError.of("Unauthorized", "this endpoint wants Authorization: Bearer <token>");
  if (!(await timingSafeEqual(given, token))) throw BusError.of("Unauthorized", "the bearer token is wrong");
}

/** `authorize` as hono middleware, for the routes the router serves. */
export const guard: MiddlewareHandler<{ Bindings: Env }> = async (c, next) => {
  await authorize(c.req.raw, c.env);
  return next();
};
