import type { CodeName } from "../../src/abi.js";

/**
 * What the key-value store (kv.*, docs/host.md) must answer, kept in memory: one module's keys,
 * its write sequence and its limits. The kv fuzzer (test/kv-fuzz.test.ts) holds every answer
 * of the real store to `expect` and then applies the same operation here. Written from the
 * docs, not from durable-objects/kv.ts: byte order is compared by code point, versions as
 * bigints, sizes as UTF-8 bytes, so none of the store's own shortcuts is repeated.
 */
export interface KvModelLimits {
  kvKeyBytes: number;
  kvValueBytes: number;
  kvKeys: number;
  kvBytes: number;
}

export type KvOp =
  | { topic: "kv.get" | "kv.read" | "kv.delete"; key: string }
  | { topic: "kv.put"; key: string; value: Uint8Array }
  | { topic: "kv.cas"; key: string; version: number | bigint; value: Uint8Array | null }
  | { topic: "kv.list"; prefix: string; limit: number; cursor: string | null };

/** An answer: the reply as decoded, or a refusal with any of these codes (and nothing changed). */
export type Outcome = { reply: unknown } | { refused: CodeName[] };

/** kv.list's page sizes (src/services/kv/index.ts, the docs' "0: 100, at most 1,000"). */
const LIST_DEFAULT = 100;
const LIST_MAX = 1000;

const utf8 = new TextEncoder();
export const bytesOf = (s: string): number => utf8.encode(s).length;

/** UTF-8 byte order, which is code point order: compared by code points, not UTF-16 units. */
export function byteOrder(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d) return d;
  }
  return x.length - y.length;
}

interface Entry {
  value: Uint8Array;
  version: number;
}

export class KvModel {
  readonly entries = new Map<string, Entry>();
  /** The store's write sequence: the last version any write (or delete) took. */
  seq = 0;

  constructor(readonly limits: KvModelLimits) {}

  /** A model of its own in the same state: one order of a burst of requests tried on it. */
  clone(): KvModel {
    const copy = new KvModel(this.limits);
    copy.assign(this);
    return copy;
  }

  assign(other: KvModel) {
    this.entries.clear();
    for (const [k, e] of other.entries) this.entries.set(k, e);
    this.seq = other.seq;
  }

  get keys(): number {
    return this.entries.size;
  }

  /** Keys and values together, in bytes: what limits.kvBytes bounds. */
  get bytes(): number {
    let n = 0;
    for (const [k, e] of this.entries) n += bytesOf(k) + e.value.length;
    return n;
  }

  sortedKeys(): string[] {
    return [...this.entries.keys()].sort(byteOrder);
  }

  versionOf(key: string): number {
    return this.entries.get(key)?.version ?? 0;
  }

  /** Refusals the request earns before the store is asked: each applicable code (any may win). */
  #checks(op: KvOp): CodeName[] {
    const codes = new Set<CodeName>();
    const { kvKeyBytes, kvValueBytes } = this.limits;
    if (op.topic === "kv.list") {
      if (bytesOf(op.prefix) > kvKeyBytes) codes.add("LimitExceeded");
      if (!op.prefix.isWellFormed()) codes.add("BadRequest");
      if (op.cursor !== null && !op.cursor.isWellFormed()) codes.add("BadRequest");
      return [...codes];
    }
    if (!op.key.length || !op.key.isWellFormed()) codes.add("BadRequest");
    if (bytesOf(op.key) > kvKeyBytes) codes.add("LimitExceeded");
    if ((op.topic === "kv.put" || op.topic === "kv.cas") && op.value && op.value.length > kvValueBytes) codes.add("LimitExceeded");
    return [...codes];
  }

  /** Whether setting `key` to `value` stays within kvKeys and kvBytes. */
  #fits(key: string, value: Uint8Array): boolean {
    const old = this.entries.get(key);
    const keys = this.keys + (old ? 0 : 1);
    const bytes = this.bytes - (old ? bytesOf(key) + old.value.length : 0) + bytesOf(key) + value.length;
    return keys <= this.limits.kvKeys && bytes <= this.limits.kvBytes;
  }

  /** What the store must answer to `op`, and the model changed as the store must have been. */
  apply(op: KvOp): Outcome {
    const refused = this.#checks(op);
    if (refused.length) return { refused };
    switch (op.topic) {
      case "kv.get":
        return { reply: this.entries.get(op.key)?.value ?? null };
      case "kv.read": {
        const e = this.entries.get(op.key);
        return { reply: { value: e?.value ?? null, version: e?.version ?? 0 } };
      }
      case "kv.put":
        if (!this.#fits(op.key, op.value)) return { refused: ["LimitExceeded"] };
        return { reply: this.#write(op.key, op.value) };
      case "kv.delete":
        return { reply: this.#remove(op.key) };
      case "kv.cas": {
        const now = this.versionOf(op.key);
        // A version is a u64 on the wire: only one equal to the key's own matches (0: absent).
        if (BigInt(op.version) !== BigInt(now)) return { reply: { ok: false, version: now } };
        if (op.value === null) {
          this.#remove(op.key);
          return { reply: { ok: true, version: 0 } };
        }
        if (!this.#fits(op.key, op.value)) return { refused: ["LimitExceeded"] };
        return { reply: { ok: true, version: this.#write(op.key, op.value) } };
      }
      case "kv.list": {
        const limit = Math.min(op.limit || LIST_DEFAULT, LIST_MAX);
        const after = this.sortedKeys().filter((k) => k.startsWith(op.prefix) && (op.cursor === null || byteOrder(k, op.cursor) > 0));
        const keys = after.slice(0, limit);
        return { reply: { keys, cursor: after.length > limit ? keys[keys.length - 1]! : null } };
      }
    }
  }

  #write(key: string, value: Uint8Array): number {
    this.entries.set(key, { value: Uint8Array.from(value), version: ++this.seq });
    return this.seq;
  }

  #remove(key: string): boolean {
    if (!this.entries.delete(key)) return false;
    // A delete takes a version too: the key written again gets one it never had.
    this.seq++;
    return true;
  }
}
