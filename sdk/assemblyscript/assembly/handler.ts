/**
 * What receives the outcome of a call. AssemblyScript has no closures, so a
 * handler is an object: subclass Handler<T> (or Step<T>, which carries the
 * inbound request it works for) and keep any state you need in its fields.
 */
import { codeName } from "./abi";
import { log } from "./log";
import { Payload } from "./payload";
import { Request } from "./request";

export abstract class Handler<T> {
  /** The call succeeded. */
  abstract onResult(value: T): void;

  /**
   * The call failed: the host refused it (called before `send` returns), the
   * service faulted it, or its result did not decode. Logs by default.
   */
  onError(code: u32): void {
    log.warn("a bus call failed with " + codeName(code) + " and its handler has no onError");
  }

  /** The inbound request this call works for: when its caller drops it, the call is dropped too. */
  owner(): Request | null {
    return null;
  }
}

/**
 * One step of serving a request: an error faults the request with the same
 * code, and dropping the request drops the call.
 */
export abstract class Step<T> extends Handler<T> {
  constructor(public req: Request) {
    super();
  }

  onError(code: u32): void {
    this.req.fault(code);
  }

  owner(): Request | null {
    return this.req;
  }
}

/** Receives a callback's invocations (any number, while its call lives). */
export abstract class Callback {
  abstract onCallback(payload: Payload): void;
}

/** A Handler<Payload> that turns the payload into T for an inner Handler<T>. */
export abstract class Adapter<T> extends Handler<Payload> {
  constructor(public inner: Handler<T>) {
    super();
  }

  onError(code: u32): void {
    this.inner.onError(code);
  }

  owner(): Request | null {
    return this.inner.owner();
  }
}
