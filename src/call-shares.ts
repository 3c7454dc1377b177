import type { BusCall } from "./call.js";
import { BusError } from "./errors.js";
import type { Limits } from "./manifest.js";

/** A part of an instance's `maxHandles` that one caller may hold in live calls: maxHandles / part. */
export interface Share {
  part: number;
  /** The share in words, for its refusal ("a sixteenth"). */
  named: string;
}

/**
 * One WebSocket client of a session: a sixteenth (256 of the default 4,096). Sixteen full sockets
 * are needed to fill the instance, and a client with a few joins and posts never comes near it.
 */
export const SOCKET_SHARE: Share = { part: 16, named: "a sixteenth" };

/**
 * One caller by Workers RPC (src/remote.ts), keyed by who it is: a calling module's name (its
 * instances in every isolate), "http" (every HTTP caller of the Worker), "ws" (every client of
 * another session, each held to its own SOCKET_SHARE there). A key stands for many callers at
 * once, so it gets more than a socket: a quarter (1,024 of 4,096), so that four keys, not one,
 * are needed to fill the instance, and one module's pooled instances or one burst of HTTP callers
 * leave three quarters to the session's own clients and every other caller.
 */
export const CALLER_SHARE: Share = { part: 4, named: "a quarter" };

/** The live calls one caller may hold under `share` of an instance with these limits. */
export function shareCap(share: Share, limits: Limits): number {
  return Math.max(1, Math.floor(limits.maxHandles / share.part));
}

/**
 * Live calls per caller of an instance that many callers share. Each call holds a handle of the
 * one instance, whose `maxHandles` bounds them all: a caller that could take every handle would
 * lock the others out. A call counts from the moment it starts (it takes its handle then) until
 * it ends however it ends (reply, fault, drop, timeout, its caller gone: BusCall.onEnd).
 */
export class CallShares {
  readonly #held = new Map<string, number>();

  constructor(readonly share: Share) {}

  /** Why one more call of the caller `key` (`who`, in words) is refused, if it is: it holds its share already. */
  refusal(key: string, who: string, limits: Limits): BusError | undefined {
    const cap = shareCap(this.share, limits);
    if (this.held(key) < cap) return undefined;
    return BusError.of(
      "LimitExceeded",
      `${who} holds ${cap} live calls already, its share (${this.share.named} of the module's limits.maxHandles, ${limits.maxHandles}): end some first`,
    );
  }

  /** Counts `call` against `key` until it ends. */
  hold(key: string, call: BusCall): void {
    if (call.ended) return;
    this.#held.set(key, this.held(key) + 1);
    call.onEnd(() => {
      const left = this.held(key) - 1;
      if (left > 0) this.#held.set(key, left);
      else this.#held.delete(key);
    });
  }

  /** The live calls `key` holds. */
  held(key: string): number {
    return this.#held.get(key) ?? 0;
  }
}
