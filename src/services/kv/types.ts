import type { Limits } from "../../manifest.js";

/**
 * One module's keys, in a Durable Object's SQLite storage. Each method is atomic: a store runs
 * it as one SQLite transaction, inside the one object that holds the keys, so every read sees
 * every write acknowledged before it (strong consistency). Versions are the store's write
 * sequence: a key's version changes with every write and never comes back (0: no such key), so
 * a compare-and-set on it cannot be fooled by a delete and a put in between.
 *
 * A store in the calling object's own storage answers at once (plain values); one in another
 * object answers through RPC (promises).
 */
export interface KvStore {
  read(key: string): MaybePromise<KvEntry>;
  put(key: string, value: Uint8Array, limits: KvLimits): MaybePromise<number>;
  delete(key: string): MaybePromise<boolean>;
  list(prefix: string, limit: number, after: string | null): MaybePromise<KvPage>;
  /** Writes `value` (deletes, for null) only while the key's version is `version`. */
  cas(key: string, version: number, value: Uint8Array | null, limits: KvLimits): MaybePromise<KvSwap>;
}

/** Where modules' stores are: the runtime's storage capability (RuntimeOptions.storage). */
export interface KvStorage {
  /** The store of one module: only that module's keys. */
  open(module: string): KvStore;
}

export type MaybePromise<T> = T | Promise<T>;
export interface KvEntry {
  value: Uint8Array | null;
  version: number;
}
export interface KvPage {
  keys: string[];
  cursor: string | null;
}
export interface KvSwap {
  ok: boolean;
  version: number;
}
/** What a store checks itself (it holds the counts): the rest is checked before a store is asked. */
export type KvLimits = Pick<Limits, "kvKeys" | "kvBytes">;
