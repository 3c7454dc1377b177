import { BusError } from "./errors.js";

/**
 * Where sleeps go. A plain call sleeps on a timer; a process's sleeps go to its
 * Durable Object's alarm (durable-objects/timers.ts), so they outlive eviction.
 */
export interface Clock {
  /**
   * Resolves at `until` (ms since the epoch; at once if it has passed), or rejects with Aborted
   * when `signal` aborts first. A time, not a duration: a sleep restored from a snapshot is due
   * exactly when it was.
   */
  sleepUntil(until: number, signal: AbortSignal): Promise<void>;
  /** What time it is on this clock: where a sleep of some duration starts. */
  now(): number;
}

export const timerClock: Clock = {
  now: () => Date.now(),
  sleepUntil(until, signal) {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(aborted(signal));
      let timer: ReturnType<typeof setTimeout>;
      // A timer holds at most MAX_TIMER_MS (a longer one fires at once, in Node and workerd): a
      // longer sleep (a guest may ask for any u128 of milliseconds) waits in steps of it.
      const arm = () => {
        const ms = Math.max(0, until - Date.now());
        timer = setTimeout(() => {
          if (ms > MAX_TIMER_MS) return arm();
          signal.removeEventListener("abort", onAbort);
          resolve();
        }, Math.min(ms, MAX_TIMER_MS));
      };
      const onAbort = () => {
        clearTimeout(timer);
        reject(aborted(signal));
      };
      arm();
      signal.addEventListener("abort", onAbort, { once: true });
    });
  },
};

/** The longest delay setTimeout keeps: a signed 32-bit count of milliseconds (about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export function aborted(signal: AbortSignal): BusError {
  return BusError.of("Aborted", String(signal.reason ?? "dropped"));
}
