import { wasi as defs } from "@bjorn3/browser_wasi_shim";
import { BusError } from "../errors.js";
import { type Import, type WasiContext, setU32 } from "./context.js";
import { stdioAt } from "./stdio.js";

// Clocks and `poll_oneoff`, together: a clock must never read earlier than a deadline a poll has
// waited for, so both keep to one floor per clock.

const SUBSCRIPTION = 48;
const EVENT = 32;
/** How much an fd_write subscription on stdout or stderr reports it may write. */
const WRITABLE = 65536;

/**
 * What a snapshot keeps of the clocks (WasiState.clocks): each clock's floor, and the poll the
 * guest waits in, if any. A restored instance rewinds into that poll, which reads its
 * subscriptions again: a relative sleep would start over in full there, so each keeps the due time
 * it had.
 */
export interface ClockState {
  /** Per clock id, the latest time it may not read earlier than (ns, in decimal: JSON has no bigint). */
  floors: [id: number, ns: string][];
  /** The poll waited in: its subscriptions' address and count, and per subscription when it is due (Date.now() ms, null: never) and at what clock time (ns). */
  waiting?: { inPtr: number; n: number; due: (number | null)[]; at: (string | null)[] };
}

interface Subscription {
  userdata: Uint8Array;
  type: number;
  fd: number;
  /** For a clock: when it is due, in Date.now() milliseconds. */
  due: number;
  /** For a clock: which, and the time it waits for on that clock, in nanoseconds. */
  clock?: { id: number; at: bigint };
}

/**
 * `clock_time_get` and `poll_oneoff` for one process. The shim's poll takes one clock
 * subscription and spins; this one takes clocks, stdin and stdout/stderr together and, where
 * the guest can wait, suspends it until one is ready.
 */
