import { type CallFormat, CONTENT_TYPES, decodePayload, encodePayload, formatOfContentType } from "./codec.js";
import { BusError } from "./errors.js";
import { arrayIn, type ClientOptions, Http, segment } from "./http.js";
import { ProcessHandle, type ProcessInfo, processInfoOf, type SpawnOptions } from "./process.js";
import { Session, type SessionOptions } from "./session.js";
import type { ModuleDef, ModuleOf, ModuleTable, RequestOf, ResponseOf } from "./types.js";

export interface CallOptions {
  /** The request's format on the wire; the reply comes back in it (default json). */
  format?: CallFormat;
  signal?: AbortSignal;
}

/** A module's topics as methods: `client.module("hello").greet({ name: "Ada" })`. */
export type ModuleClient<D extends ModuleDef> = {
  readonly [K in keyof D & string]: (request: RequestOf<D[K]>, options?: CallOptions) => Promise<ResponseOf<D[K]>>;
};

/** A module as `GET /modules` describes it. */
export interface ModuleInfo {
  name: string;
  description: string;
  topics: Record<string, { format: string; request?: unknown; response?: unknown; callbacks?: Record<string, unknown>; description?: string }>;
  fetch: { allow: string[] };
  limits: Record<string, number>;
  /** Exports `_start`: it runs as a process (`spawn`); one without it only serves its topics. */
  command: boolean;
  /** Why it cannot run, where it failed to load. */
  error?: string;
}

export interface TypedClientOptions<M extends ModuleTable> extends ClientOptions {
  /** The generated table of modules (`sdk/client/src/generated/modules.ts`): types for `module()` and `session()`. */
  modules?: M;
}

/**
 * A client of a wasm-bus Worker: plain calls over HTTP, the bus over a WebSocket, processes.
 * Every failure is a BusError with the ABI's code name. Give it the generated `modules` table
 * and `module(name)` gets one typed method per topic.
 */
export class Client<M extends ModuleTable = {}> {
  readonly http: Http;
  readonly #modules: M | undefined;

  constructor(options: TypedClientOptions<M> = {}) {
    this.http = new Http(options);
    this.#modules = options.modules;
  }

  /** POST /call/:module/:topic: the reply, decoded (raw: its bytes). */
  async call<Name extends string, K extends keyof ModuleOf<M, Name> & string>(
    module: Name,
    topic: K,
    request: RequestOf<ModuleOf<M, Name>[K]>,
    options: CallOptions = {},
  ): Promise<ResponseOf<ModuleOf<M, Name>[K]>> {
    return this.#post(`call/${segment(module)}/${segment(topic)}`, { module, topic }, request, options.format ?? "json", options.signal) as Promise<
      ResponseOf<ModuleOf<M, Name>[K]>
    >;
  }

  /** A module's topics as typed methods. Only modules of the generated table: a misspelled module, topic or field does not compile. */
  module<Name extends keyof M & string>(name: Name): ModuleClient<M[Name]> {
    const topics = this.#modules?.[name];
    if (!topics) throw BusError.of("InvalidWapm", `no module named ${name} in this client's table`, { module: name });
    const methods: Record<string, unknown> = {};
    for (const topic of Object.keys(topics)) {
      methods[topic] = (request: unknown, options: CallOptions = {}) => this.call(name, topic as never, request as never, options);
    }
    return Object.freeze(methods) as ModuleClient<M[Name]>;
  }

  /** Opens a bus session (GET /bus/:module/:session; without a name, the session "default"). */
  session<Name extends string>(module: Name, name?: string, options: SessionOptions = {}): Session<ModuleOf<M, Name>> {
    return new Session<ModuleOf<M, Name>>(this.http, module, name, options);
  }

  /** GET /modules: every module, its topics with their schemas, its limits. */
  async modules(): Promise<ModuleInfo[]> {
    return this.http.json("GET", "modules", undefined, arrayIn<ModuleInfo>("modules"));
  }

  /** POST /processes: starts a command-style module as a process. */
  async spawn(module: string, options: SpawnOptions = {}): Promise<ProcessHandle & { info: ProcessInfo }> {
    const info = await this.http.json("POST", "processes", { module, ...options }, processInfoOf);
    return Object.assign(this.process(info.id), { info });
  }

  /** A process by id (from `spawn`, or an earlier page). */
  process(id: string): ProcessHandle {
    return new ProcessHandle(this.http, id, (path, scope, request, format) => this.#post(path, scope, request, format));
  }

  async #post(path: string, scope: { module?: string; topic: string }, request: unknown, format: CallFormat, signal?: AbortSignal): Promise<unknown> {
    let body: Uint8Array;
    try {
      body = encodePayload(format, request);
    } catch (err) {
      throw BusError.of("SerializationFailed", `${scope.topic}: ${(err as Error).message}`, scope);
    }
    const init = { scope, ...(signal ? { signal } : {}) };
    const res = await this.http.request("POST", path, { body: body as Uint8Array<ArrayBuffer>, type: CONTENT_TYPES[format], ...init });
    return this.http.read(res, `POST ${path}`, (bytes) => decodePayload(formatOfContentType(res.headers.get("content-type")), bytes), init);
  }
}
