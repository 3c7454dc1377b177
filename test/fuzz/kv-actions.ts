import { type CodeName, Format } from "../../src/abi.js";
import { bytesOf, type KvModel, type KvOp } from "./kv-model.js";
import type { Rng } from "./rng.js";

/**
 * The kv fuzzer's actions: one kv.* request each, with hostile keys (empty, at and one past
 * limits.kvKeyBytes in 1- to 4-byte characters, lone surrogates, NUL, SQL LIKE's `%` and `_`,
 * keys that are prefixes of each other, the code points either side of the surrogates),
 * values at and past limits.kvValueBytes, versions stale, future, 0, past 2^53 and past u64,
 * and list pages with edge limits and cursors, some sent as bytes no encoder would make.
 */
export interface KvAction {
  op: KvOp;
  format: number;
  /** The request as sent, where it is not `op` encoded in `format`: hand-written JSON, bad UTF-8. */
  wire?: Uint8Array;
  /** A request that is not well-formed: it must be refused with one of these, and change nothing. */
  refuse?: CodeName[];
}

const ATOMS = ["a", "b", "ab", "%", "_", "a%", "a_", "%_", "\\", "'", '"', "*", "[", "/", "\0", " ", "é", "€", "😀", "\x7f", "\uffff", "\ud7ff", "\ue000", "\u{10000}", "\u{10ffff}", "\ufeff", "e\u0301", "A", "~"];
const LONE = ["\ud800", "\udbff", "\udc00", "\udfff"];
/** Characters of 1, 2, 3 and 4 bytes of UTF-8, to make keys of an exact byte length. */
const WIDTHS = ["x", "é", "€", "😀"];
/** What a schema's decoding refuses. */
const MALFORMED: CodeName[] = ["BadRequest", "DeserializationFailed"];
const BAD_UTF8: CodeName[] = ["BadRequest", "DeserializationFailed", "InvalidUtf8"];

const utf8 = new TextEncoder();

/** A string of exactly `n` bytes of UTF-8 in characters of `width` bytes (the rest in "x"). */
function ofBytes(rng: Rng, n: number): string {
  const c = rng.pick(WIDTHS);
  const w = bytesOf(c);
  return c.repeat(Math.floor(n / w)) + "x".repeat(n % w);
}

function codePoints(s: string): string[] {
  return [...s];
}

export class KvActions {
  /** The cursor of the last page listed, for the next list to go on from. */
  lastCursor: string | null = null;
  lastPrefix = "";

  constructor(
    readonly rng: Rng,
    readonly model: KvModel,
  ) {}

  key(): string {
    const { rng, model } = this;
    const limit = model.limits.kvKeyBytes;
    const existing = model.sortedKeys();
    switch (rng.weighted({ existing: 35, near: 12, atLimit: 10, overLimit: 7, empty: 2, lone: 4, atoms: 30 })) {
      case "existing":
        if (existing.length) return rng.pick(existing);
        return rng.pick(ATOMS);
      case "near": {
        // A prefix of a key, or a key with more after it: neighbours in byte order and in a prefix list.
        if (!existing.length) return rng.pick(ATOMS);
        const points = codePoints(rng.pick(existing));
        return rng.chance(0.5) && points.length > 1 ? points.slice(0, rng.range(1, points.length - 1)).join("") : points.join("") + rng.pick(ATOMS);
      }
      case "atLimit":
        return ofBytes(rng, limit);
      case "overLimit":
        return ofBytes(rng, limit + rng.pick([1, 1, 2, 3, 100]));
      case "empty":
        return "";
      case "lone": {
        const points = codePoints(this.atoms());
        points.splice(rng.int(points.length + 1), 0, rng.pick(LONE));
        return points.join("");
      }
      default:
        return this.atoms();
    }
  }

  atoms(): string {
    let s = "";
    for (let i = this.rng.range(1, 4); i > 0; i--) s += this.rng.pick(ATOMS);
    return s;
  }

