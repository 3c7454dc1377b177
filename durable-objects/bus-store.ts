import { DurableObject } from "cloudflare:workers";
import type { Env } from "../src/env.js";
import { type Outcome, outcome } from "../src/errors.js";
import type { StoreObject } from "../src/objects.js";
import type { KvEntry, KvLimits, KvPage, KvSwap } from "../src/services/kv/index.js";
import { SqlKv } from "./kv.js";

/**
 * One module's key-value store for plain calls (kv.*): the Worker's isolates reach the object
 * named after the module (STORES.idFromName(module)) through RPC. Each method is one SQLite
 * transaction in this object, so the store is strongly consistent: every call sees every write
 * acknowledged before it, and kv.cas is atomic.
 */
export class BusStore extends DurableObject<Env> implements StoreObject {
  readonly #kv: SqlKv;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#kv = new SqlKv(ctx.storage);
  }

  async read(module: string, key: string): Promise<Outcome<KvEntry>> {
    return outcome(() => this.#kv.read(module, key));
  }

  async put(module: string, key: string, value: Uint8Array, limits: KvLimits): Promise<Outcome<number>> {
    return outcome(() => this.#kv.put(module, key, value, limits));
  }

  async delete(module: string, key: string): Promise<Outcome<boolean>> {
    return outcome(() => this.#kv.delete(module, key));
  }

  async list(module: string, prefix: string, limit: number, after: string | null): Promise<Outcome<KvPage>> {
    return outcome(() => this.#kv.list(module, prefix, limit, after));
  }

  async cas(module: string, key: string, version: number, value: Uint8Array | null, limits: KvLimits): Promise<Outcome<KvSwap>> {
    return outcome(() => this.#kv.cas(module, key, version, value, limits));
  }
}
