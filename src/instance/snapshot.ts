import { Code, formatName } from "../abi.js";
import { BusCall, type Resume } from "../call.js";
import { encode } from "../codec/index.js";
import { BusError } from "../errors.js";
import type { Entry } from "../handles.js";
import { PAGE_BYTES } from "../snapshot/pages.js";
import type { WasiState } from "../wasi.js";
import type { InstanceContext } from "./context.js";
import type { Suspended } from "./asyncify.js";
import type { Delivery } from "./delivery.js";
import { restoreGlobals, type SavedGlobal, saveGlobals } from "./globals.js";
import { sinkFor } from "./outbound.js";

const utf8 = new TextEncoder();

// What an instance is, besides its memory, in a form that outlives it (JSON in a Durable Object's
// SQLite): its globals, its handle table with the calls behind it, the topics it listens on. The
// memory's pages are the store's (../snapshot/pages.ts finds the changed ones). A call lives on
// in the restored instance where someone can find it again: an inbound call with a key (a
// WebSocket client's), an outbound call its service can resume (a sleep); every other call ends
// as its caller or service went away: the guest hears wasm_bus_drop or wasm_bus_error.

/** A call as a snapshot keeps it. */
export interface SavedCall {
  wapm: string;
  topic: string;
  format: number;
  keepalive: boolean;
  answered: boolean;
  /** An inbound call's name for whoever restores it (BusCall.key). */
  key?: string;
  /** The key of the call it was made under, where that one has a key. */
  parent?: string;
  /** How an outbound call goes on (BusCall.resume). */
  resume?: Resume;
}

type Callbacks = [topic: string, handle: number][];
export type SavedEntry =
  | { kind: "reserved"; callbacks?: Callbacks }
  | { kind: "out"; call: SavedCall; callbacks?: Callbacks }
  | { kind: "callback"; parent: number; topic: string }
  | { kind: "in"; call: SavedCall };

/** Everything of an instance a snapshot keeps but its memory pages. */
export interface InstanceState {
  module: string;
  /** The binary's hash: a snapshot restores only into the very same module. */
  hash: string;
  /** Memory size, in pages. */
  pages: number;
  /** Each mutable global (./globals.ts). */
  globals: SavedGlobal[];
  /** The handle the table issues next. */
  next: number;
  handles: [handle: number, entry: SavedEntry][];
  listening: string[];
  forked: boolean;
  /** Sub-processes spawned so far (InstanceContext.subprocesses); a snapshot saved before it was kept has none. */
  subprocesses?: number;
  wasi?: WasiState;
  /** A blocking guest's entry that waits, unwound into its memory (./asyncify.ts): restored, it rewinds. */
  suspended?: Suspended;
  /** Where the asyncify buffer is, once there is one: a restored instance reuses it. */
  asyncifyData?: number;
}

/** Finds an inbound call again by its key: undefined when its caller is gone. */
export type Adopt = (saved: SavedCall, parent?: BusCall) => BusCall | undefined;

function saveCall(call: BusCall): SavedCall {
  return {
    wapm: call.wapm,
    topic: call.topic,
    format: call.request.format,
    keepalive: call.keepalive,
    answered: call.answered,
    key: call.key,
    parent: call.parent?.key,
    resume: call.resume,
  };
}

const callbacksOf = (m?: Map<string, number>): Callbacks | undefined => (m?.size ? [...m] : undefined);

function saveEntry(entry: Entry): SavedEntry {
  switch (entry.kind) {
    case "reserved":
      return { kind: "reserved", callbacks: callbacksOf(entry.callbacks) };
    case "out":
      return { kind: "out", call: saveCall(entry.call), callbacks: callbacksOf(entry.callbacks) };
    case "callback":
      return { kind: "callback", parent: entry.parent, topic: entry.topic };
    case "in":
      return { kind: "in", call: saveCall(entry.call) };
  }
}

/** The instance's state but its memory and WASI: call only while no guest code runs. */
export function saveInstance(cx: InstanceContext): InstanceState {
  return {
    module: cx.module.name,
    hash: cx.module.hash,
    pages: cx.memory.size / PAGE_BYTES,
    globals: saveGlobals(cx),
    next: cx.handles.next,
    handles: cx.handles.entries().map(([h, e]) => [h, saveEntry(e)]),
    listening: [...cx.listening.keys()],
    forked: cx.forked,
    subprocesses: cx.subprocesses,
  };
}

