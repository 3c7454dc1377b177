/** Serving topics: listen, then route each wasm_bus_start to its topic's server. */
import * as bus from "./abi";
import { utf8 } from "./bytes";
import { log } from "./log";
import { DropListener, findRequest, openRequest, Request } from "./request";

/** Serves one topic. For a plain function, use serve(topic, fn). */
export abstract class Server extends DropListener {
  /** An inbound call: answer it now or later with req.reply / req.fault. */
  abstract onRequest(req: Request): void;
}

class FnServer extends Server {
  constructor(public fn: (req: Request) => void) {
    super();
  }
  onRequest(req: Request): void {
    this.fn(req);
  }
}

const servers = new Map<string, Server>();
/** Topics served only under a parent: the methods of a sub-API (listenUnder). */
const underParent = new Set<string>();
/**
 * Each served topic's UTF-8 and that decoded, so that wasm_bus_start names a topic it serves with
 * the string it already has: one allocation less per request.
 */
const topicBytes = new Array<ArrayBuffer>();
const topicNames = new Array<string>();

/** Serves `topic` (declared in module.json) with a function, as the `listen` import does. Call at top level. */
export function listen(topic: string, fn: (req: Request) => void): u32 {
  return listenWith(topic, new FnServer(fn));
}

/** @deprecated the ABI's and the Rust SDK's name is `listen`. */
export function serve(topic: string, fn: (req: Request) => void): u32 {
  return listen(topic, fn);
}

/** @deprecated the ABI's and the Rust SDK's name is `listenWith`. */
export function serveWith(topic: string, server: Server): u32 {
  return listenWith(topic, server);
}

/** Serves `topic` with a Server object, for onDrop or state. Call at top level. */
export function listenWith(topic: string, server: Server): u32 {
  const t = utf8(topic);
  if (!servers.has(topic)) {
    topicBytes.push(t);
    // As wasm_bus_start would decode it (`utf8` replaces unpaired surrogates).
    topicNames.push(String.UTF8.decode(t));
  }
  servers.set(topic, server);
  const status = bus.listen(changetype<usize>(t), <usize>t.byteLength);
  if (status != bus.Code.Success) log.error("listen " + topic + ": " + bus.codeName(status));
  return status;
}

/**
 * Serves `topic` as a method of a sub-API: each call names as parent a kept-alive request this
 * module holds (req.parentRequest()). A call without a parent is the caller's mistake, faulted
 * here with BadRequest; one under a parent this module no longer holds, with NotFound: the object
 * it names is gone, which is no failure of the module's (as the Rust SDK does).
 */
export function listenUnder(topic: string, fn: (req: Request) => void): u32 {
  return listenWithUnder(topic, new FnServer(fn));
}

/** listenUnder with a Server object. */
export function listenWithUnder(topic: string, server: Server): u32 {
  underParent.add(topic);
  return listenWith(topic, server);
}

/** The topic `len` bytes at `ptr` name (wasm_bus_start's): a served topic's own string, else the bytes decoded. */
export function topicAt(ptr: usize, len: usize): string {
  for (let i = 0; i < topicBytes.length; i++) {
    const b = topicBytes[i];
    if (<usize>b.byteLength == len && memory.compare(changetype<usize>(b), ptr, len) == 0) return topicNames[i];
  }
  return String.UTF8.decodeUnsafe(ptr, len);
}

/** wasm_bus_start, decoded. */
export function startRequest(parent: u32, handle: u32, format: u32, topic: string, data: Uint8Array): void {
  // The caller's to hear, not a line of this module's log (limits.logBytes is not for callers to spend).
  if (!servers.has(topic)) {
    faultWhy(handle, bus.Code.InvalidTopic, "no handler for topic " + topic);
    return;
  }
  if (underParent.has(topic)) {
    if (parent == bus.NO_HANDLE) {
      faultWhy(handle, bus.Code.BadRequest, "no handler for topic " + topic + " (a sub-API's topic needs its parent call)");
      return;
    }
    if (findRequest(parent) === null) {
      faultWhy(handle, bus.Code.NotFound, "no handler for topic " + topic + " under parent " + parent.toString() + " (the object it names is gone)");
      return;
    }
  }
  const server = servers.get(topic);
  const req = new Request(handle, parent, topic, format, data, server);
  openRequest(req);
  server.onRequest(req);
}

function faultWhy(handle: u32, code: u32, why: string): void {
  const text = String.UTF8.encode(why);
  bus.fault_message(handle, code, changetype<usize>(text), <usize>text.byteLength);
}
