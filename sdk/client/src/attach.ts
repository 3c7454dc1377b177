import { Acks } from "./acks.js";
import { Channel } from "./channel.js";
import { BusError } from "./errors.js";
import { Emitter } from "./events.js";
import type { SocketLike } from "./http.js";

/** What an attached process sends (docs/abi.md, "Processes"), as events. */
export type ProcessEvent =
  | { type: "output"; stream: "stdout" | "stderr"; line: string }
  | { type: "exit"; code: number }
  | { type: "failed"; reason: string }
  /**
   * The server refused something we sent (stdin to an ended process, a bad frame), or sent a
   * binary frame, which an attachment does not have (the error says so and its size).
   */
  | { type: "error"; error: string };

/** How the process ended, as far as the attachment saw: an exit code, a failure, or only the socket closing. */
export type ProcessEnd = { code: number } | { reason: string };

/**
 * Events kept for an iterator nobody has asked for yet: the server replays at most the last 1,000
 * lines on attach (KEEP_LINES in src/log.ts), so an iterator taken after them still gets them and
 * the end. Without a bound, a caller reading by `on` handlers alone (the console) would keep every
 * line of a long-running process in memory. Until the iterator is taken the oldest go first (the
 * handlers have had them); once it is, dropping would lose lines its reader is owed, so one more
 * past the bound ends it with LimitExceeded instead (the handlers go on).
 */
export const KEPT_UNREAD = 1024;

/** How to attach. */
export interface AttachOptions {
  /**
   * Ask for acks of stdin (`?ack=stdin`): `stdinTaken` and the `stdinTaken` event then say how many
   * bytes of the process's stdin are stored, counted from its first byte (its spawn's `stdin`
   * first). The first ack comes right after the attach: where this client's bytes will begin.
   * After a crash, attach again with acks: the first ack says where to resend from.
   */
  ackStdin?: boolean;
}

type AttachmentEvents = { [K in ProcessEvent["type"]]: [Extract<ProcessEvent, { type: K }>] } & { close: []; stdinTaken: [taken: number] };

/**
 * A WebSocket attached to a process (GET /processes/:id/attach): its output as it comes (the
 * last lines first, for a late attach), its end, and our stdin. Read it with `on` handlers or
 * `for await (const event of attachment)` (one reader).
 */
export class Attachment implements AsyncIterable<ProcessEvent> {
  readonly id: string;
  /** Resolves when the process ends (or the socket closes without saying how). */
  readonly ended: Promise<ProcessEnd>;
  #socket: SocketLike;
  #events = new Emitter<AttachmentEvents>();
  #channel = new Channel<ProcessEvent>({ limit: KEPT_UNREAD, dropOldest: true, overflow: (limit) => this.#behind(limit) });
  #end!: (end: ProcessEnd) => void;
  #opened: Promise<void>;
  #gone = false;
  #taken?: number;

  /** @internal Use `client.process(id).attach()`. */
  constructor(id: string, socket: SocketLike, whyNot: () => Promise<BusError>) {
    this.id = id;
    this.#socket = socket;
    this.ended = new Promise((resolve) => (this.#end = resolve));
    let open = false;
    this.#opened = new Promise((resolve, reject) => {
      socket.addEventListener("open", () => {
        open = true;
        resolve();
      });
      // A refused handshake: browsers send error then close, Node's WebSocket only error.
      let refused = false;
      const failed = () => {
        if (open || refused) return;
        refused = true;
        void whyNot().then(reject);
        this.#closed();
      };
      socket.addEventListener("error", failed);
      socket.addEventListener("close", failed);
    });
    this.#opened.catch(() => {});
    const acks = new Acks((received) => {
      if (socket.readyState === 1) socket.send(JSON.stringify({ received }));
    });
    socket.addEventListener("message", (event: { data: unknown }) => {
      if (typeof event.data === "string") {
        acks.received(event.data);
        this.#frame(event.data);
      } else this.#binary(event.data);
    });
    socket.addEventListener("close", () => {
      acks.stop();
      this.#closed();
    });
  }

  #closed() {
    if (this.#gone) return;
    this.#gone = true;
    this.#end({ reason: "the attachment closed" });
    this.#channel.end();
    this.#events.emit("close");
  }

