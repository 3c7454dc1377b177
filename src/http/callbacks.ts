import { Code, Format, formatName } from "../abi.js";
import { decodeJson, type Payload, stringifyJson } from "../codec/index.js";
import { MAX_QUEUED_BYTES } from "../call.js";
import { BusError } from "../errors.js";
import { errorBody, errorResponse, type ErrorScope, statusOf } from "./errors.js";

/** The media type of a call answered with its callbacks: one JSON object a line. */
export const NDJSON = "application/x-ndjson";

/** Whether the HTTP caller asked for the call's callbacks (`Accept: application/x-ndjson`). */
export function wantsCallbacks(request: Request): boolean {
  const accept = request.headers.get("accept");
  if (accept === null) return false;
  // A media range of its own, not refused: `q=0` means "not acceptable" (RFC 9110, 12.4.2).
  return accept.split(",").some((range) => {
    const [type, ...params] = range.split(";").map((part) => part.trim().toLowerCase());
    return type === NDJSON && !params.some((param) => /^q\s*=\s*0(\.0{0,3})?$/.test(param));
  });
}

/** What the call needs from the edge: a sink for callbacks, and the signal of the HTTP caller going away. */
export interface CallbackSink {
  callback(topic: string, payload: Payload): number;
  signal: AbortSignal;
}

const encoder = new TextEncoder();
/**
 * Lines waiting for the HTTP reader: past this many, a callback is refused with LimitExceeded
 * (backpressure). The stream can flush only while the module is not running, so this is also the
 * most callbacks one entry into a guest can send: a guest with more returns to the host between
 * batches (docs/host.md, "Callbacks over HTTP"). Without a bound, one entry could queue without end.
 */
export const MAX_QUEUED_LINES = 4096;

/**
 * A payload as a line's fields: `"format": "json", "value": <the JSON as it came>` (integers
 * past 2^53 keep their digits), else `"format": <name>, "data": <base64>`.
 */
function payloadFields(payload: Payload): string {
  if (payload.format === Format.Json) {
    try {
      // Re-written on one line (a module's JSON may span several), its big integers kept.
      return `"format":"json","value":${stringifyJson(decodeJson(payload.data))}`;
    } catch {
      // not JSON after all: it goes as base64
    }
  }
  let binary = "";
  for (let i = 0; i < payload.data.length; i += 0x8000) binary += String.fromCharCode(...payload.data.subarray(i, i + 0x8000));
  return `"format":${JSON.stringify(formatName(payload.format) ?? String(payload.format))},"data":${JSON.stringify(btoa(binary))}`;
}

/**
 * Why a callback is refused, thrown so that the module's `reply_callback` keeps it: a module that
 * faults its call with the code passes the reason on, and its status is then the module's failure
 * (502, statusOf's `relayed`), not 413, which would say the caller's body was too large.
 */
function queueFull(topic: string, lines: boolean): BusError {
  const full = lines ? `${MAX_QUEUED_LINES} lines` : `${MAX_QUEUED_BYTES} bytes`;
  return BusError.of(
    "LimitExceeded",
    `callback ${topic}: the HTTP stream's callback queue is full (${full} its reader has not taken); a module sends at most that many in one entry, and returns to the host between batches`,
  );
}

/**
 * A bus call for an HTTP caller that takes its callbacks (`Accept: application/x-ndjson`, see
 * docs/host.md): the answer is a stream of lines, each a JSON object,
 *
 *   {"type": "callback", "topic": "tick", "format": "json", "value": 1}
 *   {"type": "reply", "format": "json", "value": {...}}          (last; or:)
 *   {"type": "fault", "status": 504, "error": ..., "code": ..., "codeName": ..., ...}
 *
 * Nothing is answered before the first callback or the end: a call that fails before any
 * callback is the usual error response, with its status. `run` makes the call; its callbacks
 * are written as they come, in order, and the reply or the fault is the last line.
 */
export function callbackStream(request: Request, scope: ErrorScope, run: (sink: CallbackSink) => Promise<Payload>): Promise<Response> {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const gone = new AbortController();
  const goneAway = () => gone.abort("the HTTP caller went away");
  // A caller gone before this (while its body was read) is gone: its abort event came already.
  if (request.signal.aborted) goneAway();
  else request.signal.addEventListener("abort", goneAway, { once: true });
  let started = false;
  return new Promise<Response>((answer) => {
    const start = () => {
      if (started) return;
      started = true;
      answer(new Response(readable, { status: 200, headers: { "content-type": NDJSON, "cache-control": "no-store" } }));
    };
    /** Bytes written and not yet taken by the reader (a write settles once the reader has it). */
    let queued = 0;
    const line = (text: string) => {
      start();
      const bytes = encoder.encode(`${text}\n`);
      queued += bytes.length;
      writer.write(bytes).then(
        () => void (queued -= bytes.length),
        () => gone.abort("the HTTP caller went away"),
      );
    };
    const sink: CallbackSink = {
      signal: gone.signal,
      callback(topic, payload) {
        if (gone.signal.aborted) return Code.InvalidHandle;
        if ((writer.desiredSize ?? 0) < -MAX_QUEUED_LINES) throw queueFull(topic, true);
        if (queued + payload.data.length > MAX_QUEUED_BYTES) throw queueFull(topic, false);
        line(`{"type":"callback","topic":${JSON.stringify(topic)},${payloadFields(payload)}}`);
        return Code.Success;
      },
    };
    run(sink).then(
      (reply) => {
        line(`{"type":"reply",${payloadFields(reply)}}`);
        void writer.close().catch(() => {});
      },
      (err) => {
        const bus = BusError.from(err);
        if (!started) {
          answer(errorResponse(bus, scope));
          void writer.abort().catch(() => {});
          return;
        }
        line(JSON.stringify({ type: "fault", status: statusOf(bus), ...errorBody(bus, scope) }));
        void writer.close().catch(() => {});
      },
    );
  });
}
