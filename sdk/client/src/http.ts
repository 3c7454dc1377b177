import { readUpTo } from "./body.js";
import { Code } from "./codes.js";
import { BusError, errorOf } from "./errors.js";

/** A WebSocket as the client uses it: the DOM's, undici's (Node) and Workers' all fit. */
export interface SocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: string | Uint8Array | ArrayBuffer): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "open" | "message" | "close" | "error", listener: (event: any) => void): void;
}

/** Opens a WebSocket to `url`; `headers` is what a runtime that takes headers should send (Node's does, browsers' cannot). */
export type SocketFactory = (url: string, headers: Record<string, string>) => SocketLike;

export interface ClientOptions {
  /** Where the Worker is: "https://bus.example.com". In a page served by the Worker, its origin is the default. */
  url?: string | URL;
  /** Bearer token (the Worker's BUS_TOKEN), sent on every request, or a function asked before each one. */
  token?: string | (() => string | undefined);
  /** fetch to use (a Worker's service binding, a test's fake); the global one by default. */
  fetch?: (request: Request) => Promise<Response>;
  /** How WebSockets are opened; the global WebSocket by default. */
  webSocket?: SocketFactory;
  /** The most bytes of a 2xx answer's body read before the call fails with LimitExceeded; MAX_REPLY_BYTES (16 MiB) by default. */
  maxReplyBytes?: number;
}

/**
 * The most of a 2xx answer's body the client reads by default: 16 MiB, the runtime's most for a
 * module's `limits.responseBytes` (MAX_PAYLOAD_BYTES in src/manifest.ts). A reply's body is the
 * reply's bytes and nothing around them, and the runtime holds responseBytes to the reply once
 * transcoded into the format the caller asked for, so the JSON form of a reply is what was
 * counted; its other answers (a process's logs: 4 MiB of kept lines) are smaller. A larger body
 * is not the runtime's (a proxy streaming without end), and is not held whole.
 */
export const MAX_REPLY_BYTES = 16 * 1024 * 1024;

/** How long the question of why a WebSocket did not open waits for its answer. */
export const WHY_NO_SOCKET_MS = 10_000;

/**
 * A name (a module, topic, session or process id) as one segment of a URL's path. BadRequest where
 * it cannot be one: a lone surrogate, on which encodeURIComponent throws a bare URIError.
 */
export function segment(name: string): string {
  try {
    return encodeURIComponent(name);
  } catch {
    throw BusError.of("BadRequest", `${JSON.stringify(name)}: a name with a lone surrogate cannot be a segment of a URL's path`);
  }
}

/**
 * The HTTP side of a client: URLs under the base, the bearer token, errors as BusError. Shared
 * by every part of the client so the token and the base are read in one place.
 */
export class Http {
  readonly base: URL;
  #token: ClientOptions["token"];
  #fetch: (request: Request) => Promise<Response>;
  #webSocket: SocketFactory;
  readonly maxReplyBytes: number;

  constructor(options: ClientOptions = {}) {
    const origin = (globalThis as { location?: { origin?: string } }).location?.origin;
    const url = options.url ?? origin;
    if (!url) throw new TypeError("wasm-bus client: options.url is required outside a page served by the Worker");
    this.base = new URL(String(url).replace(/\/?$/, "/"));
    this.#token = options.token;
    this.#fetch = options.fetch ?? ((request) => fetch(request));
    this.#webSocket = options.webSocket ?? defaultSocket;
    const max = options.maxReplyBytes ?? MAX_REPLY_BYTES;
    if (!(Number.isSafeInteger(max) && max >= 0)) throw new TypeError(`wasm-bus client: options.maxReplyBytes must be a whole number of bytes, not ${max}`);
    this.maxReplyBytes = max;
  }

  get token(): string | undefined {
    const token = typeof this.#token === "function" ? this.#token() : this.#token;
    return token || undefined;
  }

