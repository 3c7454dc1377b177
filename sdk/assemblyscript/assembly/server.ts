/** Serving topics: listen, then route each wasm_bus_start to its topic's server. */
import * as bus from "./abi";
import { utf8 } from "./bytes";
import { log } from "./log";
import { DropListener, openRequest, Request } from "./request";

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
  servers.set(topic, server);
  const t = utf8(topic);
  const status = bus.listen(changetype<usize>(t), <usize>t.byteLength);
  if (status != bus.Code.Success) log.error("listen " + topic + ": " + bus.codeName(status));
  return status;
}

/** wasm_bus_start, decoded. */
export function startRequest(parent: u32, handle: u32, format: u32, topic: string, data: Uint8Array): void {
  if (!servers.has(topic)) {
    bus.fault(handle, bus.Code.InvalidTopic);
    return;
  }
  const server = servers.get(topic);
  const req = new Request(handle, parent, topic, format, data, server);
  openRequest(req);
  server.onRequest(req);
}
