import type { Env } from "../env.js";
import { BusError, nameInMessage } from "../errors.js";
import { errorResponse } from "./errors.js";

// Which names the Worker answers to. The origin rule (origins.ts) cannot tell a page of a name its
// owner points at 127.0.0.1 (DNS rebinding) from the Worker's own: the page, the URL and the Host
// all say that name, and the browser sends to 127.0.0.1. Such a page reaches a `npm start`, which
// has no token, with its visitor's network. What gives it away is the name in Host, as dev
// servers check it (Vite's server.allowedHosts, webpack-dev-server's allowedHosts): `npm start`
// sets ALLOWED_HOSTS; a deployed Worker leaves it unset, its names are its owner's.

type Fetch<E, C> = (request: Request, env: E, ctx: C) => Response | Promise<Response>;

/**
 * `fetch`, behind the host rule: when ALLOWED_HOSTS is set (hostnames, comma-separated; `*.name`
 * for any name under name, `*` for any), a request whose Host names a host it does not list is
 * refused with 403 AccessDenied before anything runs. An IP address always passes: rebinding needs
 * a name.
 */
export function withHosts<E extends Partial<Env> | undefined, C>(fetch: Fetch<E, C>): Fetch<E, C> {
  return (request, env, ctx) => {
    const list = env?.ALLOWED_HOSTS;
    if (!list) return fetch(request, env, ctx);
    // The Host the browser sent (wrangler dev passes it, and request.url's host, as they came).
    const host = request.headers.get("host") ?? new URL(request.url).host;
    const name = hostname(host);
    if (name !== undefined && (ipAddress(name) || allowed(name, list))) return fetch(request, env, ctx);
    return errorResponse(BusError.of("AccessDenied", `this server does not answer to the host ${JSON.stringify(nameInMessage(host))}: ALLOWED_HOSTS lists the hostnames it does (comma-separated, *.name for the names under one, * for any)`));
  };
}

/** The hostname of a Host header, as a browser's URL parser reads it (lower case, port off, IPv4 written out), or undefined if it is none. */
function hostname(host: string): string | undefined {
  if (host === "" || /[/?#@\\\s]/.test(host)) return undefined;
  try {
    return new URL(`http://${host}`).hostname;
  } catch {
    return undefined;
  }
}

/** An IPv4 address (the parser writes every form as four decimals) or an IPv6 one ([…]). */
function ipAddress(name: string): boolean {
  return name.startsWith("[") || /^\d+\.\d+\.\d+\.\d+$/.test(name);
}

/** Whether ALLOWED_HOSTS lists `name`. */
function allowed(name: string, list: string): boolean {
  return list.split(",").some((entry) => {
    const item = entry.trim().toLowerCase();
    if (item === "*") return true;
    if (item.startsWith("*.")) return name.endsWith(item.slice(1));
    return item !== "" && item === name;
  });
}
