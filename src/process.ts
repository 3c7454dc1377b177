import type { BusCall } from "./call.js";
import { BusError } from "./errors.js";
import type { Guest, GuestOptions } from "./instance/guest.js";
import { Pipe } from "./pipe.js";

/** Instantiates a command-style module: the runtime's `spawn`. */
export type Spawn = (module: string, options: GuestOptions) => Guest;

export interface SpawnRequest {
  module: string;
  args?: string[];
  env?: Record<string, string>;
  /** The process's input: written to stdin before it starts, then stdin is closed (unless `stdinOpen`). */
  stdin?: string | Uint8Array;
  /** stdin stays open after `stdin` for more (an attached client's, `process.write_stdin`). */
  stdinOpen?: boolean;
  /** fds 0-2 are a terminal (character devices: `isatty` is true) instead of pipes. */
  tty?: boolean;
}

/** At most this many args, and env entries. */
export const MAX_ARGS = 4096;
/** At most this many bytes of args and env together (names, values, one byte each for `=` and the NULs). */
export const MAX_ARGS_BYTES = 256 * 1024;

/**
 * Checks a spawn request's shape and size, before it crosses RPC or reaches a guest: BadRequest
 * for a wrong type or args and env the guest cannot receive (checkPassable), LimitExceeded past
 * MAX_ARGS entries or MAX_ARGS_BYTES.
 */
export function checkSpawnRequest(request: SpawnRequest): void {
  if (typeof request?.module !== "string") throw BusError.of("BadRequest", "spawn: module must be a string");
  if (request.args !== undefined && (!Array.isArray(request.args) || !request.args.every((a) => typeof a === "string"))) {
    throw BusError.of("BadRequest", "spawn: args must be a list of strings");
  }
  const env = request.env;
  if (env !== undefined && (env === null || typeof env !== "object" || Array.isArray(env) || !Object.values(env).every((v) => typeof v === "string"))) {
    throw BusError.of("BadRequest", "spawn: env must map names to strings");
  }
  checkPassable(request.args ?? [], env ?? {});
  for (const flag of ["stdinOpen", "tty"] as const) {
    if (request[flag] !== undefined && typeof request[flag] !== "boolean") throw BusError.of("BadRequest", `spawn: ${flag} must be true or false`);
  }
  const args = request.args ?? [];
  const entries = Object.entries(env ?? {});
  if (args.length > MAX_ARGS || entries.length > MAX_ARGS) {
    throw BusError.of("LimitExceeded", `spawn: ${args.length} args and ${entries.length} env entries; at most ${MAX_ARGS} of each`);
  }
  const utf8 = (s: string) => s.length * 3; // an upper bound first: exact counts only when close
  let bytes = 0;
  for (const a of args) bytes += utf8(a) + 1;
  for (const [k, v] of entries) bytes += utf8(k) + utf8(v) + 2;
  if (bytes > MAX_ARGS_BYTES) {
    const encoder = new TextEncoder();
    bytes = 0;
    for (const a of args) bytes += encoder.encode(a).length + 1;
    for (const [k, v] of entries) bytes += encoder.encode(k).length + encoder.encode(v).length + 2;
    if (bytes > MAX_ARGS_BYTES) throw BusError.of("LimitExceeded", `spawn: args and env take ${bytes} bytes, over the limit of ${MAX_ARGS_BYTES}`);
  }
}

/**
 * Refuses args and env the guest could not receive as given: WASI hands them over as UTF-8 C
 * strings (a NUL ends one early; a lone surrogate, which JSON can carry, has no UTF-8 and would
 * arrive as U+FFFD) and env as `name=value` (an `=` in the name moves the split, an empty name is
 * no variable). Silently changed, the guest would run on other args than were asked for.
 */
function checkPassable(args: string[], env: Record<string, string>): void {
  const i = args.findIndex((a) => a.includes("\0"));
  if (i >= 0) throw BusError.of("BadRequest", `spawn: args[${i}] contains a NUL, which cannot reach the guest`);
  const j = args.findIndex((a) => !a.isWellFormed());
  if (j >= 0) throw BusError.of("BadRequest", `spawn: args[${j}] is not well-formed Unicode (a lone surrogate), which cannot reach the guest as UTF-8`);
  for (const [name, value] of Object.entries(env)) {
    if (name === "" || name.includes("=") || name.includes("\0")) {
      throw BusError.of("BadRequest", `spawn: env name ${JSON.stringify(name)} is empty or contains = or a NUL, which cannot reach the guest`);
    }
    if (!name.isWellFormed()) throw BusError.of("BadRequest", `spawn: env name ${JSON.stringify(name)} is not well-formed Unicode (a lone surrogate), which cannot reach the guest as UTF-8`);
    if (value.includes("\0")) throw BusError.of("BadRequest", `spawn: env ${name}'s value contains a NUL, which cannot reach the guest`);
    if (!value.isWellFormed()) throw BusError.of("BadRequest", `spawn: env ${name}'s value is not well-formed Unicode (a lone surrogate), which cannot reach the guest as UTF-8`);
  }
}