  /**
   * The Authorization header's value, where there is a token. A token that cannot be one (a
   * space or newline inside, a character past ASCII: a header cannot carry it) is BadRequest
   * here, rather than the TypeError fetch or the WebSocket would throw.
   */
  #authorization(): string | undefined {
    const token = this.token;
    if (token === undefined) return undefined;
    if (!/^[\x21-\x7e]+$/.test(token)) throw BusError.of("BadRequest", "the bearer token must be visible ASCII characters without spaces (RFC 6750), as an Authorization header carries it");
    return `Bearer ${token}`;
  }

  url(path: string): URL {
    const relative = path.replace(/^\//, "");
    const url = new URL(relative, this.base);
    // A name that is "." or ".." (a process id, a session name, a topic) is resolved away by URL,
    // even as %2E, and the request would reach another route: `process("..").status()` read GET /.
    if (url.pathname !== `${this.base.pathname}${relative.split("?")[0]}`) {
      throw BusError.of("BadRequest", `${relative}: a name that is "." or ".." cannot be a segment of a URL's path`);
    }
    return url;
  }

  /** A request to the Worker; a non-2xx answer throws its BusError. */
  async request(method: string, path: string, init: { body?: BodyInit; type?: string; signal?: AbortSignal; scope?: { module?: string; topic?: string } } = {}): Promise<Response> {
    const url = this.url(path);
    const headers = new Headers();
    if (init.type) headers.set("content-type", init.type);
    const authorization = this.#authorization();
    if (authorization) headers.set("authorization", authorization);
    let res: Response;
    try {
      res = await this.#fetch(new Request(url, { method, headers, body: init.body ?? null, signal: init.signal ?? null }));
    } catch (err) {
      throw failure(`${method} ${path}`, err, init);
    }
    if (!res.ok) {
      const err = await errorOf(res, init.scope);
      // An error body the caller's abort cut off says nothing (Unknown): the abort is what happened.
      throw init.signal?.aborted && err.code === Code.Unknown ? failure(`${method} ${path}`, init.signal.reason, init) : err;
    }
    return res;
  }

  /**
   * A 2xx answer's body, decoded. A body over maxReplyBytes is LimitExceeded, read no further. A body that breaks off (the connection, the signal) or that
   * `decode` cannot read (a proxy's page, a cut-off JSON) is a BusError too, like every other
   * failure: SerializationFailed for one it cannot read, as the runtime says of a reply it cannot
   * transcode.
   */
  async read<T>(res: Response, what: string, decode: (bytes: Uint8Array) => T, init: { signal?: AbortSignal; scope?: { module?: string; topic?: string } } = {}): Promise<T> {
    let read: { bytes: Uint8Array; over: boolean };
    try {
      read = await readUpTo(res, this.maxReplyBytes);
    } catch (err) {
      throw failure(`${what}: the answer broke off`, err, init);
    }
    if (read.over) {
      throw BusError.of("LimitExceeded", `${what}: the answer (HTTP ${res.status}) is over the client's maxReplyBytes, ${this.maxReplyBytes}; the rest was not read`, init.scope);
    }
    const { bytes } = read;
    try {
      return decode(bytes);
    } catch (err) {
      const type = res.headers.get("content-type") ?? "no content type";
      throw BusError.of("SerializationFailed", `${what}: the answer (HTTP ${res.status}, ${type}, ${bytes.length} bytes) cannot be read: ${(err as Error)?.message ?? String(err)}`, init.scope);
    }
  }

  /**
   * A JSON request's answer; `take` picks what the caller wants out of it and throws where the
   * body is not of that shape (a proxy's `null`, a newer runtime's), so that is SerializationFailed
   * too, rather than a TypeError where the caller reads it.
   */
  async json<T>(method: string, path: string, body?: unknown, take: (value: unknown) => T = (value) => value as T): Promise<T> {
    const res = await this.request(method, path, body === undefined ? {} : { body: JSON.stringify(body), type: "application/json" });
    return this.read(res, `${method} ${path}`, (bytes) => take(JSON.parse(new TextDecoder().decode(bytes))));
  }

  /**
   * A WebSocket to `path`. The token goes as an Authorization header where the runtime's
   * WebSocket takes headers, else in the subprotocols offered (`tokenProtocols`), the one header
   * a browser can send.
   */
  socket(path: string): SocketLike {
    const url = this.url(path);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const authorization = this.#authorization();
    const headers: Record<string, string> = authorization ? { authorization } : {};
    return this.#webSocket(url.toString(), headers);
  }

  /**
   * Why a WebSocket to `path` did not open. Browsers hide the handshake's answer, so the same
   * URL is asked again over plain HTTP: the runtime's error body (404, 400, 401) tells, and 426
   * (upgrade wanted) means the route was fine and the network was not.
   */
  async whyNoSocket(path: string, scope: { module?: string } = {}): Promise<BusError> {
    // What waits on the answer (a session's queued calls, `opened()`) would wait for good on a
    // server or proxy that takes the request and never answers: the question has a deadline.
    const asking = new AbortController();
    const timer = setTimeout(() => asking.abort(new DOMException(`no answer in ${WHY_NO_SOCKET_MS} ms to why the WebSocket did not open`, "TimeoutError")), WHY_NO_SOCKET_MS);
    try {
      await this.request("GET", path, { scope, signal: asking.signal });
    } catch (err) {
      if (err instanceof BusError && err.status !== 426) return err;
    } finally {
      clearTimeout(timer);
    }
    return BusError.of("InternalFailure", `the WebSocket to ${this.url(path)} did not open`, scope);
  }
}

