import { aborted, type Clock } from "../src/clock.js";

/**
 * The latest time the alarm is set for. A guest may sleep until any u128 of milliseconds, and
 * workerd refuses an alarm after 2189 ("This API doesn't support dates after 2189"): a timer due
 * later keeps its row, and the alarm set for this time finds it not yet due and is set again.
 */
export const LATEST_ALARM = Date.UTC(2180, 0, 1);

/**
 * Many timers, one alarm. Timers live in the object's SQLite storage and the
 * alarm is always set to the earliest, so a timer that came due while the
 * object was evicted fires when the alarm brings it back: at least once,
 * never lost. Sleeps of a live instance resolve when their timer fires; an
 * instance restored from its snapshot makes its sleeps again (forgetSleeps); a timer whose
 * sleeper was lost otherwise is reported to `onFire` as not waited for.
 */
export class AlarmTimers implements Clock {
  #storage: DurableObjectStorage;
  #waiters = new Map<number, () => void>();
  #onFire: (tag: string, id: number, waited: boolean) => void;

  constructor(storage: DurableObjectStorage, onFire: (tag: string, id: number, waited: boolean) => void) {
    this.#storage = storage;
    this.#onFire = onFire;
    storage.sql.exec("CREATE TABLE IF NOT EXISTS timers (id INTEGER PRIMARY KEY AUTOINCREMENT, due INTEGER NOT NULL, tag TEXT NOT NULL)");
    storage.sql.exec("CREATE TABLE IF NOT EXISTS alarm (one INTEGER PRIMARY KEY CHECK (one = 1), at INTEGER NOT NULL)");
  }

  /** Adds a timer; returns its id. */
  async at(due: number, tag: string): Promise<number> {
    const { id } = this.#storage.sql.exec<{ id: number }>("INSERT INTO timers (due, tag) VALUES (?, ?) RETURNING id", due, tag).one();
    await this.#reschedule();
    return id;
  }

  now(): number {
    return Date.now();
  }

  sleepUntil(until: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(aborted(signal));
    return new Promise((resolve, reject) => {
      const { id } = this.#storage.sql.exec<{ id: number }>("INSERT INTO timers (due, tag) VALUES (?, 'sleep') RETURNING id", until).one();
      const onAbort = () => {
        this.#waiters.delete(id);
        this.#storage.sql.exec("DELETE FROM timers WHERE id = ?", id);
        // The sleep is over either way; an alarm left set only wakes the object for nothing.
        this.#reschedule().catch((err) => console.warn(`timers: the alarm could not be moved after a sleep was stopped: ${(err as Error).message}`));
        reject(aborted(signal));
      };
      this.#waiters.set(id, () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      });
      signal.addEventListener("abort", onAbort, { once: true });
      // A sleep whose alarm cannot be set would never end: it fails instead.
      this.#reschedule().catch((err) => {
        signal.removeEventListener("abort", onAbort);
        this.#waiters.delete(id);
        this.#storage.sql.exec("DELETE FROM timers WHERE id = ?", id);
        reject(err);
      });
    });
  }

  /**
   * Forgets the sleeps of an instance lost with an eviction: its snapshot's restore makes each one
   * anew (time.sleep_until), due when it was, with a waiter.
   */
  forgetSleeps() {
    this.#storage.sql.exec("DELETE FROM timers WHERE tag = 'sleep'");
  }

  /**
   * The alarm ran: fire every timer due by now, or by the time the alarm was
   * set for (a test may run the alarm early; the timer it was set for is due).
   */
  async fire(): Promise<void> {
    const setFor = this.#storage.sql.exec<{ at: number }>("SELECT at FROM alarm").toArray()[0]?.at ?? 0;
    const cutoff = Math.max(Date.now(), setFor);
    const due = this.#storage.sql.exec<{ id: number; tag: string }>("SELECT id, tag FROM timers WHERE due <= ? ORDER BY due, id", cutoff).toArray();
    for (const { id, tag } of due) {
      // Delete first: a handler that throws must not make the timer fire forever.
      this.#storage.sql.exec("DELETE FROM timers WHERE id = ?", id);
      const waiter = this.#waiters.get(id);
      this.#waiters.delete(id);
      waiter?.();
      this.#onFire(tag, id, waiter !== undefined);
    }
    this.#storage.sql.exec("DELETE FROM alarm");
    await this.#reschedule();
  }

  async #reschedule(): Promise<void> {
    const due = this.#storage.sql.exec<{ due: number | null }>("SELECT min(due) AS due FROM timers").one().due;
    if (due === null) {
      this.#storage.sql.exec("DELETE FROM alarm");
      await this.#storage.deleteAlarm();
      return;
    }
    // A time that has passed (time.sleep_until 0 is one) is an alarm now: setAlarm refuses 0.
    const next = Math.max(1, Math.min(due, LATEST_ALARM));
    // The alarm set already is not set again: a restore that makes its sleeps anew, due when they were, changes nothing.
    const set = this.#storage.sql.exec<{ at: number }>("SELECT at FROM alarm").toArray()[0]?.at;
    if (set === next) return;
    this.#storage.sql.exec("INSERT INTO alarm (one, at) VALUES (1, ?) ON CONFLICT (one) DO UPDATE SET at = excluded.at", next);
    try {
      await this.#storage.setAlarm(next);
    } catch (err) {
      // Not set after all: a row left saying so kept the next sleep from setting it (the same
      // time, so "set already"), and that sleep never woke.
      this.#storage.sql.exec("DELETE FROM alarm WHERE at = ?", next);
      throw err;
    }
  }
}
