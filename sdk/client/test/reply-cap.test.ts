import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, MAX_REPLY_BYTES } from "../src/index.js";

// A 2xx body is read up to the client's maxReplyBytes and no further: a proxy that streams a 200
// without end grew the caller's memory until its signal stopped it (res.arrayBuffer() read it
// whole). A real server on 127.0.0.1, so the cancel is seen where it matters: the connection.

const CHUNK = new Uint8Array(64 * 1024).fill(0x61);

let server: Server;
let base: string;
/** What the endless route wrote, and whether its answer was closed under it (the client cancelled). */
const endless = { written: 0, closed: Promise.withResolvers<void>() };

function stream(res: ServerResponse) {
  res.writeHead(200, { "content-type": "application/octet-stream" });
  res.on("close", () => endless.closed.resolve());
  const write = () => {
    while (!res.destroyed) {
      const more = res.write(CHUNK);
      endless.written += CHUNK.length;
      if (!more) break;
    }
  };
  res.on("drain", write);
  write();
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url!, "http://x");
    if (url.pathname === "/call/proxy/endless") return stream(res);
    // /call/m/N: a raw reply of N bytes, whole.
    const n = Number(url.pathname.split("/")[3]);
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(n) });
    res.end(new Uint8Array(n).fill(0x62));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  server.closeAllConnections();
  return new Promise<void>((resolve) => server.close(() => resolve()));
});

describe("a 2xx answer's body is read up to maxReplyBytes", () => {
  it("an endless 200 body fails the call with LimitExceeded at MAX_REPLY_BYTES, the body cancelled, no signal needed", async () => {
    const err = await new Client({ url: base }).call("proxy", "endless", new Uint8Array(), { format: "raw" }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: "BusError", codeName: "LimitExceeded", module: "proxy", topic: "endless" });
    expect((err as Error).message).toContain(`over the client's maxReplyBytes, ${MAX_REPLY_BYTES}`);
    // The client cancelled the body: the server's answer is closed under it, having sent about the cap.
    await endless.closed.promise;
    expect(endless.written).toBeGreaterThanOrEqual(MAX_REPLY_BYTES - 8 * CHUNK.length);
    expect(endless.written).toBeLessThan(MAX_REPLY_BYTES + 8 * 1024 * 1024);
  });

  it("a large reply under the cap arrives whole, and one at the cap too", async () => {
    const client = new Client({ url: base });
    const large = (await client.call("m", "8388608", new Uint8Array(), { format: "raw" })) as Uint8Array;
    expect(large.length).toBe(8 * 1024 * 1024);
    expect(large.every((b) => b === 0x62)).toBe(true);
    const atCap = (await client.call("m", String(MAX_REPLY_BYTES), new Uint8Array(), { format: "raw" })) as Uint8Array;
    expect(atCap.length).toBe(MAX_REPLY_BYTES);
  });

  it("takes another cap from options.maxReplyBytes: one byte over it is LimitExceeded", async () => {
    const client = new Client({ url: base, maxReplyBytes: 1000 });
    expect(((await client.call("m", "1000", new Uint8Array(), { format: "raw" })) as Uint8Array).length).toBe(1000);
    await expect(client.call("m", "1001", new Uint8Array(), { format: "raw" })).rejects.toMatchObject({ codeName: "LimitExceeded" });
    expect(() => new Client({ url: base, maxReplyBytes: -1 })).toThrow(/maxReplyBytes must be a whole number of bytes/);
  });
});