export function pollImports(ctx: WasiContext): { clock_res_get: Import; clock_time_get: Import; poll_oneoff: Import; save(): ClockState; load(state: ClockState): void } {
  const { stdin } = ctx;
  const memory = () => ctx.memory();
  const open = (fd: number) => ctx.fd(fd) !== undefined;

  /**
   * A clock never reads earlier than a deadline the guest has waited for: the host's clocks tick
   * in whole milliseconds, with float rounding, and a guest that slept 30 ms must see 30 ms pass.
   */
  const floor = new Map<number, bigint>();
  /** The poll the guest waits in: kept in a snapshot, so the restored one waits out what was left. */
  let waiting: { inPtr: number; subs: Subscription[] } | undefined;
  /** A restored instance's poll, until its rewind calls poll_oneoff again. */
  let restored: ClockState["waiting"];
  const clockNowNs = (id: number): bigint => {
    // Monotonic time counts from the epoch, not from this isolate's start (performance.now()
    // alone): an instance restored in another isolate must not see it go back.
    const now = id === defs.CLOCKID_REALTIME ? BigInt(Date.now()) * 1_000_000n : BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
    const min = floor.get(id);
    return min !== undefined && min > now ? min : now;
  };
  /** Whether preview1 defines the clock: the shim took any other id as a clock that reads 0. */
  const defined = (id: number) => id >= defs.CLOCKID_REALTIME && id <= defs.CLOCKID_THREAD_CPUTIME_ID;
  // Written here, as the shim answered (realtime 1 ms steps, monotonic 5 µs; the CPU-time clocks
  // read 0 and have no resolution), but through GuestMemory: the shim's DataView took the pointer
  // signed, as Wasm hands it over, so a result past 2 GiB was EFAULT though inside memory.
  const setU64 = (ptr: number, value: bigint, what: string) => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, value, true);
    memory().write(ptr, b, what);
    return defs.ERRNO_SUCCESS;
  };
  const clockResGet = (id: number, resPtr: number): number => {
    if (!defined(id)) return defs.ERRNO_INVAL;
    if (id !== defs.CLOCKID_REALTIME && id !== defs.CLOCKID_MONOTONIC) return defs.ERRNO_NOSYS;
    return setU64(resPtr, id === defs.CLOCKID_REALTIME ? 1_000_000n : 5_000n, "clock_res_get resolution");
  };
  const clockTimeGet = (id: number, _precision: bigint, timePtr: number): number => {
    if (!defined(id)) return defs.ERRNO_INVAL;
    const cpu = id !== defs.CLOCKID_REALTIME && id !== defs.CLOCKID_MONOTONIC;
    return setU64(timePtr, cpu ? 0n : clockNowNs(id), "clock_time_get time");
  };
  const subscriptions = (inPtr: number, n: number): Subscription[] | number => {
    if (n * SUBSCRIPTION > memory().size) throw BusError.of("InvalidPointer", `poll_oneoff: ${n} subscriptions`);
    const raw = memory().read(inPtr, n * SUBSCRIPTION, "poll_oneoff subscriptions");
    const view = new DataView(raw.buffer);
    const subs: Subscription[] = [];
    const now = Date.now();
    for (let i = 0; i < n; i++) {
      const at = i * SUBSCRIPTION;
      const type = view.getUint8(at + 8);
      const sub: Subscription = { userdata: raw.slice(at, at + 8), type, fd: -1, due: Infinity };
      if (type === defs.EVENTTYPE_CLOCK) {
        const id = view.getUint32(at + 16, true);
        if (id !== defs.CLOCKID_REALTIME && id !== defs.CLOCKID_MONOTONIC) return defs.ERRNO_INVAL;
        const timeout = view.getBigUint64(at + 24, true);
        const absolute = (view.getUint16(at + 40, true) & defs.SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME) !== 0;
        const current = clockNowNs(id);
        const ns = absolute ? timeout - current : timeout;
        // Never early: a wait rounds up to the next millisecond.
        sub.due = ns <= 0n ? now : now + Number((ns + 999_999n) / 1_000_000n);
        sub.clock = { id, at: absolute ? timeout : current + timeout };
      } else if (type === defs.EVENTTYPE_FD_READ || type === defs.EVENTTYPE_FD_WRITE) {
        sub.fd = view.getUint32(at + 16, true);
      } else {
        return defs.ERRNO_INVAL;
      }
      subs.push(sub);
    }
    // The poll a restored instance was saved in, called again as it rewinds: each clock is due when it was.
    const was = restored;
    restored = undefined;
    if (was && was.inPtr === inPtr && was.n === n) {
      subs.forEach((sub, i) => {
        const at = was.at[i];
        if (!sub.clock || at == null) return;
        sub.due = was.due[i] ?? Infinity;
        sub.clock.at = BigInt(at);
      });
    }
    return subs;
  };
  /** The events ready now; `fired`: clocks due by then count as ready even if Date.now() lags. */
  const readyEvents = (subs: Subscription[], fired = -Infinity): Uint8Array[] => {
    const events: Uint8Array[] = [];
    const now = Math.max(Date.now(), fired);
    for (const sub of subs) {
      const event = new Uint8Array(EVENT);
      const view = new DataView(event.buffer);
      event.set(sub.userdata);
      view.setUint8(10, sub.type);
      if (sub.type === defs.EVENTTYPE_CLOCK) {
        if (sub.due > now) continue;
        const { id, at } = sub.clock!;
        if (at > (floor.get(id) ?? 0n)) floor.set(id, at);
      } else {
        const f = stdioAt(ctx, sub.fd);
        const wants = sub.type === defs.EVENTTYPE_FD_READ ? "stdin" : "out";
        if (!open(sub.fd) || !f || (wants === "stdin") !== (f.stream === "stdin")) {
          view.setUint16(8, defs.ERRNO_BADF, true); // not open, not stdio, or the wrong direction
        } else if (wants === "stdin") {
          if (!stdin.readable) continue;
          view.setBigUint64(16, BigInt(stdin.buffered), true);
          if (stdin.closed && stdin.buffered === 0) view.setUint16(24, defs.EVENTRWFLAGS_FD_READWRITE_HANGUP, true);
        } else {
          view.setBigUint64(16, BigInt(WRITABLE), true);
        }
      }
      events.push(event);
    }
    return events;
  };
  const deliver = (outPtr: number, neventsPtr: number, events: Uint8Array[]): number => {
    const all = new Uint8Array(events.length * EVENT);
    events.forEach((e, i) => all.set(e, i * EVENT));
    memory().write(outPtr, all, "poll_oneoff events");
    setU32(memory(), neventsPtr, events.length, "poll_oneoff nevents");
    return defs.ERRNO_SUCCESS;
  };
  /**
   * Waits for stdin (where `onStdin`) or the clock at `due`, whichever comes first: true for stdin.
   * The clock is the host's (a process's sleeps are its object's alarm, so a sleeping process
   * wakes after an eviction); the one that lost is stopped, its timer or alarm cancelled.
   */
  const firstOf = async (onStdin: boolean, due: number): Promise<boolean> => {
    const stop = new AbortController();
    // The instance gone (killed, broken) stops the wait too: its alarm must not outlive it.
    const signal = AbortSignal.any([stop.signal, ctx.ended.signal]);
    const clock = ctx.host.clock.sleepUntil(due, signal).then(
      () => false,
      () => false, // stopped: stdin came first, or the instance is gone
    );
    try {
      return await (onStdin ? Promise.race([stdin.wait(signal), clock]) : clock);
    } finally {
      stop.abort();
    }
  };
  const pollOneoff = (inPtr: number, outPtr: number, n: number, neventsPtr: number): number | Promise<number> => {
    if (n === 0) return defs.ERRNO_INVAL;
    const subs = subscriptions(inPtr, n);
    if (typeof subs === "number") return subs;
    // Wild results fail before any wait, and before an event is written or a clock's floor moves.
    memory().check(outPtr, n * EVENT, "poll_oneoff events");
    memory().check(neventsPtr, 4, "poll_oneoff nevents");
    const now = readyEvents(subs);
    if (now.length) return deliver(outPtr, neventsPtr, now);
    // Nothing is ready. Where the guest cannot wait (not asyncified, or called where it cannot
    // suspend) it may come back after returning to the host (EAGAIN); a clock alone, a sleep, is
    // beyond it (ENOTSUP).
    if (!ctx.canWait()) return subs.some((s) => s.type !== defs.EVENTTYPE_CLOCK) ? defs.ERRNO_AGAIN : defs.ERRNO_NOTSUP;
    const onStdin = subs.some((s) => s.type === defs.EVENTTYPE_FD_READ && stdioAt(ctx, s.fd)?.stream === "stdin");
    const wait = { inPtr, subs };
    waiting = wait;
    return (async () => {
      let fired = -Infinity;
      try {
        for (;;) {
          const due = subs.reduce((m, s) => Math.min(m, s.due), Infinity);
          if (onStdin && !Number.isFinite(due)) await stdin.wait(ctx.ended.signal);
          else if (!(await firstOf(onStdin, due))) fired = due;
          // Nothing is resumed once the instance is gone (asyncify's driver has stopped).
          if (ctx.ended.signal.aborted) return defs.ERRNO_CANCELED;
          const events = readyEvents(subs, fired);
          if (events.length) return deliver(outPtr, neventsPtr, events);
        }
      } finally {
        if (waiting === wait) waiting = undefined;
      }
    })();
  };

  const save = (): ClockState => ({
    floors: [...floor].map(([id, ns]) => [id, String(ns)]),
    waiting: waiting && {
      inPtr: waiting.inPtr,
      n: waiting.subs.length,
      due: waiting.subs.map((s) => (Number.isFinite(s.due) ? s.due : null)),
      at: waiting.subs.map((s) => (s.clock ? String(s.clock.at) : null)),
    },
  });
  const load = (state: ClockState) => {
    for (const [id, ns] of state.floors) floor.set(id, BigInt(ns));
    restored = state.waiting;
  };

  return { clock_res_get: clockResGet as Import, clock_time_get: clockTimeGet as Import, poll_oneoff: pollOneoff as Import, save, load };
}