  value(): Uint8Array {
    const { rng } = this;
    const max = this.model.limits.kvValueBytes;
    const n = rng.pick([0, 0, max, max, max + 1, max * 25, rng.int(9), rng.int(9), rng.int(9), rng.int(max + 1), rng.int(max + 1)]);
    return rng.bytes(n);
  }

  version(key: string): number | bigint {
    const { rng, model } = this;
    switch (rng.weighted({ current: 35, zero: 15, stale: 15, future: 12, other: 8, huge: 8 })) {
      case "current":
        return model.versionOf(key);
      case "zero":
        return 0;
      case "stale":
        return rng.range(1, Math.max(1, model.seq));
      case "future":
        return model.seq + rng.pick([1, 1, 2, 1000]);
      case "other": {
        const keys = model.sortedKeys();
        return keys.length ? model.versionOf(rng.pick(keys)) : 0;
      }
      default:
        return rng.pick([2n ** 53n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n]);
    }
  }

  prefix(): string {
    const { rng, model } = this;
    const keys = model.sortedKeys();
    switch (rng.weighted({ empty: 15, ofKey: 35, atom: 20, key: 20, lastPrefix: 10 })) {
      case "empty":
        return "";
      case "ofKey":
        if (!keys.length) return rng.pick(ATOMS);
        return codePoints(rng.pick(keys)).slice(0, rng.range(1, 4)).join("");
      case "atom":
        return rng.pick(ATOMS);
      case "lastPrefix":
        return this.lastPrefix;
      default:
        return this.key();
    }
  }

  cursor(): string | null {
    const { rng } = this;
    switch (rng.weighted({ none: 45, last: 20, key: 30, lone: 5 })) {
      case "none":
        return null;
      case "last":
        return this.lastCursor;
      case "lone":
        return rng.pick(LONE);
      default:
        return this.key();
    }
  }

  next(): KvAction {
    const { rng } = this;
    const topic = rng.weighted({ "kv.get": 12, "kv.read": 10, "kv.put": 25, "kv.delete": 12, "kv.list": 18, "kv.cas": 18, malformed: 5 });
    if (topic === "malformed") return this.malformed();
    let op: KvOp;
    if (topic === "kv.put") op = { topic, key: this.key(), value: this.value() };
    else if (topic === "kv.cas") {
      const key = this.key();
      op = { topic, key, version: this.version(key), value: rng.chance(0.25) ? null : this.value() };
    } else if (topic === "kv.list") {
      const prefix = this.prefix();
      op = { topic, prefix, limit: rng.pick([0, 0, 1, 1, 2, 3, 7, 8, 9, 100, 1000, 1001, 2 ** 32 - 1]), cursor: this.cursor() };
    } else op = { topic, key: this.key() };
    return { op, format: this.formatFor(op) };
  }

  /**
   * `n` requests on one key to go at once, most of them swaps from the version it has now: a
   * read-modify-write race, of which one swap at most may win.
   */
  contended(n: number): KvAction[] {
    const { rng, model } = this;
    const keys = model.sortedKeys();
    const key = keys.length && rng.chance(0.7) ? rng.pick(keys) : rng.pick(ATOMS);
    const version = model.versionOf(key);
    return Array.from({ length: n }, () => {
      const small = () => rng.bytes(rng.int(4));
      const op: KvOp = rng.pick<() => KvOp>([
        () => ({ topic: "kv.cas", key, version, value: small() }),
        () => ({ topic: "kv.cas", key, version, value: small() }),
        () => ({ topic: "kv.cas", key, version, value: null }),
        () => ({ topic: "kv.put", key, value: small() }),
        () => ({ topic: "kv.delete", key }),
        () => ({ topic: "kv.read", key }),
      ])();
      return { op, format: this.formatFor(op) };
    });
  }

