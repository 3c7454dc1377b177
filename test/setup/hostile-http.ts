// Runs in Node (the global setup's HTTP server): responses a host may send http.fetch, as the
// http.fetch fuzzer (test/http-fetch-fuzz.test.ts) asks for them in the query.
import type { IncomingMessage, ServerResponse } from "node:http";
import { gzipSync } from "node:zlib";

/** Tokens of /hostile/hit requests: a redirect followed shows here. */
const hits = new Set<string>();
/** Tokens of /hostile/body requests whose body went out to its end. */
const sentWhole = new Set<string>();
/** Tokens of /hostile/endless requests whose connection closed (the client gave up the body). */
const closed = new Set<string>();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * /hostile/body?n&chunk&delay&length&gzip: n bytes (byte i is i % 251), in chunks of `chunk`
 * with `delay` ms between, declared by length=exact (Content-Length), none (chunked), short
 * (declares n, sends half, then drops the connection) or cut (chunked, half, then drops);
 * gzip=1 sends them gzipped (Content-Length then the compressed size); with token=T,
 * /hostile/sent?token=T says whether the body went out to its end (no client cancelled it).
 * /hostile/status?code: a raw status line with any code. /hostile/declared?code&length: a raw
 * status line declaring `length` bytes and sending none (as a HEAD's, 204's or 304's may).
 * /hostile/headers?count&size&char: that many headers of that size (char=ff: of bytes 0xFF). /hostile/redirect?code&to: a redirect. /hostile/hit?token and
 * /hostile/hits?token: whether anything followed a redirect to the hit.
 * /hostile/endless?chunk&delay&token: a body that never ends, `chunk` bytes at a time with `delay`
 * ms between (chunked, no Content-Length), until the client closes the connection;
 * /hostile/closed?token says whether it has.
 */
export async function hostile(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const q = (k: string) => url.searchParams.get(k) ?? "";
  const num = (k: string) => Number(q(k) || 0);
  switch (url.pathname) {
    case "/hostile/body": {
      const n = num("n");
      let body = Buffer.from(Uint8Array.from({ length: n }, (_, i) => i % 251));
      const headers: Record<string, string | number> = { "content-type": "application/octet-stream" };
      if (q("gzip") === "1") {
        body = gzipSync(body);
        headers["content-encoding"] = "gzip";
      }
      const mode = q("length");
      if (mode === "exact" || mode === "short") headers["content-length"] = body.length;
      res.writeHead(200, headers);
      const end = mode === "short" || mode === "cut" ? body.length >> 1 : body.length;
      const chunk = Math.max(1, num("chunk") || body.length);
      for (let at = 0; at < end; at += chunk) {
        if (at && num("delay")) await sleep(num("delay"));
        if (res.destroyed) return;
        res.write(body.subarray(at, Math.min(at + chunk, end)));
      }
      if (end < body.length) {
        // Let what was written go out, then drop the connection with the body unfinished.
        await sleep(5);
        res.socket?.destroy();
      } else res.end(() => q("token") && sentWhole.add(q("token")));
      return;
    }
    case "/hostile/endless": {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      res.on("close", () => closed.add(q("token")));
      const chunk = Buffer.alloc(Math.max(1, num("chunk")), 0x61);
      while (!res.destroyed) {
        // Past what the socket takes at once, wait for it to drain (or close): bounded memory.
        if (!res.write(chunk)) await new Promise((r) => (res.once("drain", r), res.once("close", r)));
        else await sleep(num("delay"));
      }
      return;
    }
    case "/hostile/closed":
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ closed: closed.has(q("token")) }));
      return;
    case "/hostile/status": {
      // Written raw: Node's writeHead refuses codes outside 100..999.
      req.socket.end(`HTTP/1.1 ${q("code")} Odd\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok`);
      return;
    }
    case "/hostile/headers": {
      const headers: [string, string][] = [];
      // char=ff: each value's bytes are 0xFF, which a header may hold (obs-text) and UTF-8 cannot.
      const value = q("char") === "ff" ? Buffer.alloc(num("size"), 0xff).toString("latin1") : "v".repeat(num("size"));
      for (let i = 0; i < num("count"); i++) headers.push([`x-h-${i}`, value]);
      res.writeHead(200, headers.flat());
      res.end("ok");
      return;
    }
    case "/hostile/declared": {
      // A response with no body that declares one (a HEAD's, a 204's or a 304's may): raw, as
      // Node drops a Content-Length it thinks cannot be.
      req.socket.end(`HTTP/1.1 ${q("code")} Odd\r\ncontent-length: ${q("length")}\r\nconnection: close\r\n\r\n`);
      return;
    }
    case "/hostile/redirect":
      res.writeHead(num("code"), { location: q("to") });
      res.end("moved");
      return;
    case "/hostile/hit":
      hits.add(q("token"));
      res.end("hit");
      return;
    case "/hostile/sent":
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ whole: sentWhole.has(q("token")) }));
      return;
    case "/hostile/hits":
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ hit: hits.has(q("token")) }));
      return;
    default:
      res.writeHead(404);
      res.end();
  }
}
