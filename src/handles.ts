import type { BusCall } from "./call.js";

/** What a guest handle names. Handles are issued by the host and never reused while live. */
export type Entry =
  /** Issued by `handle()`, not yet used; may already carry callbacks. */
  | { kind: "reserved"; callbacks?: Map<string, number> }
  /** A call the guest made. */
  | { kind: "out"; call: BusCall; callbacks?: Map<string, number> }
  /** A callback of the call `parent`, fed through `wasm_bus_finish`. */
  | { kind: "callback"; parent: number; topic: string }
  /** A call the guest serves. */
  | { kind: "in"; call: BusCall };

/**
 * Kept in every table under a key no handle can be (handles are u32): a Map whose last entry is
 * deleted shrinks and reallocates its storage, and a guest that serves one call at a time would
 * do that on every call. Never seen outside the table.
 */
const KEEP = -1;
const KEPT: Entry = Object.freeze({ kind: "reserved" });

export class HandleTable {
  #entries = new Map<number, Entry>([[KEEP, KEPT]]);
  /** Live handles at most; `add` past it answers 0 ("no handle"). */
  readonly limit: number;
  /**
   * The handle of each kept-alive call: the calls that can be parents, looked up on every call
   * made under them. Other calls are found by a scan (handleOf), which nothing hot needs.
   */
  #byCall = new Map<BusCall, number>();
  #next = 1;
  #outbound = 0;
  #inbound = 0;

  constructor(limit = Infinity) {
    this.limit = limit;
  }

  /** The handle `add` tries first: a restored table goes on from where its snapshot was. */
  get next(): number {
    return this.#next;
  }
  resumeAt(next: number) {
    this.#next = next >>> 0;
  }

  *entries(): IterableIterator<[number, Entry]> {
    for (const pair of this.#entries) if (pair[0] !== KEEP) yield pair;
  }

  get live(): number {
    return this.#entries.size - 1;
  }
  get outbound(): number {
    return this.#outbound;
  }

  /** A new handle for `entry`, or 0 when the table holds `limit` handles already. */
  add(entry: Entry): number {
    if (this.#entries.size - 1 >= this.limit) return 0;
    // u32 space, skipping 0 ("no handle") and anything still live.
    let handle = this.#next;
    while (handle === 0 || this.#entries.has(handle)) handle = (handle + 1) >>> 0;
    this.#next = (handle + 1) >>> 0;
    this.#put(handle, entry);
    return handle;
  }

  get(handle: number): Entry | undefined {
    return this.#entries.get(handle >>> 0);
  }

  set(handle: number, entry: Entry) {
    handle >>>= 0;
    // Overwritten in place (Map.set on a live key): no delete, so no dead slot for the Map to sweep.
    const old = this.#entries.get(handle);
    if (old) this.#uncount(old);
    this.#put(handle, entry);
  }

  #put(handle: number, entry: Entry) {
    this.#entries.set(handle, entry);
    if (entry.kind === "out") this.#outbound++;
    else if (entry.kind === "in") this.#inbound++;
    else return;
    if (entry.call.keepalive) this.#byCall.set(entry.call, handle);
  }

  handleOf(call: BusCall): number {
    if (call.keepalive) return this.#byCall.get(call) ?? 0;
    for (const [handle, entry] of this.#entries) if ((entry.kind === "out" || entry.kind === "in") && entry.call === call) return handle;
    return 0;
  }

  /** The handle of a call this guest serves, or 0: never its own outbound call of the same object. */
  inboundOf(call: BusCall): number {
    const handle = this.handleOf(call);
    return this.#entries.get(handle)?.kind === "in" ? handle : 0;
  }

  /** Forgets a handle. */
  remove(handle: number): Entry | undefined {
    const entry = this.#entries.get(handle >>> 0);
    if (!entry) return undefined;
    this.#entries.delete(handle >>> 0);
    this.#uncount(entry);
    return entry;
  }

  /** What #put counted for `entry`, undone. */
  #uncount(entry: Entry) {
    if (entry.kind === "out") this.#outbound--;
    else if (entry.kind === "in") this.#inbound--;
    else return;
    if (entry.call.keepalive) this.#byCall.delete(entry.call);
  }

  /** Forgets a handle and the callbacks registered under it. */
  release(handle: number) {
    const entry = this.remove(handle);
    if (entry && (entry.kind === "out" || entry.kind === "reserved")) {
      if (entry.callbacks) for (const cb of entry.callbacks.values()) this.remove(cb);
    }
    if (entry?.kind === "callback") {
      const owner = this.#entries.get(entry.parent);
      if ((owner?.kind === "out" || owner?.kind === "reserved") && owner.callbacks?.get(entry.topic) === handle) owner.callbacks.delete(entry.topic);
    }
  }

  *inbound(): Generator<[number, Extract<Entry, { kind: "in" }>]> {
    if (this.#inbound === 0) return;
    for (const [handle, entry] of [...this.#entries]) if (entry.kind === "in") yield [handle, entry];
  }

  /** Whether the guest serves any call. */
  get serving(): boolean {
    return this.#inbound !== 0;
  }

  clear(): Entry[] {
    this.#entries.delete(KEEP);
    const all = [...this.#entries.values()];
    this.#entries.clear();
    this.#entries.set(KEEP, KEPT);
    this.#byCall.clear();
    this.#outbound = 0;
    this.#inbound = 0;
    return all;
  }
}
