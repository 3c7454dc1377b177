import { type AttachOptions, Attachment } from "./attach.js";
import { STABLE_MS, backoffDelay } from "./backoff.js";
import type { CallFormat } from "./codec.js";
import { BusError } from "./errors.js";
import { arrayIn, type Http, objectOf, segment } from "./http.js";

export type ProcessStatus = "running" | "exited" | "failed";

/** GET /processes/:id, as the runtime answers it. */
export interface ProcessInfo {
  id: string;
  module: string;
  args: string[];
  status: ProcessStatus;
  /** The exit code, once exited. */
  code?: number;
  /** Why it failed (a trap, a kill, an eviction). */
  reason?: string;
  startedAt: number;
  endedAt?: number;
}

/** One line of a process's log: stdout, stderr or a `log` line of its module. */
export interface LogLine {
  module: string;
  level: "error" | "warn" | "info" | "debug" | "trace";
  msg: string;
  call?: number;
  process?: string;
  stream?: "stdout" | "stderr";
}

/**
 * A line as a process's log table keeps it: `seq` is its place there, counting every line the
 * process's object kept (its sub-processes' and log lines too) one by one. Paging on with
 * `logs({ after })` from the last one read, a first `seq` past `after + 1` says lines were trimmed
 * (the table keeps 1,000) before they were read.
 */
export interface KeptLine extends LogLine {
  seq: number;
}

/** Which lines `logs` answers: the newest `limit` (1-1,000, all by default), or with `after` the oldest `limit` after that `seq`. */
export interface LogsOptions {
  after?: number;
  limit?: number;
}

export interface SpawnOptions {
  args?: string[];
  env?: Record<string, string>;
  /** The process's input, written to stdin before it starts; stdin is closed after it unless `stdinOpen`. Without it, stdin stays open. */
  stdin?: string;
  /** Keep stdin open after `stdin`, for more over an attachment. */
  stdinOpen?: boolean;
  /** Its stdio are a terminal (isatty) instead of pipes. */
  tty?: boolean;
}

/** A process's state as an answer holds it: an object with a string id and status, or it cannot be read. */
export function processInfoOf(value: unknown): ProcessInfo {
  const info = objectOf<ProcessInfo>(value);
  if (typeof info.id !== "string" || typeof info.status !== "string") throw new TypeError(`not a process's state: id ${JSON.stringify(info.id)}, status ${JSON.stringify(info.status)}`);
  return info;
}

/**
 * How many times in a row `wait()` attaches again after an attachment that closed within STABLE_MS
 * of opening while the process ran on (an eviction or a restart takes one or two); after one more
 * such close it fails Aborted.
 */
export const WAIT_REATTACHES = 5;

/** What a process handle needs to call a topic over HTTP, without importing the client (no cycle). */
export type TopicCaller = (path: string, scope: { module?: string; topic: string }, request: unknown, format: CallFormat) => Promise<unknown>;

/** A process by id: its state, logs, end, topics it serves, and an attachment to its terminal. */
export class ProcessHandle {
  readonly id: string;
  #http: Http;
  #call: TopicCaller;

  /** @internal Use `client.spawn(...)` or `client.process(id)`. */
  constructor(http: Http, id: string, call: TopicCaller) {
    this.#http = http;
    this.id = id;
    this.#call = call;
  }

  #path(rest = ""): string {
    return `processes/${segment(this.id)}${rest}`;
  }

  async status(): Promise<ProcessInfo> {
    return this.#http.json("GET", this.#path(), undefined, processInfoOf);
  }

  /** Its recent lines (up to 1,000), oldest first; see LogsOptions to page on from a line read before. */
  async logs(options: LogsOptions = {}): Promise<KeptLine[]> {
    const query = new URLSearchParams();
    if (options.after !== undefined) query.set("after", String(options.after));
    if (options.limit !== undefined) query.set("limit", String(options.limit));
    const search = query.toString();
    const path = this.#path(search ? `/logs?${search}` : "/logs");
    return this.#http.json("GET", path, undefined, arrayIn<KeptLine>("lines"));
  }

  /** Kills it (exit code 137); answers its state. */
  async kill(): Promise<ProcessInfo> {
    return this.#http.json("DELETE", this.#path(), undefined, processInfoOf);
  }

  /** Calls a topic the running process serves (a module that listened and forked). */
  async call<Res = unknown>(topic: string, request: unknown, options: { format?: CallFormat } = {}): Promise<Res> {
    return this.#call(this.#path(`/call/${segment(topic)}`), { topic }, request, options.format ?? "json") as Promise<Res>;
  }

  /** Attaches to its output and stdin over a WebSocket; `ackStdin`: with acks of stdin stored. */
  async attach(options: AttachOptions = {}): Promise<Attachment> {
    const path = this.#path(options.ackStdin ? "/attach?ack=stdin" : "/attach");
    const attachment = new Attachment(this.id, this.#http.socket(path), () => this.#http.whyNoSocket(path));
    await attachment.opened();
    return attachment;
  }

  /**
   * Waits for the end: attached, so the exit is seen as it happens, and answers the final state.
   * A socket that closes while the process runs on (its object was evicted, the runtime started
   * again) is attached anew, after a back-off: answering then handed back a running process as
   * if it had ended. Where the Worker cannot be reached, the status request fails (InternalFailure),
   * and so does the wait. Where the attachment closes within STABLE_MS of opening WAIT_REATTACHES
   * + 1 times in a row (a server or proxy that closes every socket at once), it fails Aborted
   * rather than attach for good; one that stayed open longer starts the count again.
   */
  async wait(): Promise<ProcessInfo> {
    for (let fruitless = 0; ; ) {
      const attachment = await this.attach();
      const openedAt = Date.now();
      await attachment.ended;
      const stayed = Date.now() - openedAt;
      attachment.close();
      const info = await this.status();
      if (info.status !== "running") return info;
      fruitless = stayed >= STABLE_MS ? 0 : fruitless + 1;
      if (fruitless > WAIT_REATTACHES) {
        throw BusError.of(
          "Aborted",
          `process ${this.id} runs on, but its attachment closed within ${STABLE_MS} ms of opening ${fruitless} times in a row, so wait() stopped attaching again (WAIT_REATTACHES ${WAIT_REATTACHES}), as a server or proxy that closes every socket at once would have it attach for good`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, backoffDelay(fruitless)));
    }
  }
}