  /**
   * Asked for with `ackStdin`: the bytes of the process's stdin stored, as the last ack said
   * (undefined before the first). Bytes written past it may be lost with a crash: resend them.
   */
  get stdinTaken(): number | undefined {
    return this.#taken;
  }

  /** Resolves once attached; rejects with why not (404 for an unknown process, 401). */
  opened(): Promise<void> {
    return this.#opened;
  }

  on<K extends keyof AttachmentEvents>(event: K, handler: (...args: AttachmentEvents[K]) => void): () => void {
    return this.#events.on(event, handler);
  }

  /** Writes to the process's stdin: text as `{"stdin"}` frames, bytes as binary frames. */
  write(data: string | Uint8Array): void {
    this.#socket.send(typeof data === "string" ? JSON.stringify({ stdin: data }) : data);
  }

  /** Closes the process's stdin: a reader sees end of file. */
  closeStdin(): void {
    this.#socket.send(JSON.stringify({ close_stdin: true }));
  }

  /** Detaches; the process runs on. */
  close(): void {
    this.#socket.close(1000, "detached");
  }

  /**
   * The events: those since the attach (at most the last 1,024 before this is called), then each
   * as it comes. One that falls 1,024 events behind ends there: the loop gets those, then throws
   * LimitExceeded.
   */
  [Symbol.asyncIterator](): AsyncIterator<ProcessEvent> {
    this.#channel.keepAll();
    return this.#channel;
  }

  #behind(limit: number): BusError {
    return BusError.of(
      "LimitExceeded",
      `the iterator of the attachment to process ${this.id} fell ${limit} events behind, so it ended there: it gives the ${limit} it held, then this; ` +
        "the attachment and its `on` handlers go on. Read the iterator as the events come, or take them with `on` handlers, which keep none",
    );
  }

  /**
   * The server sends an attachment text frames only (docs/host.md, the attach route: output, the
   * end, errors and acks are JSON; bytes go the other way, as stdin). A binary frame is none of
   * them (a proxy's, a newer runtime's): its data cannot be read as output, and it is not left
   * out unsaid either, but said as an error event, in its place among the others.
   */
  #binary(data: unknown) {
    const size = data instanceof ArrayBuffer || ArrayBuffer.isView(data) ? data.byteLength : typeof (data as Blob)?.size === "number" ? (data as Blob).size : undefined;
    this.#push({
      type: "error",
      error: `process ${this.id}: the server sent a binary frame${size === undefined ? "" : ` of ${size} bytes`}, which an attachment does not have (its frames are JSON text), so this client cannot read it`,
    });
  }

  #push(event: ProcessEvent) {
    this.#channel.push(event);
    this.#events.emit(event.type, event as never);
  }

  #frame(text: string) {
    let frame: { stream?: unknown; line?: unknown; exit?: unknown; failed?: unknown; error?: unknown; stdin_taken?: unknown };
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    // What the server sent is not trusted to have the shape docs/abi.md gives (a proxy's text, a
    // newer runtime's frame): a frame that is not an object, or whose field is not of its type, is
    // left out as one that cannot be read is, rather than throw here or hand on a line that is no string.
    if (typeof frame !== "object" || frame === null) return;
    // Not an event of the iterator: only a client that asked gets it, and its count is `stdinTaken`.
    // A count of bytes: a negative or fractional one would have a client resend from nowhere.
    if (Number.isSafeInteger(frame.stdin_taken) && (frame.stdin_taken as number) >= 0) {
      this.#taken = frame.stdin_taken as number;
      this.#events.emit("stdinTaken", this.#taken);
      return;
    }
    let event: ProcessEvent;
    if (frame.stream !== undefined) {
      if ((frame.stream !== "stdout" && frame.stream !== "stderr") || (frame.line !== undefined && typeof frame.line !== "string")) return;
      event = { type: "output", stream: frame.stream, line: frame.line ?? "" };
    } else if (typeof frame.exit === "number") event = { type: "exit", code: frame.exit };
    else if (typeof frame.failed === "string") event = { type: "failed", reason: frame.failed };
    else if (typeof frame.error === "string") event = { type: "error", error: frame.error };
    else return;
    if (event.type === "exit") this.#end({ code: event.code });
    if (event.type === "failed") this.#end({ reason: event.reason });
    this.#push(event);
  }
}
