import { Format, OS_WAPM, formatName } from "../abi.js";
import { heldTo, readCapped } from "../bytes.js";
import type { Payload } from "../codec/index.js";
import { checkRequest } from "../codec/request-check.js";
import { fit } from "../codec/schema.js";
import { BusError, nameInMessage, osNotServed } from "../errors.js";
import { moduleOf } from "../registry.js";
import type { Runtime } from "../runtime.js";
import { HttpError } from "./errors.js";
import { BODY_TYPES, contentTypeOf, formatOfContentType, replyInit } from "./formats.js";

/**
 * The request of a bus call made over HTTP: its format from Content-Type, its bytes capped at
 * the module's limit, and refused with 400 here, before any guest runs, where it is malformed,
 * empty, or does not fit the topic's declared request type.
 */
export async function callPayload(runtime: Runtime, request: Request, module: string, topic: string): Promise<Payload> {
  if (module === OS_WAPM) throw osNotServed("HTTP");
  const spec = runtime.topic(module, topic);
  const headers = request.headers;
  const contentType = headers.get("content-type") ?? undefined;
  const format = formatOfContentType(contentType);
  if (format === undefined) {
    throw new HttpError("Unsupported", `Content-Type ${nameInMessage(String(contentType))} is not a bus format (${BODY_TYPES.join(", ")})`, 415);
  }
  const given = formatName(format)!;
  if (fit(spec, given) === "refused") {
    throw new HttpError("Unsupported", `topic ${topic} takes ${spec.format}, and raw bytes cannot be transcoded`, 415);
  }
  if ((given === "bincode" || spec.format === "bincode") && !spec.request) {
    throw new HttpError("Unsupported", `bincode needs the payload's types, and topic ${topic} declares none`, 415);
  }
  // The reply comes back transcoded too: without its types the module would run, and then fail to
  // answer (a 500 blaming it, after whatever it did).
  if ((given === "bincode" || spec.format === "bincode") && fit(spec, given) === "transcode" && !spec.response) {
    throw new HttpError("Unsupported", `bincode needs the reply's types, and topic ${topic} declares none`, 415);
  }
  // A session's instance (`chat@room-a`) is held to its module's limit. These are the bytes on the
  // wire; the runtime holds a request it transcodes to the limit again, in the topic's format.
  const limit = moduleOf(runtime.modules, module)!.manifest.limits.requestBytes;
  const data = await readBody(request, limit, "request body");
  if ((format === Format.Json || format === Format.Msgpack) && !data.length) {
    throw BusError.of("DeserializationFailed", `empty body: topic ${topic} wants one ${contentTypeOf(format)} value`);
  }
  checkRequest(spec, format, data, limit);
  return { format, data };
}

/**
 * A request's body, whole, held to `limit` bytes (LimitExceeded past it). One that breaks off as
 * it is read (the client's upload failed, or it went away) is the caller's: 400 BadRequest, not
 * a 500 InternalFailure.
 */
export async function readBody(request: Request, limit: number, what: string): Promise<Uint8Array> {
  const declared = request.headers.get("content-length");
  const length = declared === null || declared === "" ? Number.NaN : Number(declared);
  try {
    // A declared length within the limit is read in one native call on the request itself (the
    // runtime holds a body to its declared length): wrapping its stream in a Response to read it
    // was a fifth of the route's CPU. Past the limit, or undeclared, the body is drained, not
    // cancelled: answering before the upload ends breaks the connection behind a proxy.
    return length <= limit
      ? heldTo(new Uint8Array(await request.arrayBuffer()), declared, limit, what)
      : await readCapped(request.body, declared, limit, what, { drain: true });
  } catch (err) {
    if (err instanceof BusError) throw err;
    throw BusError.of("BadRequest", `${what} could not be read: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** A reply as the HTTP answer: its bytes as they are, under its format's content type. */
export function payloadResponse(reply: Payload): Response {
  return new Response(reply.data as Uint8Array<ArrayBuffer>, replyInit(reply.format));
}