/** Puts a snapshot's memory and globals into a fresh instance of the same binary. */
export function restoreMemory(cx: InstanceContext, state: InstanceState, pages: Iterable<[page: number, data: Uint8Array]>) {
  if (state.hash !== cx.module.hash) {
    throw BusError.of("IncorrectAbi", `module ${cx.module.name} changed since its snapshot (binary ${state.hash.slice(0, 12) || "?"} then, ${cx.module.hash.slice(0, 12) || "?"} now): its memory would not fit the new code`);
  }
  const memory = cx.memory.raw;
  const grow = state.pages - memory.buffer.byteLength / PAGE_BYTES;
  if (grow > 0) memory.grow(grow);
  const bytes = new Uint8Array(memory.buffer);
  for (const [page, data] of pages) bytes.set(data, page * PAGE_BYTES);
  restoreGlobals(cx, state.globals);
  cx.listening.clear();
  for (const topic of state.listening) cx.listening.set(topic, utf8.encode(topic));
  cx.forked = state.forked;
  cx.subprocesses = state.subprocesses ?? 0;
}

/**
 * Rebuilds the handle table: inbound calls their callers still hold are adopted, sleeps and other
 * resumable calls are made anew, the rest end as their peers went away, delivered once the
 * instance runs. `serve` is how the guest hears of an adopted call's end.
 */
export function restoreHandles(cx: InstanceContext, delivery: Delivery, state: InstanceState, adopt: Adopt, serve: (call: BusCall, handle: number) => void) {
  const lost: (() => void)[] = [];
  const adopted = new Map<string, BusCall>();
  const callbacks = (c?: Callbacks) => (c ? new Map(c) : undefined);
  for (const [handle, saved] of state.handles) {
    if (saved.kind === "reserved") cx.handles.set(handle, { kind: "reserved", callbacks: callbacks(saved.callbacks) });
    else if (saved.kind === "callback") cx.handles.set(handle, saved);
    else if (saved.kind === "out") {
      const call = resumeOutbound(cx, delivery, handle, saved.call);
      cx.handles.set(handle, { kind: "out", call, callbacks: callbacks(saved.callbacks) });
      if (!call.resume) {
        lost.push(() => call.fault(BusError.of("Aborted", `the call to ${saved.call.topic} was lost with the instance's Durable Object; restored from a snapshot`)));
        continue;
      }
      const refused = cx.host.dispatch(call);
      if (refused) lost.push(() => call.fault(refused));
    } else {
      const parent = saved.call.parent === undefined ? undefined : adopted.get(saved.call.parent);
      const found = saved.call.key === undefined ? undefined : adopt(saved.call, parent);
      const call = found ?? new BusCall(saved.call.wapm, saved.call.topic, EMPTY(saved.call.format), IGNORE, { keepalive: saved.call.keepalive, answered: saved.call.answered });
      if (found && saved.call.key !== undefined) adopted.set(saved.call.key, found);
      cx.handles.set(handle, { kind: "in", call });
      serve(call, handle);
      if (!found) lost.push(() => call.drop("its caller was lost with the instance's Durable Object"));
    }
  }
  cx.handles.resumeAt(state.next);
  for (const end of lost) end();
}

/** An outbound call made anew where its service said how (a sleep until its due time); a stand-in otherwise. */
function resumeOutbound(cx: InstanceContext, delivery: Delivery, handle: number, saved: SavedCall): BusCall {
  const sink = sinkFor(cx, delivery, handle);
  const options = { keepalive: saved.keepalive, caller: cx.module.name };
  if (!saved.resume || saved.answered) return new BusCall(saved.wapm, saved.topic, EMPTY(saved.format), sink, options);
  const spec = cx.host.topic(saved.wapm, saved.resume.topic);
  const data = encode(saved.format, saved.resume.request, spec.request);
  const call = new BusCall(saved.wapm, saved.resume.topic, { format: saved.format as never, data }, sink, options);
  call.resume = saved.resume;
  return call;
}

const EMPTY = (format: number) => ({ format: (formatName(format) ? format : 0) as never, data: new Uint8Array() });
/** The sink of an inbound call whose caller is gone: nobody hears its outcome. */
const IGNORE = { finish() {}, fail() {}, callback: () => Code.MissingCallbacks };
