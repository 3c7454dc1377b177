import type { Schema } from "../../codec/schema.js";
import { BusError } from "../../errors.js";
import { builtin, type ServeContext } from "../service.js";
import type { Limits } from "../../manifest.js";
import { utf8Length } from "../../utf8-length.js";
import type { KvStore, MaybePromise } from "./types.js";

export type { KvEntry, KvLimits, KvPage, KvStorage, KvStore, KvSwap, MaybePromise } from "./types.js";

/** kv.list pages: `limit` 0 is this many keys, and no page is longer than LIST_MAX. */
export const LIST_DEFAULT = 100;
export const LIST_MAX = 1000;

const entry: Schema = { struct: { value: { option: "bytes" }, version: "u64" } };

/** The caller's store, with its limits: only modules have one. */
function storeOf(ctx: ServeContext, topic: string): { kv: KvStore; limits: Limits } {
  if (!ctx.caller) throw BusError.of("AccessDenied", `${topic}: the key-value store is for modules; this call came from no module`);
  if (!ctx.kv) throw BusError.of("Unsupported", `${topic}: this runtime has no key-value storage`);
  return { kv: ctx.kv, limits: ctx.caller.limits };
}

/** A key: 1 to limits.kvKeyBytes bytes of well-formed UTF-8. */
function checkKey(key: string, limits: Limits, topic: string): string {
  if (!key.length) throw BusError.of("BadRequest", `${topic}: the key is empty`);
  if (!key.isWellFormed()) throw BusError.of("BadRequest", `${topic}: the key is not well-formed UTF-8 (a lone surrogate)`);
  checkPrefix(key, limits, topic);
  return key;
}

function checkPrefix(key: string, limits: Limits, topic: string) {
  // Every UTF-16 unit is at most 3 bytes of UTF-8: count exactly only where that could matter.
  if (key.length * 3 > limits.kvKeyBytes && utf8Length(key) > limits.kvKeyBytes) {
    throw BusError.of("LimitExceeded", `${topic}: a key of ${utf8Length(key)} bytes is over the limit of ${limits.kvKeyBytes} (limits.kvKeyBytes)`);
  }
}

function checkValue(value: Uint8Array, limits: Limits, topic: string): Uint8Array {
  if (value.length > limits.kvValueBytes) {
    throw BusError.of("LimitExceeded", `${topic}: a value of ${value.length} bytes is over the limit of ${limits.kvValueBytes} (limits.kvValueBytes)`);
  }
  // A copy of its own: a value may be a view of guest memory or of a shared small-bytes slab, which the store must not keep.
  return Uint8Array.from(value);
}

/** Runs `fn` on a store's answer, now or when it comes. */
function then<T, R>(value: MaybePromise<T>, fn: (value: T) => R): MaybePromise<R> {
  return value instanceof Promise ? value.then(fn) : fn(value);
}

/** A u64 version from a request: past 2^53 it names no version a store has handed out. */
function versionOf(v: number | bigint): number {
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : -1;
}

/**
 * A key-value store for modules (wapm `os`, topics `kv.*`): each module sees only its own keys.
 * Inside a process or a bus session the keys live in that object's own SQLite storage; plain
 * calls use one store object (BusStore) per module. See docs/host.md.
 */
export const kv = builtin({
  "kv.get": {
    description: "The value of key in the calling module's store; none where the key is absent.",
    request: { struct: { key: "string" } },
    response: { option: "bytes" },
    run(req: { key: string }, _call, ctx) {
      const { kv, limits } = storeOf(ctx, "kv.get");
      return then(kv.read(checkKey(req.key, limits, "kv.get")), (e) => e.value);
    },
  },
  "kv.read": {
    description: "The value of key and its version (a value of none and version 0 where the key is absent), for kv.cas.",
    request: { struct: { key: "string" } },
    response: entry,
    run(req: { key: string }, _call, ctx) {
      const { kv, limits } = storeOf(ctx, "kv.read");
      return kv.read(checkKey(req.key, limits, "kv.read"));
    },
  },
  "kv.put": {
    description: "Sets key to value; replies with the key's new version. LimitExceeded past the caller's limits.kvKeyBytes, kvValueBytes, kvKeys or kvBytes.",
    request: { struct: { key: "string", value: "bytes" } },
    response: "u64",
    run(req: { key: string; value: Uint8Array }, _call, ctx) {
      const { kv, limits } = storeOf(ctx, "kv.put");
      return kv.put(checkKey(req.key, limits, "kv.put"), checkValue(req.value, limits, "kv.put"), limits);
    },
  },
  "kv.delete": {
    description: "Deletes key; replies whether it was there.",
    request: { struct: { key: "string" } },
    response: "bool",
    run(req: { key: string }, _call, ctx) {
      const { kv, limits } = storeOf(ctx, "kv.delete");
      return kv.delete(checkKey(req.key, limits, "kv.delete"));
    },
  },
  "kv.list": {
    description: `Keys that start with prefix, in byte order, after cursor (none: from the first); at most limit (0: ${LIST_DEFAULT}; at most ${LIST_MAX}). cursor in the reply is for the next page, none after the last.`,
    request: { struct: { prefix: "string", limit: "u32", cursor: { option: "string" } } },
    response: { struct: { keys: { seq: "string" }, cursor: { option: "string" } } },
    run(req: { prefix: string; limit: number; cursor?: string | null }, _call, ctx) {
      const { kv, limits } = storeOf(ctx, "kv.list");
      checkPrefix(req.prefix, limits, "kv.list");
      if (!req.prefix.isWellFormed()) throw BusError.of("BadRequest", "kv.list: the prefix is not well-formed UTF-8 (a lone surrogate)");
      const cursor = req.cursor ?? null;
      if (cursor !== null && !cursor.isWellFormed()) throw BusError.of("BadRequest", "kv.list: the cursor is not well-formed UTF-8 (a lone surrogate)");
      const limit = Math.min(Number(req.limit) || LIST_DEFAULT, LIST_MAX);
      return kv.list(req.prefix, limit, cursor);
    },
  },
  "kv.cas": {
    description:
      "Compare-and-set: writes value (none: deletes the key) only if key's version is still version (0: only if absent). Replies ok and the key's version now (the new one, or the one that won).",
    request: { struct: { key: "string", version: "u64", value: { option: "bytes" } } },
    response: { struct: { ok: "bool", version: "u64" } },
    run(req: { key: string; version: number | bigint; value?: Uint8Array | null }, _call, ctx) {
      const { kv, limits } = storeOf(ctx, "kv.cas");
      const value = req.value == null ? null : checkValue(req.value, limits, "kv.cas");
      return kv.cas(checkKey(req.key, limits, "kv.cas"), versionOf(req.version), value, limits);
    },
  },
});