  /** Any of json, msgpack and bincode, but for what only some carry as it is. */
  formatFor(op: KvOp): number {
    const strings = op.topic === "kv.list" ? [op.prefix, op.cursor ?? ""] : [op.key];
    // A lone surrogate has no UTF-8: only JSON's \u escape carries it to the host unchanged.
    if (strings.some((s) => !s.isWellFormed())) return Format.Json;
    // A u64 past 2^53 as a bigint: msgpack's uint 64.
    if (op.topic === "kv.cas" && typeof op.version === "bigint") return Format.Msgpack;
    return this.rng.pick([Format.Json, Format.Msgpack, Format.Bincode]);
  }

  /** A request no encoder makes: numbers out of their type, wrong types, bytes that are not UTF-8. */
  malformed(): KvAction {
    const { rng } = this;
    const key = this.key().isWellFormed() ? this.key() : "k";
    const json = (text: string) => utf8.encode(text);
    const k = JSON.stringify(key);
    switch (rng.int(8)) {
      case 0: {
        const version = rng.pick(["-1", "1.5", "-0.5", "18446744073709551616", "1e400", '"1"', "null"]);
        return { op: { topic: "kv.cas", key, version: 0, value: null }, format: Format.Json, wire: json(`{"key":${k},"version":${version},"value":null}`), refuse: MALFORMED };
      }
      case 1: {
        // u64's largest, in digits: a version no write had, so no match.
        const version = 2n ** 64n - 1n;
        return { op: { topic: "kv.cas", key, version, value: new Uint8Array([1]) }, format: Format.Json, wire: json(`{"key":${k},"version":${version},"value":[1]}`) };
      }
      case 2: {
        const limit = rng.pick(["-1", "4294967296", "0.5", "1e10", '"3"']);
        return { op: { topic: "kv.list", prefix: "", limit: 0, cursor: null }, format: Format.Json, wire: json(`{"prefix":"","limit":${limit},"cursor":null}`), refuse: MALFORMED };
      }
      case 3:
        if (rng.chance(0.3)) {
          // JSON may give bytes as a string: its UTF-8.
          const text = rng.pick(["", "x", "é😀", "\\u0000"]);
          return { op: { topic: "kv.put", key, value: utf8.encode(JSON.parse(`"${text}"`) as string) }, format: Format.Json, wire: json(`{"key":${k},"value":"${text}"}`) };
        }
        return { op: { topic: "kv.put", key, value: new Uint8Array() }, format: Format.Json, wire: json(rng.pick([`{"key":5,"value":[]}`, `{"key":${k},"value":[256]}`, `{"key":${k}}`, `{"key":${k},"value":[-1]}`, `{"key":${k},"value":[1.5]}`])), refuse: MALFORMED };
      case 4:
      case 5: {
        // A key whose bytes are not UTF-8: a stray continuation byte, an overlong "/", a surrogate's
        // three bytes, a code point past U+10FFFF, a lead byte cut short.
        const bad = rng.pick([[0x61, 0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x61, 0xe2, 0x82], [0xff]]);
        const topic = rng.pick(["kv.get", "kv.read", "kv.delete"] as const);
        if (rng.chance(0.5)) return { op: { topic, key }, format: Format.Msgpack, wire: Uint8Array.from([0x81, 0xa3, ...utf8.encode("key"), 0xa0 | bad.length, ...bad]), refuse: BAD_UTF8 };
        return { op: { topic, key }, format: Format.Bincode, wire: Uint8Array.from([bad.length, 0, 0, 0, 0, 0, 0, 0, ...bad]), refuse: BAD_UTF8 };
      }
      case 6:
        // A bincode string longer than the request: a length no decoder may trust.
        return { op: { topic: "kv.get", key }, format: Format.Bincode, wire: Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x61]), refuse: MALFORMED };
      default:
        return { op: { topic: "kv.get", key }, format: Format.Json, wire: json(rng.pick(["", "{", "[]", "null", `{"key":null}`])), refuse: MALFORMED };
    }
  }
}
