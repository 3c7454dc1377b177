/// <reference types="node" />
// Runs in Node (the "node" vitest project): the Worker is started with wrangler's
// unstable_startWorker on 127.0.0.1, behind wrangler dev's proxy as `npm start` serves it, and a
// real HTTP client sends a 50 MiB body to POST /call/hello/greet without `Expect: 100-continue`,
// so the whole body is on its way while the Worker answers. The client must get the 413, and the
// dev server must keep serving: on the connection the client keeps alive and on new ones.
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** The body sent: 50 MiB, fifty times the hello module's 1 MiB requestBytes. */
const BIG = 50 << 20;
const CHUNK = 1 << 20;
/** How long any one request may take before the test fails instead of hanging. */
const WAIT_MS = 20_000;

let worker: Awaited<ReturnType<typeof import("wrangler").unstable_startWorker>> | undefined;
let port = 0;

interface Answer {
  status: number;
  body: string;
  /** Whether the request went on a connection an earlier request had used. */
  reused: boolean;
}

/**
 * POST /call/hello/greet with `body`, or with BIG bytes of valid JSON written a mebibyte at a time
 * (with a Content-Length, or chunked), never more than one chunk held.
 */
function post(agent: http.Agent | false, body: string | { big: "length" | "chunked" }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = { "content-type": "application/json" };
    if (typeof body !== "string" && body.big === "length") headers["content-length"] = BIG;
    const req = http.request({ host: "127.0.0.1", port, method: "POST", path: "/call/hello/greet", agent, headers }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (d: Buffer) => parts.push(d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString(), reused: req.reusedSocket }));
      res.on("error", reject);
    });
    req.setTimeout(WAIT_MS, () => req.destroy(new Error(`no answer within ${WAIT_MS} ms`)));
    req.on("error", (err: NodeJS.ErrnoException) => reject(new Error(`request failed (${err.code ?? err.message}), reused connection: ${req.reusedSocket}`)));
    if (typeof body === "string") return void req.end(body);
    void (async () => {
      // {"name":"aaaa…a"}: well-formed, so only its size is wrong.
      const head = Buffer.from('{"name":"');
      const tail = Buffer.from('"}');
      for (let sent = 0; sent < BIG && !req.destroyed; sent += CHUNK) {
        const chunk = Buffer.alloc(Math.min(CHUNK, BIG - sent), "a");
        if (sent === 0) head.copy(chunk);
        if (sent + chunk.length === BIG) tail.copy(chunk, chunk.length - tail.length);
        if (!req.write(chunk)) await new Promise<void>((ok) => (req.once("drain", ok), req.once("close", ok)));
      }
      if (!req.destroyed) req.end();
    })();
  });
}

const ada = JSON.stringify({ name: "Ada" });

beforeAll(async () => {
  process.env.WRANGLER_SEND_METRICS ??= "false";
  process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
  const { unstable_startWorker } = await import("wrangler");
  worker = await unstable_startWorker({
    config: "wrangler.toml",
    dev: { server: { hostname: "127.0.0.1", port: 0 }, inspector: false, persist: false, watch: false },
  });
  await Promise.race([worker.ready, new Promise((_, reject) => setTimeout(() => reject(new Error("the Worker did not start within 60 s")), 60_000).unref())]);
  port = Number((await worker.url).port);
});

afterAll(async () => {
  await worker?.dispose();
});

describe("a request body over the limit, sent whole without Expect: 100-continue", () => {
  for (const big of ["length", "chunked"] as const) {
    it(`answers 413 LimitExceeded and keeps serving (${big === "length" ? "Content-Length" : "chunked"})`, async () => {
      const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const rejected = await post(keepAlive, { big });
        expect(rejected.status, rejected.body).toBe(413);
        expect(JSON.parse(rejected.body)).toMatchObject({ codeName: "LimitExceeded", module: "hello", topic: "greet" });

        // The same connection: the rest of the big body was read, so the next request is parsed
        // as a request, and the connection is still there to carry it.
        for (let i = 0; i < 5; i++) {
          const answer = await post(keepAlive, ada);
          expect({ status: answer.status, body: answer.body, reused: answer.reused }).toEqual({ status: 200, body: '{"message":"Hello, Ada!"}', reused: true });
        }
        // New connections.
        for (let i = 0; i < 5; i++) {
          const answer = await post(false, ada);
          expect({ status: answer.status, body: answer.body }).toEqual({ status: 200, body: '{"message":"Hello, Ada!"}' });
        }
      } finally {
        keepAlive.destroy();
      }
    });
  }
});
