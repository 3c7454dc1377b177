/** How a dropped session reconnects: exponential back-off with jitter, so many clients do not return in step. */
export interface ReconnectOptions {
  /** First wait, in ms (default 250). */
  initialDelayMs?: number;
  /** Longest wait, in ms (default 10,000). */
  maxDelayMs?: number;
  /** Attempts in a row before giving up (default: no end); one whose socket closed within STABLE_MS of opening counts too. */
  maxAttempts?: number;
}

/**
 * How long a socket must have stayed open for its close to count as a new start: the attempts
 * after it count, and back off, from the first again. One that closes sooner (a server or proxy
 * that closes every socket at once) is an attempt that failed, or the reconnects would go on for
 * good at the first wait, the count of attempts never reaching its end.
 */
export const STABLE_MS = 5_000;

/** The wait before attempt `attempt` (0-based): initial * 2^attempt, capped, between half and all of it. */
export function backoffDelay(attempt: number, options: ReconnectOptions = {}, random: () => number = Math.random): number {
  const initial = options.initialDelayMs ?? 250;
  const max = options.maxDelayMs ?? 10_000;
  const full = Math.min(max, initial * 2 ** Math.min(attempt, 30));
  return Math.round(full / 2 + (random() * full) / 2);
}
