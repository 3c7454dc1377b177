import { Code, type IMPORTS, LogLevel, NO_HANDLE, codeName } from "../abi.js";
import type { BusCall } from "../call.js";
import { BusError } from "../errors.js";
import type { Suspender } from "./asyncify.js";
import { callNow } from "./call-now.js";
import type { InstanceContext } from "./context.js";
import type { Delivery } from "./delivery.js";
import { call } from "./outbound.js";
import { read } from "./read-payload.js";

// The one import table, with its guard. The two outbound calls live apart, being the bulk of the
// code: `call` and the results' sink in ./outbound.ts, `call_now` in ./call-now.ts.

/** Re-exported, as it was exported from here before: the bound itself is sinkFor's, in ./outbound.ts. */
export { MAX_QUEUED } from "./outbound.js";
/** The longest message `fault_message` keeps; the rest is cut. */
const MAX_MESSAGE_BYTES = 4096;
/** Guest messages are for people: a broken UTF-8 sequence shows as U+FFFD rather than losing the message. */
const lossy = new TextDecoder("utf-8");
const utf8 = new TextEncoder();

type Imports = Record<keyof typeof IMPORTS, (...args: number[]) => number>;

/**
 * The `wasm-bus` imports of one instance, one function per row of the ABI table. Every import
 * goes through one guard: a BusError thrown inside becomes the status the guest gets, with its
 * reason kept for a `fault` that passes it on; anything else (a GuestExit) propagates and ends
 * the entry. `poll` waits through `suspender`, a blocking module's asyncify driver.
 */
export function busImports(cx: InstanceContext, delivery: Delivery, suspender?: Suspender): Imports {
  const guarded =
    <A extends number[]>(fn: (...args: A) => number) =>
    (...args: A): number => {
      try {
        return fn(...args);
      } catch (err) {
        if (!(err instanceof BusError)) throw err;
        cx.refused(err);
        return err.code;
      }
    };
  const limits = cx.module.manifest.limits;
  return {
    handle: () => {
      const handle = cx.handles.add({ kind: "reserved" });
      // 0 is "no handle": a call or callback on it is refused with InvalidHandle.
      if (!handle) cx.refuse("LimitExceeded", `handle: ${limits.maxHandles} handles are live already; handle() answers 0`);
      return handle;
    },
    call: (parent, handle, keepalive, format, wapmPtr, wapmLen, topicPtr, topicLen, reqPtr, reqLen) => {
      // A refused call consumes its handle (and its callbacks), whatever refused it.
      const code = guarded(() => call(cx, delivery, parent, handle, keepalive !== 0, format, wapmPtr, wapmLen, topicPtr, topicLen, reqPtr, reqLen))();
      if (code !== Code.Success && cx.handles.get(handle)?.kind === "reserved") cx.handles.release(handle);
      return code;
    },
    call_now: (parent, handle, keepalive, format, wapmPtr, wapmLen, topicPtr, topicLen, reqPtr, reqLen, resPtr, resLen, outPtr) => {
      // As `call`, without a closure per call: this is the import a guest's small calls take.
      let code: number;
      try {
        code = callNow(cx, delivery, parent, handle, keepalive !== 0, format, wapmPtr, wapmLen, topicPtr, topicLen, reqPtr, reqLen, resPtr, resLen, outPtr);
      } catch (err) {
        if (!(err instanceof BusError)) throw err;
        cx.refused(err);
        code = err.code;
      }
      if (code !== Code.Success && handle !== NO_HANDLE && cx.handles.get(handle)?.kind === "reserved") cx.handles.release(handle);
      return code;
    },
    callback: guarded((parent, handle, topicPtr, topicLen) => {
      const topic = cx.memory.readName(topicPtr, topicLen, "callback topic");
      const owner = cx.handles.get(parent);
      const entry = cx.handles.get(handle);
      if (!owner || (owner.kind !== "reserved" && owner.kind !== "out")) return Code.InvalidHandle;
      if (entry?.kind !== "reserved") return Code.InvalidHandle;
      (owner.callbacks ??= new Map()).set(topic, handle);
      cx.handles.set(handle, { kind: "callback", parent, topic });
      return Code.Success;
    }),
    listen: guarded((topicPtr, topicLen) => {
      const topic = cx.memory.readName(topicPtr, topicLen, "topic");
      if (!Object.hasOwn(cx.module.manifest.topics, topic)) return cx.refuse("InvalidTopic", `listen: topic ${topic} is not declared in module.json`);
      // The topic as wasm_bus_start hands it back: its UTF-8, as a restored instance makes it (the guest's own bytes).
      cx.listening.set(topic, utf8.encode(topic));
      return Code.Success;
    }),
    // Guarded by hand, without the rest arguments: a module's answer to a call_now is this hot.
    reply: (handle, format, ptr, len) => {
      try {
        const call = inbound(cx, handle);
        if (!call) return Code.InvalidHandle;
        // Lent until call.reply returns: copied by the caller's sink, into a caller's memory at once where one waits in call_now.
        const payload = read(cx, format, ptr, len, limits.responseBytes, "reply", "reply");
        // Forget the handle first, so the call ending is not mistaken for a drop by the caller.
        if (!call.keepalive) cx.handles.remove(handle);
        return call.reply(payload, true);
      } catch (err) {
        if (!(err instanceof BusError)) throw err;
        cx.refused(err);
        return err.code;
      }
    },
    reply_callback: guarded((handle, format, topicPtr, topicLen, ptr, len) => {
      const call = inbound(cx, handle, true);
      if (!call) return Code.InvalidHandle;
      const topic = cx.memory.readName(topicPtr, topicLen, "callback topic");
      return call.callback(topic, read(cx, format, ptr, len, limits.responseBytes, "callback"));
    }),
    fault: guarded((handle, code) => fault(cx, handle, code)),
    fault_message: guarded((handle, code, ptr, len) => {
      const bytes = cx.memory.peek(ptr, Math.min(len >>> 0, MAX_MESSAGE_BYTES), "fault message");
      const message = lossy.decode(bytes) + (len >>> 0 > MAX_MESSAGE_BYTES ? "…" : "");
      // Handle 0 names no call: the guest is about to trap (a Rust panic) and says why first.
      if (handle === NO_HANDLE) {
        cx.lastWords = message;
        return Code.Success;
      }
      return fault(cx, handle, code, message);
    }),
    drop: guarded((handle) => drop(cx, handle)),
    poll: suspender
      ? suspender.suspending((): number | Promise<number> => {
          // What is queued already is delivered here, on the guest's stack, with no need to wait.
          if (delivery.pending) return (delivery.drainNow(), Code.Success);
          if (!suspender.canSuspend) {
            return cx.refuse("Unsupported", "poll cannot wait here: it was called from a delivery made while the guest waits in an import, or from an export the host calls directly (only _start and wasm_bus_start may wait)");
          }
          return delivery.poll().then(() => Code.Success);
        })
      : () => cx.refuse("Unsupported", `poll cannot wait: module ${cx.module.name} was not built with asyncify (the wasm-bus build does it: scripts/wasm-asyncify.mjs); return to the host instead`),
    fork: () => {
      if (!cx.command) return cx.refuse("Unsupported", "fork needs a process (POST /processes); a plain call ends with its reply");
      cx.forked = true;
      return Code.Success;
    },
    thread_id: () => 0,
    // A question, not a use: an unknown handle is just "no" (no log line, no refusal), so a
    // server may ask after every reply that left something behind.
    kept: (handle) => {
      const entry = cx.handles.get(handle);
      return entry?.kind === "in" && entry.call.keepalive && !entry.call.ended ? 1 : 0;
    },
    log: guarded((level, ptr, len) => {
      cx.log(level, cx.memory.readString(ptr, len, "log message"));
      return Code.Success;
    }),
  };
}

