/// <reference types="node" />
// Pages of other origins in a real browser (chromium), against the Worker as `npm start` serves
// it: a page served from another port of 127.0.0.1 is another origin. By default it reaches
// nothing, not even what a browser sends without asking (a WebSocket, a POST with no
// Content-Type); listed in ALLOWED_ORIGINS, it calls and opens sockets with CORS.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorker, type StartedWorker } from "./start-worker.js";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

let server: Server;
let pageOrigin = "";
let context: BrowserContext;
let profile = "";
const workers: StartedWorker[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM)`);
  server = createServer((_req, res) => res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>another origin</title>"));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  pageOrigin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  profile = mkdtempSync(join(tmpdir(), "wasm-bus-chromium-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}, 60_000);

afterAll(async () => {
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  await Promise.all(workers.map((w) => w.dispose()));
  server?.close();
});

async function start(allowedOrigins?: string): Promise<string> {
  const { worker, url } = await startWorker({ allowedOrigins });
  workers.push(worker);
  return url.origin;
}

/** A page of the other origin. */
async function otherPage(): Promise<Page> {
  const page = await context.newPage();
  await page.goto(pageOrigin);
  return page;
}

/** What the page's WebSocket to `url` came to: "open", or "failed" (the handshake refused). Browser code, as text: it runs in the page. */
const socketOutcome = (page: Page, url: string) =>
  page.evaluate<string>(`new Promise((resolve) => {
    const ws = new WebSocket(${JSON.stringify(url)});
    ws.onopen = () => (ws.close(), resolve("open"));
    ws.onerror = () => resolve("failed");
  })`);

/** tally's count, read by a client that is no browser. */
async function tally(origin: string): Promise<number> {
  const res = await fetch(`${origin}/call/tally/incr`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"by":0}' });
  return ((await res.json()) as { count: number }).count;
}

describe("pages of other origins in chromium", () => {
  it("by default reach nothing: no WebSocket, and a POST sent without asking does not run", { timeout: 120_000 }, async () => {
    const origin = await start();
    const page = await otherPage();
    expect(await socketOutcome(page, `${origin.replace("http", "ws")}/bus/chat/x`)).toBe("failed");
    const before = await tally(origin);
    // A body with no Content-Type (a Blob without a type): a "simple" request, sent without a preflight.
    const sent = await page.evaluate<string>(
      `fetch(${JSON.stringify(`${origin}/call/tally/incr`)}, { method: "POST", body: new Blob(['{"by":5}']), mode: "no-cors" }).then(() => "sent", (e) => e.message)`,
    );
    expect(sent).toBe("sent");
    expect(await tally(origin)).toBe(before);
    // The Worker's own pages still may (the console).
    const own = await context.newPage();
    await own.goto(`${origin}/console`);
    expect(await socketOutcome(own, `${origin.replace("http", "ws")}/bus/chat/x`)).toBe("open");
  });

  it("listed in ALLOWED_ORIGINS, call with CORS and open sockets", { timeout: 120_000 }, async () => {
    const origin = await start(pageOrigin);
    const page = await otherPage();
    const answer = await page.evaluate(
      `fetch(${JSON.stringify(`${origin}/call/hello/greet`)}, { method: "POST", headers: { "content-type": "application/json" }, body: '{"name":"Ada"}' }).then(async (r) => ({ status: r.status, body: await r.json() }))`,
    );
    expect(answer).toEqual({ status: 200, body: { message: "Hello, Ada!" } });
    expect(await socketOutcome(page, `${origin.replace("http", "ws")}/bus/chat/x`)).toBe("open");
  });
});
