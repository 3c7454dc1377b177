/// <reference types="node" />
// DNS rebinding against `npm start`: its own `wrangler dev` command, as package.json writes it, on
// a free port. A page of a name its owner points at 127.0.0.1 sends that name in Host; the server
// answers it 403 AccessDenied, and nothing runs: no call, no WebSocket. Asked by localhost, a
// name under it, or an IP address, it answers as ever. Then in a real browser (chromium) whose
// resolver maps a name to 127.0.0.1, as a rebinding attacker's DNS would.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "./free-port.js";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

let wrangler: ChildProcess | undefined;
let log = "";
let port = 0;
let state = "";

/** What `npm start` runs once the modules are built: the last step of its script. */
function startCommand(): string {
  const { scripts } = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as { scripts: { start: string } };
  const command = scripts.start.split("&&").at(-1)!.trim();
  if (!/\bwrangler dev\b/.test(command)) throw new Error(`npm start's last step is not wrangler dev: ${command}`);
  return command;
}

interface Answer {
  status: number;
  body: string;
}

/** A request to the server at 127.0.0.1 with this Host, as a browser sends it whatever the name resolved to. */
function send(host: string, path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((done, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: options.method ?? "GET", headers: { ...options.headers, host }, timeout: 10_000 });
    req.once("response", (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.once("end", () => done({ status: res.statusCode!, body }));
    });
    // A 101: the socket opened.
    req.once("upgrade", (res, socket) => {
      socket.destroy();
      done({ status: res.statusCode!, body: "" });
    });
    req.once("timeout", () => req.destroy(new Error(`${path} with Host ${host}: no answer in 10 s`)));
    req.once("error", reject);
    req.end(options.body);
  });
}

const upgrade = { connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==" };

async function tally(host: string, by: number): Promise<Answer> {
  return send(host, "/call/tally/incr", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ by }) });
}

beforeAll(async () => {
  port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${join(repo, "node_modules/.bin")}:${process.env.PATH}`,
    PORT: String(port),
    WRANGLER_SEND_METRICS: "false",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
  };
  delete env.ALLOWED_HOSTS; // npm start's own default
  // Its state in a folder of its own, not the developer's .wrangler/ (as `npm start -- --persist-to` would).
  state = mkdtempSync(join(tmpdir(), "wasm-bus-hosts-"));
  wrangler = spawn("sh", ["-c", `${startCommand()} --persist-to ${state}`], { cwd: repo, detached: true, stdio: ["ignore", "pipe", "pipe"], env });
  wrangler.stdout!.on("data", (d) => (log += d));
  wrangler.stderr!.on("data", (d) => (log += d));
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (wrangler.exitCode !== null || wrangler.signalCode !== null) throw new Error(`npm start's wrangler dev exited:\n${log}`);
    try {
      if ((await send(`127.0.0.1:${port}`, "/modules")).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`npm start's wrangler dev not answering after 90 s:\n${log}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}, 120_000);

afterAll(async () => {
  if (wrangler?.pid && wrangler.exitCode === null) {
    const exited = new Promise((done) => wrangler!.once("exit", done));
    process.kill(-wrangler.pid, "SIGTERM"); // its own process group: sh, wrangler and its workerd
    await Promise.race([exited, new Promise((done) => setTimeout(done, 5_000))]);
    if (wrangler.exitCode === null) process.kill(-wrangler.pid, "SIGKILL");
  }
  if (state) rmSync(state, { recursive: true, force: true });
});

describe("npm start answers only to its own names (ALLOWED_HOSTS)", () => {
  it("refuses a rebinding name with 403 AccessDenied: no call runs, no WebSocket opens", async () => {
    const before = JSON.parse((await tally(`localhost:${port}`, 0)).body) as { count: number };
    const rebound = `rebind.example:${port}`;
    const call = await tally(rebound, 5);
    expect(call.status).toBe(403);
    expect(JSON.parse(call.body)).toMatchObject({ codeName: "AccessDenied", error: expect.stringContaining("ALLOWED_HOSTS") });
    // Same origin as far as the origin rule can tell: Origin is the name's too.
    expect((await send(rebound, "/modules", { headers: { origin: `http://${rebound}` } })).status).toBe(403);
    expect((await send(rebound, "/bus/chat/x", { headers: { ...upgrade, origin: `http://${rebound}` } })).status).toBe(403);
    expect((await send(rebound, "/processes", { method: "POST", headers: { "content-type": "application/json" }, body: '{"module":"countdown","args":["1","1"]}' })).status).toBe(403);
    expect(JSON.parse((await tally(`localhost:${port}`, 0)).body)).toEqual(before);
  });

  it("answers localhost, a name under it, and an IP address", async () => {
    for (const host of [`localhost:${port}`, `app.localhost:${port}`, `127.0.0.1:${port}`]) {
      expect((await tally(host, 1)).status, host).toBe(200);
      expect((await send(host, "/bus/chat/x", { headers: { ...upgrade, origin: `http://${host}` } })).status, host).toBe(101);
    }
  });
});

describe("a page of a rebound name in chromium", () => {
  it("is refused, and reaches nothing; the page at localhost calls and opens its WebSocket", { timeout: 120_000 }, async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM)`);
    const profile = mkdtempSync(join(tmpdir(), "wasm-bus-chromium-"));
    // rebind.example resolves to 127.0.0.1 here, as the attacker's DNS answers once the page is loaded.
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--host-resolver-rules=MAP rebind.example 127.0.0.1"],
    });
    try {
      const before = JSON.parse((await tally(`localhost:${port}`, 0)).body) as { count: number };
      const page = await context.newPage();
      const rebound = await page.goto(`http://rebind.example:${port}/console`);
      expect(rebound?.status()).toBe(403);
      expect(await rebound?.json()).toMatchObject({ codeName: "AccessDenied" });
      // What its script would do, same origin by URL and Host: a POST, a WebSocket.
      const tried = await page.evaluate<{ status: number; socket: string }>(`(async () => {
        const res = await fetch("/call/tally/incr", { method: "POST", headers: { "content-type": "application/json" }, body: '{"by":5}' });
        const socket = await new Promise((resolve) => {
          const ws = new WebSocket("ws://rebind.example:${port}/bus/chat/x");
          ws.onopen = () => (ws.close(), resolve("open"));
          ws.onerror = () => resolve("failed");
        });
        return { status: res.status, socket };
      })()`);
      expect(tried).toEqual({ status: 403, socket: "failed" });
      expect(JSON.parse((await tally(`localhost:${port}`, 0)).body)).toEqual(before);

      const own = await page.goto(`http://localhost:${port}/console`);
      expect(own?.status()).toBe(200);
      const called = await page.evaluate<{ status: number; socket: string }>(`(async () => {
        const res = await fetch("/call/tally/incr", { method: "POST", headers: { "content-type": "application/json" }, body: '{"by":1}' });
        const socket = await new Promise((resolve) => {
          const ws = new WebSocket("ws://localhost:${port}/bus/chat/x");
          ws.onopen = () => (ws.close(), resolve("open"));
          ws.onerror = () => resolve("failed");
        });
        return { status: res.status, socket };
      })()`);
      expect(called).toEqual({ status: 200, socket: "open" });
    } finally {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
