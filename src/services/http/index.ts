import { readCapped } from "../../bytes.js";
import { BusError, nameInMessage } from "../../errors.js";
import { hostAllowed } from "../../manifest.js";
import type { Schema } from "../../codec/schema.js";
import { utf8Length } from "../../utf8-length.js";
import { builtin } from "../service.js";

interface FetchRequest {
  method?: string;
  url: string;
  headers?: [string, string][];
  body?: Uint8Array | null;
}

const header: Schema = { tuple: ["string", "string"] };

/** Outbound HTTP(S) through the Worker's fetch, limited to the hosts the module's manifest allows. */
export const http = builtin({
  "http.fetch": {
    description: "Fetches a URL. Only hosts in the caller's fetch.allow list; the response body is capped at its limits.responseBytes, and so are its headers.",
    request: { struct: { method: "string", url: "string", headers: { seq: header }, body: { option: "bytes" } } },
    response: { struct: { status: "u16", headers: { seq: header }, body: "bytes" } },
    async run(req: FetchRequest, call, ctx) {
      let url: URL;
      try {
        url = new URL(String(req.url));
      } catch {
        throw BusError.of("BadRequest", `http.fetch: not a URL: ${nameInMessage(String(req.url))}`);
      }
      if (url.protocol !== "http:" && url.protocol !== "https:") {
        throw BusError.of("BadRequest", `http.fetch: only http and https URLs, not ${url.protocol}`);
      }
      const allow = ctx.caller?.fetch.allow ?? [];
      if (!hostAllowed(allow, url)) {
        throw BusError.of("AccessDenied", `http.fetch: module ${ctx.caller?.name ?? call.caller} may not reach ${nameInMessage(url.host)} (fetch.allow: ${JSON.stringify(allow)})`);
      }
      const limit = ctx.caller?.limits.responseBytes ?? Infinity;
      let request: Request;
      try {
        // Made apart from the fetch: what it refuses (a header with CR/LF, a method it forbids, a
        // body on GET) is the caller's request, not a failure to reach the host.
        request = new Request(url, {
          method: (req.method || "GET").toUpperCase(),
          headers: req.headers ?? [],
          body: req.body?.length ? req.body : undefined,
          signal: call.signal,
          redirect: "manual",
        });
      } catch (err) {
        throw BusError.of("BadRequest", `http.fetch: fetch cannot make this request: ${(err as Error).message}`);
      }
      let res: Response;
      try {
        res = await fetch(request);
      } catch (err) {
        if (call.signal.aborted) throw BusError.of("Aborted", "http.fetch dropped");
        throw BusError.of("FetchFailed", `http.fetch ${nameInMessage(String(url))}: ${(err as Error).message}`);
      }
      // The headers come to the guest with the body: a host's 128 KB of them reached a module whose
      // responseBytes is 4 KiB. Counted as the reply carries them, in UTF-8: a value's bytes past
      // ASCII come as characters of two or three bytes each.
      const headers = [...res.headers];
      let headerBytes = 0;
      for (const [name, value] of headers) headerBytes += utf8Length(name) + utf8Length(value);
      if (headerBytes > limit) {
        res.body?.cancel().catch(() => {});
        throw BusError.of("LimitExceeded", `http.fetch response headers of ${headerBytes} bytes are over the limit of ${limit} (limits.responseBytes)`);
      }
      let body: Uint8Array;
      try {
        // fetch decodes a gzip or brotli body but keeps the Content-Length of its encoded bytes,
        // which bounds nothing: 2 KB of gzip is 512 KB of body, read whole before it was refused.
        // A response with no body (a HEAD's, a 204's, a 304's) may declare the length of one it
        // does not send: nothing comes to be over the limit.
        const declared = res.body === null || res.headers.has("content-encoding") ? null : res.headers.get("content-length");
        body = await readCapped(res.body, declared, limit, "http.fetch response");
      } catch (err) {
        if (err instanceof BusError) throw err;
        if (call.signal.aborted) throw BusError.of("Aborted", "http.fetch dropped");
        // The host dropped the connection before the body's end: as much a failure to reach it as no connection.
        throw BusError.of("FetchFailed", `http.fetch ${nameInMessage(String(url))}: the response's body broke off: ${(err as Error).message}`);
      }
      return { status: res.status, headers, body };
    },
  },
});
