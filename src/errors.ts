import { Code, type CodeName, OS_WAPM, codeName } from "./abi.js";
import { cutAt } from "./text.js";

/** What a BusError is as data: how it crosses Workers RPC and storage. */
export interface BusErrorJson {
  code: number;
  message: string;
  detail?: string;
  relayed?: BusErrorJson;
  /** Only where set: see BusError.ownFailure. */
  ownFailure?: true;
}

/**
 * The one error type of the runtime: an ABI code and the host's words. The core knows nothing
 * of HTTP; src/http/errors.ts turns a code into a status, at the edge.
 */
export class BusError extends Error {
  override readonly name = "BusError";
  constructor(
    readonly code: number,
    message: string,
    /** The module's own words for why it failed (`fault_message`, a Rust panic), apart from the host's. */
    readonly detail?: string,
    /**
     * The refusal a module passed on: it faulted its caller with the code one of its own calls was
     * refused with. The caller did nothing wrong then; the module's call did.
     */
    readonly relayed?: BusError,
    /**
     * The module's own failure, whatever its code says of the caller: a module that faults a call
     * on a topic it declares with InvalidTopic or InvalidWapm (which only the host's routing may
     * say of a caller) answers for itself, as one that passes on a refusal (`relayed`) does.
     */
    readonly ownFailure = false,
  ) {
    super(message);
  }

  get codeName(): CodeName {
    return codeName(this.code);
  }

  static of(name: CodeName, message: string, detail?: string): BusError {
    return new BusError(Code[name], message, detail);
  }

  /** Anything thrown becomes a BusError; unknown throwables are the system's fault. */
  static from(err: unknown): BusError {
    if (err instanceof BusError) return err;
    const message = err instanceof Error ? err.message : String(err);
    return new BusError(Code.InternalFailure, message);
  }

  toJSON(): BusErrorJson {
    // It crosses RPC with the error (a process's fault reaches the edge so): its status depends on it.
    const own = this.ownFailure ? { ownFailure: true as const } : {};
    return { code: this.code, message: this.message, detail: this.detail, relayed: this.relayed?.toJSON(), ...own };
  }

  static fromJSON(json: BusErrorJson): BusError {
    return new BusError(json.code, json.message, json.detail, json.relayed && BusError.fromJSON(json.relayed), json.ownFailure === true);
  }
}

/**
 * The ABI code of a callback's answer, for callers that take only a code (across Workers RPC, a
 * built-in service): a sink may refuse a callback by throwing a BusError with its reason (so a
 * guest's `reply_callback` keeps it for a fault that passes it on), which is its code here.
 */
export function codeOf(answer: () => number): number {
  try {
    return answer();
  } catch (err) {
    if (err instanceof BusError) return err.code;
    throw err;
  }
}

/** What crosses Workers RPC from a Durable Object: a value, or the error as data (its class does not cross). */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: BusErrorJson };

/** Runs `fn` and wraps its value or its BusError for the trip across RPC. */
export async function outcome<T>(fn: () => T | Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    return { ok: false, error: BusError.from(err).toJSON() };
  }
}

/** The other end of `outcome`: the value, or the error thrown again as a BusError. */
export function unwrap<T>(result: Outcome<T>): T {
  if (!result.ok) throw BusError.fromJSON(result.error);
  return result.value;
}

/**
 * The one way a guest stops running before it returns: thrown out of an import (proc_exit, a rule
 * broken beyond what a status code answers) or out of the fuel meter, and caught where the host
 * entered the guest.
 */
export class GuestExit extends Error {
  private constructor(
    readonly kind: "exit" | "halt" | "fuel",
    readonly error: BusError,
    /** The exit code, for `exit`. */
    readonly code = 0,
  ) {
    super(error.message);
  }

  /** The guest called proc_exit. */
  static exit(code: number): GuestExit {
    return new GuestExit("exit", BusError.of("Aborted", `exited with code ${code}`), code);
  }

  /** The guest broke a rule beyond what a status code can answer. */
  static halt(error: BusError): GuestExit {
    return new GuestExit("halt", error);
  }

  /** The fuel meter ran dry: an endless loop, or more work than one entry may do. */
  static fuel(): GuestExit {
    return new GuestExit("fuel", BusError.of("Timeout", "out of fuel"));
  }
}

/** Longest name (a wapm, a topic) a message repeats: what a caller sent may be megabytes. */
const NAME_IN_MESSAGE = 256;

/** A name as an error message repeats it: cut to 256 characters, with an ellipsis where it was cut. */
export function nameInMessage(name: string): string {
  return name.length > NAME_IN_MESSAGE ? `${name.slice(0, cutAt(name, NAME_IN_MESSAGE))}… (${name.length} characters)` : name;
}

/**
 * The refusal of a client (over HTTP, over a WebSocket) that names `os`: the host's services are
 * the modules', which the module's limits and fetch list hold; a client calls modules.
 */
export function osNotServed(edge: "HTTP" | "a WebSocket"): BusError {
  return BusError.of("InvalidWapm", `"${OS_WAPM}" names the host's built-in services, which modules call over the bus; they are not served over ${edge}`);
}
