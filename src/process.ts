import { BusError } from "./errors.js";
import type { Guest, GuestOptions } from "./instance/guest.js";
import { Pipe } from "./pipe.js";

/** Instantiates a command-style module: the runtime's `spawn`. */
export type Spawn = (module: string, options: GuestOptions) => Guest;

export interface SpawnRequest {
  module: string;
  args?: string[];
  env?: Record<string, string>;
  /** Written to stdin before the process starts; stdin stays open for more. */
  stdin?: string | Uint8Array;
}

export type ProcessStatus = "running" | "exited" | "failed";

export interface ProcessInfo {
  id: string;
  module: string;
  args: string[];
  status: ProcessStatus;
  /** Exit code, once exited. */
  code?: number;
  /** Why it failed (a trap, a kill, an eviction). */
  reason?: string;
  startedAt: number;
  endedAt?: number;
}

export interface ProcessEvents {
  output(stream: "stdout" | "stderr", line: string): void;
  end(info: ProcessInfo): void;
}

/** Exit code of a killed process, as a shell reports SIGKILL. */
export const KILLED = 137;

/**
 * A command-style module running as a process: one instance, stdin as a pipe,
 * stdout and stderr as lines, an exit code at the end. Durable Objects host one
 * (durable-objects/bus-process.ts); the `process` service runs sub-processes
 * with it in the caller's isolate.
 */
export class Process {
  readonly stdin = new Pipe();
  readonly info: ProcessInfo;
  #guest?: Guest;
  #events: ProcessEvents;

  constructor(id: string, request: SpawnRequest, events: ProcessEvents) {
    if (typeof request?.module !== "string") throw BusError.of("BadRequest", "spawn: module must be a string");
    if (request.args !== undefined && (!Array.isArray(request.args) || !request.args.every((a) => typeof a === "string"))) {
      throw BusError.of("BadRequest", "spawn: args must be a list of strings");
    }
    if (request.env !== undefined && (typeof request.env !== "object" || !Object.values(request.env).every((v) => typeof v === "string"))) {
      throw BusError.of("BadRequest", "spawn: env must map names to strings");
    }
    this.info = { id, module: request.module, args: request.args ?? [], status: "running", startedAt: Date.now() };
    this.#events = events;
    if (request.stdin !== undefined) {
      this.stdin.write(typeof request.stdin === "string" ? new TextEncoder().encode(request.stdin) : request.stdin);
    }
  }

  /** Instantiates and starts the module; throws (InvalidWapm, IncorrectAbi, ...) if it cannot start. */
  start(spawn: Spawn, env: Record<string, string> = {}): Guest {
    const guest = spawn(this.info.module, {
      args: this.info.args,
      env,
      stdin: this.stdin,
      command: { id: this.info.id, output: (stream, line) => this.#events.output(stream, line) },
    });
    this.#guest = guest;
    guest.run().then(
      (code) => this.#end({ status: "exited", code }),
      (err: BusError) => this.#end({ status: "failed", reason: err.message }), // after a kill: too late, it has ended
    );
    return guest;
  }

  /**
   * Ends the process now: when kill returns, `info` is its final state (exited, code 137) and
   * `end` has been called, so whoever killed it can answer with that state.
   */
  kill(): void {
    if (this.info.status !== "running") return;
    this.info.reason = "killed";
    this.stdin.close();
    this.#guest?.kill(`process ${this.info.id} was killed`); // flushes its last partial lines first
    this.#end({ status: "exited", code: KILLED });
  }

  #end(outcome: Pick<ProcessInfo, "status" | "code" | "reason">) {
    if (this.info.status !== "running") return;
    Object.assign(this.info, outcome, { endedAt: Date.now() });
    this.#guest = undefined; // an ended process frees its instance
    this.stdin.close();
    this.#events.end(this.info);
  }
}
