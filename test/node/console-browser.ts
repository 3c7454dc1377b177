/// <reference types="node" />
// The console's tests in a real browser: Debian's chromium driven by playwright-core, against the
// Worker served on 127.0.0.1 (wrangler's unstable_startWorker). Screenshots go to
// build/console-*.png. No chromium is a failure, not a skip: `.ci/run` installs it
// (scripts/ci/callers.sh), and locally `apt-get install -y chromium`.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, expect } from "vitest";
import { startWorker, type StartedWorker } from "./start-worker.js";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const SHOTS = join(process.cwd(), "build");
/** How long the page may take to show what a step waits for. */
export const UI_MS = 15_000;

/** The Worker and a browser with a fresh profile; `close` ends both. */
export interface ConsoleBrowser {
  worker: StartedWorker;
  origin: string;
  context: BrowserContext;
  close(): Promise<void>;
}

export async function startConsoleBrowser(): Promise<ConsoleBrowser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM)`);
  mkdirSync(SHOTS, { recursive: true });
  const { worker, url } = await startWorker();
  const profile = mkdtempSync(join(tmpdir(), "wasm-bus-chromium-"));
  // A fresh profile, and no background traffic: this machine's network is closed.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 860 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  return {
    worker,
    origin: url.origin,
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
      await worker.dispose();
    },
  };
}

/**
 * The Worker and chromium of one test file: started before its tests, closed after them. Read
 * `origin` and `context` inside a test; `open()` is a new tab on the console.
 */
export function consoleForFile() {
  let browser: ConsoleBrowser | undefined;
  beforeAll(async () => {
    browser = await startConsoleBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });
  return {
    get origin() {
      return browser!.origin;
    },
    get context() {
      return browser!.context;
    },
    open: () => openConsole(browser!.context, browser!.origin),
  };
}

/** A new tab on the console of `origin`, its modules listed; page errors are collected for pageErrors(). */
export async function openConsole(context: BrowserContext, origin: string): Promise<Page> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (err) => errors.push(err.message));
  (page as Page & { errors?: string[] }).errors = errors;
  await page.goto(`${origin}/console`);
  await page.locator('[data-module="hello"]').waitFor({ timeout: UI_MS });
  return page;
}

export const testId = (page: Page, id: string) => page.locator(`[data-testid="${id}"]`);
/** A request field of one panel's form (the other panels have forms of their own). */
export const field = (page: Page, panel: "call" | "session" | "process", path: string) => page.locator(`[data-testid="panel-${panel}"] [data-field="${path}"]`);
export const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `console-${name}.png`), fullPage: true });
export const terminalText = (page: Page) => page.locator('[data-testid="terminal"] .xterm-rows').innerText();
export const pageErrors = (page: Page) => (page as Page & { errors?: string[] }).errors ?? [];

/** The session panel, its session of `module` open (named, or the route's `default`). */
export async function openSession(page: Page, module: string, name?: string) {
  await testId(page, "tab-session").click();
  await testId(page, "session-module").selectOption(module);
  if (name !== undefined) await testId(page, "session-name").fill(name);
  await testId(page, "session-open").click();
  await expect.poll(() => testId(page, "session-state").textContent(), { timeout: UI_MS }).toBe("open");
}
