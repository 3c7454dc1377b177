import { Code } from "../../abi.js";
import type { BusCall } from "../../call.js";
import type { BusError } from "../../errors.js";
import { emit } from "../service.js";

/**
 * While something waits for room in the spawner's queue, it is offered again after RETRY_MS, and
 * after twice as long each time it is refused again, up to MAX_RETRY_MS: a spawner that keeps the
 * call alive and never reads its queue costs a timer a second, not two hundred, and does not keep
 * its object from resting.
 */
const RETRY_MS = 5;
const MAX_RETRY_MS = 1000;

const encoder = new TextEncoder();

/**
 * A sub-process's output and exit on their way to its spawner, as callbacks of the spawn call.
 * A spawner's queue refuses callbacks past its bounds (LimitExceeded); a refused line was lost
 * without a word, and a refused `exit` left the spawner waiting for a child that had ended. Now
 * a refused line is held (one) and offered again until it goes; a child that can wait waits for
 * it (`ready`), and one that cannot writes on meanwhile: those lines are counted and the count
 * said on stderr once there is room. The exit, and a failure after it, always go, last.
 */
export class ChildOutput {
  /** The line refused, held until the spawner takes it. */
  #held?: { stream: "stdout" | "stderr"; bytes: Uint8Array };
  /** Lines written while one was held: lost, and said so. */
  #missed = 0;
  #end?: { code: number; error?: BusError };
  #retrying?: Promise<void>;

  constructor(readonly call: BusCall) {}

  line(stream: "stdout" | "stderr", line: string) {
    if (!this.#send()) {
      this.#missed++;
      return;
    }
    const bytes = encoder.encode(`${line}\n`);
    if (emit(this.call, stream, bytes, "bytes") === Code.LimitExceeded) {
      this.#held = { stream, bytes };
      this.#retry();
    }
  }

  /** The child ended: its exit, then (a failure) the spawn call's fault, after all that waits. */
  end(code: number, error?: BusError) {
    this.#end = { code, error };
    if (!this.#send()) this.#retry();
  }

  /**
   * Whether a line waits for room (asked after each line a child that can wait writes). Not
   * `#retrying`: that stays set until its next tick, after a write has already sent what waited.
   */
  get blocked(): boolean {
    return !this.call.ended && (this.#held !== undefined || this.#missed > 0);
  }

  /** Asked before each write of a child that can wait: while a line is held, it waits. */
  ready(): Promise<void> | undefined {
    return this.#send() ? undefined : this.#retry();
  }

  /** Sends what waits, in order; true once nothing does (or the spawn call is over: nothing will). */
  #send(): boolean {
    if (this.call.ended) return true;
    if (this.#held) {
      if (emit(this.call, this.#held.stream, this.#held.bytes, "bytes") === Code.LimitExceeded) return false;
      this.#held = undefined;
    }
    if (this.#missed) {
      // Worded as an attached client's note of what it missed (durable-objects/process-sockets.ts).
      const note = `[wasm-bus] ${this.#missed} lines dropped: the spawner's queue was full, and this process could not wait\n`;
      if (emit(this.call, "stderr", encoder.encode(note), "bytes") === Code.LimitExceeded) return false;
      this.#missed = 0;
    }
    const end = this.#end;
    if (end) {
      if (emit(this.call, "exit", end.code, "i32") === Code.LimitExceeded) return false;
      this.#end = undefined;
      // exit comes first, as it always has (a spawner waiting for it goes on), then a failed
      // child fails the kept-alive call with its code and reason: exit -1 alone would read
      // as a child that exited with -1.
      if (end.error) this.call.fault(end.error);
    }
    return true;
  }

  /** Offers what waits again, backing off from RETRY_MS, until it goes or the spawn call ends. */
  #retry(): Promise<void> {
    this.#retrying ??= new Promise<void>((resolve) => {
      let wait = RETRY_MS;
      const tick = () => {
        if (this.#send()) {
          this.#retrying = undefined;
          resolve();
        } else setTimeout(tick, (wait = Math.min(2 * wait, MAX_RETRY_MS)));
      };
      setTimeout(tick, wait);
    });
    return this.#retrying;
  }
}