/**
 * A request that did not get its answer as a BusError: Timeout where the signal's reason is a
 * timeout (`AbortSignal.timeout(ms)`), Aborted where the caller aborted (with any reason: fetch
 * then throws the reason itself, not an AbortError), else InternalFailure (the network).
 */
function failure(what: string, err: unknown, init: { signal?: AbortSignal; scope?: { module?: string; topic?: string } }): BusError {
  const cause = init.signal?.aborted ? init.signal.reason : err;
  const name = (cause as Error)?.name;
  const message = `${what}: ${(cause as Error)?.message ?? String(cause)}`;
  if (name === "TimeoutError") return BusError.of("Timeout", message, init.scope);
  if (init.signal?.aborted || name === "AbortError") return BusError.of("Aborted", message, init.scope);
  return BusError.of("InternalFailure", message, init.scope);
}

/** A JSON answer's object, where it is one. */
export function objectOf<T>(value: unknown): T {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new TypeError(`not an object but ${JSON.stringify(value)?.slice(0, 100)}`);
  return value as T;
}

/** A JSON answer's array `key`, where it has one. */
export const arrayIn =
  <T>(key: string) =>
  (value: unknown): T[] => {
    const found = objectOf<Record<string, unknown>>(value)[key];
    if (!Array.isArray(found)) throw new TypeError(`"${key}" is not an array but ${JSON.stringify(found)?.slice(0, 100) ?? "missing"}`);
    return found as T[];
  };

const WebSocketCtor = (): new (url: string, init?: unknown) => SocketLike => {
  const ctor = (globalThis as { WebSocket?: new (url: string, init?: unknown) => SocketLike }).WebSocket;
  if (!ctor) throw new TypeError("wasm-bus client: no global WebSocket here; pass options.webSocket");
  return ctor;
};

/** Node's WebSocket (undici) takes headers in its second argument; browsers' take only protocols there. */
const takesHeaders = (): boolean => typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === "string";

/**
 * A browser cannot set a WebSocket's headers, but offers subprotocols in one: the token goes
 * there, in hex (`wasm-bus.bearer.<hex>`; the Worker answers `wasm-bus`), not in the URL, which
 * logs keep (src/http/guard.ts). The token is visible ASCII (Http checks it).
 */
export const tokenProtocols = (token: string): string[] => ["wasm-bus", `wasm-bus.bearer.${Array.from(token, (c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("")}`];

function defaultSocket(url: string, headers: Record<string, string>): SocketLike {
  const Ctor = WebSocketCtor();
  if (!headers.authorization) return new Ctor(url);
  if (takesHeaders()) return new Ctor(url, { headers });
  return new Ctor(url, tokenProtocols(headers.authorization.replace(/^Bearer /, "")));
}
