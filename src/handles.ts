import type { BusCall } from "./call.js";

/** What a guest handle names. Handles are issued by the host and never reused while live. */
export type Entry =
  /** Issued by `handle()`, not yet used; may already carry callbacks. */
  | { kind: "reserved"; callbacks?: Map<string, number> }
  /** A call the guest made. */
  | { kind: "out"; call: BusCall; callbacks?: Map<string, number> }
  /** A callback of the call `parent`, fed through `wasm_bus_finish`. */
  | { kind: "callback"; parent: number; topic: string }
  /**
   * A call the guest serves; `heard` is what the instance gave the call's `onEnd` (taken back where
   * the instance breaks and another takes the call over: Guest.#break).
   */
  | { kind: "in"; call: BusCall; heard?: () => void };

/**
 * Slots of the direct-mapped part of a table: a power of two. Handles are issued in sequence, so
 * the few live at once almost always fall in distinct slots (`handle & (SLOTS - 1)`), and a call
 * that comes and goes costs two array stores instead of a Map insert and delete (whose dead
 * entries the Map must sweep by rehashing). A handle whose slot is taken goes to the spill Map.
 */
const SLOTS = 64;
const MASK = SLOTS - 1;

export class HandleTable {
  /** The handle in each slot; 0 (never a handle) where the slot is empty. */
  readonly #slotHandles = new Uint32Array(SLOTS);
  readonly #slotEntries: (Entry | undefined)[] = new Array<Entry | undefined>(SLOTS).fill(undefined);
  /** Handles whose slot was taken when they were added. */
  readonly #spill = new Map<number, Entry>();
  #size = 0;
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

  /**
   * Every live handle, oldest first: in the order they were issued, counted back from the next one
   * (u32 wrap-around included), so a parent comes before the calls made under it (a restore needs that).
   */
  entries(): [number, Entry][] {
    const next = this.#next;
    return this.#unordered().sort((a, b) => ((a[0] - next) >>> 0) - ((b[0] - next) >>> 0));
  }

  #unordered(): [number, Entry][] {
    const all: [number, Entry][] = [...this.#spill];
    for (let i = 0; i < SLOTS; i++) if (this.#slotHandles[i] !== 0) all.push([this.#slotHandles[i]!, this.#slotEntries[i]!]);
    return all;
  }

  get live(): number {
    return this.#size;
  }
  get outbound(): number {
    return this.#outbound;
  }

  /** A new handle for `entry`, or 0 when the table holds `limit` handles already. */
  add(entry: Entry): number {
    if (this.#size >= this.limit) return 0;
    // u32 space, skipping 0 ("no handle") and anything still live.
    let handle = this.#next;
    while (handle === 0 || this.get(handle) !== undefined) handle = (handle + 1) >>> 0;
    this.#next = (handle + 1) >>> 0;
    this.#insert(handle, entry);
    return handle;
  }

  get(handle: number): Entry | undefined {
    handle >>>= 0;
    const i = handle & MASK;
    // An empty slot holds 0 and no entry, so handle 0 finds nothing here either.
    if (this.#slotHandles[i] === handle) return this.#slotEntries[i];
    return this.#spill.size === 0 ? undefined : this.#spill.get(handle);
  }

  set(handle: number, entry: Entry) {
    handle >>>= 0;
    if (handle === 0) return; // not a handle: the ABI's "none"
    const i = handle & MASK;
    if (this.#slotHandles[i] === handle) {
      this.#uncount(this.#slotEntries[i]!);
      this.#slotEntries[i] = entry;
      this.#count(handle, entry);
      return;
    }
    const old = this.#spill.get(handle);
    if (old === undefined) return this.#insert(handle, entry);
    this.#uncount(old);
    this.#spill.set(handle, entry);
    this.#count(handle, entry);
  }

  /** A handle not in the table yet. */
  #insert(handle: number, entry: Entry) {
    const i = handle & MASK;
    if (this.#slotHandles[i] === 0) {
      this.#slotHandles[i] = handle;
      this.#slotEntries[i] = entry;
    } else this.#spill.set(handle, entry);
    this.#size++;
    this.#count(handle, entry);
  }

  #count(handle: number, entry: Entry) {
    if (entry.kind === "out") this.#outbound++;
    else if (entry.kind === "in") this.#inbound++;
    else return;
    if (entry.call.keepalive) this.#byCall.set(entry.call, handle);
  }

  handleOf(call: BusCall): number {
    if (call.keepalive) return this.#byCall.get(call) ?? 0;
    for (const [handle, entry] of this.#unordered()) if ((entry.kind === "out" || entry.kind === "in") && entry.call === call) return handle;
    return 0;
  }

  /** The handle of a call this guest serves, or 0: never its own outbound call of the same object. */
  inboundOf(call: BusCall): number {
    const handle = this.handleOf(call);
    return this.get(handle)?.kind === "in" ? handle : 0;
  }

  /** Forgets a handle. */
  remove(handle: number): Entry | undefined {
    handle >>>= 0;
    const i = handle & MASK;
    let entry: Entry | undefined;
    if (this.#slotHandles[i] === handle && handle !== 0) {
      entry = this.#slotEntries[i]!;
      this.#slotHandles[i] = 0;
      this.#slotEntries[i] = undefined;
    } else {
      entry = this.#spill.get(handle);
      if (entry === undefined) return undefined;
      this.#spill.delete(handle);
    }
    this.#size--;
    this.#uncount(entry);
    return entry;
  }

  /** What #count counted for `entry`, undone. */
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
      const owner = this.get(entry.parent);
      if ((owner?.kind === "out" || owner?.kind === "reserved") && owner.callbacks?.get(entry.topic) === handle) owner.callbacks.delete(entry.topic);
    }
  }

  *inbound(): Generator<[number, Extract<Entry, { kind: "in" }>]> {
    if (this.#inbound === 0) return;
    for (const [handle, entry] of this.entries()) if (entry.kind === "in") yield [handle, entry];
  }

  /** Whether the guest serves any call. */
  get serving(): boolean {
    return this.#inbound !== 0;
  }

  /** How many calls the guest serves. */
  get inboundCount(): number {
    return this.#inbound;
  }

  clear(): Entry[] {
    const all = this.entries().map(([, entry]) => entry);
    this.#slotHandles.fill(0);
    this.#slotEntries.fill(undefined);
    this.#spill.clear();
    this.#size = 0;
    this.#byCall.clear();
    this.#outbound = 0;
    this.#inbound = 0;
    return all;
  }
}
