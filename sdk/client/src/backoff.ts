/** How a dropped session reconnects: exponential back-off with jitter, so many clients do not return in step. */
export interface ReconnectOptions {
  /** First wait, in ms (default 250). */
  initialDelayMs?: number;
  /** Longest wait, in ms (default 10,000). */
  maxDelayMs?: number;
  /** Attempts before giving up (default: no end). */
  maxAttempts?: number;
}

/** The wait before attempt `attempt` (0-based): initial * 2^attempt, capped, between half and all of it. */
export function backoffDelay(attempt: number, options: ReconnectOptions = {}, random: () => number = Math.random): number {
  const initial = options.initialDelayMs ?? 250;
  const max = options.maxDelayMs ?? 10_000;
  const full = Math.min(max, initial * 2 ** Math.min(attempt, 30));
  return Math.round(full / 2 + (random() * full) / 2);
}