/** The guest fails an inbound call: with its own words where it gave them, and the host's reason where it passes on a refusal. */
function fault(cx: InstanceContext, handle: number, code: number, detail?: string): number {
  const call = inbound(cx, handle, true);
  if (!call) return Code.InvalidHandle;
  cx.handles.remove(handle);
  code >>>= 0;
  // Success, or a number the ABI gives no name, tells a caller nothing it can act on (and a
  // failure named Success is none): the call fails as Unknown, the guest's number in the words.
  const given = code === Code.Success || (code !== Code.Unknown && codeName(code) === "Unknown") ? code : undefined;
  if (given !== undefined) code = Code.Unknown;
  const passed = cx.passedOn(call, code);
  const reason = detail ?? passed?.error.message;
  // A refusal is the module's failure (relayed: a 502 for a 4xx). A failure heard of goes on as
  // it was: one that was itself a passed-on refusal (a full queue further on) stays one; any
  // other keeps its code's status, as it is often the caller's own input passed through (a URL
  // http.fetch refuses is a 400). But no module or topic missing is the caller's, whoever found
  // it: the call reached this module, on a topic it declares, and only the host's routing of the
  // call itself answers 404: one the module passes nothing on with is its own failure.
  const routing = code === Code.InvalidTopic || code === Code.InvalidWapm;
  const named = given === undefined ? `${codeName(code)} (${code})` : `${given}, a code the ABI does not name (Unknown)`;
  const message = `module ${cx.module.name} faulted the call with ${named}${reason ? `: ${reason}` : ""}`;
  const relayed = passed && (!passed.heard || passed.error.relayed || routing) ? passed.error : undefined;
  return call.fault(new BusError(code, message, detail, relayed, routing && !relayed));
}

function drop(cx: InstanceContext, handle: number): number {
  const entry = cx.handles.get(handle);
  switch (entry?.kind) {
    case "out":
      cx.handles.release(handle);
      entry.call.drop(`dropped by module ${cx.module.name}`);
      return Code.Success;
    case "in":
      // The server ends a kept-alive sub-API (or gives up on an unanswered call).
      cx.handles.remove(handle);
      entry.call.fault(BusError.of("Aborted", `module ${cx.module.name} dropped the call`));
      return Code.Success;
    case "reserved":
    case "callback":
      cx.handles.release(handle);
      return Code.Success;
    default:
      return cx.refuse("InvalidHandle", `drop: handle ${handle} is not live (dropped twice?)`);
  }
}

function inbound(cx: InstanceContext, handle: number, evenAnswered = false): BusCall | undefined {
  const entry = cx.handles.get(handle);
  if (entry?.kind !== "in") {
    cx.log(LogLevel.Warn, `handle ${handle} is not a call this module is serving`);
    return undefined;
  }
  return entry.call.answered && !evenAnswered ? undefined : entry.call;
}
