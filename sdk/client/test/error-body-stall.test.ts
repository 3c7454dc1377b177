import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, MAX_REPLY_BYTES } from "../src/index.js";
import { Code } from "../src/codes.js";
import { MAX_ERROR_BODY_BYTES } from "../src/errors.js";

// An error body of exactly MAX_ERROR_BODY_BYTES from a server that then keeps the connection open
// without ending the body: the client read one chunk past the limit before it decided, so it
// waited for a chunk that never came, and a caller without a signal waited for good. Of an error
// body only its first MAX_ERROR_BODY_BYTES are wanted: once they are in, nothing more is read.
// A real server on 127.0.0.1, chunked (no content-length), so nothing but the bytes says where the body ends.

/** How long a call may take to settle here: the server answers at once, so anything near it is a wait. */
const BOUND_MS = 3000;

/** A runtime's JSON error body of exactly `n` bytes (its `detail` pads it). */
function errorBody(n: number): Uint8Array {
  const bare = JSON.stringify({ error: "nope", code: Code.Busy, codeName: "Busy", detail: "" });
  const body = new TextEncoder().encode(JSON.stringify({ error: "nope", code: Code.Busy, codeName: "Busy", detail: "x".repeat(n - bare.length) }));
  expect(body.length).toBe(n);
  return body;
}

let server: Server;
let base: string;
/** The answers left open, closed when the suite ends. */
const open = new Set<ServerResponse>();

beforeAll(async () => {
  server = createServer((req, res) => {
    // /call/m/<status>-<bytes>-<stall|end>
    const [status, bytes, how] = new URL(req.url!, "http://x").pathname.split("/")[3]!.split("-");
    res.writeHead(Number(status), { "content-type": Number(status) === 200 ? "application/octet-stream" : "application/json" });
    const body = Number(status) === 200 ? new Uint8Array(Number(bytes)).fill(0x62) : errorBody(Number(bytes));
    // Written in pieces, as a slow server or a proxy sends them: the last one ends exactly at the limit.
    for (let at = 0; at < body.length; at += 10_000) res.write(body.subarray(at, at + 10_000));
    if (how === "end") res.end();
    else open.add(res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  for (const res of open) res.destroy();
  server.closeAllConnections();
  return new Promise<void>((resolve) => server.close(() => resolve()));
});

/** The call's outcome, or "still waiting" where it has not settled within BOUND_MS. */
async function settle(client: Client, topic: string, signal?: AbortSignal): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const waited = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`still waiting after ${BOUND_MS} ms`), BOUND_MS)));
  const call = client.call("m", topic, new Uint8Array(), { format: "raw", signal }).then(
    (value) => ({ value }),
    (err: unknown) => err,
  );
  try {
    return await Promise.race([call, waited]);
  } finally {
    clearTimeout(timer);
  }
}

describe("an error body at MAX_ERROR_BODY_BYTES", () => {
  it("that then stalls settles at once with the body's own error: its bytes are all that is read", async () => {
    const err = await settle(new Client({ url: base }), `503-${MAX_ERROR_BODY_BYTES}-stall`);
    expect(err).toMatchObject({ name: "BusError", status: 503, codeName: "Busy", message: expect.stringMatching(/^nope: x+$/) });
    expect((err as { detail: string }).detail.length).toBeGreaterThan(MAX_ERROR_BODY_BYTES - 100);
  });

  it("that then ends is taken whole, as before", async () => {
    expect(await settle(new Client({ url: base }), `503-${MAX_ERROR_BODY_BYTES}-end`)).toMatchObject({ name: "BusError", status: 503, codeName: "Busy", message: expect.stringMatching(/^nope: x+$/) });
  });

  it("one byte past it, stalling, settles too: its first MAX_ERROR_BODY_BYTES, cut, are not the runtime's body (Unknown)", async () => {
    const err = await settle(new Client({ url: base }), `503-${MAX_ERROR_BODY_BYTES + 1}-stall`);
    expect(err).toMatchObject({ name: "BusError", status: 503, codeName: "Unknown" });
    expect((err as Error).message).toMatch(/^HTTP 503: \{"error":"nope"/);
  });
});

describe("a 2xx body at maxReplyBytes", () => {
  it("that then ends is taken whole", async () => {
    const reply = (await settle(new Client({ url: base, maxReplyBytes: 50_000 }), "200-50000-end")) as { value: Uint8Array };
    expect(reply.value?.length).toBe(50_000);
  });

  it("that then stalls cannot be told from one that goes on: it waits for the server, as a body short of the cap does, and the caller's signal ends the wait", async () => {
    const client = new Client({ url: base, maxReplyBytes: 50_000 });
    expect(await settle(client, "200-50000-stall", AbortSignal.timeout(200))).toMatchObject({ name: "BusError", codeName: "Timeout" });
    expect(MAX_REPLY_BYTES).toBeGreaterThan(50_000);
  });
});
