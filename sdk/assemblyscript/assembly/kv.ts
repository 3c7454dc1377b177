/**
 * The host's key-value store (wapm "os", topics kv.*): the calling module's own keys, strongly
 * consistent, in a Durable Object's SQLite storage (docs/host.md). MessagePack on the wire, so
 * values travel as bin.
 *
 *   kvGet("count", handler)                       // Handler<Uint8Array | null>
 *   kvRead("count", handler)                      // Handler<KvEntry>: the value and its version
 *   kvCas("count", entry.version, bytes, handler) // Handler<KvSwap>: ok, or the version that won
 *
 * A read-modify-write that never loses an update: kvRead, compute, kvCas with the version read;
 * where the swap answers ok == false someone wrote in between: read again and retry.
 */
import { Code, Format, OS_WAPM } from "./abi";
import { Call } from "./call";
import { Adapter, Handler } from "./handler";
import { encodeMsgpack } from "./msgpack";
import { Payload } from "./payload";
import { Value } from "./value";

/** A key's value (null where absent) and version (0 where absent): what kvCas compares. */
export class KvEntry {
  constructor(public value: Uint8Array | null, public version: u64) {}
}

/** What kvCas did: ok, and the key's version now (the one written, or the one that won). */
export class KvSwap {
  constructor(public ok: bool, public version: u64) {}
}

/** One page of kvList: keys in byte order, and the cursor of the next page (null after the last). */
export class KvPage {
  constructor(public keys: Array<string>, public cursor: string | null) {}
}

function kvCall(topic: string, request: Value, adapter: Handler<Payload>): Call {
  return new Call(OS_WAPM, topic).send(Format.Msgpack, encodeMsgpack(request), adapter);
}

/** kv.get: the value of `key`, or null where it is absent. */
export function kvGet(key: string, handler: Handler<Uint8Array | null>): Call {
  return kvCall("kv.get", Value.object().setString("key", key), new OptionalBytes(handler));
}

/** kv.read: the value of `key` and its version, for kvCas. */
export function kvRead(key: string, handler: Handler<KvEntry>): Call {
  return kvCall("kv.read", Value.object().setString("key", key), new EntryAdapter(handler));
}

/** kv.put: sets `key`; the handler gets its new version. */
export function kvPut(key: string, value: Uint8Array, handler: Handler<u64>): Call {
  return kvCall("kv.put", Value.object().setString("key", key).set("value", Value.bytes(value)), new Version(handler));
}

/** kv.delete: removes `key`; the handler gets whether it was there. */
export function kvDelete(key: string, handler: Handler<bool>): Call {
  return kvCall("kv.delete", Value.object().setString("key", key), new Existed(handler));
}

/** kv.list: keys starting with `prefix` after `cursor` (null: from the first), at most `limit` (0: the host's default). */
export function kvList(prefix: string, limit: u32, cursor: string | null, handler: Handler<KvPage>): Call {
  const req = Value.object()
    .setString("prefix", prefix)
    .setInt("limit", <i64>limit)
    .set("cursor", cursor == null ? Value.null() : Value.str(cursor));
  return kvCall("kv.list", req, new PageAdapter(handler));
}

/**
 * kv.cas: writes `value` (null: deletes the key) only if the key's version is still `version`
 * (0: only if the key is absent). The handler gets ok and the key's version now.
 */
export function kvCas(key: string, version: u64, value: Uint8Array | null, handler: Handler<KvSwap>): Call {
  const req = Value.object()
    .setString("key", key)
    .set("version", Value.uint(version))
    .set("value", value == null ? Value.null() : Value.bytes(value));
  return kvCall("kv.cas", req, new SwapAdapter(handler));
}

/** A u64 as 8 bytes, little-endian: how tally stores its count (and how Rust's u64::to_le_bytes does). */
export function u64ToBytes(n: u64): Uint8Array {
  const out = new Uint8Array(8);
  store<u64>(out.dataStart, n);
  return out;
}

/** 8 little-endian bytes as a u64; 0 for null, and for anything not 8 bytes long. */
export function bytesToU64(bytes: Uint8Array | null): u64 {
  if (bytes == null || bytes.length != 8) return 0;
  return load<u64>(bytes.dataStart);
}

class OptionalBytes extends Adapter<Uint8Array | null> {
  onResult(payload: Payload): void {
    const v = payload.value();
    if (v == null) return this.inner.onError(Code.DeserializationFailed);
    if (v.isNull()) return this.inner.onResult(null);
    const bytes = v.asBytes();
    if (bytes == null) this.inner.onError(Code.DeserializationFailed);
    else this.inner.onResult(bytes);
  }
}

class EntryAdapter extends Adapter<KvEntry> {
  onResult(payload: Payload): void {
    const v = payload.value();
    const value = v != null ? v.get("value") : null;
    const version = v != null ? v.get("version") : null;
    if (value == null || version == null || !version.isInteger()) return this.inner.onError(Code.DeserializationFailed);
    if (value.isNull()) return this.inner.onResult(new KvEntry(null, version.asUint()));
    const bytes = value.asBytes();
    if (bytes == null) this.inner.onError(Code.DeserializationFailed);
    else this.inner.onResult(new KvEntry(bytes, version.asUint()));
  }
}

class Version extends Adapter<u64> {
  onResult(payload: Payload): void {
    const v = payload.value();
    if (v == null || !v.isInteger()) this.inner.onError(Code.DeserializationFailed);
    else this.inner.onResult(v.asUint());
  }
}

class Existed extends Adapter<bool> {
  onResult(payload: Payload): void {
    const v = payload.value();
    if (v == null || !v.isBool()) this.inner.onError(Code.DeserializationFailed);
    else this.inner.onResult(v.asBool());
  }
}

class SwapAdapter extends Adapter<KvSwap> {
  onResult(payload: Payload): void {
    const v = payload.value();
    const ok = v != null ? v.get("ok") : null;
    const version = v != null ? v.get("version") : null;
    if (ok == null || !ok.isBool() || version == null || !version.isInteger()) this.inner.onError(Code.DeserializationFailed);
    else this.inner.onResult(new KvSwap(ok.asBool(), version.asUint()));
  }
}

class PageAdapter extends Adapter<KvPage> {
  onResult(payload: Payload): void {
    const v = payload.value();
    const keys = v != null ? v.get("keys") : null;
    const cursor = v != null ? v.get("cursor") : null;
    if (keys == null || !keys.isArray()) return this.inner.onError(Code.DeserializationFailed);
    const out = new Array<string>();
    for (let i = 0; i < keys.length; i++) {
      const k = keys.at(i)!;
      if (!k.isString()) return this.inner.onError(Code.DeserializationFailed);
      out.push(k.asString());
    }
    this.inner.onResult(new KvPage(out, cursor != null && cursor.isString() ? cursor.asString() : null));
  }
}
