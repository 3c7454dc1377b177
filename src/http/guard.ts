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

/**
 * The WebSocket subprotocol of the bus. A browser cannot set a WebSocket's headers but offers
 * subprotocols in one, so the client offers `wasm-bus` and `wasm-bus.bearer.<the token in hex>`,
 * and the 101 picks `wasm-bus` (`socketProtocol`). The token could go as ?access_token= (RFC
 * 6750, still taken), but a URL is written to logs (Workers Logs, a zone's HTTP request logs),
 * and BUS_TOKEN is the one secret of the whole Worker.
 */
export const SOCKET_PROTOCOL = "wasm-bus";
const TOKEN_PROTOCOL = `${SOCKET_PROTOCOL}.bearer.`;

/** The token a Sec-WebSocket-Protocol header offers; "" (a wrong token) where its hex is malformed. */
function tokenOfProtocols(header: string | null): string | undefined {
  const offered = header?.split(",").map((p) => p.trim()).find((p) => p.startsWith(TOKEN_PROTOCOL));
  if (offered === undefined) return undefined;
  const hex = offered.slice(TOKEN_PROTOCOL.length);
  return /^(?:[0-9a-f]{2})+$/i.test(hex) ? hex.replace(/../g, (byte) => String.fromCharCode(Number.parseInt(byte, 16))) : "";
}

/** The 101's headers: `Sec-WebSocket-Protocol: wasm-bus` where the client offered it (a browser fails a socket whose offer goes unanswered). */
export function socketProtocol(request: Request): Record<string, string> {
  const offered = request.headers.get("sec-websocket-protocol")?.split(",").map((p) => p.trim());
  return offered?.includes(SOCKET_PROTOCOL) ? { "sec-websocket-protocol": SOCKET_PROTOCOL } : {};
}

async function checkToken(request: Request, token: string): Promise<void> {
  const headers = request.headers;
  // A browser cannot set headers on a WebSocket: an upgrade may carry the token in its
  // subprotocols (above), or as ?access_token= (RFC 6750). hono's own query reader, so that the
  // router's routes and the call route read the token alike.
  const upgrade = headers.get("upgrade")?.toLowerCase() === "websocket";
  const fromProtocols = upgrade ? tokenOfProtocols(headers.get("sec-websocket-protocol")) : undefined;
  const fromQuery = upgrade ? getQueryParam(request.url, "access_token") : undefined;
  const given = /^Bearer +(\S+)\s*$/i.exec(headers.get("authorization") ?? "")?.[1] ?? fromProtocols ?? (fromQuery as string | undefined);
  if (given === undefined) throw BusError.of("Unauthorized", "this endpoint wants Authorization: Bearer <token>");
  if (!(await timingSafeEqual(given, token))) throw BusError.of("Unauthorized", "the bearer token is wrong");
}

/** `authorize` as hono middleware, for the routes the router serves. */
export const guard: MiddlewareHandler<{ Bindings: Env }> = async (c, next) => {
  await authorize(c.req.raw, c.env);
  return next();
};
