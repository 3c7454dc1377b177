import { BusError } from "./errors.js";

/**
 * Where sleeps go. A plain call sleeps on a timer; a process's sleeps go to its
 * Durable Object's alarm (durable-objects/timers.ts), so they outlive eviction.
 */
export interface Clock {
  /** Resolves after `ms`, or rejects with Aborted when `signal` aborts first. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const timerClock: Clock = {
  sleep(ms, signal) {
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
