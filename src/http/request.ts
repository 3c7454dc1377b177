import type { Context } from "hono";
import { Code, Format } from "../abi.js";
import { readCapped } from "../bytes.js";
import { type Payload, decode } from "../codec/index.js";
import { BusError } from "../errors.js";
import type { Runtime } from "../runtime.js";
import { contentTypeOf, formatOfContentType } from "./formats.js";

/**
 * The request of a bus call made over HTTP: its format from Content-Type, its
 * bytes capped at the module's limit, rejected with 400 here if malformed
 * rather than inside the guest.
 */
export async function callPayload(c: Context, runtime: Runtime, module: string, topic: string): Promise<Payload> {
  c.set("module", module);
  c.set("topic", topic);
  const spec = runtime.topic(module, topic);
  const format = formatOfContentType(c.req.header("content-type"));
  if (format === undefined) {
    throw new BusError(Code.Unsupported, `Content-Type ${c.req.header("content-type")} is not a bus format (application/json, application/msgpack)`, 415);
  }
  const limit = runtime.modules.get(module)!.manifest.limits.requestBytes;
  const data = await readCapped(c.req.raw.body, c.req.header("content-length") ?? null, limit, "request body");
  decode(format, data, spec.format === "bincode" || format === Format.Bincode ? spec.request : undefined);
  return { format, data };
}

export function payloadResponse(c: Context, reply: Payload): Response {
  return c.body(reply.data as Uint8Array<ArrayBuffer>, 200, { "content-type": contentTypeOf(reply.format) });
}
