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
    const ms = Math.max(0, until - Date.now());
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(aborted(signal));
      const timer = setTimeout(() => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(aborted(signal));
      };
      signal.addEventListener("abort", onAbort, { once: true });
    });
  },
};

export function aborted(signal: AbortSignal): BusError {
  return BusError.of("Aborted", String(signal.reason ?? "dropped"));
}