/** Why a module cannot run as a process: it is not a command (no `_start`). */
export function notCommand(module: string): string {
  return `module ${module} is not a command: it exports no _start, so it cannot run as a process`;
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
  /** The process ended; `error` is why, where it failed (a trap, out of fuel) rather than exited. */
  end(info: ProcessInfo, error?: BusError): void;
  /**
   * Backpressure on output, asked before each write to stdout or stderr: a promise makes a
   * guest that can wait (a blocking module, asyncified) wait for it (see WasiOptions.outputReady).
   */
  outputReady?(): Promise<void> | undefined;
  /** Whether lines wait to be taken: a guest that can wait ends its write there (see WasiOptions.outputBlocked). */
  outputBlocked?(): boolean;
}

/** Exit code of a killed process, as a shell reports SIGKILL. */
export const KILLED = 137;

/**
 * A command-style module running as a process: one instance, stdin as a pipe (holding at most the
 * module's `limits.stdinBytes` unread), stdout and stderr as lines, an exit code at the end.
 * Durable Objects host one
 * (durable-objects/bus-process.ts); the `process` service runs sub-processes
 * with it in the caller's isolate.
 */
export class Process {
  readonly stdin = new Pipe();
  readonly info: ProcessInfo;
  #guest?: Guest;
  #events: ProcessEvents;
  readonly #tty: boolean;

  /** `origin`: the process.spawn call that made a sub-process (CommandOptions.origin). */
  constructor(
    id: string,
    request: SpawnRequest,
    events: ProcessEvents,
    readonly origin?: BusCall,
  ) {
    checkSpawnRequest(request);
    this.info = { id, module: request.module, args: request.args ?? [], status: "running", startedAt: Date.now() };
    this.#events = events;
    this.#tty = request.tty === true;
    if (request.stdin !== undefined) {
      this.stdin.write(typeof request.stdin === "string" ? new TextEncoder().encode(request.stdin) : request.stdin);
      // The stdin given is the whole input, unless the request keeps it open for more.
      if (request.stdinOpen !== true) this.stdin.close();
    }
  }

  /** The running process's instance; none before it starts and once it has ended. */
  get guest(): Guest | undefined {
    return this.#guest;
  }

  /**
   * Instantiates and starts the module; throws (InvalidWapm, IncorrectAbi, ...) if it cannot start.
   * A process whose object was evicted starts again from its snapshot: `spawn` restores the
   * instance and `run` is `resume` (its `_start` ran before).
   */
  start(spawn: Spawn, env: Record<string, string> = {}, run = (guest: Guest) => guest.run()): Guest {
    const guest = spawn(this.info.module, {
      args: this.info.args,
      env,
      stdin: this.stdin,
      tty: this.#tty,
      outputReady: this.#events.outputReady && (() => this.#events.outputReady!()),
      outputBlocked: this.#events.outputBlocked && (() => this.#events.outputBlocked!()),
      command: { id: this.info.id, output: (stream, line) => this.#events.output(stream, line), origin: this.origin },
    });
    const limit = guest.module.manifest.limits.stdinBytes;
    if (this.stdin.buffered > limit) {
      guest.kill(`process ${this.info.id}: stdin over its limit`);
      throw BusError.of("LimitExceeded", `stdin of ${this.stdin.buffered} bytes is over module ${this.info.module}'s limit of ${limit} (limits.stdinBytes)`);
    }
    this.stdin.limit = limit;
    this.#guest = guest;
    run(guest).then(
      (code) => this.#end({ status: "exited", code }),
      (err: BusError) => this.#end({ status: "failed", reason: err.message }, err), // after a kill: too late, it has ended
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

  #end(outcome: Pick<ProcessInfo, "status" | "code" | "reason">, error?: BusError) {
    if (this.info.status !== "running") return;
    Object.assign(this.info, outcome, { endedAt: Date.now() });
    this.#guest = undefined; // an ended process frees its instance
    this.stdin.close();
    this.#events.end(this.info, error);
  }
}
