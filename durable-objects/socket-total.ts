import { MAX_PAYLOAD_BYTES } from "../src/manifest.js";
import { closeBack, closeReason } from "./sockets.js";
import { behind, type SocketBytes } from "./unacked.js";

// How far behind all of one object's server sockets are together. Each socket is held to its
// module's socketBufferBytes (socket-bound.ts), but an object holds any number of them (a session's
// members, a process's attached clients), every one in the memory they all share: the total is
// held too. It is kept as it changes, in O(1) per frame, ack or close (each socket's last figure
// is remembered, and the difference added); only the over-budget path looks at every socket.

/** The most the budget is: twice the largest socketBufferBytes, what one socket may reach before it is closed; a quarter of the isolate's 128 MB. */
const BUDGET_MOST = 2 * MAX_PAYLOAD_BYTES;
/** The budget in socket bounds: sixteen clients at their bound (1 MiB by default) fit. */
const BUDGET_BOUNDS = 16;

/**
 * A client's share is never less than this part of its bound: one that acks as it reads is never
 * that far behind for long (the typed client acks every 16 KiB, a sixty-fourth of the default
 * bound), so the clients the others' backlog holds back are the ones behind themselves.
 */
const SHARE_LEAST = 16;

/**
 * The most an object's `clients` sockets may be behind together, for a module's socketBufferBytes
 * of `bound`: sixteen bounds, or each client's least share where they are more than 256 (at most
 * BUDGET_MOST). Sixteen bounds alone would close clients that ack as they read in a large room:
 * one post of 16 KiB to 1,025 members (each then 16 KiB behind until its ack comes back) was past
 * 16 MiB, and closed sixty-five of them, none behind by its own doing.
 */
export function socketBudget(bound: number, clients: number): number {
  return Math.min(Math.max(BUDGET_BOUNDS * bound, clients * leastShare(bound)), BUDGET_MOST);
}

/** The least share of `bound` a client is held to, however many share the budget. */
function leastShare(bound: number): number {
  return Math.floor(bound / SHARE_LEAST);
}

/** What makeRoom closed where it closed none: the common path allocates nothing. */
const NONE: readonly WebSocket[] = [];

/** How the budget is named in what a client is told. */
const BUDGET_NAME = `${BUDGET_BOUNDS} x limits.socketBufferBytes, or a ${SHARE_LEAST}th of it per client where that is more, at most ${BUDGET_MOST >> 20} MiB`;

export class SocketTotal {
  /** Each counted socket's figure as last seen: what `#total` holds of it. */
  #figures = new Map<WebSocket, number>();
  #total = 0;
  /** Whether the sockets the object had when it woke are counted (`all`). */
  #built: boolean;

  constructor(
    /** A socket's bytes, where the object still has it. */
    readonly bytesOf: (ws: WebSocket) => SocketBytes | undefined,
    /** Hears each socket this closes (too far behind), to forget it as any close does. */
    readonly closed: (ws: WebSocket) => void,
    /**
     * The sockets that outlive the object's memory (hibernatable ones): counted on first use, so
     * that a woken object's total is what its sockets' attachments say, as their own bounds are.
     */
    readonly all?: () => Iterable<WebSocket>,
  ) {
    this.#built = !all;
  }

  /** The bytes all counted sockets are behind together. */
  get total(): number {
    this.#build();
    return this.#total;
  }

  /** Sockets counted. */
  get count(): number {
    this.#build();
    return this.#figures.size;
  }

  /** Counts `ws` as it is now (after a frame to it, its ack, its opening). */
  note(ws: WebSocket, bytes: SocketBytes): void {
    this.#build();
    this.#set(ws, behind(ws, bytes));
  }

  /** `ws` is closed or gone: it counts no more. */
  gone(ws: WebSocket): void {
    this.#build();
    const figure = this.#figures.get(ws);
    if (figure === undefined) return;
    this.#total -= figure;
    this.#figures.delete(ws);
  }

  /**
   * A client's bound: `bound`, its module's, while the sockets together are at most half the
   * budget behind; past that, its even share of that half where that is less (but never less
   * than SHARE_LEAST of its bound), so the clients furthest behind are held back first and those
   * that read and ack are not. Read at every frame: it is O(1).
   */
  bound(bound: number): number {
    const half = socketBudget(bound, this.count) / 2;
    if (this.#total <= half) return bound;
    return Math.min(bound, Math.max(Math.floor(half / this.#figures.size), leastShare(bound)));
  }

  /** The bound `bound` gives, named for a client told it is past it. */
  boundName(bound: number): string {
    const own = this.bound(bound);
    return own === bound ? `limits.socketBufferBytes (${bound})` : `its share (${own}) of half of what this object's clients may be behind together (${BUDGET_NAME})`;
  }

  /**
   * The last resort, once the sockets together are more than the budget behind: the clients
   * furthest behind are closed (1008) until the rest are a bound under it, room for one client's
   * bound so that this search is not made again at every frame. Every socket's figure is read again first
   * (where the platform counts unsent bytes they may have drained). The sockets it closed.
   */
  makeRoom(bound: number): readonly WebSocket[] {
    const budget = socketBudget(bound, this.count);
    if (this.total <= budget) return NONE;
    for (const ws of this.#figures.keys()) {
      const bytes = this.bytesOf(ws);
      if (bytes && ws.readyState === WebSocket.OPEN) this.#set(ws, behind(ws, bytes));
      else this.gone(ws);
    }
    if (this.#total <= budget) return NONE;
    const furthest = [...this.#figures].sort((a, b) => b[1] - a[1]);
    const closed: WebSocket[] = [];
    for (const [ws] of furthest) {
      if (this.#total <= budget - bound) break;
      this.close(ws, `clients together more than ${budget} behind (${BUDGET_NAME}): the furthest behind closed`);
      closed.push(ws);
    }
    return closed;
  }

  /** Closes `ws` for being too far behind (1008, `why`): it counts no more, and its owner hears it. */
  close(ws: WebSocket, why: string): void {
    closeBack(ws, 1008, closeReason(why));
    this.gone(ws);
    this.closed(ws);
  }

  #set(ws: WebSocket, figure: number) {
    this.#total += figure - (this.#figures.get(ws) ?? 0);
    this.#figures.set(ws, figure);
  }

  #build() {
    if (this.#built) return;
    this.#built = true;
    for (const ws of this.all!()) {
      const bytes = this.bytesOf(ws);
      if (bytes && ws.readyState === WebSocket.OPEN) this.#set(ws, behind(ws, bytes));
    }
  }
}
