import type { ProcessObject, SessionObject, StoreObject } from "./objects.js";

/** The Worker's bindings (wrangler.toml). */
export interface Env {
  /** When set (a Worker secret), every bus endpoint wants `Authorization: Bearer <token>`. */
  BUS_TOKEN?: string;
  /**
   * Origins (comma-separated, or `*`) whose web pages may use the Worker from a browser: CORS
   * answers and WebSockets. A page of any other origin but the Worker's own is refused (origins.ts).
   */
  ALLOWED_ORIGINS?: string;
  /**
   * Hostnames (comma-separated; `*.name` for the names under name, `*` for any) the Worker answers
   * to: when set, a request with another Host (and no IP address) is refused (hosts.ts). `npm
   * start` sets it, against DNS rebinding; a deployed Worker leaves it unset.
   */
  ALLOWED_HOSTS?: string;
  /** How long an ended process's state and output stay readable, in ms (default one hour). */
  PROCESS_RETENTION_MS?: string;
  PROCESSES: DurableObjectNamespace<ProcessObject>;
  SESSIONS: DurableObjectNamespace<SessionObject>;
  /** Modules' key-value stores for plain calls (kv.*): one object per module. */
  STORES: DurableObjectNamespace<StoreObject>;
}
