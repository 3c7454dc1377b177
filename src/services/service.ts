import { FORMAT_NAMES, Format } from "../abi.js";
import type { BusCall } from "../call.js";
import { decode, encode } from "../codec/index.js";
import { validate } from "../codec/validate.js";
import type { Schema, TopicSpec } from "../codec/schema.js";
import { BusError, codeOf } from "../errors.js";
import type { Clock } from "../clock.js";
import type { Manifest } from "../manifest.js";
import type { Guest, GuestOptions } from "../instance/guest.js";
import type { LogLine } from "../log.js";
import type { KvStore } from "./kv/types.js";

/** What a service learns about the call besides its payload, and what it may use of the runtime. */
export interface ServeContext {
  /** The calling module's manifest; undefined for calls from the HTTP edge. */
  caller?: Manifest;
  /** Where this call's sleeps go. */
  clock: Clock;
  log(line: LogLine): void;
  /** Instantiates a command-style module (a sub-process) in the runtime the call arrived at. */
  spawn(module: string, options: GuestOptions): Guest;
  /** The calling module's key-value store (kv.*), where the runtime has storage and the caller is a module. */
  readonly kv?: KvStore;
}

/** Something that answers topics: a built-in service or a module. */
export interface Service {
  readonly topics: Readonly<Record<string, TopicSpec>>;
  /** Starts serving; must end with `call.reply` or `call.fault`, and stop when `call.signal` aborts. */
  serve(call: BusCall, ctx: ServeContext): void;
  /**
   * `serve` takes a request whose bytes are lent (`call.lent`: a view of the calling guest's
   * memory, valid until `serve` returns) and owns them (`call.own()`) before it keeps them. A
   * service without it gets its requests' bytes owned first.
   */
  readonly borrows?: boolean;
}

export interface Topic<Req = any, Res = unknown> {
  request: Schema;
  response: Schema;
  /** Callbacks the topic invokes, with their types. */
  callbacks?: Record<string, Schema>;
  description: string;
  run(request: Req, call: BusCall, ctx: ServeContext): Res | Promise<Res>;
}

/**
 * A host service written in TypeScript. It speaks every format: the request is
 * decoded from the format the caller named and the reply encoded back into it.
 */
export function builtin(topics: Record<string, Topic>): Service {
  const specs: Record<string, TopicSpec> = {};
  for (const [name, t] of Object.entries(topics)) {
    specs[name] = { format: "json", accepts: [...FORMAT_NAMES], request: t.request, response: t.response, callbacks: t.callbacks, description: t.description };
  }
  return {
    topics: specs,
    serve(call, ctx) {
      const topic = topics[call.topic]!;
      const { format } = call.request;
      const answer = (response: unknown) => {
        // A call that ended meanwhile (dropped, timed out) is not answered.
        if (!call.ended) call.reply({ format, data: encode(format, response, topic.response) });
      };
      let response: unknown;
      try {
        // The caller's own limit held the request's bytes as it sent them.
        const request = decode(format, call.request.data, topic.request, ctx.caller?.limits.requestBytes);
        // Of the topic's types (json and msgpack decode to whatever the bytes say): a guest's call
        // comes to a service unchecked, as the edge checks only requests that come through it.
        // bincode is read by the types, so what it reads is of them already.
        if (format !== Format.Bincode) validate(request, topic.request, "request");
        response = topic.run(request, call, ctx);
        // A topic that answers at once (time.now, log.write) replies before serve returns, so a
        // guest's call_now takes the result inside the import.
        if (!(response instanceof Promise)) return answer(response);
      } catch (err) {
        return void call.fault(BusError.from(err));
      }
      (response as Promise<unknown>).then(answer).catch((err) => call.fault(BusError.from(err)));
    },
  };
}

/** Invokes a caller's callback, encoded in the format the caller called in. */
export function emit(call: BusCall, topic: string, value: unknown, schema: Schema): number {
  const { format } = call.request;
  return codeOf(() => call.callback(topic, { format, data: encode(format, value, schema) }));
}
