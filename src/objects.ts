import type { Payload } from "./codec/index.js";
import type { Outcome } from "./errors.js";
import type { LogLine } from "./log.js";
import type { ProcessInfo, SpawnRequest } from "./process.js";

/**
 * The Durable Objects as the Worker sees them through RPC. The classes (durable-objects/)
 * implement these, so the Worker's bindings need not import the classes that import them.
 */
export interface ProcessObject extends Rpc.DurableObjectBranded {
  spawn(id: string, request: SpawnRequest): Promise<Outcome<ProcessInfo>>;
  status(): Promise<ProcessInfo | null>;
  /** A call to a topic the running process serves. */
  call(topic: string, request: Payload): Promise<Outcome<Payload>>;
  /** Kills the process; answers its state after the kill. */
  kill(): Promise<ProcessInfo | null>;
  logs(limit?: number): Promise<LogLine[]>;
  /** GET /processes/:id/attach, a WebSocket upgrade. */
  fetch(request: Request): Promise<Response>;
}

/** A bus session (GET /bus/:module/:session): its WebSocket upgrades. */
export interface SessionObject extends Rpc.DurableObjectBranded {
  fetch(request: Request): Promise<Response>;
}
